"""faces_per_pixel_needed: the smallest K that loses no covering face / drops no face.

Truth is the definition, checked with the truncation report: at the K found nothing is lost
(or dropped), one below it something is.
"""
from __future__ import annotations

import math

import pytest
import torch

from core import renderer as R
from core.renderer.mesh.faces_per_pixel import faces_per_pixel_needed
from core.utils import ico_sphere


def _scene(blur: float):
    meshes = ico_sphere(3).extend(2)
    rot, trans = R.look_at_view_transform(dist=torch.tensor([2.4, 3.0]), elev=20.0, azim=torch.tensor([0.0, 60.0]))
    return meshes, R.FoVPerspectiveCameras(R=rot, T=trans), R.RasterizationSettings(image_size=40, blur_radius=blur, faces_per_pixel=1)


def _truncation(meshes, cameras, settings, k):
    settings = R.RasterizationSettings(image_size=settings.image_size, blur_radius=settings.blur_radius, faces_per_pixel=k)
    return R.MeshRasterizer(cameras, settings)(meshes, report_truncation=True).sparse.truncation


@pytest.mark.parametrize("sigma", [5e-5, 3e-4])
def test_the_k_found_is_the_smallest_that_works(sigma):
    meshes, cameras, settings = _scene(math.log(1 / 1e-4 - 1) * sigma)
    needed = faces_per_pixel_needed(meshes, cameras, settings, limit=60)
    assert needed.limit == 60 and 1 < needed.keep_covering <= needed.keep_all <= 60
    assert _truncation(meshes, cameras, settings, needed.keep_covering).lost_inside.numel() == 0
    assert _truncation(meshes, cameras, settings, needed.keep_covering - 1).lost_inside.numel() > 0
    assert _truncation(meshes, cameras, settings, needed.keep_all).crowded.numel() == 0
    assert _truncation(meshes, cameras, settings, needed.keep_all - 1).crowded.numel() > 0


def test_too_small_a_limit_says_so_and_hard_rasterization_needs_one_face():
    meshes, cameras, settings = _scene(math.log(1 / 1e-4 - 1) * 3e-4)
    needed = faces_per_pixel_needed(meshes, cameras, settings, limit=2)
    assert needed.keep_all is None and needed.keep_covering is None
    hard = faces_per_pixel_needed(meshes, cameras, R.RasterizationSettings(image_size=40), limit=10)
    assert hard.keep_covering == 1 and hard.keep_all is not None and hard.keep_all > 1  # back faces behind
    with pytest.raises(ValueError, match="limit"):
        faces_per_pixel_needed(meshes, cameras, settings, limit=0)


def test_cuda_finds_the_same_k(cuda_device):
    meshes, cameras, settings = _scene(math.log(1 / 1e-4 - 1) * 3e-4)
    cpu = faces_per_pixel_needed(meshes, cameras, settings, limit=60)
    gpu_cameras = R.FoVPerspectiveCameras(R=cameras.R, T=cameras.T, device=cuda_device)
    gpu = faces_per_pixel_needed(meshes.to(cuda_device), gpu_cameras, settings, limit=60)
    # float32 rounding may move a pixel's last candidate in or out of reach: allow one either way
    assert abs(gpu.keep_covering - cpu.keep_covering) <= 1 and abs(gpu.keep_all - cpu.keep_all) <= 1
