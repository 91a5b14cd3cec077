"""Mesh file input/output (the only part of core that parses files; trimesh does the parsing).

- `load_mesh(path, device)`: OBJ, PLY, STL, OFF, GLB, glTF → `Meshes` with TexturesUV or
  TexturesVertex where the file has them;
- `load_objs_as_meshes(files, ...)`: PyTorch3D's batch OBJ loader (PyTorch3D vertex indexing),
  and `load_obj(f)`: PyTorch3D's (verts, faces, aux) for one OBJ file;
- `save_obj`, `save_ply`: PyTorch3D's writers plus vertex colours; `save_mesh(path, meshes)`
  picks the format from the extension.
Every save is atomic (temporary file, fsync, rename; `write_bytes_atomically` for any other
file, `png_bytes` to encode an image). Bad files raise MeshLoadError, bad data or
destinations MeshSaveError; both are ValueErrors whose message names the file and the problem.
"""
from __future__ import annotations

import importlib
from typing import Any

from .atomic import write_bytes_atomically, write_files_atomically
from .errors import MeshLoadError, MeshSaveError
from .formats import LOAD_FORMATS, SAVE_FORMATS
from .images import depth_grey, npy_bytes, png_bytes
from .obj import save_obj
from .ply import save_ply

# The readers and save_mesh import trimesh, most of a second: they load on first use, so that a
# program that only writes images or lists the formats (the application's start) goes without.
_LAZY = {"load_mesh": "load", "load_obj": "load", "load_objs_as_meshes": "load", "save_mesh": "save"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "LOAD_FORMATS",
    "SAVE_FORMATS",
    "MeshLoadError",
    "MeshSaveError",
    "depth_grey",
    "load_mesh",
    "load_obj",
    "load_objs_as_meshes",
    "npy_bytes",
    "png_bytes",
    "save_mesh",
    "save_obj",
    "save_ply",
    "write_bytes_atomically",
    "write_files_atomically",
]
