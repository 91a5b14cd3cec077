"""Re-indexing vertices without moving them: weld duplicates, or split them at UV seams.

Formats disagree on what a vertex is. OBJ indexes positions and uvs separately (a seam vertex is
one position with several uvs), STL stores every triangle's corners separately, while glTF and
trimesh need one uv per vertex. These two functions convert between the forms exactly.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .mesh_data import MeshData, UVTexture


def _unique_rows_in_order(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keep, old_to_new): the first row of each group of equal rows, in order of appearance,
    and for every row the index of its group."""
    _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.reshape(-1)]


def weld_vertices(data: MeshData) -> MeshData:
    """Merge vertices with bit-identical positions (and colours, when there are any).

    Vertices keep the order of their first appearance. A UV texture is unaffected: its
    faces_uvs index uvs per face corner, not per vertex.
    """
    if len(data.verts) == 0:
        return data
    key = data.verts if data.verts_colors is None else np.hstack([data.verts, data.verts_colors])
    keep, old_to_new = _unique_rows_in_order(key)
    return dataclasses.replace(
        data,
        verts=data.verts[keep],
        faces=old_to_new[data.faces],
        verts_colors=None if data.verts_colors is None else data.verts_colors[keep],
    )


def split_uv_seams(data: MeshData) -> MeshData:
    """One vertex per distinct (position index, uv index) corner pair, so that each vertex has
    a single uv: the returned texture's faces_uvs equal its faces. Unused vertices are dropped."""
    tex = data.uv_texture
    if tex is None:
        raise ValueError("split_uv_seams needs a mesh with a UV texture")
    pairs = np.stack([data.faces.reshape(-1), tex.faces_uvs.reshape(-1)], axis=1)
    keep, corner_to_vertex = _unique_rows_in_order(pairs)
    vert_idx, uv_idx = pairs[keep, 0], pairs[keep, 1]
    faces = corner_to_vertex.reshape(-1, 3)
    return dataclasses.replace(
        data,
        verts=data.verts[vert_idx],
        faces=faces,
        verts_colors=None if data.verts_colors is None else data.verts_colors[vert_idx],
        uv_texture=UVTexture(image=tex.image, verts_uvs=tex.verts_uvs[uv_idx], faces_uvs=faces),
    )
