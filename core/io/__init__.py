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
from .atomic import write_bytes_atomically, write_files_atomically
from .errors import MeshLoadError, MeshSaveError
from .formats import LOAD_FORMATS, SAVE_FORMATS
from .images import depth_grey, npy_bytes, png_bytes
from .load import load_mesh, load_obj, load_objs_as_meshes
from .obj import save_obj
from .ply import save_ply
from .save import save_mesh

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
