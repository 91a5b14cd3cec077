"""K nearest neighbours between batches of point clouds (PyTorch3D's `knn_points` / `knn_gather`).

The search runs without autograd over blocks of the (P1, P2) matrix of pair scores, each block
at most `BLOCK_BYTES` bytes, so memory stays bounded however large the clouds are (and blocks
stay in cache). The distances that are returned are then recomputed exactly from the chosen
pairs, which gives the same gradients as PyTorch3D's backward (2 (p1 - p2) for squared L2,
sign(p1 - p2) for L1) to both clouds.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Iterator, Optional, Tuple

import torch

KNN = namedtuple("KNN", "dists idx knn")

# Largest (batch, rows, P2) block of pair scores held at once: small enough to stay in cache.
BLOCK_BYTES = 2 * 2**20
# Columns per group in the two-level nearest search.
GROUP = 32


def check_lengths(lengths: Optional[torch.Tensor], n: int, p: int, name: str, device: torch.device) -> torch.Tensor:
    """`lengths` as an int64 (n,) tensor with values in [0, p]; None means every cloud has p points."""
    if lengths is None:
        return torch.full((n,), p, dtype=torch.int64, device=device)
    if not torch.is_tensor(lengths):
        raise TypeError(f"{name} must be a tensor of shape ({n},); got {type(lengths).__name__}")
    if lengths.dim() != 1 or lengths.shape[0] != n:
        raise ValueError(f"Expected lengths to be of shape (N,): {name} has shape {tuple(lengths.shape)}, N = {n}")
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise TypeError(f"{name} must hold integers; got dtype {lengths.dtype}")
    if n and (int(lengths.min()) < 0 or int(lengths.max()) > p):
        raise ValueError(f"{name} values must lie in [0, {p}]; got {lengths.tolist()}")
    return lengths.to(device=device, dtype=torch.int64)


def check_point_batches(p1: torch.Tensor, p2: torch.Tensor, name1: str = "p1", name2: str = "p2") -> None:
    """Both (N, P, D) floating point tensors with the same N and D."""
    for name, p in ((name1, p1), (name2, p2)):
        if not torch.is_tensor(p):
            raise TypeError(f"{name} must be a tensor of shape (N, P, D); got {type(p).__name__}")
        if p.dim() != 3:
            raise ValueError(f"{name} must have shape (N, P, D); got {tuple(p.shape)}")
        if not p.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating point tensor; got dtype {p.dtype}")
    if p1.shape[0] != p2.shape[0]:
        raise ValueError(f"{name1} and {name2} must have the same batch dimension; got {p1.shape[0]} and {p2.shape[0]}")
    if p1.shape[2] != p2.shape[2]:
        raise ValueError(f"{name1} and {name2} must have the same point dimension; got {p1.shape[2]} and {p2.shape[2]}")
    if p1.dtype != p2.dtype:
        raise TypeError(f"{name1} and {name2} must have the same dtype; got {p1.dtype} and {p2.dtype}")
    if p1.device != p2.device:
        raise ValueError(f"{name1} and {name2} must be on one device; got {p1.device} and {p2.device}")


def check_norm(norm: int) -> None:
    """norm must be 1 (L1) or 2 (squared L2); PyTorch3D's message otherwise."""
    if isinstance(norm, bool) or norm not in (1, 2):
        raise ValueError(f"Support for 1 or 2 norm. Got norm={norm!r}")


def _ranking_blocks(
    p1: torch.Tensor, p2: torch.Tensor, lengths2: torch.Tensor, norm: int
) -> Iterator[Tuple[slice, slice, torch.Tensor]]:
    """Yield (batch slice, row slice, score) covering all pairs of p1 and p2 points.

    score (batch, rows, P2g), P2g = P2 rounded up to a multiple of GROUP: within each row it
    orders p2's points like their distance to the p1 point (+inf for padding, j >= lengths2[b],
    and for the extra columns). Squared L2 uses |b|² - 2 a·b (|a|² is constant along a row) on
    clouds centred on p2's mean, which keeps the cancellation error small; L1 is exact. Blocks
    hold at most BLOCK_BYTES, small enough to stay in cache. Call under torch.no_grad().
    """
    n, p1_len, _ = p1.shape
    p2_len = p2.shape[1]
    if n == 0 or p1_len == 0 or p2_len == 0:
        return
    width = -(-p2_len // GROUP) * GROUP
    centre = p2.mean(dim=1, keepdim=True)
    a = p1 - centre
    b = torch.nn.functional.pad(p2 - centre, (0, 0, 0, width - p2_len))
    missing = torch.arange(width, device=p2.device)[None] >= lengths2[:, None]  # (N, P2g)
    if norm == 2:
        # score = [-2a, 1] . [b, |b|²]: one bmm, no separate pass for the |b|² term.
        b_sq = (b * b).sum(-1, keepdim=True).masked_fill_(missing[..., None], float("inf"))
        a = torch.cat([-2.0 * a, torch.ones_like(a[..., :1])], dim=2)
        b_t = torch.cat([b, b_sq], dim=2).transpose(1, 2)
    budget = max(1, BLOCK_BYTES // p1.element_size())
    rows = min(p1_len, max(1, budget // width))
    batch = min(n, max(1, budget // (width * rows)))
    for b0 in range(0, n, batch):
        bs = slice(b0, min(n, b0 + batch))
        for r0 in range(0, p1_len, rows):
            rs = slice(r0, min(p1_len, r0 + rows))
            if norm == 2:
                score = torch.bmm(a[bs, rs], b_t[bs])
            else:
                score = torch.cdist(a[bs, rs], b[bs], p=1.0).masked_fill_(missing[bs, None, :], float("inf"))
            yield bs, rs, score


def _smallest(score: torch.Tensor, k: int) -> torch.Tensor:
    """(batch, rows, k) column indices of the k smallest scores of each row, ascending.

    Two levels, because a full argmin / topk over every score is several times slower than
    amin: the minimum of each GROUP of columns, the k groups with the smallest minima (they
    hold the k smallest scores), then a topk among those groups' columns only. Ties keep an
    earliest column for k = 1.
    """
    nb, rows, width = score.shape
    group_min = score.view(nb, rows, width // GROUP, GROUP).amin(dim=3)
    if k == 1:
        groups = group_min.argmin(dim=2, keepdim=True)
    else:
        groups = group_min.topk(min(k, group_min.shape[2]), dim=2, largest=False, sorted=False).indices
    columns = (groups[..., None] * GROUP + torch.arange(GROUP, device=score.device)).view(nb, rows, -1)
    candidates = score.gather(2, columns)
    if k == 1:
        pick = candidates.argmin(dim=2, keepdim=True)
    else:
        pick = candidates.topk(k, dim=2, largest=False, sorted=True).indices
    return columns.gather(2, pick)


def _pair_distances(p1: torch.Tensor, p2: torch.Tensor, idx: torch.Tensor, norm: int) -> torch.Tensor:
    """(N, P1, K) exact distances from p1[n, i] to p2[n, idx[n, i, k]] (differentiable in both)."""
    diff = p1[:, :, None, :] - knn_gather(p2, idx)
    return diff.square().sum(-1) if norm == 2 else diff.abs().sum(-1)


def _valid_slots(lengths1: torch.Tensor, lengths2: torch.Tensor, p1_len: int, k: int) -> torch.Tensor:
    """(N, P1, K) True where point i < lengths1 has a k-th neighbour (k < lengths2)."""
    device = lengths1.device
    rows = torch.arange(p1_len, device=device)[None, :, None] < lengths1[:, None, None]
    slots = torch.arange(k, device=device)[None, None, :] < lengths2[:, None, None]
    return rows & slots


def knn_points(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: Optional[torch.Tensor] = None,
    lengths2: Optional[torch.Tensor] = None,
    norm: int = 2,
    K: int = 1,
    version: int = -1,
    return_nn: bool = False,
    return_sorted: bool = True,
) -> KNN:
    """The K nearest points of p2[n] to each point of p1[n].

    p1: (N, P1, D), p2: (N, P2, D); lengths1 / lengths2: optional (N,) numbers of real points
    per cloud (the rest is padding). norm: 2 (squared Euclidean) or 1 (L1). `version` is
    accepted for PyTorch3D compatibility and ignored (there is one implementation).

    Returns KNN(dists, idx, knn): dists (N, P1, K) squared L2 / L1 distances in ascending
    order, idx (N, P1, K) int64 indices into p2[n], knn (N, P1, K, D) the neighbours when
    return_nn else None. dists and idx are 0 where p1[n] has fewer than P1 points or p2[n]
    fewer than K. Nearest neighbours are always returned sorted (return_sorted=False allows
    any order, so sorted is valid).
    """
    check_point_batches(p1, p2)
    check_norm(norm)
    if isinstance(K, bool) or not isinstance(K, int) or K < 1:
        raise ValueError(f"K must be a positive int; got {K!r}")
    n, p1_len, _ = p1.shape
    p2_len = p2.shape[1]
    lengths1 = check_lengths(lengths1, n, p1_len, "lengths1", p1.device)
    lengths2 = check_lengths(lengths2, n, p2_len, "lengths2", p1.device)

    found = min(K, p2_len)
    idx = torch.zeros((n, p1_len, K), dtype=torch.int64, device=p1.device)
    with torch.no_grad():
        for bs, rs, score in _ranking_blocks(p1.detach(), p2.detach(), lengths2, norm):
            idx[bs, rs, :found] = _smallest(score, found)
        valid = _valid_slots(lengths1, lengths2, p1_len, K)
        # Slots without a real neighbour may point at padding columns: zero them.
        idx.masked_fill_(~valid, 0)
    if p2_len == 0:
        dists = p1.new_zeros((n, p1_len, K))
    else:
        dists = _pair_distances(p1, p2, idx, norm).masked_fill(~valid, 0.0)
        if K > 1:
            # Re-sort by the exact distances (the search used the cheaper expansion).
            order = dists.detach().masked_fill(~valid, float("inf")).argsort(dim=2, stable=True)
            dists, idx = dists.gather(2, order), idx.gather(2, order)
    knn = knn_gather(p2, idx, lengths2) if return_nn else None
    return KNN(dists=dists, idx=idx, knn=knn)


def knn_gather(x: torch.Tensor, idx: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Gather x (N, M, U) at idx (N, L, K) → (N, L, K, U); out[n, l, k] = x[n, idx[n, l, k]].

    Entries with k >= lengths[n] (clouds with fewer than K points) are 0.
    """
    if not torch.is_tensor(x) or x.dim() != 3:
        raise ValueError(f"x must be a tensor of shape (N, M, U); got {getattr(x, 'shape', type(x).__name__)}")
    if not torch.is_tensor(idx) or idx.dim() != 3:
        raise ValueError(f"idx must be a tensor of shape (N, L, K); got {getattr(idx, 'shape', type(idx).__name__)}")
    n, m, u = x.shape
    _, rows, k = idx.shape
    if idx.shape[0] != n:
        raise ValueError(f"x and idx must have same batch dimension; got {n} and {idx.shape[0]}")
    out = x.gather(1, idx.reshape(n, rows * k, 1).expand(n, rows * k, u)).view(n, rows, k, u)
    if lengths is not None:
        lengths = check_lengths(lengths, n, m, "lengths", x.device)
        missing = torch.arange(k, device=x.device)[None] >= lengths[:, None]  # (N, K)
        out = out.masked_fill(missing[:, None, :, None], 0.0)
    return out
