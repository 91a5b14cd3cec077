"""OpenCV calibrations (R, tvec, K in pixels) to PerspectiveCameras and back.

Truth is OpenCV's projection written out in numpy: u = x0 / x2, v = x1 / x2 with
x = K (R X + t), the image spanning [0, W] x [0, H] (pixel centres at half-integers).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core import renderer as R
from core.structures import Meshes
from core.utils import cameras_from_opencv_projection, opencv_from_cameras_projection

# (height, width): landscape, portrait, square
SIZES = [(60, 80), (90, 50), (64, 64)]


def _calibrations(dtype=torch.float64):
    """Three OpenCV cameras looking at the origin from about 3 away, fx != fy, off-centre."""
    gen = torch.Generator().manual_seed(3)
    rotations = []
    for _ in SIZES:
        q, r = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
        q = q * torch.sign(torch.diagonal(r))
        rotations.append(q * torch.linalg.det(q))  # a rotation (det +1)
    rot = torch.stack(rotations)
    tvec = torch.tensor([[0.1, -0.2, 3.0], [-0.3, 0.1, 3.5], [0.0, 0.2, 2.8]], dtype=torch.float64)
    K = torch.zeros(3, 3, 3, dtype=torch.float64)
    for i, ((h, w), f, ratio, shift) in enumerate(zip(SIZES, (70.0, 55.0, 60.0), (1.1, 0.9, 1.0), (4.0, -6.0, 0.0))):
        K[i] = torch.tensor([[f, 0, w / 2 + shift], [0, f * ratio, h / 2 - shift / 2], [0, 0, 1]], dtype=torch.float64)
    return rot.to(dtype), tvec.to(dtype), K.to(dtype), torch.tensor(SIZES)


def _opencv_project(rot, tvec, K, points) -> np.ndarray:
    cam = points @ rot.T + tvec
    x = cam @ K.T
    return x[:, :2] / x[:, 2:3]


def test_points_project_to_opencv_pixels():
    rot, tvec, K, sizes = _calibrations()
    cameras = cameras_from_opencv_projection(rot, tvec, K, sizes)
    points = torch.rand(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5
    screen = cameras.transform_points_screen(points.expand(3, -1, -1))[..., :2]
    for i in range(3):
        expected = _opencv_project(rot[i].numpy(), tvec[i].numpy(), K[i].numpy(), points.numpy())
        np.testing.assert_allclose(screen[i].numpy(), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("view", range(len(SIZES)))
def test_rasterized_coverage_is_where_opencv_projects_the_quad(view):
    """A unit square rendered with the converted camera covers exactly the pixels whose centres
    lie inside the square's OpenCV projection (non-square images included)."""
    rot, tvec, K, sizes = _calibrations()
    cameras = cameras_from_opencv_projection(rot[view : view + 1], tvec[view : view + 1], K[view : view + 1], sizes[view : view + 1])
    corners = np.array([[-0.5, -0.5, 0.0], [0.5, -0.5, 0.0], [0.5, 0.5, 0.0], [-0.5, 0.5, 0.0]])
    mesh = Meshes([torch.tensor(corners, dtype=torch.float64)], [torch.tensor([[0, 1, 2], [0, 2, 3]])])
    h, w = SIZES[view]
    frags = R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=(h, w)))(mesh)
    covered = frags.pix_to_face[0, ..., 0].numpy() >= 0

    quad = _opencv_project(rot[view].numpy(), tvec[view].numpy(), K[view].numpy(), corners)
    v, u = np.mgrid[0:h, 0:w] + 0.5
    centres = np.stack((u, v), axis=-1)
    sides = []
    for a, b in zip(quad, np.roll(quad, -1, axis=0)):
        edge, rel = b - a, centres - a
        sides.append((edge[0] * rel[..., 1] - edge[1] * rel[..., 0]) / np.linalg.norm(edge))
    sides = np.stack(sides)
    inside = (sides > 0).all(0) | (sides < 0).all(0)
    clear = np.abs(sides).min(0) > 1e-6  # pixel centres off the quad's edges
    assert inside.sum() > 100 and (~inside).sum() > 100
    assert np.array_equal(covered[clear], inside[clear])


def test_round_trip_returns_the_calibration():
    rot, tvec, K, sizes = _calibrations()
    cameras = cameras_from_opencv_projection(rot, tvec, K, sizes)
    assert cameras.in_ndc() and cameras.image_size.tolist() == [list(s) for s in SIZES]
    back = opencv_from_cameras_projection(cameras, sizes)
    for got, want in zip(back, (rot, tvec, K)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_conversion_is_differentiable():
    rot, tvec, K, sizes = _calibrations()
    tvec.requires_grad_(True)
    K.requires_grad_(True)
    cameras = cameras_from_opencv_projection(rot, tvec, K, sizes)
    cameras.transform_points_screen(torch.zeros(3, 1, 3, dtype=torch.float64))[..., :2].sum().backward()
    assert tvec.grad.abs().sum() > 0 and K.grad[:, :2, 2].abs().sum() > 0


def test_bad_calibrations_are_refused():
    rot, tvec, K, sizes = _calibrations()
    with pytest.raises(ValueError, match="R must have shape"):
        cameras_from_opencv_projection(rot[0], tvec, K, sizes)
    with pytest.raises(ValueError, match="tvec must have shape"):
        cameras_from_opencv_projection(rot, tvec[:2], K, sizes)
    with pytest.raises(ValueError, match="camera_matrix must have shape"):
        cameras_from_opencv_projection(rot, tvec, K[..., :2], sizes)
    with pytest.raises(ValueError, match="NaN"):
        cameras_from_opencv_projection(rot, tvec * float("nan"), K, sizes)
    with pytest.raises(ValueError, match="image_size"):
        cameras_from_opencv_projection(rot, tvec, K, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="2 sizes for 3 cameras"):
        cameras_from_opencv_projection(rot, tvec, K, sizes[:2])
    screen = R.PerspectiveCameras(focal_length=100.0, principal_point=((32.0, 32.0),), in_ndc=False, image_size=((64, 64),))
    with pytest.raises(ValueError, match="in_ndc"):
        opencv_from_cameras_projection(screen, torch.tensor([[64, 64]]))


def test_cuda_conversion_equals_the_cpu(cuda_device):
    rot, tvec, K, sizes = _calibrations(torch.float32)
    cpu = cameras_from_opencv_projection(rot, tvec, K, sizes)
    gpu = cameras_from_opencv_projection(rot.to(cuda_device), tvec.to(cuda_device), K.to(cuda_device), sizes.to(cuda_device))
    for name in ("R", "T", "focal_length", "principal_point"):
        torch.testing.assert_close(getattr(gpu, name).cpu(), getattr(cpu, name))
    back = opencv_from_cameras_projection(gpu, sizes.to(cuda_device))
    torch.testing.assert_close(back[2].cpu(), K, rtol=1e-5, atol=1e-4)
