"""`MeshRenderer`: a rasterizer followed by a shader (composition, as in PyTorch3D)."""
from __future__ import annotations

from typing import Tuple

import torch

from .fragments import Fragments


class MeshRenderer(torch.nn.Module):
    """Render meshes to images; keyword arguments reach both the rasterizer and the shader."""

    def __init__(self, rasterizer, shader) -> None:
        super().__init__()
        self.rasterizer = rasterizer
        self.shader = shader

    def to(self, device):  # type: ignore[override]
        self.rasterizer.to(device)
        self.shader.to(device)
        return self

    def forward(self, meshes_world, **kwargs) -> torch.Tensor:
        fragments = self._rasterize(meshes_world, kwargs)
        return self.shader(fragments, meshes_world, **kwargs)

    def _rasterize(self, meshes_world, kwargs) -> Fragments:
        """The rasterizer's fragments. For a shader that reads only the distances
        (`reads_bary_zbuf = False`, e.g. SoftSilhouetteShader) the rasterizer may leave the
        barycentrics and depths to be computed if and when they are read."""
        if not getattr(self.shader, "reads_bary_zbuf", True):
            kwargs = {"defer_bary_zbuf": True, **kwargs}
        return self.rasterizer(meshes_world, **kwargs)


class MeshRendererWithFragments(MeshRenderer):
    """Like MeshRenderer but also returns the Fragments, for depth maps or inspection."""

    def forward(self, meshes_world, **kwargs) -> Tuple[torch.Tensor, Fragments]:  # type: ignore[override]
        fragments = self._rasterize(meshes_world, kwargs)
        return self.shader(fragments, meshes_world, **kwargs), fragments
