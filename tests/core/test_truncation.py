"""Fragments report where faces_per_pixel cut candidates short (SparseFragments.truncation).

Truth: the same scene rasterized with K large enough to keep every candidate. A pixel is
crowded when it had more candidates than K; it lost its inside face when one of its
candidates contained the pixel centre (d < 0) and none of the K kept ones does.
"""
from __future__ import annotations

import math

import pytest
import torch

from core import renderer as R
from core.renderer.blending import sparse_fragments
from core.renderer.mesh import rasterize_meshes as RM
from core.utils import ico_sphere

SIZE = 48


def _rasterize(k: int, blur: float, batch: int = 2):
    meshes = ico_sphere(3).extend(batch)
    rot, trans = R.look_at_view_transform(dist=torch.linspace(2.4, 3.0, batch), elev=20.0, azim=torch.linspace(0, 60, batch))
    cameras = R.FoVPerspectiveCameras(R=rot, T=trans)
    settings = R.RasterizationSettings(image_size=SIZE, faces_per_pixel=k, blur_radius=blur)
    return R.MeshRasterizer(cameras, settings)(meshes, report_truncation=True).sparse


def _expected(k: int, blur: float, batch: int = 2):
    """(crowded, lost_inside) flat pixel indices from an untruncated rasterization."""
    full = _rasterize(200, blur, batch)
    assert full.truncation.crowded.numel() == 0  # K = 200 kept everything
    kept = _rasterize(k, blur, batch)
    pixels = batch * SIZE * SIZE
    counts = torch.bincount(full.pix, minlength=pixels)
    inside_any = torch.bincount(full.pix[full.dists < 0], minlength=pixels) > 0
    inside_kept = torch.bincount(kept.pix[kept.dists < 0], minlength=pixels) > 0
    crowded = torch.nonzero(counts > k).flatten()
    lost = torch.nonzero(inside_any & ~inside_kept).flatten()
    return kept.truncation, crowded, lost


@pytest.mark.parametrize("k", [2, 5])
def test_truncation_matches_an_untruncated_rasterization(k):
    truncation, crowded, lost = _expected(k, blur=math.log(1 / 1e-4 - 1) * 2e-4)
    assert crowded.numel() > 50 and lost.numel() > 5  # the scene exercises both
    assert torch.equal(truncation.crowded, crowded)
    assert torch.equal(truncation.lost_inside, lost)


def test_hard_rasterization_loses_no_inside_face():
    truncation, crowded, lost = _expected(1, blur=0.0)
    assert crowded.numel() > 50  # back faces behind the front ones
    assert lost.numel() == 0 and truncation.lost_inside.numel() == 0
    assert torch.equal(truncation.crowded, crowded)


def test_truncation_is_the_same_through_merges_and_parts(monkeypatch):
    blur = math.log(1 / 1e-4 - 1) * 2e-4
    one_piece = _rasterize(3, blur, batch=3).truncation
    monkeypatch.setattr(RM, "_MERGE_ENTRIES", 512)  # merge many times during the pass
    merged = _rasterize(3, blur, batch=3).truncation
    monkeypatch.setattr(RM, "_MIN_PART_FACES", 8)
    monkeypatch.setattr(RM, "part_count", lambda device, most: max(1, min(3, most)))  # one image per part
    parts = _rasterize(3, blur, batch=3).truncation
    for other in (merged, parts):
        assert torch.equal(other.crowded, one_piece.crowded) and torch.equal(other.lost_inside, one_piece.lost_inside)


def test_truncation_survives_detach_and_is_absent_unless_asked_for():
    sparse = _rasterize(2, 1e-3)
    assert sparse.detach().truncation is sparse.truncation
    frags = R.Fragments.from_sparse(sparse)
    dense = R.Fragments(pix_to_face=frags.pix_to_face, zbuf=frags.zbuf, bary_coords=frags.bary_coords, dists=frags.dists)
    assert sparse_fragments(dense).truncation is None  # nothing says what was dropped
    assert _rasterize_unreported().truncation is None  # not asked for: not recorded


def _rasterize_unreported():
    meshes = ico_sphere(2)
    cameras = R.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    return R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=16, faces_per_pixel=2, blur_radius=1e-3))(meshes).sparse


def test_cuda_reports_the_same_pixels(cuda_device):
    meshes = ico_sphere(3).extend(2)
    rot, trans = R.look_at_view_transform(dist=torch.tensor([2.4, 3.0]), elev=20.0, azim=torch.tensor([0.0, 60.0]))
    settings = R.RasterizationSettings(image_size=SIZE, faces_per_pixel=3, blur_radius=math.log(1 / 1e-4 - 1) * 2e-4)
    found = []
    for device in (torch.device("cpu"), cuda_device):
        cameras = R.FoVPerspectiveCameras(R=rot, T=trans, device=device)
        sparse = R.MeshRasterizer(cameras, settings)(meshes.to(device), report_truncation=True).sparse
        found.append((sparse.truncation.crowded.cpu(), sparse.truncation.lost_inside.cpu()))
    (crowded_cpu, lost_cpu), (crowded_gpu, lost_gpu) = found
    # float32 rounding may tip a pixel's last candidate in or out of the blur radius
    assert len(set(crowded_cpu.tolist()) ^ set(crowded_gpu.tolist())) <= 0.01 * crowded_cpu.numel()
    assert len(set(lost_cpu.tolist()) ^ set(lost_gpu.tolist())) <= max(2, 0.05 * lost_cpu.numel())
