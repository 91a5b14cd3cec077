"""`RasterizationSettings` and `MeshRasterizer`: world-space meshes in, `Fragments` out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Union

import torch

from .fragments import Fragments
from .rasterize_meshes import DEFAULT_MEMORY_BUDGET, rasterize_meshes, validate_request


@dataclass
class RasterizationSettings:
    """PyTorch3D's rasterization settings, with the same fields and defaults.

    `bin_size` and `max_faces_per_bin` are accepted and ignored: faces are binned by their own
    screen bounding boxes, which needs no tuning. `z_clip_value` clips faces to z >= that value
    (split in two where needed) instead of dropping those with a vertex behind the camera; left
    None it resolves as in PyTorch3D: znear / 2 for perspective-correct rasterization with a
    camera that has znear (FoV cameras), else no clipping. `cull_to_frustum` is accepted and
    has no effect: faces outside the image never reach the per-pixel tests (PyTorch3D culls at
    NDC ±1, which on non-square images also drops visible faces on the longer side).
    `max_memory_bytes` (not in PyTorch3D) caps the memory the fragments of one call may take;
    a larger request raises a ValueError instead of exhausting the machine.
    """

    image_size: Union[int, Tuple[int, int]] = 256
    blur_radius: float = 0.0
    faces_per_pixel: int = 1
    bin_size: Optional[int] = None
    max_faces_per_bin: Optional[int] = None
    perspective_correct: Optional[bool] = None
    clip_barycentric_coords: Optional[bool] = None
    cull_backfaces: bool = False
    z_clip_value: Optional[float] = None
    cull_to_frustum: bool = False
    max_memory_bytes: int = DEFAULT_MEMORY_BUDGET


def check_raster_settings(settings: RasterizationSettings, batch_size: int) -> Tuple[int, int]:
    """Validate settings for a batch; return (H, W). Raises ValueError naming the bad setting."""
    return validate_request(
        batch_size, settings.image_size, settings.faces_per_pixel, settings.blur_radius, settings.max_memory_bytes
    )


def resolve_perspective_correct(settings: RasterizationSettings, cameras) -> bool:
    """settings.perspective_correct, or (None) whether the camera is a perspective one."""
    if settings.perspective_correct is not None:
        return bool(settings.perspective_correct)
    return bool(cameras.is_perspective())


def resolve_z_clip(settings: RasterizationSettings, cameras) -> Optional[float]:
    """The near plane faces are clipped at: settings.z_clip_value, or (None, as in PyTorch3D)
    half the camera's smallest znear for perspective-correct rasterization, else no clipping."""
    if settings.z_clip_value is not None:
        return float(settings.z_clip_value)
    znear = cameras.get_znear()
    if znear is None or not resolve_perspective_correct(settings, cameras):
        return None
    return float(torch.as_tensor(znear).min()) / 2


class MeshRasterizer(torch.nn.Module):
    """Projects meshes with a camera and rasterizes them into `Fragments` (PyTorch3D's API).

    Call keywords: cameras, raster_settings (per-call overrides, as in PyTorch3D),
    defer_bary_zbuf (see `rasterize_meshes`; MeshRenderer sets it for shaders that read only
    the distances) and report_truncation (fill `fragments.sparse.truncation`).
    """

    def __init__(self, cameras=None, raster_settings: Optional[RasterizationSettings] = None) -> None:
        super().__init__()
        self.cameras = cameras
        self.raster_settings = raster_settings if raster_settings is not None else RasterizationSettings()

    def to(self, device):  # type: ignore[override]
        if self.cameras is not None:
            self.cameras = self.cameras.to(device)
        return self

    def transform(self, meshes_world, **kwargs):
        """Meshes with vertices in NDC (x, y) and view-space z, as the rasterizer consumes them."""
        cameras = kwargs.get("cameras", self.cameras)
        if cameras is None:
            raise ValueError("MeshRasterizer needs cameras: pass cameras= to the constructor or the call")
        n_cameras, n_meshes = len(cameras), len(meshes_world)
        if n_cameras != 1 and n_cameras != n_meshes:
            raise ValueError(f"batch size mismatch: {n_cameras} cameras for {n_meshes} meshes (use 1 or {n_meshes})")
        verts_world = meshes_world.verts_padded()
        eps = kwargs.get("eps", None)
        verts_view = cameras.get_world_to_view_transform(**kwargs).transform_points(verts_world, eps=eps)
        to_ndc = cameras.get_ndc_camera_transform(**kwargs)
        projection = cameras.get_projection_transform(**kwargs).compose(to_ndc)
        verts_ndc = projection.transform_points(verts_view, eps=eps)
        verts_ndc = torch.cat((verts_ndc[..., :2], verts_view[..., 2:3]), dim=-1)
        return meshes_world.update_padded(new_verts_padded=verts_ndc)

    def forward(self, meshes_world, **kwargs) -> Fragments:
        settings = kwargs.get("raster_settings", self.raster_settings)
        hw = check_raster_settings(settings, len(meshes_world))
        verts = meshes_world.verts_packed()
        if verts.numel() and not bool(torch.isfinite(verts).all()):
            raise ValueError("mesh vertices contain NaN or Inf; cannot rasterize")
        cameras = kwargs.get("cameras", self.cameras)
        meshes_proj = self.transform(meshes_world, **kwargs)
        perspective_correct = resolve_perspective_correct(settings, cameras)
        clip = settings.clip_barycentric_coords
        if clip is None:
            clip = settings.blur_radius > 0.0
        z_clip = resolve_z_clip(settings, cameras)
        sparse = rasterize_meshes(
            meshes_proj,
            image_size=hw,
            blur_radius=settings.blur_radius,
            faces_per_pixel=settings.faces_per_pixel,
            perspective_correct=perspective_correct,
            clip_barycentric_coords=clip,
            cull_backfaces=settings.cull_backfaces,
            z_clip_value=z_clip,
            return_sparse=True,
            max_memory_bytes=settings.max_memory_bytes,
            defer_bary_zbuf=bool(kwargs.get("defer_bary_zbuf", False)),
            report_truncation=bool(kwargs.get("report_truncation", False)),
        )
        return Fragments.from_sparse(sparse)
