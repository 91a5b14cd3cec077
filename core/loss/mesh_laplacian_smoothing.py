"""Laplacian smoothing regulariser (PyTorch3D's `mesh_laplacian_smoothing`).

For each vertex i, loss_i = |(L V)_i| with one of three Laplacians (w_ij below, S_i = neighbours):
- "uniform": (LV)_i = sum_j (v_j - v_i) / |S_i|   (Meshes.laplacian_packed()).
- "cot": (LV)_i = sum_j C_ij v_j / sum_j C_ij - v_i with C_ij = cot a_ij + cot b_ij; a row whose
  cotangent sum is not positive keeps the raw sum as its factor (PyTorch3D's rule).
- "cotcurv": (LV)_i = sum_j C_ij (v_j - v_i) / (4 A_i), A_i the area of the faces around v_i.
The matrix is a constant of the step: gradients flow through V only, not through the weights.
Each mesh contributes the mean of its vertices' loss_i; the result is the mean over meshes.
"""
from __future__ import annotations

from typing import Any

import torch

from core.loss.empty_batch import empty_loss
from core.ops.laplacian_matrices import cot_laplacian

METHODS = ("uniform", "cot", "cotcurv")


def _row_sums(matrix: torch.Tensor) -> torch.Tensor:
    """(V, 1) row sums of a coalesced sparse (V, V) matrix."""
    rows, values = matrix.indices()[0], matrix.values()
    return values.new_zeros(matrix.shape[0]).index_add_(0, rows, values)[:, None]


def _times(matrix: torch.Tensor, verts: torch.Tensor) -> torch.Tensor:
    """matrix @ verts for a coalesced sparse matrix, from its (row, col, value) entries.

    Differentiable in verts; about twice as fast as torch.sparse.mm forward + backward here.
    """
    rows, cols = matrix.indices()
    terms = verts.index_select(0, cols) * matrix.values()[:, None]
    return verts.new_zeros(verts.shape).index_add_(0, rows, terms)


def mesh_laplacian_smoothing(meshes: Any, method: str = "uniform") -> torch.Tensor:
    """Laplacian smoothing loss of a batch of meshes; `method` is "uniform", "cot" or "cotcurv".

    Returns a 0-dim tensor, or tensor([0.]) when there are no non-empty meshes.
    """
    if method not in METHODS:
        raise ValueError(f"Method should be one of {{uniform, cot, cotcurv}}; got {method!r}")
    if meshes.isempty():
        return empty_loss(meshes)
    verts = meshes.verts_packed()
    verts_per_mesh = meshes.num_verts_per_mesh().index_select(0, meshes.verts_packed_to_mesh_idx())
    per_vertex_weight = 1.0 / verts_per_mesh.to(verts.dtype)

    with torch.no_grad():
        if method == "uniform":
            L = meshes.laplacian_packed().to(verts.dtype)
        else:
            L, inv_areas = cot_laplacian(verts.detach(), meshes.faces_packed())
            sums = _row_sums(L)
            if method == "cot":
                positive = sums > 0
                factor = torch.where(positive, 1.0 / torch.where(positive, sums, torch.ones_like(sums)), sums)
            else:
                factor = 0.25 * inv_areas

    if method == "uniform":
        offsets = _times(L, verts)
    elif method == "cot":
        offsets = _times(L, verts) * factor - verts
    else:
        offsets = (_times(L, verts) - sums * verts) * factor
    loss = offsets.norm(dim=1) * per_vertex_weight
    return loss.sum() / len(meshes)
