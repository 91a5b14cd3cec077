"""`MeshData`: one mesh as numpy arrays, the form core.io reads into and writes from.

Colours and images are float in [0, 1]. A UV texture follows core's TexturesUV (PyTorch3D)
convention: image row 0 is the top of the picture, uv (0, 0) is its bottom-left corner, and
every face corner has its own uv (`faces_uvs` indexes `verts_uvs`), so seams need no split
vertices. Conversion to and from `Meshes` lives here too.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Dict, Optional, Type

import numpy as np
import torch

from ..renderer import TexturesUV, TexturesVertex
from ..renderer.utils import Device, make_device
from ..structures import Meshes


@dataclasses.dataclass
class UVTexture:
    """An image (H, W, 3) and per-corner uvs: verts_uvs (T, 2), faces_uvs (F, 3) into verts_uvs;
    name: the file's material name, when it has one."""

    image: np.ndarray
    verts_uvs: np.ndarray
    faces_uvs: np.ndarray
    name: str = ""


@dataclasses.dataclass
class MaterialColors:
    """An OBJ material's colours (MTL Ka, Kd, Ks as RGB in [0, 1], to trimesh's 1/255) and
    shininess (Ns)."""

    ambient: np.ndarray
    diffuse: np.ndarray
    specular: np.ndarray
    shininess: float


@dataclasses.dataclass
class MeshData:
    """Triangles (verts (V, 3), faces (F, 3)) plus at most one of vertex colours (V, 3) or a UV
    texture; `materials`: the colours of the OBJ materials the faces use, by name."""

    verts: np.ndarray
    faces: np.ndarray
    verts_colors: Optional[np.ndarray] = None
    uv_texture: Optional[UVTexture] = None
    materials: Dict[str, MaterialColors] = dataclasses.field(default_factory=dict)

    def validate(self, where: str, error: Type[ValueError]) -> None:
        """Raise `error` with a message starting with `where` if any array is malformed."""
        check_geometry(self.verts, self.faces, where, error)
        if self.verts_colors is not None:
            colors = self.verts_colors
            if colors.shape != self.verts.shape:
                raise error(f"{where}: vertex colours must have shape {self.verts.shape}; got {colors.shape}")
            check_finite(colors, "vertex colours", where, error)
        if self.uv_texture is not None:
            _check_uv_texture(self.uv_texture, len(self.faces), where, error)

    def without_appearance(self) -> "MeshData":
        """The same triangles without colours or texture."""
        return MeshData(self.verts, self.faces)

    def to_meshes(self, device: Device = "cpu") -> Meshes:
        """A batch of one mesh with TexturesUV / TexturesVertex when the data has them (float32)."""
        device = make_device(device)

        def tensor(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(array)).to(device=device, dtype=dtype)

        textures = None
        if self.uv_texture is not None:
            tex = self.uv_texture
            textures = TexturesUV(
                maps=[tensor(tex.image, torch.float32)],
                faces_uvs=[tensor(tex.faces_uvs, torch.int64)],
                verts_uvs=[tensor(tex.verts_uvs, torch.float32)],
            )
        elif self.verts_colors is not None:
            textures = TexturesVertex(verts_features=[tensor(self.verts_colors, torch.float32)])
        return Meshes(
            verts=[tensor(self.verts, torch.float32)], faces=[tensor(self.faces, torch.int64)], textures=textures
        )

    @classmethod
    def from_meshes(cls, meshes: Meshes, where: str, error: Type[ValueError]) -> "MeshData":
        """The single mesh of a batch of one, with its TexturesVertex colours or TexturesUV texture."""
        if not isinstance(meshes, Meshes):
            raise TypeError(f"{where}: expected a Meshes object; got {type(meshes).__name__}")
        if len(meshes) != 1:
            raise error(f"{where}: a mesh file holds one mesh; got a batch of {len(meshes)} (index it, e.g. meshes[0])")
        data = cls(_numpy(meshes.verts_list()[0]), _numpy(meshes.faces_list()[0]))
        textures = meshes.textures
        if isinstance(textures, TexturesVertex):
            colors = _numpy(textures.verts_features_list()[0])
            if colors.ndim != 2 or colors.shape[1] != 3:
                raise error(f"{where}: vertex colours must be RGB (V, 3); the TexturesVertex has shape {colors.shape}")
            data.verts_colors = colors
        elif isinstance(textures, TexturesUV):
            data.uv_texture = UVTexture(
                image=_numpy(textures.maps_list()[0]),
                verts_uvs=_numpy(textures.verts_uvs_list()[0]),
                faces_uvs=_numpy(textures.faces_uvs_list()[0]),
            )
        elif textures is not None:
            warnings.warn(f"{where}: textures of type {type(textures).__name__} are not saved", stacklevel=3)
        return data


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def check_finite(array: np.ndarray, what: str, where: str, error: Type[ValueError]) -> None:
    bad = ~np.isfinite(array).all(axis=-1)
    if bad.any():
        raise error(
            f"{where}: {int(bad.sum())} of {bad.size} {what} contain NaN or Inf (the first at index {int(np.argmax(bad))})"
        )


def check_float32_range(array: np.ndarray, what: str, where: str, error: Type[ValueError]) -> None:
    """Finite values beyond float32 (|x| > 3.4e38) would become Inf in the float32 tensors of
    `Meshes`; say so here, naming the file, instead of a NaN-or-Inf error from `Meshes`."""
    bad = (np.abs(array) > np.finfo(np.float32).max).any(axis=-1)
    if bad.any():
        raise error(
            f"{where}: {int(bad.sum())} of {bad.size} {what} lie beyond the float32 range (|x| > 3.4e38) "
            f"(the first at index {int(np.argmax(bad))})"
        )


def check_indices(indices: np.ndarray, count: int, what: str, where: str, error: Type[ValueError]) -> None:
    if indices.size and (indices.min() < 0 or indices.max() >= count):
        raise error(
            f"{where}: {what} refer to indices in [{int(indices.min())}, {int(indices.max())}] "
            f"but there are only {count} (valid: 0 to {count - 1})"
        )


def check_geometry(verts: np.ndarray, faces: np.ndarray, where: str, error: Type[ValueError]) -> None:
    """Vertices (V, 3) finite; faces (F, 3) integer indices into them."""
    if verts.ndim != 2 or verts.shape[1] != 3:
        raise error(f"{where}: vertices must have shape (V, 3); got {verts.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise error(f"{where}: faces must be triangles of shape (F, 3); got {faces.shape}")
    if faces.size and not np.issubdtype(faces.dtype, np.integer):
        raise error(f"{where}: faces must hold integer vertex indices; got dtype {faces.dtype}")
    check_finite(verts, "vertices", where, error)
    check_float32_range(verts, "vertices", where, error)
    check_indices(faces, len(verts), "faces", where, error)


def _check_uv_texture(tex: UVTexture, num_faces: int, where: str, error: Type[ValueError]) -> None:
    if tex.image.ndim != 3 or tex.image.shape[2] != 3 or 0 in tex.image.shape:
        raise error(f"{where}: the texture image must have shape (H, W, 3); got {tex.image.shape}")
    if tex.verts_uvs.ndim != 2 or tex.verts_uvs.shape[1] != 2:
        raise error(f"{where}: texture coordinates must have shape (T, 2); got {tex.verts_uvs.shape}")
    if tex.faces_uvs.shape != (num_faces, 3):
        raise error(f"{where}: faces_uvs must have shape ({num_faces}, 3), one row per face; got {tex.faces_uvs.shape}")
    if tex.faces_uvs.size and not np.issubdtype(tex.faces_uvs.dtype, np.integer):
        raise error(f"{where}: faces_uvs must hold integer indices; got dtype {tex.faces_uvs.dtype}")
    check_finite(tex.image, "texture pixels", where, error)
    check_finite(tex.verts_uvs, "texture coordinates", where, error)
    check_float32_range(tex.verts_uvs, "texture coordinates", where, error)
    check_indices(tex.faces_uvs, len(tex.verts_uvs), "faces_uvs", where, error)
