"""Shaders: fragments + meshes -> RGBA images, with PyTorch3D's classes and per-call overrides.

Each shader is shading (what colour each fragment has) followed by blending (how the K
fragments of a pixel combine). Keyword arguments given at call time (cameras, lights,
materials, blend_params, znear, zfar) override the ones given at construction.
"""
from __future__ import annotations

from typing import Optional

import torch

from ..blending import BlendParams, hard_rgb_blend, silhouette_alpha, softmax_rgb_blend, sparse_fragments
from ..lighting import PointLights
from ..materials import Materials
from ..utils import Device
from .fragments import Fragments
from .shading import flat_shading, gouraud_shading, phong_shading


def _check_batch(name: str, value, n: int) -> None:
    if value is not None and hasattr(value, "__len__") and len(value) not in (1, n):
        raise ValueError(f"batch size mismatch: {len(value)} {name} for {n} meshes (use 1 or {n})")


class ShaderBase(torch.nn.Module):
    """Holds the defaults a shader falls back on when a call does not override them."""

    def __init__(
        self,
        device: Device = "cpu",
        cameras=None,
        lights=None,
        materials: Optional[Materials] = None,
        blend_params: Optional[BlendParams] = None,
    ) -> None:
        super().__init__()
        self.lights = lights if lights is not None else PointLights(device=device)
        self.materials = materials if materials is not None else Materials(device=device)
        self.cameras = cameras
        self.blend_params = blend_params if blend_params is not None else BlendParams()

    def to(self, device: Device):  # type: ignore[override]
        for name in ("cameras", "lights", "materials"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device))
        return self

    def _inputs(self, meshes, kwargs):
        """(cameras, lights, materials, blend_params) for this call, checked against the batch."""
        cameras = kwargs.get("cameras", self.cameras)
        if cameras is None:
            raise ValueError(f"{type(self).__name__} needs cameras: pass cameras= to the constructor or the call")
        lights = kwargs.get("lights", self.lights)
        materials = kwargs.get("materials", self.materials)
        n = len(meshes)
        _check_batch("cameras", cameras, n)
        _check_batch("lights", lights, n)
        _check_batch("materials", materials, n)
        return cameras, lights, materials, kwargs.get("blend_params", self.blend_params)

    def _softmax(self, colors: torch.Tensor, fragments: Fragments, cameras, blend_params: BlendParams, kwargs) -> torch.Tensor:
        znear = kwargs.get("znear", getattr(cameras, "znear", 1.0))
        zfar = kwargs.get("zfar", getattr(cameras, "zfar", 100.0))
        return softmax_rgb_blend(colors, fragments, blend_params, znear=znear, zfar=zfar)


class HardPhongShader(ShaderBase):
    """Per-pixel Phong lighting of the nearest face; hard edges."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._inputs(meshes, kwargs)
        texels = meshes.sample_textures(fragments)
        colors = phong_shading(meshes=meshes, fragments=fragments, texels=texels, lights=lights, cameras=cameras, materials=materials)
        return hard_rgb_blend(colors, fragments, blend_params)


class SoftPhongShader(ShaderBase):
    """Per-pixel Phong lighting blended over K faces with SoftRas's softmax (differentiable edges)."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._inputs(meshes, kwargs)
        texels = meshes.sample_textures(fragments)
        colors = phong_shading(meshes=meshes, fragments=fragments, texels=texels, lights=lights, cameras=cameras, materials=materials)
        return self._softmax(colors, fragments, cameras, blend_params, kwargs)


class HardGouraudShader(ShaderBase):
    """Lighting at the vertices, colours interpolated across the nearest face; hard edges."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._inputs(meshes, kwargs)
        colors = gouraud_shading(meshes=meshes, fragments=fragments, lights=lights, cameras=cameras, materials=materials)
        return hard_rgb_blend(colors, fragments, blend_params)


class SoftGouraudShader(ShaderBase):
    """Gouraud shading blended over K faces with SoftRas's softmax."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._inputs(meshes, kwargs)
        colors = gouraud_shading(meshes=meshes, fragments=fragments, lights=lights, cameras=cameras, materials=materials)
        return self._softmax(colors, fragments, cameras, blend_params, kwargs)


class HardFlatShader(ShaderBase):
    """One lighting value per face (face normal at the face centroid); hard edges."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._inputs(meshes, kwargs)
        texels = meshes.sample_textures(fragments)
        colors = flat_shading(meshes=meshes, fragments=fragments, texels=texels, lights=lights, cameras=cameras, materials=materials)
        return hard_rgb_blend(colors, fragments, blend_params)


class SoftSilhouetteShader(torch.nn.Module):
    """Silhouette only: RGB 1 and alpha = 1 - prod_k (1 - sigmoid(-d_k / sigma)).

    Equivalent to PyTorch3D's `sigmoid_alpha_blend` on all-ones colours, computed without
    materialising the (N, H, W, K, 3) colour tensor.
    """

    def __init__(self, blend_params: Optional[BlendParams] = None) -> None:
        super().__init__()
        self.blend_params = blend_params if blend_params is not None else BlendParams()

    def forward(self, fragments: Fragments, meshes=None, **kwargs) -> torch.Tensor:
        blend_params = kwargs.get("blend_params", self.blend_params)
        if not blend_params.sigma > 0:
            raise ValueError(f"BlendParams sigma must be > 0; got {blend_params.sigma}")
        sparse = sparse_fragments(fragments)
        alpha = silhouette_alpha(sparse, blend_params.sigma, sparse.dists)
        return torch.cat((torch.ones(*alpha.shape, 3, dtype=alpha.dtype, device=alpha.device), alpha[..., None]), dim=-1)
