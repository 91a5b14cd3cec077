"""Chamfer distance between batches of point clouds (PyTorch3D's `chamfer_distance`).

For each point of x, the distance (squared L2 for norm=2, L1 for norm=1) to its nearest point in
y, and the other way round; optionally 1 - |cos| (or 1 - cos) between the normals of each point
and of its nearest neighbour. Padding points (index >= the cloud's length) contribute 0; a cloud
whose partner is empty gets distance 0 (and normal term 1), as in PyTorch3D.

Differences from PyTorch3D 0.7.9, both for all-zero `weights` (PyTorch3D returns early): the
result then has the usual shape ((N,) without batch reduction, not (N, N)), and the normal term
is None when no normals were given.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F

from core.ops.knn import (
    check_lengths,
    check_norm,
    check_point_batches,
    knn_gather,
    knn_points,
)

Terms = Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]

BATCH_REDUCTIONS = ("mean", "sum")
POINT_REDUCTIONS = ("mean", "sum", "max")


def _validate_reductions(batch_reduction: Optional[str], point_reduction: Optional[str]) -> None:
    if batch_reduction is not None and batch_reduction not in BATCH_REDUCTIONS:
        raise ValueError(f'batch_reduction must be one of ["mean", "sum"] or None; got {batch_reduction!r}')
    if point_reduction is not None and point_reduction not in POINT_REDUCTIONS:
        raise ValueError(f'point_reduction must be one of ["mean", "sum", "max"] or None; got {point_reduction!r}')
    if point_reduction is None and batch_reduction is not None:
        raise ValueError("Batch reduction must be None if point_reduction is None")


def _cloud_input(
    points: Any, lengths: Optional[torch.Tensor], normals: Optional[torch.Tensor], name: str
) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """(padded points (N, P, D), lengths (N,), padded normals or None) from a tensor or a
    Pointclouds-like object (points_padded(), num_points_per_cloud(), normals_padded())."""
    if hasattr(points, "points_padded") and hasattr(points, "num_points_per_cloud"):
        cloud_normals = points.normals_padded() if hasattr(points, "normals_padded") else None
        return points.points_padded(), points.num_points_per_cloud(), cloud_normals
    if not torch.is_tensor(points):
        raise ValueError(
            f"The input pointclouds should be either Pointclouds objects or torch.Tensor of shape "
            f"(minibatch, num_points, 3); {name} is a {type(points).__name__}"
        )
    if points.dim() != 3:
        raise ValueError(f"Expected points to be of shape (N, P, D); {name} has shape {tuple(points.shape)}")
    n, p = points.shape[:2]
    lengths = check_lengths(lengths, n, p, f"{name}_lengths", points.device)
    if normals is not None and (
        not torch.is_tensor(normals) or normals.dim() != 3 or tuple(normals.shape[:2]) != (n, p)
    ):
        shape = tuple(normals.shape) if torch.is_tensor(normals) else type(normals).__name__
        raise ValueError(f"Expected normals to be of shape ({n}, {p}, 3); {name}_normals has shape {shape}")
    return points, lengths, normals


def _check_weights(weights: Optional[torch.Tensor], n: int) -> None:
    if weights is None:
        return
    if not torch.is_tensor(weights) or weights.dim() != 1 or weights.shape[0] != n:
        shape = tuple(weights.shape) if torch.is_tensor(weights) else type(weights).__name__
        raise ValueError(f"weights must be of shape (N,) = ({n},); got {shape}")
    if not bool((weights >= 0).all()):
        raise ValueError("weights cannot be negative.")


def _direction_terms(
    x: torch.Tensor,
    y: torch.Tensor,
    x_lengths: torch.Tensor,
    y_lengths: torch.Tensor,
    x_normals: Optional[torch.Tensor],
    y_normals: Optional[torch.Tensor],
    weights: Optional[torch.Tensor],
    norm: int,
    abs_cosine: bool,
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Per-point (N, P1) distance and normal terms of each x point towards its nearest y point."""
    nearest = knn_points(x, y, x_lengths, y_lengths, norm=norm, K=1)
    dist = nearest.dists[..., 0]  # 0 for padding points and empty partners
    normal_term = None
    if x_normals is not None and y_normals is not None:
        padding = torch.arange(x.shape[1], device=x.device)[None] >= x_lengths[:, None]
        partner_normals = knn_gather(y_normals, nearest.idx, y_lengths)[..., 0, :]
        cosine = F.cosine_similarity(x_normals, partner_normals, dim=2, eps=1e-6)
        normal_term = (1.0 - (cosine.abs() if abs_cosine else cosine)).masked_fill(padding, 0.0)
    if weights is not None:
        dist = dist * weights[:, None]
        normal_term = None if normal_term is None else normal_term * weights[:, None]
    return dist, normal_term


def _reduce_points(terms: torch.Tensor, lengths: torch.Tensor, point_reduction: Optional[str]) -> torch.Tensor:
    if point_reduction is None:
        return terms
    if point_reduction == "max":
        return terms.max(dim=1).values if terms.shape[1] else terms.new_zeros(terms.shape[0])
    total = terms.sum(dim=1)
    return total / lengths.clamp(min=1) if point_reduction == "mean" else total


def _combine(a: torch.Tensor, b: torch.Tensor, point_reduction: Optional[str]) -> Terms:
    if point_reduction is None:
        return a, b
    return torch.maximum(a, b) if point_reduction == "max" else a + b


def _reduce_batch(value: Any, weights: Optional[torch.Tensor], batch_reduction: Optional[str]) -> Any:
    if value is None or batch_reduction is None:
        return value
    total = value.sum()
    if batch_reduction == "sum":
        return total
    if weights is None:
        return total / max(value.shape[0], 1)
    weight_sum = weights.sum()
    return total / torch.where(weight_sum == 0, torch.ones_like(weight_sum), weight_sum)


def chamfer_distance(
    x: Any,
    y: Any,
    x_lengths: Optional[torch.Tensor] = None,
    y_lengths: Optional[torch.Tensor] = None,
    x_normals: Optional[torch.Tensor] = None,
    y_normals: Optional[torch.Tensor] = None,
    weights: Optional[torch.Tensor] = None,
    batch_reduction: Optional[str] = "mean",
    point_reduction: Optional[str] = "mean",
    norm: int = 2,
    single_directional: bool = False,
    abs_cosine: bool = True,
) -> Tuple[Terms, Optional[Terms]]:
    """Chamfer distance between clouds x (N, P1, D) and y (N, P2, D); returns (loss, loss_normals).

    x_lengths / y_lengths: (N,) real points per cloud (default: all). x_normals / y_normals:
    (N, P, 3); loss_normals is None unless both are given. weights: (N,) non-negative batch
    weights (applied to each point's term). point_reduction: "mean" | "sum" over each cloud's
    points, "max" (Hausdorff; no normals allowed) or None for per-point terms (then
    batch_reduction must be None and each loss is a pair ((N, P1), (N, P2)), or (N, P1) when
    single_directional). batch_reduction: "mean" (divided by N, or by the weights' sum),
    "sum" or None. norm: 2 (squared distances) or 1. single_directional: x → y only.
    abs_cosine: compare normals ignoring their sign.
    """
    _validate_reductions(batch_reduction, point_reduction)
    check_norm(norm)
    x, x_lengths, x_normals = _cloud_input(x, x_lengths, x_normals, "x")
    y, y_lengths, y_normals = _cloud_input(y, y_lengths, y_normals, "y")
    if point_reduction == "max" and (x_normals is not None or y_normals is not None):
        raise ValueError('Normals must be None if point_reduction is "max"')
    check_point_batches(x, y, "x", "y")
    _check_weights(weights, x.shape[0])
    with_normals = x_normals is not None and y_normals is not None

    dist_x, normal_x = _direction_terms(x, y, x_lengths, y_lengths, x_normals, y_normals, weights, norm, abs_cosine)
    loss: Terms = _reduce_points(dist_x, x_lengths, point_reduction)
    loss_normals: Optional[Terms] = _reduce_points(normal_x, x_lengths, point_reduction) if with_normals else None
    if not single_directional:
        dist_y, normal_y = _direction_terms(
            y, x, y_lengths, x_lengths, y_normals, x_normals, weights, norm, abs_cosine
        )
        loss = _combine(loss, _reduce_points(dist_y, y_lengths, point_reduction), point_reduction)
        if with_normals:
            loss_normals = _combine(loss_normals, _reduce_points(normal_y, y_lengths, point_reduction), point_reduction)
    return _reduce_batch(loss, weights, batch_reduction), _reduce_batch(loss_normals, weights, batch_reduction)
