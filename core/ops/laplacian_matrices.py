"""Sparse Laplacian matrices of a mesh or graph (PyTorch3D's `laplacian`, `cot_laplacian`,
`norm_laplacian`).

All three return coalesced sparse COO tensors of shape (V, V) in the dtype of `verts`; the
cotangent and norm variants are differentiable with respect to `verts`.
"""
from __future__ import annotations

from typing import Tuple

import torch


def _check_graph(verts: torch.Tensor, index: torch.Tensor, width: int, what: str) -> None:
    """verts (V, 3) floating point; index (M, width) integers into verts."""
    if not torch.is_tensor(verts) or verts.dim() != 2 or verts.shape[1] != 3:
        got = getattr(verts, "shape", type(verts).__name__)
        raise ValueError(f"verts must be a tensor of shape (V, 3); got {got}")
    if not verts.dtype.is_floating_point:
        raise TypeError(f"verts must be a floating point tensor; got dtype {verts.dtype}")
    if not torch.is_tensor(index) or index.dim() != 2 or index.shape[1] != width:
        got = getattr(index, "shape", type(index).__name__)
        raise ValueError(f"{what} must be a tensor of shape (M, {width}); got {got}")
    if index.dtype.is_floating_point or index.dtype.is_complex or index.dtype == torch.bool:
        raise TypeError(f"{what} must hold integer vertex indices; got dtype {index.dtype}")
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= verts.shape[0]):
        raise ValueError(f"{what} index vertices outside [0, {verts.shape[0]})")


def _sparse(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, size: int) -> torch.Tensor:
    """Coalesced sparse (size, size) with `values` at (rows, cols), repeated entries summed.

    One sorted unique on the flat keys plus an index_add: cheaper than .coalesce(), and
    differentiable in `values`.
    """
    keys, slot = torch.unique(rows * size + cols, sorted=True, return_inverse=True)
    summed = values.new_zeros(keys.shape[0]).index_add(0, slot, values)
    index = torch.stack([keys // size, keys % size])
    return torch.sparse_coo_tensor(index, summed, (size, size), is_coalesced=True, check_invariants=False)


def _symmetric(i: torch.Tensor, j: torch.Tensor, values: torch.Tensor, size: int) -> torch.Tensor:
    """Coalesced sparse (size, size) with `values` at (i, j) and at (j, i); repeats are summed."""
    return _sparse(torch.cat([i, j]), torch.cat([j, i]), torch.cat([values, values]), size)


def laplacian(verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Uniform graph Laplacian L (V, V): L[i, i] = -1, L[i, j] = 1 / deg(i) for each edge (i, j).

    verts: (V, 3) (only its size, dtype and device are used); edges: (E, 2) vertex indices.
    (L @ verts)[i] is the offset from vertex i to the centroid of its neighbours.
    """
    _check_graph(verts, edges, 2, "edges")
    num_verts = verts.shape[0]
    edges = edges.to(torch.int64)
    e0, e1 = edges.unbind(1)
    deg = torch.bincount(edges.reshape(-1), minlength=num_verts).to(verts.dtype)
    inv_deg = torch.where(deg > 0, 1.0 / deg.clamp(min=1), deg)
    diag = torch.arange(num_verts, device=verts.device)
    values = torch.cat([inv_deg[e0], inv_deg[e1], -torch.ones(num_verts, dtype=verts.dtype, device=verts.device)])
    return _sparse(torch.cat([e0, e1, diag]), torch.cat([e1, e0, diag]), values, num_verts)


def cot_laplacian(verts: torch.Tensor, faces: torch.Tensor, eps: float = 1e-12) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cotangent Laplacian and inverse vertex areas of a triangle mesh.

    verts: (V, 3); faces: (F, 3). Returns (L, inv_areas):
    - L (V, V) sparse with L[i, j] = cot a_ij + cot b_ij, the cotangents of the angles opposite
      edge (i, j) in its (usually two) faces; zero diagonal.
    - inv_areas (V, 1): 1 / (sum of the areas of the faces around each vertex), 0 for a vertex
      in no face.
    Triangle areas come from Heron's formula with the squared area clamped to `eps` (so
    degenerate faces give large but finite cotangents).
    """
    _check_graph(verts, faces, 3, "faces")
    num_verts = verts.shape[0]
    faces = faces.to(torch.int64)
    v0, v1, v2 = verts[faces].unbind(1)
    # Side lengths: a is opposite v0, b opposite v1, c opposite v2.
    a = (v1 - v2).norm(dim=1)
    b = (v0 - v2).norm(dim=1)
    c = (v0 - v1).norm(dim=1)
    s = 0.5 * (a + b + c)
    area = (s * (s - a) * (s - b) * (s - c)).clamp(min=eps).sqrt()
    a2, b2, c2 = a * a, b * b, c * c
    # cot of the angle at a vertex = (sum of squares of its sides - opposite side²) / (4 area).
    cot = torch.stack([b2 + c2 - a2, a2 + c2 - b2, a2 + b2 - c2], dim=1) / (4.0 * area[:, None])
    # The angle at vertex k is opposite the edge joining the other two vertices.
    i = faces[:, [1, 2, 0]].reshape(-1)
    j = faces[:, [2, 0, 1]].reshape(-1)
    L = _symmetric(i, j, cot.reshape(-1), num_verts)

    vert_area = torch.zeros(num_verts, dtype=verts.dtype, device=verts.device)
    vert_area = vert_area.index_add(0, faces.reshape(-1), area.repeat_interleave(3))
    covered = vert_area > 0
    inv_areas = torch.where(covered, 1.0 / torch.where(covered, vert_area, torch.ones_like(vert_area)), vert_area)
    return L, inv_areas.view(-1, 1)


def norm_laplacian(verts: torch.Tensor, edges: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Symmetric (V, V) sparse matrix with L[i, j] = L[j, i] = 1 / (|v_i - v_j| + eps) per edge."""
    _check_graph(verts, edges, 2, "edges")
    edges = edges.to(torch.int64)
    v0, v1 = verts[edges].unbind(1)
    weight = 1.0 / ((v0 - v1).norm(dim=1) + eps)
    return _symmetric(edges[:, 0], edges[:, 1], weight, verts.shape[0])
