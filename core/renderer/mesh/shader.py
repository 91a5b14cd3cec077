"""Shaders: fragments + meshes -> RGBA images, with PyTorch3D's classes and per-call overrides.

Each shader is shading (what colour each fragment has) followed by blending (how the K
fragments of a pixel combine). Keyword arguments given at call time (cameras, lights,
materials, blend_params, znear, zfar) override the ones given at construction.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from ..blending import (
    BlendParams,
    background_rgb,
    check_sigma,
    silhouette_alpha,
    softmax_blend_sparse,
    softmax_contributors,
    softmax_terms,
    sparse_fragments,
)
from ..lighting import PointLights
from ..materials import Materials
from ..utils import Device
from .fragments import Fragments, SparseFragments
from .packed_shading import (
    interpolate_face_values,
    packed_phong_colors,
    supports_packed_phong,
)
from .shading import flat_shading, gouraud_shading, phong_shading
from .textures import TexturesUV, TexturesVertex


def _check_batch(name: str, value, n: int) -> None:
    if value is not None and hasattr(value, "__len__") and len(value) not in (1, n):
        raise ValueError(f"batch size mismatch: {len(value)} {name} for {n} meshes (use 1 or {n})")


def _compact(sparse: SparseFragments, entries: torch.Tensor) -> Tuple[Fragments, torch.Tensor]:
    """Fragments of shape (N, 1, M_max, 1) holding only the chosen filled slots of each image.

    Shading then touches covered slots only, not every pixel x K. Returns the compact fragments
    and, for each chosen entry, its flat position in them (to read shaded colours back).
    """
    n, h, w, _ = sparse.shape
    image = sparse.pix[entries] // (h * w)  # rows are grouped by image (see SparseFragments)
    counts = torch.bincount(image, minlength=n)
    width = max(int(counts.max()), 1) if counts.numel() else 1
    position = torch.arange(entries.numel(), device=entries.device) - (torch.cumsum(counts, 0) - counts)[image]
    flat = image * width + position

    def scatter(values: torch.Tensor, fill: float) -> torch.Tensor:
        out = values.new_full((n * width, *values.shape[1:]), fill).index_put((flat,), values)
        return out.view(n, 1, width, 1, *values.shape[1:])

    frags = Fragments(
        pix_to_face=scatter(sparse.face[entries], -1),
        zbuf=scatter(sparse.zbuf[entries], -1.0),
        bary_coords=scatter(sparse.bary[entries], 0.0),
        dists=scatter(sparse.dists[entries], -1.0),
    )
    return frags, flat


def _hard_image(colors: torch.Tensor, pix: torch.Tensor, shape, blend_params: BlendParams) -> torch.Tensor:
    """(N, H, W, 4): colours (M, 3) at pixels `pix`, the background elsewhere; alpha = coverage."""
    n, h, w, _ = shape
    bg = background_rgb(blend_params, colors)
    rgb = bg.expand(n * h * w, 3).index_put((pix,), colors)
    alpha = colors.new_zeros(n * h * w).index_put((pix,), colors.new_ones(pix.shape))
    return torch.cat((rgb, alpha[:, None]), dim=1).view(n, h, w, 4)


def _shade_sparse(sparse: SparseFragments, entries: torch.Tensor, shading, meshes, *args) -> torch.Tensor:
    """Colours (len(entries), 3) of the chosen filled slots, from a PyTorch3D-style shading
    function `shading(meshes=, fragments=, ...)` run on compact fragments."""
    if entries.numel() == 0:  # nothing covered (e.g. only empty meshes)
        return sparse.zbuf.new_zeros(0, 3)
    compact, flat = _compact(sparse, entries)
    colors = shading(meshes, compact, *args)
    return colors.reshape(-1, colors.shape[-1])[flat]


def _phong_sparse(sparse: SparseFragments, entries: torch.Tensor, meshes, lights, cameras, materials) -> torch.Tensor:
    """Phong colours (len(entries), 3) of the chosen slots; the packed path where it applies."""
    if entries.numel() == 0 or not supports_packed_phong(lights):
        return _shade_sparse(sparse, entries, _phong, meshes, lights, cameras, materials)
    n, h, w, _ = sparse.shape
    face, bary = sparse.face.index_select(0, entries), sparse.bary.index_select(0, entries)
    columns = [meshes.verts_packed(), meshes.verts_normals_packed()]
    textures = meshes.textures
    vertex_colors = type(textures) is TexturesVertex
    uv_map = type(textures) is TexturesUV and textures.maps_padded().shape[-1] == 3  # RGB maps
    if vertex_colors:  # interpolate colours together with positions and normals
        columns.append(textures.verts_features_packed())
    corner_table = torch.cat(columns, dim=1).index_select(0, meshes.faces_packed().reshape(-1))
    if uv_map:  # and uv, whose table is per face corner already
        corner_table = torch.cat((corner_table, textures.corner_uvs_packed().to(corner_table.dtype)), dim=1)
    values = interpolate_face_values(corner_table, face, bary).unbind(0)
    image = sparse.pix.index_select(0, entries) // (h * w)
    if vertex_colors:
        texels = values[6:9]
    elif uv_map:
        texels = textures.sample_uvs(torch.stack(values[6:8], dim=1), image).to(corner_table.dtype).unbind(1)
    else:
        compact, flat = _compact(sparse, entries)
        texels = meshes.sample_textures(compact)
        texels = texels.reshape(-1, texels.shape[-1]).index_select(0, flat).unbind(1)
    return packed_phong_colors(values[0:3], values[3:6], image, texels, lights, cameras, materials)


def _phong(meshes, fragments, lights, cameras, materials) -> torch.Tensor:
    return phong_shading(
        meshes=meshes, fragments=fragments, texels=meshes.sample_textures(fragments),
        lights=lights, cameras=cameras, materials=materials,
    )


def _gouraud(meshes, fragments, lights, cameras, materials) -> torch.Tensor:
    return gouraud_shading(meshes=meshes, fragments=fragments, lights=lights, cameras=cameras, materials=materials)


def _flat(meshes, fragments, lights, cameras, materials) -> torch.Tensor:
    return flat_shading(
        meshes=meshes, fragments=fragments, texels=meshes.sample_textures(fragments),
        lights=lights, cameras=cameras, materials=materials,
    )


def _check_fragments(sparse: SparseFragments, meshes) -> None:
    """ValueError when fragments do not belong to these meshes (batch size, face indices)."""
    if sparse.shape[0] != len(meshes):
        raise ValueError(f"fragments hold {sparse.shape[0]} images but {len(meshes)} meshes were given")
    num_faces = meshes.faces_packed().shape[0]
    if sparse.face.numel() and int(sparse.face.max()) >= num_faces:
        raise ValueError(
            f"fragments refer to face {int(sparse.face.max())} but the meshes have {num_faces} faces; "
            "were they rasterized from other meshes?"
        )


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

    def _cameras(self, kwargs):
        """The call's cameras (`cameras=`, else the constructor's); ValueError when neither."""
        cameras = kwargs.get("cameras", self.cameras)
        if cameras is None:
            raise ValueError(f"{type(self).__name__} needs cameras: pass cameras= to the constructor or the call")
        return cameras

    def _inputs(self, meshes, kwargs, fragments: Fragments):
        """(sparse fragments, cameras, lights, materials, blend_params) for this call, checked
        against the batch."""
        sparse = sparse_fragments(fragments)
        _check_fragments(sparse, meshes)
        cameras = self._cameras(kwargs)
        lights = kwargs.get("lights", self.lights)
        materials = kwargs.get("materials", self.materials)
        n = len(meshes)
        _check_batch("cameras", cameras, n)
        _check_batch("lights", lights, n)
        _check_batch("materials", materials, n)
        return sparse, cameras, lights, materials, kwargs.get("blend_params", self.blend_params)

    def _hard(self, sparse: SparseFragments, shade, blend_params: BlendParams) -> torch.Tensor:
        """Shade each covered pixel's nearest fragment only; shade(sparse, entries) -> (M, 3)."""
        nearest = sparse.nearest()
        return _hard_image(shade(sparse, nearest), sparse.pix[nearest], sparse.shape, blend_params)

    def _soft(self, sparse: SparseFragments, shade, cameras, blend_params: BlendParams, kwargs) -> torch.Tensor:
        """Shade the fragments with a non-zero softmax weight, then SoftRas-blend all of them."""
        znear = kwargs.get("znear", getattr(cameras, "znear", 1.0))
        zfar = kwargs.get("zfar", getattr(cameras, "zfar", 100.0))
        terms = softmax_terms(sparse, blend_params, znear=znear, zfar=zfar)
        shaded = softmax_contributors(sparse, terms)
        return softmax_blend_sparse(shade(sparse, shaded), sparse, blend_params, terms=terms, rows=shaded)


class HardPhongShader(ShaderBase):
    """Per-pixel Phong lighting of the nearest face; hard edges."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        sparse, cameras, lights, materials, blend_params = self._inputs(meshes, kwargs, fragments)
        shade = lambda sparse, entries: _phong_sparse(sparse, entries, meshes, lights, cameras, materials)  # noqa: E731
        return self._hard(sparse, shade, blend_params)


class SoftPhongShader(ShaderBase):
    """Per-pixel Phong lighting blended over K faces with SoftRas's softmax (differentiable edges)."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        sparse, cameras, lights, materials, blend_params = self._inputs(meshes, kwargs, fragments)
        shade = lambda sparse, entries: _phong_sparse(sparse, entries, meshes, lights, cameras, materials)  # noqa: E731
        return self._soft(sparse, shade, cameras, blend_params, kwargs)


class HardGouraudShader(ShaderBase):
    """Lighting at the vertices, colours interpolated across the nearest face; hard edges."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        sparse, cameras, lights, materials, blend_params = self._inputs(meshes, kwargs, fragments)
        shade = lambda sparse, entries: _shade_sparse(sparse, entries, _gouraud, meshes, lights, cameras, materials)  # noqa: E731
        return self._hard(sparse, shade, blend_params)


class SoftGouraudShader(ShaderBase):
    """Gouraud shading blended over K faces with SoftRas's softmax."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        sparse, cameras, lights, materials, blend_params = self._inputs(meshes, kwargs, fragments)
        shade = lambda sparse, entries: _shade_sparse(sparse, entries, _gouraud, meshes, lights, cameras, materials)  # noqa: E731
        return self._soft(sparse, shade, cameras, blend_params, kwargs)


class HardFlatShader(ShaderBase):
    """One lighting value per face (face normal at the face centroid); hard edges."""

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        sparse, cameras, lights, materials, blend_params = self._inputs(meshes, kwargs, fragments)
        shade = lambda sparse, entries: _shade_sparse(sparse, entries, _flat, meshes, lights, cameras, materials)  # noqa: E731
        return self._hard(sparse, shade, blend_params)


class SoftSilhouetteShader(torch.nn.Module):
    """Silhouette only: RGB 1 and alpha = 1 - prod_k (1 - sigmoid(-d_k / sigma)).

    Equivalent to PyTorch3D's `sigmoid_alpha_blend` on all-ones colours, computed without
    materialising the (N, H, W, K, 3) colour tensor.
    """

    reads_bary_zbuf = False  # only the distances: MeshRenderer lets the rasterizer skip the rest

    def __init__(self, blend_params: Optional[BlendParams] = None) -> None:
        super().__init__()
        self.blend_params = blend_params if blend_params is not None else BlendParams()

    def forward(self, fragments: Fragments, meshes=None, **kwargs) -> torch.Tensor:
        blend_params = kwargs.get("blend_params", self.blend_params)
        check_sigma(blend_params.sigma)
        sparse = sparse_fragments(fragments)
        alpha = silhouette_alpha(sparse, blend_params.sigma, sparse.dists)
        return torch.cat((torch.ones(*alpha.shape, 3, dtype=alpha.dtype, device=alpha.device), alpha[..., None]), dim=-1)
