"""OpenCV camera calibrations to and from PyTorch3D-convention `PerspectiveCameras`.

OpenCV projects a world point X to pixel coordinates with x = K (R X + t) (column vectors,
+X right, +Y down, u = x0 / x2 and v = x1 / x2, the image spanning [0, W] x [0, H]); these
cameras use row vectors (X_view = X @ R + T) with +X left and +Y up and NDC units in which the
shorter image side spans [-1, 1]. The conversion is PyTorch3D's (pytorch3d.utils), so a
calibration from OpenCV or COLMAP renders the image it was measured on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

import torch

if TYPE_CHECKING:
    from core.renderer.cameras import PerspectiveCameras


def _ndc_scale_and_centre(image_size: torch.Tensor, like: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pixels per NDC unit (half the shorter side) and the image centre, both (N, 2) as (x, y),
    for the N cameras of `like` (N, 3, 3); image_size holds one (height, width) or N."""
    size = torch.as_tensor(image_size).to(like).reshape(-1, 2)
    if not bool((size >= 1).all()):
        raise ValueError(f"image_size must hold (height, width) pairs of at least 1 pixel; got {size.tolist()}")
    if size.shape[0] not in (1, like.shape[0]):
        raise ValueError(f"image_size holds {size.shape[0]} sizes for {like.shape[0]} cameras (use 1 or {like.shape[0]})")
    width_height = size.flip(1)
    scale = width_height.min(dim=1, keepdim=True).values.expand(-1, 2) / 2.0
    return scale, width_height / 2.0


def _check_batch(R: torch.Tensor, tvec: torch.Tensor, camera_matrix: torch.Tensor) -> None:
    n = R.shape[0] if R.dim() == 3 else -1
    if R.dim() != 3 or tuple(R.shape[1:]) != (3, 3):
        raise ValueError(f"R must have shape (N, 3, 3); got {tuple(R.shape)}")
    if tuple(tvec.shape) != (n, 3):
        raise ValueError(f"tvec must have shape ({n}, 3); got {tuple(tvec.shape)}")
    if tuple(camera_matrix.shape) != (n, 3, 3):
        raise ValueError(f"camera_matrix must have shape ({n}, 3, 3); got {tuple(camera_matrix.shape)}")
    for name, value in (("R", R), ("tvec", tvec), ("camera_matrix", camera_matrix)):
        if not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name} holds NaN or infinite values")


def cameras_from_opencv_projection(
    R: torch.Tensor, tvec: torch.Tensor, camera_matrix: torch.Tensor, image_size: torch.Tensor
) -> "PerspectiveCameras":
    """NDC `PerspectiveCameras` equivalent to OpenCV's (R, tvec, K) for images of `image_size`.

    R (N, 3, 3) and tvec (N, 3) map world to camera coordinates, camera_matrix (N, 3, 3) holds
    fx, fy, cx, cy in pixels, image_size (N, 2) is (height, width). Skew in K is ignored, as in
    PyTorch3D.
    """
    from core.renderer.cameras import PerspectiveCameras  # here: core.renderer imports core.utils

    _check_batch(R, tvec, camera_matrix)
    scale, centre = _ndc_scale_and_centre(image_size, R)
    focal = torch.stack((camera_matrix[:, 0, 0], camera_matrix[:, 1, 1]), dim=-1) / scale
    principal = (centre - camera_matrix[:, :2, 2]) / scale
    # transpose for row vectors, then negate the x and y axes of the camera frame
    flip = torch.tensor([-1.0, -1.0, 1.0], dtype=R.dtype, device=R.device)
    return PerspectiveCameras(
        R=R.transpose(1, 2) * flip,
        T=tvec * flip,
        focal_length=focal,
        principal_point=principal,
        image_size=torch.as_tensor(image_size, device=R.device).reshape(-1, 2),
        device=R.device,
    )


def opencv_from_cameras_projection(
    cameras: "PerspectiveCameras", image_size: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(R, tvec, camera_matrix) in OpenCV's convention for NDC `cameras` and images of
    `image_size` (N, 2) as (height, width); the inverse of `cameras_from_opencv_projection`."""
    if not cameras.in_ndc():
        raise ValueError("opencv_from_cameras_projection needs cameras defined in NDC (in_ndc=True)")
    flip = torch.tensor([-1.0, -1.0, 1.0], dtype=cameras.R.dtype, device=cameras.R.device)
    R = (cameras.R * flip).transpose(1, 2)
    tvec = cameras.T * flip
    scale, centre = _ndc_scale_and_centre(image_size, R)
    camera_matrix = torch.zeros_like(R)
    camera_matrix[:, 0, 0], camera_matrix[:, 1, 1] = (cameras.focal_length * scale).unbind(-1)
    camera_matrix[:, :2, 2] = centre - cameras.principal_point * scale
    camera_matrix[:, 2, 2] = 1.0
    return R, tvec, camera_matrix
