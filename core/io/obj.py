"""Writing Wavefront OBJ files (PyTorch3D 0.7.9's `save_obj`, plus vertex colours).

With a texture, `<stem>.mtl` (material "mesh", map_Kd) and `<stem>.png` are written beside the
OBJ, as PyTorch3D does. All files of one save are committed together (see core.io.atomic).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO, Optional

import numpy as np
import torch
from PIL import Image

from .atomic import atomic_outputs
from .errors import MeshSaveError
from .mesh_data import MeshData, UVTexture, check_finite, check_indices
from .save_args import colors_to_uint8, float_format, save_path, tensor_rows

# Face corner syntax by (has uv, has normal).
_CORNER_FORMATS = {(False, False): "%d", (True, False): "%d/%d", (False, True): "%d//%d", (True, True): "%d/%d/%d"}


def _mtl_text(stem: str) -> str:
    return f"newmtl mesh\nmap_Kd {stem}.png\nKa 1.000 1.000 1.000\nKd 1.000 1.000 1.000\nKs 0.000 0.000 0.000\nNs 10.0\n"


def _write_rows(fh: BinaryIO, prefix: str, rows: np.ndarray, fmt: str) -> None:
    if len(rows):
        np.savetxt(fh, rows, fmt=prefix + " ".join([fmt] * rows.shape[1]))


def _write_faces(fh: BinaryIO, columns: list[np.ndarray], corner_fmt: str) -> None:
    """'f' lines: each corner's 1-based indices (vertex[, uv][, normal]) formatted by `corner_fmt`."""
    if not len(columns[0]):
        return
    corners = np.stack([c + 1 for c in columns], axis=2).reshape(len(columns[0]), -1)
    np.savetxt(fh, corners, fmt="f " + " ".join([corner_fmt] * 3))


def write_obj(
    path: Path,
    data: MeshData,
    float_fmt: str = "%f",
    normals: Optional[np.ndarray] = None,
    faces_normals_idx: Optional[np.ndarray] = None,
) -> None:
    """Write validated arrays: `v x y z [r g b]`, `vt`, `vn`, then `f` lines."""
    tex = data.uv_texture
    outputs = [path]
    if tex is not None:
        outputs = [path.with_suffix(".png"), path.with_suffix(".mtl"), path]
    with atomic_outputs(outputs) as handles:
        fh = handles[-1]
        if tex is not None:
            Image.fromarray(colors_to_uint8(tex.image)).save(handles[0], format="PNG")
            handles[1].write(_mtl_text(path.stem).encode("utf-8"))
            fh.write(f"mtllib {path.stem}.mtl\nusemtl mesh\n".encode())
        if data.verts_colors is None:
            _write_rows(fh, "v ", data.verts, float_fmt)
        else:
            rows = np.hstack([data.verts, np.clip(data.verts_colors, 0.0, 1.0)])
            _write_rows(fh, "v ", rows, float_fmt)
        columns = [data.faces]
        if tex is not None:
            _write_rows(fh, "vt ", tex.verts_uvs, float_fmt)
            columns.append(tex.faces_uvs)
        if normals is not None:
            _write_rows(fh, "vn ", normals, float_fmt)
            columns.append(faces_normals_idx)
        _write_faces(fh, columns, _CORNER_FORMATS[tex is not None, normals is not None])


def save_obj(
    f: "str | Path",
    verts: torch.Tensor,
    faces: torch.Tensor,
    decimal_places: Optional[int] = None,
    *,
    normals: Optional[torch.Tensor] = None,
    faces_normals_idx: Optional[torch.Tensor] = None,
    verts_uvs: Optional[torch.Tensor] = None,
    faces_uvs: Optional[torch.Tensor] = None,
    texture_map: Optional[torch.Tensor] = None,
    verts_colors: Optional[torch.Tensor] = None,
) -> None:
    """Save a mesh to an OBJ file, atomically.

    verts (V, 3); faces (F, 3) 0-based; decimal_places: digits after the point (default '%f').
    normals (N, 3) with faces_normals_idx (F, 3): written as `vn` and `f v/vt/vn`. verts_uvs
    (T, 2), faces_uvs (F, 3) and texture_map (H, W, 3) in [0, 1] go together: the image is saved
    as `<stem>.png` (rounded to 8 bits) with `<stem>.mtl`. Extension: verts_colors (V, 3) in
    [0, 1] (clamped) are written as `v x y z r g b`, which trimesh, MeshLab and Blender read.
    Raises MeshSaveError (a ValueError) for invalid data or an unwritable destination.
    """
    path = save_path(f)
    where = f"cannot save {path}"
    float_fmt = float_format(decimal_places, where)
    data = MeshData(tensor_rows(verts, "verts", 3, where), tensor_rows(faces, "faces", 3, where, integer=True))
    if verts_colors is not None:
        data.verts_colors = tensor_rows(verts_colors, "verts_colors", 3, where)
    texture_args = {"verts_uvs": verts_uvs, "faces_uvs": faces_uvs, "texture_map": texture_map}
    missing = [name for name, value in texture_args.items() if value is None]
    if len(missing) not in (0, 3):
        raise MeshSaveError(f"{where}: a texture needs verts_uvs, faces_uvs and texture_map; missing {', '.join(missing)}")
    if not missing:
        if not isinstance(texture_map, torch.Tensor):
            raise TypeError(f"{where}: texture_map must be a torch.Tensor; got {type(texture_map).__name__}")
        data.uv_texture = UVTexture(
            image=texture_map.detach().cpu().numpy().astype(np.float32),
            verts_uvs=tensor_rows(verts_uvs, "verts_uvs", 2, where),
            faces_uvs=tensor_rows(faces_uvs, "faces_uvs", 3, where, integer=True),
        )
    if (normals is None) != (faces_normals_idx is None):
        raise MeshSaveError(f"{where}: normals and faces_normals_idx must be given together")
    normals_np = faces_normals_np = None
    if normals is not None:
        normals_np = tensor_rows(normals, "normals", 3, where)
        faces_normals_np = tensor_rows(faces_normals_idx, "faces_normals_idx", 3, where, integer=True)
        check_finite(normals_np, "normals", where, MeshSaveError)
        if faces_normals_np.shape != data.faces.shape:
            raise MeshSaveError(f"{where}: faces_normals_idx must have one row per face, shape {data.faces.shape}")
        check_indices(faces_normals_np, len(normals_np), "faces_normals_idx", where, MeshSaveError)
    data.validate(where, MeshSaveError)
    if not len(data.verts) and not len(data.faces):
        warnings.warn(f"{path}: saving an empty mesh (no verts, no faces)", stacklevel=2)
    write_obj(path, data, float_fmt, normals_np, faces_normals_np)
