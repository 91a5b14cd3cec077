"""Sparse CSR matrices that gather from and sum into per-face rows in one pass.

Fragments (and the rasterizer's pixel-face pairs) come in packed-face order, so each face's
fragments are one run. Sums over those runs and barycentric interpolation from per-face tables
are then sparse matrix products, which PyTorch runs in one pass over the data: several times
faster on the CPU than chains of index_select / scatter_add_ over the same rows.
"""
from __future__ import annotations

import warnings
from typing import List

import torch


def _csr(rows: torch.Tensor, columns: torch.Tensor, values: torch.Tensor, size) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")  # torch < 2.13
        return torch.sparse_csr_tensor(rows, columns, values, size=size, check_invariants=False)


def in_face_order(face: torch.Tensor) -> bool:
    """Whether `face` is non-decreasing, i.e. every face's entries form one run."""
    return face.numel() < 2 or bool((face[1:] >= face[:-1]).all())


def face_runs(face: torch.Tensor, num_faces: int, *values: torch.Tensor) -> List[torch.Tensor]:
    """For each (M,) tensor in `values`, the (F, M) matrix whose row f holds it at the columns of
    face f's entries (all sharing one index structure).

    `face` (M,) must be non-decreasing (see in_face_order). Times an (M, C) matrix each sums
    every face's entries, weighted by its values.
    """
    counts = torch.bincount(face, minlength=num_faces)
    rows = torch.cat((counts.new_zeros(1), torch.cumsum(counts, 0)))
    columns = torch.arange(face.numel(), device=face.device)
    return [_csr(rows, columns, v, (num_faces, face.numel())) for v in values]


def corner_weights(face: torch.Tensor, bary: torch.Tensor, num_faces: int) -> torch.Tensor:
    """The (M, 3F) matrix whose row m holds bary[m, i] at column 3 face[m] + i.

    Times a (3F, C) table of per-corner values (row 3f + i: corner i of face f) it interpolates
    them at each fragment. Any face order.
    """
    m = face.numel()
    rows = torch.arange(0, 3 * m + 1, 3, device=face.device)
    columns = (3 * face[:, None] + torch.arange(3, device=face.device)).reshape(-1)
    return _csr(rows, columns, bary.reshape(-1), (m, 3 * num_faces))

