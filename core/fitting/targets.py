"""What a fit compares against: per-view RGB images, silhouettes, cameras and lights."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import torch

from core.fitting.config import FitConfig
from core.fitting.views import (
    denormalize_mesh,
    fitting_lights,
    normalize_mesh,
    ring_cameras,
)
from core.renderer import (
    MeshRasterizer,
    MeshRenderer,
    PointLights,
    RasterizationSettings,
    SoftPhongShader,
    SoftSilhouetteShader,
    TexturesVertex,
)
from core.renderer.blending import BlendParams
from core.renderer.cameras import CamerasBase
from core.structures import Meshes

# Colour given to a target mesh that has no texture of its own (light grey).
UNTEXTURED_COLOR = 0.7
# Views rendered per renderer call when making targets (bounds memory for many views).
_VIEWS_PER_BATCH = 8


@dataclass
class Targets:
    """Target views of a fit.

    ``images``: (V, H, W, 3) RGB in [0, 1]; ``silhouettes``: (V, H, W) alpha in [0, 1];
    ``cameras``: V cameras; ``lights``: the lights the images were rendered (or lit) with.
    ``center``/``scale`` map the normalised frame back to the source's: original = x*scale + center.
    """

    images: torch.Tensor
    silhouettes: torch.Tensor
    cameras: CamerasBase
    lights: PointLights
    center: Optional[torch.Tensor] = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.images.dim() != 4 or self.images.shape[-1] != 3:
            raise ValueError(f"target images must be (V, H, W, 3), got {tuple(self.images.shape)}")
        if self.silhouettes.shape != self.images.shape[:3]:
            raise ValueError(f"target silhouettes {tuple(self.silhouettes.shape)} do not match images {tuple(self.images.shape)}")
        if len(self.cameras) != self.images.shape[0]:
            raise ValueError(f"{len(self.cameras)} cameras for {self.images.shape[0]} target views")

    @property
    def num_views(self) -> int:
        return self.images.shape[0]

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of every view."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    def to(self, device: str | torch.device) -> "Targets":
        center = None if self.center is None else self.center.to(device)
        return replace(self, images=self.images.to(device), silhouettes=self.silhouettes.to(device),
                       cameras=self.cameras.to(device), lights=self.lights.to(device), center=center)

    def to_source_frame(self, mesh: Meshes) -> Meshes:
        """Undo the normalisation applied by :func:`make_targets` (identity if none was)."""
        return mesh if self.center is None else denormalize_mesh(mesh, self.center, self.scale)


def make_targets(mesh: Meshes, config: FitConfig, normalize: bool = True) -> Targets:
    """Render the target RGB images and silhouettes of ``mesh`` from the config's camera ring.

    As in PyTorch3D's tutorial: RGB with SoftPhongShader at blur 0, one face per pixel, lit by
    :func:`fitting_lights`; silhouettes with SoftSilhouetteShader at the config's sigma, blur
    radius and faces_per_pixel. ``normalize`` first centres and scales the mesh to the unit cube
    (see :func:`normalize_mesh`); the returned Targets remember how to undo it. A mesh without
    textures is rendered light grey.
    """
    device = torch.device(config.device)
    mesh = mesh.to(device)
    center, scale = None, 1.0
    if normalize:
        mesh, center, scale = normalize_mesh(mesh)
    if mesh.textures is None:
        verts = mesh.verts_packed()
        mesh.textures = TexturesVertex(verts_features=[torch.full_like(verts, UNTEXTURED_COLOR)])
    cameras = ring_cameras(config.num_views, config.camera_dist, device)
    lights = fitting_lights(device)
    rgb_renderer = MeshRenderer(
        MeshRasterizer(cameras, RasterizationSettings(image_size=config.image_size, blur_radius=0.0, faces_per_pixel=1)),
        SoftPhongShader(device=device, cameras=cameras, lights=lights),
    )
    silhouette_renderer = MeshRenderer(
        MeshRasterizer(cameras, RasterizationSettings(image_size=config.image_size, blur_radius=config.blur_radius,
                                                      faces_per_pixel=config.faces_per_pixel)),
        SoftSilhouetteShader(BlendParams(sigma=config.sigma, gamma=config.gamma)),
    )
    images, silhouettes = [], []
    with torch.no_grad():
        for start in range(0, config.num_views, _VIEWS_PER_BATCH):
            views = list(range(start, min(start + _VIEWS_PER_BATCH, config.num_views)))
            batch = mesh.extend(len(views))
            images.append(rgb_renderer(batch, cameras=cameras[views], lights=lights)[..., :3])
            silhouettes.append(silhouette_renderer(batch, cameras=cameras[views])[..., 3])
    return Targets(torch.cat(images), torch.cat(silhouettes), cameras, lights, center, scale)
