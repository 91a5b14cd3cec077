"""Writing PLY files (PyTorch3D 0.7.9's `save_ply`, plus vertex colours).

Binary files are little-endian: float32 x y z [nx ny nz], uchar red green blue, and faces as
`list uchar int vertex_index`. ASCII files format floats like save_obj ('%f' by default).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO, List, Optional, Tuple

import numpy as np
import torch

from .atomic import atomic_outputs
from .errors import MeshSaveError
from .mesh_data import check_finite, check_geometry
from .save_args import colors_to_uint8, float_format, save_path, tensor_rows


def _vertex_fields(normals: bool, colors: bool) -> List[Tuple[str, str]]:
    """(name, PLY type) of each vertex property, in file order."""
    fields = [("x", "float"), ("y", "float"), ("z", "float")]
    if normals:
        fields += [("nx", "float"), ("ny", "float"), ("nz", "float")]
    if colors:
        fields += [("red", "uchar"), ("green", "uchar"), ("blue", "uchar")]
    return fields


def _header(fmt: str, num_verts: int, fields: List[Tuple[str, str]], num_faces: Optional[int]) -> bytes:
    lines = ["ply", f"format {fmt} 1.0", f"element vertex {num_verts}"]
    lines += [f"property {kind} {name}" for name, kind in fields]
    if num_faces is not None:
        lines += [f"element face {num_faces}", "property list uchar int vertex_index"]
    lines.append("end_header")
    return ("\n".join(lines) + "\n").encode("ascii")


def _write_binary(fh: BinaryIO, columns: List[np.ndarray], fields: List[Tuple[str, str]], faces: Optional[np.ndarray]) -> None:
    dtype = np.dtype([(name, "<f4" if kind == "float" else "u1") for name, kind in fields])
    records = np.empty(len(columns[0]), dtype=dtype)
    flat = np.hstack(columns)
    for i, (name, _) in enumerate(fields):
        records[name] = flat[:, i]
    fh.write(records.tobytes())
    if faces is not None:
        face_records = np.empty(len(faces), dtype=np.dtype([("n", "u1"), ("v", "<i4", (3,))]))
        face_records["n"] = 3
        face_records["v"] = faces
        fh.write(face_records.tobytes())


def _write_ascii(fh: BinaryIO, columns: List[np.ndarray], fields: List[Tuple[str, str]], faces: Optional[np.ndarray], float_fmt: str) -> None:
    if len(columns[0]):
        fmt = " ".join(float_fmt if kind == "float" else "%d" for _, kind in fields)
        np.savetxt(fh, np.hstack(columns), fmt=fmt)
    if faces is not None and len(faces):
        np.savetxt(fh, faces, fmt="3 %d %d %d")


def write_ply(
    path: Path,
    verts: np.ndarray,
    faces: Optional[np.ndarray] = None,
    verts_normals: Optional[np.ndarray] = None,
    verts_colors: Optional[np.ndarray] = None,
    ascii: bool = False,
    float_fmt: str = "%f",
) -> None:
    """Write validated arrays (faces None: a vertex-only file)."""
    fields = _vertex_fields(verts_normals is not None, verts_colors is not None)
    columns = [verts]
    if verts_normals is not None:
        columns.append(verts_normals)
    if verts_colors is not None:
        columns.append(colors_to_uint8(verts_colors))
    header = _header("ascii" if ascii else "binary_little_endian", len(verts), fields, None if faces is None else len(faces))
    with atomic_outputs([path]) as (fh,):
        fh.write(header)
        if ascii:
            _write_ascii(fh, columns, fields, faces, float_fmt)
        else:
            _write_binary(fh, columns, fields, faces)


def save_ply(
    f: "str | Path",
    verts: torch.Tensor,
    faces: Optional[torch.Tensor] = None,
    verts_normals: Optional[torch.Tensor] = None,
    verts_colors: Optional[torch.Tensor] = None,
    ascii: bool = False,
    decimal_places: Optional[int] = None,
) -> None:
    """Save a mesh (or, without faces, a point set) to a PLY file, atomically.

    verts (V, 3); faces (F, 3) 0-based or None; verts_normals (V, 3). Extension to PyTorch3D:
    verts_colors (V, 3) in [0, 1] (clamped), stored as 8-bit `uchar red green blue`, the form
    other tools read. Note: verts_colors comes before `ascii`, unlike PyTorch3D's positional
    order; pass ascii / decimal_places by keyword. Raises MeshSaveError (a ValueError) for
    invalid data or an unwritable destination.
    """
    path = save_path(f)
    where = f"cannot save {path}"
    float_fmt = float_format(decimal_places, where)
    verts_np = tensor_rows(verts, "verts", 3, where)
    faces_np = None if faces is None else tensor_rows(faces, "faces", 3, where, integer=True)
    check_geometry(verts_np, np.zeros((0, 3), np.int64) if faces_np is None else faces_np, where, MeshSaveError)
    if faces_np is not None and len(verts_np) > np.iinfo(np.int32).max:
        raise MeshSaveError(f"{where}: PLY stores face indices as int32; {len(verts_np)} vertices are too many")
    extras = {}
    for name, value in (("verts_normals", verts_normals), ("verts_colors", verts_colors)):
        if value is not None:
            array = tensor_rows(value, name, 3, where)
            if array.shape != verts_np.shape:
                raise MeshSaveError(f"{where}: {name} must have shape {verts_np.shape}, like verts; got {array.shape}")
            check_finite(array, name, where, MeshSaveError)
            extras[name] = array
    if not len(verts_np):
        warnings.warn(f"{path}: saving a PLY file without vertices", stacklevel=2)
    write_ply(path, verts_np, faces_np, ascii=ascii, float_fmt=float_fmt, **extras)
