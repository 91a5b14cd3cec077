"""Loading mesh files into `Meshes`: `load_mesh` for any supported format and PyTorch3D's
`load_objs_as_meshes` for batches of OBJ files.

OBJ vertices follow PyTorch3D's indexing: one vertex per position, with texture coordinates
per face corner (`faces_uvs`), so the cow keeps its 2930 `v` entries instead of trimesh's 3225
seam-split copies. This is done by welding trimesh's split vertices that share a position, in
order of first appearance. It differs from PyTorch3D only for unusual files: `v` entries that
no face uses are dropped, and distinct `v` entries at the same position become one vertex.
STL triangle soups are welded the same way; the other formats keep their vertices as stored.

A multi-material OBJ or multi-part glTF scene is merged into one mesh (see core.io.merge):
unlike PyTorch3D, which maps every face to the first material's image, each part keeps its own
image in a combined atlas. Faces of a multi-material OBJ come grouped by material.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import torch

from ..renderer.utils import Device, make_device
from ..structures import Meshes, join_meshes_as_batch
from .errors import MeshLoadError
from .formats import LOAD_FORMATS, extension
from .merge import merge_parts
from ..renderer.mesh.textures import TexturesAtlas
from .mesh_data import MeshData
from .texture_atlas import check_atlas_size, check_texture_wrap, mesh_data_atlas
from .topology import weld_vertices
from .trimesh_read import read_parts

PathLike = Union[str, "os.PathLike[str]"]

# Formats whose vertices trimesh splits (OBJ at uv / normal seams, STL at every corner).
_WELDED_FORMATS = (".obj", ".stl")


def _checked_path(path: PathLike, formats: Sequence[str]) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"expected a file path (str or os.PathLike); got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "mesh file not found", str(path))
    if path.is_dir():
        raise MeshLoadError(f"{path}: is a folder, not a mesh file")
    if extension(path) not in formats:
        shown = repr(extension(path)) if extension(path) else "no extension"
        raise MeshLoadError(f"{path}: unsupported mesh format ({shown}); supported: {', '.join(formats)}")
    return path


def read_mesh_data(path: PathLike, formats: Sequence[str] = LOAD_FORMATS) -> MeshData:
    """The mesh in a file as validated numpy arrays (parts merged, OBJ/STL vertices welded)."""
    path = _checked_path(path, formats)
    data = merge_parts(read_parts(path))
    if extension(path) in _WELDED_FORMATS:
        data = weld_vertices(data)
    data.validate(str(path), MeshLoadError)
    return data


def load_mesh(path: PathLike, device: Device = "cpu") -> Meshes:
    """Load an OBJ, PLY, STL, OFF, GLB or glTF file as a batch of one mesh on `device`.

    Textures: a UV-mapped image becomes TexturesUV (maps (1, H, W, 3) in [0, 1], uv origin at
    the bottom-left); vertex colours, face colours (averaged onto vertices) and plain material
    colours become TexturesVertex; otherwise `textures` is None. Raises FileNotFoundError for a
    missing file and MeshLoadError (a ValueError) for anything else that is not a usable mesh.
    A file the mesh refers to that is missing or unreadable (an MTL, a texture image) gives a
    UserWarning naming it, and the mesh loads without it (as PyTorch3D does).
    """
    return read_mesh_data(path).to_meshes(device)


def load_objs_as_meshes(
    files: Sequence[PathLike],
    device: Optional[Device] = None,
    load_textures: bool = True,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: Optional[str] = "repeat",
) -> Meshes:
    """Load OBJ files as one batch (PyTorch3D 0.7.9's function; see the module notes).

    Each mesh gets TexturesUV from its MTL's map_Kd image when it has one; `load_textures=False`
    gives meshes without textures. Beyond PyTorch3D, `v x y z r g b` colours and plain Kd
    material colours become TexturesVertex instead of no textures. `create_texture_atlas=True`
    gives TexturesAtlas instead, `texture_atlas_size` texels square per face, uvs outside
    [0, 1] handled as `texture_wrap` says (see core.io.texture_atlas). `device=None` means the
    CPU. Files must be paths (not open file objects).
    """
    if isinstance(files, (str, os.PathLike)):
        raise TypeError("files must be a list of paths; wrap a single path in a list")
    _check_obj_options(create_texture_atlas, texture_atlas_size, texture_wrap)
    files = list(files)
    if not files:
        raise ValueError("load_objs_as_meshes needs at least one file")
    device = "cpu" if device is None else device
    meshes = []
    for f in files:
        data = read_mesh_data(f, formats=(".obj",))
        if not load_textures:
            mesh = data.without_appearance().to_meshes(device)
        elif create_texture_atlas:  # the atlas replaces the UV texture: build only the geometry
            atlas = mesh_data_atlas(data, texture_atlas_size, texture_wrap, make_device(device))
            mesh = data.without_appearance().to_meshes(device)
            mesh = Meshes(mesh.verts_list(), mesh.faces_list(), textures=TexturesAtlas([atlas]))
        else:
            mesh = data.to_meshes(device)
        meshes.append(mesh)
    return meshes[0] if len(meshes) == 1 else join_meshes_as_batch(meshes)


def _check_obj_options(create_texture_atlas: bool, texture_atlas_size: int, texture_wrap: Optional[str]) -> None:
    """PyTorch3D's OBJ loader options, checked before the file is read."""
    check_texture_wrap(texture_wrap)
    if create_texture_atlas:
        check_atlas_size(texture_atlas_size)


class Faces(NamedTuple):
    """Per-face indices of `load_obj` (PyTorch3D's names); -1 where the file gives none."""

    verts_idx: torch.Tensor  # (F, 3) into verts
    normals_idx: torch.Tensor  # (F, 3) into aux.normals
    textures_idx: torch.Tensor  # (F, 3) into aux.verts_uvs
    materials_idx: torch.Tensor  # (F,) into aux.texture_images' order


class Properties(NamedTuple):
    """The `aux` of `load_obj` (PyTorch3D's names)."""

    normals: Optional[torch.Tensor]
    verts_uvs: Optional[torch.Tensor]
    material_colors: Optional[Dict[str, Dict[str, torch.Tensor]]]
    texture_images: Optional[Dict[str, torch.Tensor]]
    texture_atlas: Optional[torch.Tensor]


def load_obj(
    f: PathLike,
    load_textures: bool = True,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: Optional[str] = "repeat",
    device: Device = "cpu",
    path_manager: Any = None,
) -> Tuple[torch.Tensor, Faces, Properties]:
    """PyTorch3D's `load_obj`: (verts (V, 3), faces, aux) for one OBJ file, read by trimesh.

    faces.verts_idx, and with a map_Kd texture faces.textures_idx, aux.verts_uvs and
    aux.texture_images ({material name: (H, W, 3) image in [0, 1]}; a multi-material file's
    images come as one atlas named "name1+name2…", see the module notes) and
    faces.materials_idx (0 for every face), are PyTorch3D's. With `create_texture_atlas=True`
    (and textures loaded) aux.texture_atlas is the (F, R, R, 3) atlas `load_objs_as_meshes`
    would use. aux.material_colors holds, for each material the faces use, PyTorch3D's
    "ambient_color", "diffuse_color", "specular_color" (3,) and "shininess" (1,) from the MTL's
    Ka, Kd, Ks and Ns, read by trimesh (colours to 1/255; a value the MTL leaves out comes as
    trimesh's default, 0.4 grey or Ns 1, where PyTorch3D leaves the key out); None without
    materials. Not read: `vn` normals (aux.normals None, normals_idx -1). Vertices are
    indexed as in `load_objs_as_meshes`.
    `path_manager` (PyTorch3D's iopath hook) is not supported: pass a local path.
    """
    if path_manager is not None:
        raise NotImplementedError("path_manager is not supported; pass a local file path")
    _check_obj_options(create_texture_atlas, texture_atlas_size, texture_wrap)
    device = make_device(device)
    data = read_mesh_data(f, formats=(".obj",))
    atlas = mesh_data_atlas(data, texture_atlas_size, texture_wrap, device) if load_textures and create_texture_atlas else None
    verts = torch.as_tensor(data.verts, dtype=torch.float32, device=device)
    faces = torch.as_tensor(data.faces, dtype=torch.int64, device=device)
    none = torch.full_like(faces, -1)
    tex = data.uv_texture if load_textures else None
    colors = _material_colors(data, device) if load_textures else None
    if tex is None:
        return verts, Faces(faces, none, none, none[:, 0]), Properties(None, None, colors, None, atlas)
    aux = Properties(
        normals=None,
        verts_uvs=torch.as_tensor(tex.verts_uvs, dtype=torch.float32, device=device),
        material_colors=colors,
        texture_images={tex.name or "material_0": torch.as_tensor(tex.image, dtype=torch.float32, device=device)},
        texture_atlas=atlas,
    )
    textures_idx = torch.as_tensor(tex.faces_uvs, dtype=torch.int64, device=device)
    return verts, Faces(faces, none, textures_idx, torch.zeros_like(faces[:, 0])), aux


def _material_colors(data: MeshData, device: torch.device) -> Optional[Dict[str, Dict[str, torch.Tensor]]]:
    """aux.material_colors in PyTorch3D's layout, or None when the file has no materials."""
    if not data.materials:
        return None

    def tensor(values: Any) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float32, device=device).reshape(-1)

    return {
        name: {"ambient_color": tensor(m.ambient), "diffuse_color": tensor(m.diffuse),
               "specular_color": tensor(m.specular), "shininess": tensor(m.shininess)}
        for name, m in data.materials.items()
    }
