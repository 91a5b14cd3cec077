"""Tests for core.utils.ico_sphere: exact agreement with PyTorch3D's stored spheres, geometry, speed."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.structures import Meshes
from core.utils import ico_sphere


@pytest.mark.parametrize(
    "scene, level",
    [
        ("s01_sphere2_hardphong_point_64", 2),
        ("s03_sphere4_softphong_point_128", 4),
        ("s06_sphere4_silhouette_128_fpp50", 4),
        ("s08_sphere4_ortho_hardphong_directional_128", 4),
    ],
)
def test_matches_pytorch3d_reference(reference_scene, scene, level):
    arrays = reference_scene(scene).arrays
    mesh = ico_sphere(level)
    verts, faces = mesh.verts_packed().numpy(), mesh.faces_packed().numpy()
    assert verts.shape == arrays["verts"].shape and verts.dtype == np.float32
    np.testing.assert_allclose(verts, arrays["verts"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(faces, arrays["faces"])


def test_level0_is_pytorch3d_icosahedron():
    m = ico_sphere(0)
    assert isinstance(m, Meshes) and len(m) == 1
    v, f = m.verts_packed(), m.faces_packed()
    assert v.shape == (12, 3) and f.shape == (20, 3)
    assert torch.equal(v[0], torch.tensor([-0.5257, 0.8507, 0.0]))
    assert f[:3].tolist() == [[0, 11, 5], [0, 5, 1], [0, 1, 7]] and f[-1].tolist() == [9, 8, 1]


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_geometry(level):
    m = ico_sphere(level)
    v, f = m.verts_packed(), m.faces_packed()
    assert v.shape == (10 * 4**level + 2, 3) and f.shape == (20 * 4**level, 3)
    assert v.dtype == torch.float32 and f.dtype == torch.int64
    radius = v.norm(dim=1)
    assert torch.allclose(radius, torch.ones_like(radius), atol=1e-4 if level == 0 else 1e-6)
    # Closed manifold: Euler characteristic 2, every edge shared by exactly two faces.
    assert v.shape[0] - m.edges_packed().shape[0] + f.shape[0] == 2
    # Outward orientation: every face normal points away from the centre.
    centroids = v[f].mean(dim=1)
    assert torch.all((m.faces_normals_packed() * centroids).sum(1) > 0)
    # All vertices are used and no face is degenerate.
    assert torch.unique(f).numel() == v.shape[0]
    assert torch.all(m.faces_areas_packed() > 0)
    # Vertex normals of a unit sphere are (nearly) the positions themselves.
    assert torch.allclose(m.verts_normals_packed(), v / v.norm(dim=1, keepdim=True), atol=0.05)


def test_subdivision_keeps_old_vertices_first():
    coarse = ico_sphere(1).verts_packed()
    fine = ico_sphere(2).verts_packed()
    assert torch.allclose(fine[: coarse.shape[0]], coarse, atol=1e-6)


def test_level6_sizes():
    m = ico_sphere(6)
    assert m.verts_packed().shape == (40962, 3) and m.faces_packed().shape == (81920, 3)


def test_bad_level():
    with pytest.raises(ValueError, match="level"):
        ico_sphere(-1)
    with pytest.raises(TypeError, match="level"):
        ico_sphere(1.0)


def test_device_argument(cuda_device):
    m = ico_sphere(2, device=cuda_device)
    assert m.device.type == "cuda"
    assert torch.allclose(m.verts_packed().cpu(), ico_sphere(2).verts_packed(), atol=1e-6)
    assert torch.equal(m.faces_packed().cpu(), ico_sphere(2).faces_packed())
