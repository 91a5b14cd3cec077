"""`save_mesh`: write a one-mesh `Meshes` in the format its file extension names, atomically.

What each format keeps besides the triangles:
- .obj: TexturesVertex colours (`v x y z r g b`) or a TexturesUV texture (MTL + PNG beside it);
  numbers with nine significant digits, so float32 values come back exactly;
- .ply: TexturesVertex colours (8-bit), binary;
- .glb: TexturesVertex colours (8-bit) or a TexturesUV texture (vertices split at UV seams);
- .stl, .off: geometry only.
Colour or texture a format cannot hold is dropped with a warning.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from ..structures import Meshes
from .atomic import write_bytes_atomically
from .errors import MeshSaveError
from .formats import SAVE_FORMATS, extension
from .mesh_data import MeshData
from .obj import write_obj
from .ply import write_ply
from .save_args import colors_to_uint8, save_path
from .topology import split_uv_seams


# Nine significant digits give back every float32 exactly. save_obj's default '%f' (PyTorch3D's)
# keeps six decimals only: a mesh measured in metres at millimetre scale would lose its shape.
_EXACT_FLOAT32 = "%.9g"


def save_mesh(path: "str | os.PathLike[str]", meshes: Meshes) -> None:
    """Save the single mesh of `meshes` to `path` (.obj, .ply, .stl, .off or .glb).

    Raises MeshSaveError (a ValueError) for an unsupported extension, a batch of several meshes,
    invalid data (NaN vertices, faces out of range, no faces) or an unwritable destination; an
    existing file is then left as it was.
    """
    path = save_path(path)
    where = f"cannot save {path}"
    ext = extension(path)
    if ext not in SAVE_FORMATS:
        shown = repr(ext) if ext else "no extension"
        raise MeshSaveError(f"{where}: unsupported mesh format ({shown}); supported: {', '.join(SAVE_FORMATS)}")
    data = MeshData.from_meshes(meshes, where, MeshSaveError)
    data.validate(where, MeshSaveError)
    if not len(data.faces):
        raise MeshSaveError(f"{where}: the mesh has no faces")
    if ext == ".obj":
        write_obj(path, data, _EXACT_FLOAT32)
        return
    if ext == ".ply":
        _drop_texture(data, path, "PLY")
        write_ply(path, data.verts, data.faces, verts_colors=data.verts_colors)
        return
    if ext in (".stl", ".off"):
        _drop_texture(data, path, ext[1:].upper())
        if data.verts_colors is not None:
            warnings.warn(f"{path}: {ext[1:].upper()} files hold no colours; vertex colours not saved", stacklevel=2)
        write_bytes_atomically(path, _export(_trimesh(MeshData(data.verts, data.faces)), ext, where))
        return
    write_bytes_atomically(path, _export(_trimesh(data), ext, where))


def _drop_texture(data: MeshData, path: Path, fmt: str) -> None:
    if data.uv_texture is not None:
        warnings.warn(f"{path}: {fmt} files hold no UV texture; texture not saved (use .obj or .glb)", stacklevel=3)
        data.uv_texture = None


def _trimesh(data: MeshData) -> trimesh.Trimesh:
    """A trimesh mesh carrying the data's colours or texture (uvs need one per vertex)."""
    if data.uv_texture is not None:
        data = split_uv_seams(data)
        image = Image.fromarray(colors_to_uint8(data.uv_texture.image))
        # Explicit PBR material: trimesh would otherwise write a grey baseColorFactor that
        # darkens the texture; metallicFactor 0 makes other viewers shade it as a plain diffuse.
        material = trimesh.visual.material.PBRMaterial(baseColorTexture=image, metallicFactor=0.0)
        visual = trimesh.visual.TextureVisuals(uv=data.uv_texture.verts_uvs, material=material)
        return trimesh.Trimesh(data.verts, data.faces, visual=visual, process=False)
    if data.verts_colors is not None:
        rgba = np.concatenate([colors_to_uint8(data.verts_colors), np.full((len(data.verts), 1), 255, np.uint8)], axis=1)
        return trimesh.Trimesh(data.verts, data.faces, vertex_colors=rgba, process=False)
    return trimesh.Trimesh(data.verts, data.faces, process=False)


def _export(mesh: trimesh.Trimesh, ext: str, where: str) -> bytes:
    try:
        payload = mesh.export(file_type=ext[1:])
    except Exception as exc:  # trimesh's exporters raise various types
        raise MeshSaveError(f"{where}: trimesh could not encode the mesh ({type(exc).__name__}: {exc})") from exc
    return payload.encode("utf-8") if isinstance(payload, str) else payload


