"""Normal consistency regulariser (PyTorch3D's `mesh_normal_consistency`).

For every pair of faces sharing an edge e = (v0, v1) (v0 < v1), with a and b the vertices of the
two faces opposite e: n0 = (v1 - v0) x (a - v0), n1 = (b - v0) x (v1 - v0) and the pair costs
1 - cos(n0, n1): 0 when the faces are coplanar (a and b on opposite sides of e), 2 when folded
onto each other. Only the geometry counts, not the faces' winding.
An edge shared by m faces gives the pairs (i, j) of its faces with 0 <= i <= m - 2,
1 <= j <= m - 1, i != j: one pair for a manifold edge, PyTorch3D's enumeration otherwise.
Each mesh contributes the mean over its pairs; the result is the mean over meshes.

(v1 - v0) x (a - v0) is the face's normal N = (f1 - f0) x (f2 - f0) when the face runs from v0
to v1, else -N; so each pair costs 1 + s0 s1 cos(N0, N1) with those signs s, which needs one
cross product per face instead of one per (face, edge).
"""
from __future__ import annotations

from typing import Any, Tuple

import torch

from core.loss.empty_batch import empty_loss


def _pairs_by_sorting(edge_of_slot: torch.Tensor, count: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Any number of faces per edge: group slots by edge with a stable sort, enumerate pairs."""
    num_edges = count.shape[0]
    order = torch.sort(edge_of_slot, stable=True).indices
    start = torch.cumsum(count, 0) - count
    # An edge in m faces yields the (m - 1)² index pairs (i, j), i in [0, m-2], j in [1, m-1].
    side = (count - 1).clamp(min=0)
    pairs = side * side
    edge = torch.repeat_interleave(torch.arange(num_edges, device=count.device), pairs)
    local = torch.arange(edge.shape[0], device=count.device) - torch.repeat_interleave(
        torch.cumsum(pairs, 0) - pairs, pairs
    )
    edge_side = side[edge]
    i, j = local // edge_side, local % edge_side + 1
    keep = i != j
    base = start[edge][keep]
    return order[base + i[keep]], order[base + j[keep]]


def face_pairs_per_edge(faces_to_edges: torch.Tensor, num_edges: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pairs of (face, corner) slots whose faces share an edge, as two (M,) tensors.

    faces_to_edges: (F, 3), the edge opposite each corner of each face. A slot s = 3 f + k
    stands for face f and its corner k, opposite the shared edge. No Python loop: when no edge
    has more than two faces, an edge's two slots are its smallest and largest slot (two
    scatter-min/max passes); otherwise the slots are grouped by a sort.
    """
    edge_of_slot = faces_to_edges.reshape(-1)
    count = torch.bincount(edge_of_slot, minlength=num_edges)
    if edge_of_slot.numel() and int(count.max()) > 2:
        return _pairs_by_sorting(edge_of_slot, count)
    slots = torch.arange(edge_of_slot.shape[0], device=edge_of_slot.device)
    first = torch.full((num_edges,), edge_of_slot.shape[0], dtype=torch.int64, device=slots.device)
    first.scatter_reduce_(0, edge_of_slot, slots, reduce="amin")
    last = torch.zeros_like(first).scatter_reduce_(0, edge_of_slot, slots, reduce="amax")
    shared = count == 2
    return first[shared], last[shared]


def _runs_forward(faces: torch.Tensor) -> torch.Tensor:
    """(3 F,) ±1 per slot 3 f + k: +1 when face f traverses the edge opposite its corner k from
    the smaller to the larger vertex index."""
    return torch.where(faces.roll(-1, dims=1) < faces.roll(-2, dims=1), 1, -1).reshape(-1)


def mesh_normal_consistency(meshes: Any) -> torch.Tensor:
    """Normal consistency loss of a batch of meshes (see the module docstring).

    Returns a 0-dim tensor (0 when no two faces share an edge), or tensor([0.]) when there are
    no non-empty meshes.
    """
    if meshes.isempty():
        return empty_loss(meshes)
    verts = meshes.verts_packed()
    faces = meshes.faces_packed()
    with torch.no_grad():
        slot_a, slot_b = face_pairs_per_edge(meshes.faces_packed_to_edges_packed(), meshes.edges_packed().shape[0])
        forward = _runs_forward(faces)
        sign = (forward.index_select(0, slot_a) * forward.index_select(0, slot_b)).to(verts.dtype)
        face_a, face_b = slot_a // 3, slot_b // 3
        pair_mesh = meshes.faces_packed_to_mesh_idx().index_select(0, face_a)
        pairs_per_mesh = torch.bincount(pair_mesh, minlength=len(meshes))
    v0, v1, v2 = verts.index_select(0, faces.reshape(-1)).view(-1, 3, 3).unbind(1)
    normals = torch.cross(v1 - v0, v2 - v0, dim=1)
    # Normalising each face once, with torch.cosine_similarity's eps, then dotting the pairs.
    unit = normals / normals.norm(dim=1, keepdim=True).clamp(min=1e-8)
    cosine = (unit.index_select(0, face_a) * unit.index_select(0, face_b)).sum(dim=1)
    weights = 1.0 / pairs_per_mesh.index_select(0, pair_mesh).to(verts.dtype)
    return ((1.0 + sign * cosine) * weights).sum() / len(meshes)
