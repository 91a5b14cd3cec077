"""Edge length regulariser (PyTorch3D's `mesh_edge_loss`)."""
from __future__ import annotations

from typing import Any

import torch

from core.loss.empty_batch import empty_loss


def mesh_edge_loss(meshes: Any, target_length: float = 0.0) -> torch.Tensor:
    """Mean over meshes of the mean over each mesh's edges of (|v_a - v_b| - target_length)².

    Every mesh weighs the same whatever its number of edges. Returns a 0-dim tensor, or
    tensor([0.]) when there are no non-empty meshes.
    """
    if meshes.isempty():
        return empty_loss(meshes)
    verts = meshes.verts_packed()
    edges = meshes.edges_packed()
    per_mesh = meshes.num_edges_per_mesh()
    weights = 1.0 / per_mesh.index_select(0, meshes.edges_packed_to_mesh_idx()).to(verts.dtype)
    lengths = (verts.index_select(0, edges[:, 0]) - verts.index_select(0, edges[:, 1])).norm(dim=1)
    return ((lengths - target_length) ** 2 * weights).sum() / len(meshes)
