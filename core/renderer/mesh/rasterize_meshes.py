"""Pure-PyTorch mesh rasterization with PyTorch3D's numerical conventions.

The work is split in two, as a differentiable rasterizer must be:

1. *Selection* (no autograd): every face enumerates, row by row of its screen bounding box
   (grown by the blur radius), the span of columns that lie within the blur radius of all three
   of its edge lines. So the cost grows with the pixels each face touches, never with
   pixels x faces. The candidates get PyTorch3D's exact tests, in chunks of bounded size; the
   K nearest of each pixel are kept (only overfull pixels are examined, by depth histograms
   rather than a sort; depth ranks are computed only if a consumer asks for slots). Partial
   merges keep memory at O(N*H*W*K) plus one chunk.
2. *Geometry* (autograd): the backward pass recomputes barycentrics, depth and signed squared
   distance with ordinary tensor ops for the chosen pairs only, chunk by chunk, and
   differentiates them, so gradients reach the projected vertices.

Per-pair arithmetic is written on 1-D "structure of arrays" tensors (x0, y0, z0, ... one value
per pair, gathered with index_select), on cache-sized chunks, and avoids torch.where (many
times slower than arithmetic on the CPU): that is what makes pure PyTorch fast here.

Pixel centres follow PyTorch3D's NDC: +X left, +Y up, the shorter image side spans [-1, 1].
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import torch

from core.utils.masks import float_mask, true_positions

from .clip import clip_faces
from .fragments import SparseFragments, Truncation, beyond_nearest, nearest_in_pixel
from .parallel_parts import part_count, run_parts
from .sparse_rows import face_runs

# Numerical constants from PyTorch3D's rasterizer (see shared CONVENTIONS.md).
_AREA_EPS = 1e-8
_PERSPECTIVE_EPS = 1e-8
_CLIP_EPS = 1e-5
_Z_EPS = 1e-8

# Candidate pairs tested at once: small enough that the temporaries of the per-pair arithmetic
# stay in cache (which makes the elementwise ops several times faster), large enough that the
# Python loop costs little.
_CHUNK_PAIRS = 1 << 18
# Survivors held before a top-K merge; bounds the memory of the selection pass.
_MERGE_ENTRIES = 1 << 23
# Selection.without: cutting out one run costs about as much as gathering this many rows (both
# measured on the CPU), so runs are concatenated only when drops are this sparse among the rows.
_ROWS_PER_RUN = 1024

# Bytes per fragment slot: the four dense outputs (8 + 4 + 12 + 4) plus the sparse form with its
# autograd copies; used to refuse requests that would exhaust memory before allocating anything.
_BYTES_PER_SLOT = 64
DEFAULT_MEMORY_BUDGET = 4 * 1024**3


def pixel_centers_ndc(image_size: Tuple[int, int], device: torch.device, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    """NDC x of each column (W,) and y of each row (H,): the shorter side spans [-1, 1]."""
    h, w = image_size
    s = min(h, w)
    xs = (w - 1 - 2 * torch.arange(w, device=device, dtype=dtype)) / s
    ys = (h - 1 - 2 * torch.arange(h, device=device, dtype=dtype)) / s
    return xs, ys


def _edge(px, py, ax, ay, bx, by):
    """PyTorch3D's edge function (p - a) x (b - a), elementwise on tensors."""
    return (px - ax) * (by - ay) - (py - ay) * (bx - ax)


class PairDifferences(NamedTuple):
    """The differences that the edge functions and the edge distances of M (pixel, face) pairs
    share: pixel minus vertex i (dx_i, dy_i) and the edge vectors v1 - v0, v2 - v0, v2 - v1.
    Computed once, they spare half the subtractions; every formula below still rounds exactly
    as PyTorch3D's (negating a difference is exact)."""

    dx0: torch.Tensor
    dy0: torch.Tensor
    dx1: torch.Tensor
    dy1: torch.Tensor
    dx2: torch.Tensor
    dy2: torch.Tensor
    e01x: torch.Tensor
    e01y: torch.Tensor
    e02x: torch.Tensor
    e02y: torch.Tensor
    e12x: torch.Tensor
    e12y: torch.Tensor


def pair_differences(px: torch.Tensor, py: torch.Tensor, v: Tuple[torch.Tensor, ...]) -> PairDifferences:
    """PairDifferences of pixels (px, py) and faces v (nine (M,) tensors x0, y0, z0, ...)."""
    x0, y0, _, x1, y1, _, x2, y2, _ = v
    return PairDifferences(px - x0, py - y0, px - x1, py - y1, px - x2, py - y2,
                           x1 - x0, y1 - y0, x2 - x0, y2 - y0, x2 - x1, y2 - y1)


def _cross(ax: torch.Tensor, by: torch.Tensor, ay: torch.Tensor, bx: torch.Tensor) -> torch.Tensor:
    """ax * by - ay * bx in a new tensor, rounded as written (the subtraction runs in place on
    the first product: one temporary less, the same bits)."""
    return (ax * by).sub_(ay * bx)


def _edge_functions(d: PairDifferences) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(area, e0, e1, e2): PyTorch3D's edge functions edge(v2; v0, v1), edge(p; v1, v2),
    edge(p; v2, v0) and edge(p; v0, v1), with its rounding. New tensors, free to modify."""
    area = _cross(d.e02x, d.e01y, d.e02y, d.e01x)
    e0 = _cross(d.dx1, d.e12y, d.dy1, d.e12x)
    e1 = _cross(d.dy2, d.e02x, d.dx2, d.e02y)  # (px - x2)(y0 - y2) - (py - y2)(x0 - x2)
    e2 = _cross(d.dx0, d.e01y, d.dy0, d.e01x)
    return area, e0, e1, e2


def _corrected_weights(
    d: PairDifferences, v: Tuple[torch.Tensor, ...], perspective_correct: bool
) -> Tuple[Tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """The first steps of `pair_geometry`: barycentrics before clipping (perspective corrected
    when asked) and whether the pixel is inside (every one of them > 0). Temporaries are
    updated in place, which changes no value: each step is the same operation on the same
    operands."""
    _, _, z0, _, _, z1, _, _, z2 = v
    area, e0, e1, e2 = _edge_functions(d)
    area.add_(_AREA_EPS)
    w0, w1, w2 = e0.div_(area), e1.div_(area), e2.div_(area)
    if perspective_correct:
        w0, w1, w2 = w0.mul_(z1).mul_(z2), w1.mul_(z0).mul_(z2), w2.mul_(z0).mul_(z1)
        denom = (w0 + w1).add_(w2).clamp_min_(_PERSPECTIVE_EPS)
        w0, w1, w2 = w0.div_(denom), w1.div_(denom), w2.div_(denom)
    return (w0, w1, w2), torch.minimum(torch.minimum(w0, w1), w2) > 0


def _inside(d: PairDifferences) -> torch.Tensor:
    """Whether each pair's pixel is inside its face, as `_corrected_weights` decides (every weight
    > 0), from signs alone: b_i = e_i / (area + eps) has the sign of e_i (area + eps), and
    perspective correction multiplies b_i by positive depths and divides by a positive (clamped)
    sum, which keeps it. For drawable faces only (all vertex depths > 0)."""
    area, e0, e1, e2 = _edge_functions(d)
    area.add_(_AREA_EPS)
    return torch.minimum(torch.minimum(e0.mul_(area), e1.mul_(area)), e2.mul_(area)) > 0


def pair_geometry(
    px: torch.Tensor,
    py: torch.Tensor,
    v: Tuple[torch.Tensor, ...],
    perspective_correct: bool,
    clip: bool,
    d: Optional[PairDifferences] = None,
) -> Tuple[Tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor, torch.Tensor]:
    """PyTorch3D's barycentrics and depth for M (pixel, face) pairs.

    px, py: (M,) pixel centres; v: nine (M,) tensors x0, y0, z0, x1, y1, z1, x2, y2, z2; d: their
    pair_differences, when the caller has them. Returns ((w0, w1, w2), z, inside): barycentrics
    (perspective corrected and clipped when asked), interpolated depth, and whether the pixel is
    inside (every unclipped weight > 0). The operation order follows PyTorch3D's so that depth
    ties break the same way.
    """
    _, _, z0, _, _, z1, _, _, z2 = v
    (w0, w1, w2), inside = _corrected_weights(pair_differences(px, py, v) if d is None else d, v, perspective_correct)
    if clip:
        w0, w1, w2 = w0.clamp_min_(0.0), w1.clamp_min_(0.0), w2.clamp_min_(0.0)
        total = (w0 + w1).add_(w2).clamp_min_(_CLIP_EPS)
        w0, w1, w2 = w0.div_(total), w1.div_(total), w2.div_(total)
    z = (w0 * z0).add_(w1 * z1).add_(w2 * z2)
    return (w0, w1, w2), z, inside


def geometry_backward(
    px: torch.Tensor,
    py: torch.Tensor,
    v: Tuple[torch.Tensor, ...],
    perspective_correct: bool,
    clip: bool,
    grad_w: Optional[torch.Tensor],
    grad_z: Optional[torch.Tensor],
    d: Optional[PairDifferences] = None,
) -> torch.Tensor:
    """Gradients of `pair_geometry`'s barycentrics and depth w.r.t. the nine vertex coordinates.

    grad_w: (M, 3) or None; grad_z: (M,) or None (not both None); d: pair_differences of the
    pairs, when the caller has them. Returns an (M, 9) matrix, columns in v's order (written
    in place: the operand of a face_runs product, without a stacking pass). Reverse-mode by hand
    through each step of `pair_geometry` (edge functions, perspective correction, clipping,
    depth), with clamp gradients passing where the input is >= the bound as torch's do; tests
    compare it with autograd on every variant.
    """
    _, _, z0, _, _, z1, _, _, z2 = v
    dtype = px.dtype
    d = pair_differences(px, py, v) if d is None else d
    # Temporaries are updated in place and products summed with addcmul (fused on the CPU):
    # gradients need no particular rounding, and each pass over memory saved counts.
    area, e0, e1, e2 = _edge_functions(d)
    area.add_(_AREA_EPS)
    b = [e0.div_(area), e1.div_(area), e2.div_(area)]
    zs = (z0, z1, z2)
    p = b
    if perspective_correct:
        p = [b[0] * z1 * z2, b[1] * z0 * z2, b[2] * z0 * z1]
        t_sum = (p[0] + p[1]).add_(p[2])
        denom = t_sum.clamp_min(_PERSPECTIVE_EPS)
        p = [ti.div_(denom) for ti in p]
    w = p
    if clip:
        w = [pi.clamp_min(0.0) for pi in p]
        c_sum = (w[0] + w[1]).add_(w[2])
        total = c_sum.clamp_min(_CLIP_EPS)
        w = [ci.div_(total) for ci in w]

    gz: List[Optional[torch.Tensor]] = [None] * 3
    if grad_z is not None:  # z = sum_i w_i z_i
        gw = [grad_z * zi for zi in zs]
        if grad_w is not None:
            gw = [gw[i].add_(grad_w[:, i]) for i in range(3)]
        gz = [grad_z * wi for wi in w]
    else:
        gw = [grad_w[:, i] for i in range(3)]  # views of the caller's tensor: not modified below
    gp = gw
    if clip:  # w_i = c_i / S, S = clamp(sum c), c_i = clamp(p_i, 0)
        dot = (gw[0] * w[0]).addcmul_(gw[1], w[1]).addcmul_(gw[2], w[2]).mul_(float_mask(c_sum >= _CLIP_EPS, dtype))
        gp = [torch.sub(gw[i], dot).div_(total).mul_(float_mask(p[i] >= 0, dtype)) for i in range(3)]
    gb = gp
    if perspective_correct:  # p_i = t_i / D, D = clamp(sum t); t_0 = b_0 z1 z2, ...
        dot = (gp[0] * p[0]).addcmul_(gp[1], p[1]).addcmul_(gp[2], p[2]).mul_(float_mask(t_sum >= _PERSPECTIVE_EPS, dtype))
        gt = [torch.sub(gp[i], dot).div_(denom) for i in range(3)]
        gb = [gt[0] * z1 * z2, gt[1] * z0 * z2, gt[2] * z0 * z1]
        gtb = [gt[i].mul_(b[i]) for i in range(3)]  # gt_i b_i (gt is not needed any more)
        through_t = [(gtb[1] * z2).addcmul_(gtb[2], z1), (gtb[0] * z2).addcmul_(gtb[2], z0),
                     (gtb[0] * z1).addcmul_(gtb[1], z0)]
        gz = [through_t[i] if gz[i] is None else gz[i].add_(through_t[i]) for i in range(3)]
    # b_i = e_i / area. An edge function e(p, a, b) = (px - ax)(by - ay) - (py - ay)(bx - ax) has
    # de/dax = py - by, de/day = bx - px, de/dbx = ay - py, de/dby = px - ax; so with
    # H_i = gb_i / area + d loss / d area, the six sums of products collapse to cross products
    # of the pixel-to-vertex differences: d/dx0 = dy1 H2 - dy2 H1, d/dy0 = dx2 H1 - dx1 H2, ...
    g_area = (gb[0] * b[0]).addcmul_(gb[1], b[1]).addcmul_(gb[2], b[2]).div_(area).neg_()
    h0, h1, h2 = (torch.div(gbi, area).add_(g_area) for gbi in gb)
    out = px.new_empty(px.shape[0], 9)  # columns x0, y0, z0, x1, ..., each written in place
    for column, (u, hu, v_, hv) in zip((0, 1, 3, 4, 6, 7), (
        (d.dy1, h2, d.dy2, h1), (d.dx2, h1, d.dx1, h2), (d.dy2, h0, d.dy0, h2),
        (d.dx0, h2, d.dx2, h0), (d.dy0, h1, d.dy1, h0), (d.dx1, h0, d.dx0, h1),
    )):
        torch.addcmul(u * hu, v_, hv, value=-1, out=out[:, column])
    for i in range(3):
        if gz[i] is None:
            out[:, 3 * i + 2].zero_()
        else:
            out[:, 3 * i + 2].copy_(gz[i])
    return out


def _edges(d: PairDifferences) -> Tuple[Tuple[torch.Tensor, ...], ...]:
    """(apx, apy, abx, aby) of each edge ab in PyTorch3D's order (v0v1, v0v2, v1v2): pixel minus
    start, and end minus start."""
    return ((d.dx0, d.dy0, d.e01x, d.e01y), (d.dx0, d.dy0, d.e02x, d.e02y), (d.dx1, d.dy1, d.e12x, d.e12y))


def _edge_residual(
    apx: torch.Tensor, apy: torch.Tensor, abx: torch.Tensor, aby: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The vector (rx, ry) from the edge's nearest point to the pixel, and the clamped
    parameter t of that point on the edge: new tensors (computed in place, same values as
    t = clamp((ab . ap) / max(|ab|^2, 1e-12), 0, 1), r = ap - t ab)."""
    t = (abx * apx).add_(aby * apy)
    t.div_((abx * abx).add_(aby * aby).clamp_min_(1e-12)).clamp_(0.0, 1.0)
    # -(t ab) + ap is ap - t ab exactly (IEEE negation and addition)
    return (t * abx).neg_().add_(apx), (t * aby).neg_().add_(apy), t


def nearest_edge_distance2(d: PairDifferences) -> Tuple[torch.Tensor, torch.Tensor]:
    """(squared 2D distance from each pair's pixel to the nearest edge of its face, which edge):
    the edge as uint8 0, 1, 2 for v0v1, v0v2, v1v2, the first of equal ones in that order
    (PyTorch3D's backward picks so)."""
    s01, s02, s12 = (rx.mul_(rx).add_(ry.mul_(ry)) for rx, ry, _ in (_edge_residual(*edge) for edge in _edges(d)))
    nearer = torch.minimum(s01, s02)
    on_v0v2 = (s02 < s01).view(torch.uint8)
    on_v1v2 = (s12 < nearer).view(torch.uint8)
    return torch.minimum(nearer, s12), on_v0v2 + on_v1v2 * (2 - on_v0v2)


def distance_backward(d: PairDifferences, grad_d2: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
    """(M, 3, 2) gradients of the squared distances to the nearest edge (`nearest_edge_distance2`)
    w.r.t. x and y of each pair's three vertices, given d loss / d squared distance (M,) and
    the nearest edge (M,) as `nearest_edge_distance2` numbers it.

    With r = p - (a + t (b - a)) for the nearest edge ab and t held fixed, which is exact where
    t is clamped and, by optimality, where it is not (as in PyTorch3D): d|r|^2/da = -2 (1 - t) r
    and d|r|^2/db = -2 t r. Only that edge's residual is computed: arithmetic masks and lerp
    (exact at 0 and 1) pick its start and direction, instead of torch.where, which is far
    slower on the CPU.
    """
    code = edge.to(grad_d2.dtype)
    on_v0v2 = (2 - code).mul_(code)  # 1 for edge 1, else 0
    on_v1v2 = (code - 1).mul_(code).mul_(0.5)  # 1 for edge 2, else 0
    on_v0v1 = (1 - on_v0v2).sub_(on_v1v2)

    def nearest(v01, v02, v12):
        return torch.lerp(v01, v02, on_v0v2).lerp_(v12, on_v1v2)

    rx, ry, t = _edge_residual(*(nearest(*values) for values in zip(*_edges(d))))
    scale = grad_d2 * -2
    gx, gy = rx.mul_(scale), ry.mul_(scale)
    s = 1 - t  # weight of the edge's start: v0 unless the edge is v1v2; t: of its end, v2 unless v0v1
    weights = ((1 - on_v1v2).mul_(s), torch.mul(s, on_v1v2).addcmul_(t, on_v0v1), (1 - on_v0v1).mul_(t))
    out = gx.new_empty(gx.shape[0], 3, 2)
    for i, wi in enumerate(weights):
        torch.mul(wi, gx, out=out[:, i, 0])
        torch.mul(wi, gy, out=out[:, i, 1])
    return out


def _face_pixel_boxes(
    face_verts: torch.Tensor, image_size: Tuple[int, int], grow: float
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inclusive pixel ranges (col0, row0, ncols, nrows) of each face's box grown by `grow` (NDC)."""
    h, w = image_size
    s = min(h, w)
    xy = face_verts[..., :2]
    xmin = xy[..., 0].amin(1) - grow
    xmax = xy[..., 0].amax(1) + grow
    ymin = xy[..., 1].amin(1) - grow
    ymax = xy[..., 1].amax(1) + grow
    # x = (W - 1 - 2 col) / S  =>  col = (W - 1 - x S) / 2 ; a small margin keeps the box conservative.
    margin = 1e-4
    col0 = torch.ceil((w - 1 - xmax * s) / 2 - margin).clamp(0, w)
    col1 = torch.floor((w - 1 - xmin * s) / 2 + margin).clamp(-1, w - 1)
    row0 = torch.ceil((h - 1 - ymax * s) / 2 - margin).clamp(0, h)
    row1 = torch.floor((h - 1 - ymin * s) / 2 + margin).clamp(-1, h - 1)
    ncols = (col1 - col0 + 1).clamp_min(0).long()
    nrows = (row1 - row0 + 1).clamp_min(0).long()
    return col0.long(), row0.long(), ncols, nrows


def _face_is_drawable(face_verts: torch.Tensor, cull_backfaces: bool) -> torch.Tensor:
    """False for faces PyTorch3D never draws: zero area, culled back faces, vertices behind the camera."""
    x, y = face_verts[..., 0], face_verts[..., 1]
    area = _edge(x[:, 2], y[:, 2], x[:, 0], y[:, 0], x[:, 1], y[:, 1])
    ok = area.abs() > _AREA_EPS
    if cull_backfaces:
        ok &= area >= 0
    ok &= (face_verts[..., 2] >= _Z_EPS).all(dim=1)
    ok &= torch.isfinite(face_verts).all(dim=(1, 2))
    return ok


# Span bounds (see _row_spans): +-_BIG stands for infinity and keeps every value finite; a zero
# slope becomes +-_TINY.
_BIG, _TINY = 1e30, 1e-30


def _screen_table(face_verts: torch.Tensor, reach: float) -> torch.Tensor:
    """(12, F) per-face coefficients of the three conditions that bound a face's spans.

    For the edge from vertex j to vertex k (opposite vertex i), the barycentric w_i times the
    height area / |edge| is the signed distance from a point to the edge's line (positive on the
    face's side): (ey x - ex y + y_j ex - x_j ey) sign(area) / |edge|, with (ex, ey) the edge.
    A point within `reach` of the face has that distance + reach > 0 for every edge: on a row y,
    slope x + offset(y) > 0. Rows 4i..4i+3 hold -slope (never 0: a zero slope becomes
    +-_TINY), the y coefficient, the constant term + reach, and _BIG with the sign of slope.
    For drawable faces (|area| > 1e-8).
    """
    x, y = face_verts[..., 0], face_verts[..., 1]
    rows = []
    orientation = torch.sign(_edge(x[:, 2], y[:, 2], x[:, 0], y[:, 0], x[:, 1], y[:, 1]))
    for j, k in ((1, 2), (2, 0), (0, 1)):
        ex, ey = x[:, k] - x[:, j], y[:, k] - y[:, j]
        scale = orientation / torch.sqrt(ex * ex + ey * ey).clamp_min(1e-12)
        slope = ey * scale
        slope = slope + torch.copysign(torch.full_like(slope, _TINY), slope)
        rows += [-slope, -ex * scale, (y[:, j] * ex - x[:, j] * ey) * scale + reach,
                 torch.copysign(torch.full_like(slope, _BIG), slope)]
    return torch.stack(rows)


def _row_spans(
    screen: torch.Tensor,
    col0: torch.Tensor,
    row0: torch.Tensor,
    ncols: torch.Tensor,
    nrows: torch.Tensor,
    image_size: Tuple[int, int],
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scanline spans: for each face and each row of its box, the columns that can hold it.

    A pixel can be kept only if it lies within the blur reach of all three edge lines (see
    `_screen_table`, whose (12, F) rows `screen` holds); on one row each condition is a
    half-line in x, so the three give one column interval. Returns (face, row, first column,
    count) per span, with a small margin so that the exact test, not this bound, decides
    borderline pixels.
    """
    h, w = image_size
    s = min(h, w)
    seg_face = torch.repeat_interleave(torch.arange(nrows.numel(), device=nrows.device), nrows, output_size=int(nrows.sum()))
    first_span = torch.cumsum(nrows, 0) - nrows
    seg_row = torch.arange(seg_face.numel(), device=nrows.device) + (row0 - first_span).index_select(0, seg_face)
    py = (h - 1 - 2 * seg_row.to(screen.dtype)) / s
    coef = [row.index_select(0, seg_face) for row in screen]
    # Branch-free (torch.where is slow on the CPU): slope * x + offset > 0 bounds x from below
    # when slope > 0 and from above when slope < 0; with the tiny slope of a zero one, the
    # interval is unbounded or empty as "offset > 0" says.
    xlo = torch.full_like(py, -_BIG)
    xhi = torch.full_like(py, _BIG)
    for i in range(3):
        neg_slope, b, c, side = coef[4 * i : 4 * i + 4]
        bound = (b * py).add_(c).div_(neg_slope).clamp_(-_BIG, _BIG)
        torch.maximum(xlo, torch.minimum(bound, side), out=xlo)
        torch.minimum(xhi, torch.maximum(bound, side), out=xhi)
    margin = 1e-3  # of a pixel
    lo = col0.index_select(0, seg_face)
    first = torch.maximum(torch.ceil((w - 1 - xhi * s) / 2 - margin), lo.to(xhi.dtype))
    last = torch.minimum(torch.floor((w - 1 - xlo * s) / 2 + margin), (lo + ncols.index_select(0, seg_face) - 1).to(xlo.dtype))
    count = (last - first + 1).clamp_min(0).long()
    keep = true_positions(count)
    return tuple(t.index_select(0, keep) for t in (seg_face, seg_row, first.long(), count))  # type: ignore[return-value]


class Selection(NamedTuple):
    """The chosen fragments, one row each, in packed-face order (hence grouped by image).

    pix: flat (N*H*W) pixel index; face: packed face index; rank: slot 0..K-1 by depth, or
    None when not computed yet; w0, w1, w2: barycentrics; z: depth; d2: squared distance to
    the face; inside: whether the pixel centre is inside; edge: the face's nearest edge (see
    `nearest_edge_distance2`), for the backward. No gradients. w0, w1, w2 and z are None when
    the selection was made without them (see `select_fragments`).
    """

    pix: torch.Tensor
    face: torch.Tensor
    rank: Optional[torch.Tensor]
    w0: Optional[torch.Tensor]
    w1: Optional[torch.Tensor]
    w2: Optional[torch.Tensor]
    z: Optional[torch.Tensor]
    d2: torch.Tensor
    inside: torch.Tensor
    edge: torch.Tensor

    def take(self, index: torch.Tensor) -> "Selection":
        """The rows at ascending positions `index`; ranks are dropped."""
        return Selection(*[None if t is None else t.index_select(0, index) for t in self])._replace(rank=None)

    def without(self, dropped: torch.Tensor) -> "Selection":
        """All rows but those at ascending positions `dropped`; ranks are dropped.

        Sparse drops (a handful of overfull pixels among millions of rows) are cut out by
        concatenating the runs between them, several times cheaper than gathering every row;
        denser ones by one gather.
        """
        total = self.pix.numel()
        if dropped.numel() * _ROWS_PER_RUN > total:
            kept = torch.ones(total, dtype=torch.bool, device=self.pix.device)
            kept[dropped] = False
            return self.take(true_positions(kept))
        cuts = [-1] + dropped.tolist() + [total]
        runs = [(a + 1, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a + 1]
        return Selection(
            *[None if t is None else torch.cat([t[a:b] for a, b in runs]) for t in self]
        )._replace(rank=None)


class _Rows:
    """Columns of chosen fragments filled chunk after chunk in place (no concatenation pass):
    pix, face, [w0, w1, w2, z,] d2, inside, edge (the bracketed ones only `with_geometry`)."""

    def __init__(self, capacity: int, dtype: torch.dtype, device: torch.device, with_geometry: bool) -> None:
        names = ("pix", "face") + (("w0", "w1", "w2", "z") if with_geometry else ()) + ("d2", "inside", "edge")
        kinds = {"pix": torch.long, "face": torch.long, "inside": torch.bool, "edge": torch.uint8}
        self.names = names
        self.columns = [torch.empty(capacity, dtype=kinds.get(name, dtype), device=device) for name in names]
        self.size = 0

    def append(self, values: Tuple[torch.Tensor, ...], index: torch.Tensor) -> None:
        """Add values[i][index] for each column, in the order of `names`."""
        n = index.numel()
        if self.size + n > self.columns[0].numel():
            grown = max(2 * self.columns[0].numel(), self.size + n)
            self.columns = [torch.cat((c[: self.size], c.new_empty(grown - self.size))) for c in self.columns]
        for column, value in zip(self.columns, values):
            torch.index_select(value, 0, index, out=column[self.size : self.size + n])
        self.size += n

    def view(self) -> Selection:
        columns = {name: c[: self.size] for name, c in zip(self.names, self.columns)}
        return Selection(rank=None, **{name: columns.get(name) for name in Selection._fields if name != "rank"})

    def replace(self, rows: Selection) -> None:
        """Hold `rows` (fewer than now) instead of the current rows."""
        n = rows.pix.numel()
        for name, column in zip(self.names, self.columns):
            column[:n] = getattr(rows, name).clone()
        self.size = n


def _nearest_k(rows: Selection, k: int, depth: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               dropped_masks: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> Selection:
    """The rows (in packed-face order) that are among the k nearest of their pixel.

    Equal depths go to the earlier row, i.e. the smaller face. For k > 1 only the rows of
    overfull pixels are ranked; the others keep rank None (computed on demand). For a selection
    made without depths (rows.z None), depth(pix, face) gives those of the rows it needs.
    dropped_masks: per-pixel masks (crowded, had_inside) of `Truncation`, marked here where
    rows are dropped.
    """
    pix = rows.pix
    if pix.numel() == 0:
        return rows
    if k == 1:
        keep = nearest_in_pixel(pix, rows.z)
        if dropped_masks is not None and keep.numel() < pix.numel():
            over = torch.bincount(pix) > 1
            dropped_masks[0][: over.numel()].logical_or_(over)
            if not bool(rows.inside.all()):  # all inside (no blur): the kept row is inside too
                dropped_masks[1][pix.index_select(0, true_positions(rows.inside))] = True
        return rows.take(keep)._replace(rank=torch.zeros_like(keep))
    over = torch.bincount(pix) > k
    crowded = true_positions(over.index_select(0, pix))
    if crowded.numel() == 0:
        return rows
    crowded_pix = pix.index_select(0, crowded)
    if rows.z is not None:
        z = rows.z.index_select(0, crowded)
    else:
        z = depth(crowded_pix, rows.face.index_select(0, crowded))
    dropped = crowded.index_select(0, beyond_nearest(crowded_pix, z, k))
    if dropped_masks is not None:
        dropped_masks[0][: over.numel()].logical_or_(over)
        inside_dropped = dropped.index_select(0, true_positions(rows.inside.index_select(0, dropped)))
        dropped_masks[1][pix.index_select(0, inside_dropped)] = True
    return rows.without(dropped)


def select_fragments(
    face_verts: torch.Tensor,
    face_to_image: torch.Tensor,
    image_size: Tuple[int, int],
    blur_radius: float,
    faces_per_pixel: int,
    perspective_correct: bool,
    cull_backfaces: bool,
    clip_barycentric_coords: bool,
    chunk_pairs: int = _CHUNK_PAIRS,
    with_geometry: bool = True,
    twins: Optional[torch.Tensor] = None,
    dropped_masks: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
) -> Selection:
    """Choose, without autograd, the K nearest faces of every pixel.

    face_verts: (F, 3, 3) NDC x, y and view z of each packed face's vertices.
    face_to_image: (F,) batch element of each face, ascending.
    with_geometry=False leaves out the barycentrics and depths (w0, w1, w2, z are None; the
    depths of the rows of overfull pixels are computed on the side): a third less arithmetic
    and half the columns to copy, for callers that need only the distances. Allowed where no
    kept depth can be negative, which then needs no test: K > 1 with clipped barycentrics (a
    convex combination of vertex depths >= 1e-8) or with blur_radius 0 (pixels inside only).
    twins: (F,) the other half of each face split in two by near-plane clipping, else -1 (see
    `clip.clip_faces`); a pixel keeps at most one of two twins (see `_one_of_twins`).
    dropped_masks: (N*H*W,) bool masks (crowded, had_inside) of `Truncation`, updated in place
    where K drops faces.
    """
    h, w = image_size
    device = face_verts.device
    k = faces_per_pixel
    if not with_geometry and (k == 1 or not (clip_barycentric_coords or blur_radius <= 0)):
        raise ValueError("a selection without depths needs faces_per_pixel > 1 and clipped barycentrics or no blur")
    with torch.no_grad():
        face_verts = face_verts.detach()
        table = None if with_geometry else _coordinate_rows(face_verts)

        def depth(pix: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
            num_images = int(face_to_image[-1]) + 1  # bounds pix (faces exist, since rows do)
            return rows_geometry(table, pix, face, (num_images, h, w), perspective_correct, clip_barycentric_coords)[3]

        def nearest(rows: Selection) -> Selection:
            if twins is not None:
                rows = _one_of_twins(rows, twins)
            return _nearest_k(rows, k, depth, dropped_masks)

        xs, ys = pixel_centers_ndc(image_size, device, face_verts.dtype)
        reach = math.sqrt(blur_radius) if blur_radius > 0 else 0.0  # the blur radius is a squared distance
        col0, row0, ncols, nrows = _face_pixel_boxes(face_verts, image_size, reach)
        drawable = _face_is_drawable(face_verts, cull_backfaces) & (ncols > 0) & (nrows > 0)
        faces = true_positions(drawable)
        drawn_verts = face_verts.index_select(0, faces)
        seg_face, seg_row, seg_col, counts = _row_spans(
            _screen_table(drawn_verts, reach), col0[faces], row0[faces], ncols[faces], nrows[faces], image_size
        )
        verts_table = _coordinate_rows(drawn_verts)
        ends = torch.cumsum(counts, 0)
        # Pairs are numbered 0, 1, ... span after span; pair q of a span starting at pair s sits
        # at column seg_col + (q - s) and flat pixel seg_pix + (q - s): subtracting s once per
        # span leaves one gather and one addition per pair for each.
        starts = ends - counts
        col_base = seg_col - starts
        pix_base = face_to_image[faces][seg_face] * (h * w) + seg_row * w + seg_col - starts
        seg_py = ys[seg_row]
        # Chunks of whole spans (a span is at most one image row) of about chunk_pairs pairs.
        total = int(ends[-1]) if ends.numel() else 0
        marks = torch.tensor(list(range(chunk_pairs, total, chunk_pairs)), dtype=ends.dtype, device=device)
        cuts = [0] + sorted(set(torch.searchsorted(ends, marks).tolist())) + [counts.numel()]

        rows = _Rows(min(total, _MERGE_ENTRIES), face_verts.dtype, device, with_geometry)
        merge_at = _MERGE_ENTRIES
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            if hi <= lo:
                continue
            n_pairs = int(ends[hi - 1] - (ends[lo - 1] if lo else 0))
            seg = torch.repeat_interleave(torch.arange(lo, hi, device=device), counts[lo:hi], output_size=n_pairs)
            pair = torch.arange(n_pairs, device=device) + (ends[lo - 1] if lo else 0)
            px = xs.index_select(0, col_base.index_select(0, seg).add_(pair))
            py = seg_py.index_select(0, seg)
            slot = seg_face.index_select(0, seg)
            # without geometry only x and y take part (edge functions and distances)
            cols = tuple(row.index_select(0, slot) if with_geometry or i % 3 != 2 else None for i, row in enumerate(verts_table))
            diffs = pair_differences(px, py, cols)
            if with_geometry:
                (w0, w1, w2), z, inside = pair_geometry(px, py, cols, perspective_correct, clip_barycentric_coords, diffs)
                geometry: Tuple[torch.Tensor, ...] = (w0, w1, w2, z)
            else:
                inside = _inside(diffs)
                geometry = ()
            d2, edge = nearest_edge_distance2(diffs)
            del diffs
            keep = (d2 < blur_radius).logical_or_(inside)
            if with_geometry:
                keep &= z >= 0
            sel = true_positions(keep)
            pix = pix_base.index_select(0, seg).add_(pair)
            rows.append((pix, faces.index_select(0, slot)) + geometry + (d2, inside, edge), sel)
            if rows.size > merge_at:  # bound memory: drop what can no longer be among the K nearest
                rows.replace(nearest(rows.view()))
                merge_at = max(merge_at, 2 * rows.size)  # many legitimate rows: merge less often
        return nearest(rows.view())


def _one_of_twins(rows: Selection, twins: torch.Tensor) -> Selection:
    """Keep one half of a split face per pixel, as PyTorch3D does: the half that contains the
    pixel centre, else the nearer one (on a tie the earlier face).

    PyTorch3D keeps the nearer half only. A pixel inside one half whose nearest edge is the
    shared diagonal is exactly as far from the other half, so there the float rounding of two
    distances decided whether the pixel came out inside or outside; containment decides here.
    """
    split = true_positions(twins.index_select(0, rows.face) >= 0)
    if split.numel() < 2:
        return rows
    face = rows.face.index_select(0, split)
    pair = torch.minimum(face, twins.index_select(0, face))
    key = rows.pix.index_select(0, split) * twins.numel() + pair
    order = torch.argsort(key, stable=True)  # a pair's rows: the smaller face first
    key = key.index_select(0, order)
    both = true_positions(key[1:] == key[:-1])
    if both.numel() == 0:
        return rows
    first = split.index_select(0, order.index_select(0, both))
    second = split.index_select(0, order.index_select(0, both + 1))
    inside_first, inside_second = rows.inside.index_select(0, first), rows.inside.index_select(0, second)
    nearer_second = rows.d2.index_select(0, second) < rows.d2.index_select(0, first)
    farther_first = torch.where(inside_first == inside_second, nearer_second, inside_second)
    dropped = torch.where(farther_first, first, second)
    return rows.without(torch.sort(dropped).values)


def _select_by_images(face_verts: torch.Tensor, face_to_image: torch.Tensor, num_images: int, *args: Any,
                      with_geometry: bool, twins: Optional[torch.Tensor],
                      dropped_masks: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> Selection:
    """`select_fragments` over groups of consecutive images side by side (see parallel_parts),
    each of at least _MIN_PART_FACES faces: pixels of different images never compete, so the
    groups' selections, concatenated in order, are the whole batch's, row for row. Each group
    marks its dropped pixels in masks of its own, merged into `dropped_masks` (if given)."""
    parts = part_count(face_verts.device, min(num_images, face_verts.shape[0] // _MIN_PART_FACES))
    if parts > 1:
        bounds = torch.tensor([round(i * num_images / parts) for i in range(parts + 1)], device=face_verts.device)
        faces = torch.searchsorted(face_to_image, bounds).tolist()
        groups = [(lo, hi) for lo, hi in zip(faces[:-1], faces[1:]) if hi > lo]
        if len(groups) > 1:

            def group(lo: int, hi: int) -> Tuple[Selection, Any]:
                # twins are consecutive faces of one image, hence of one group
                local = None if twins is None else torch.where(twins[lo:hi] >= 0, twins[lo:hi] - lo, -1)
                masks = None if dropped_masks is None else tuple(torch.zeros_like(m) for m in dropped_masks)
                sel = select_fragments(
                    face_verts[lo:hi], face_to_image[lo:hi], *args, with_geometry=with_geometry, twins=local,
                    dropped_masks=masks,
                )
                return sel._replace(face=sel.face + lo), masks

            pieces = run_parts(group, groups)
            if dropped_masks is not None:
                for _, (crowded, had_inside) in pieces:
                    dropped_masks[0].logical_or_(crowded)
                    dropped_masks[1].logical_or_(had_inside)
            selections = [sel for sel, _ in pieces]
            return Selection(*[None if columns[0] is None else torch.cat(columns) for columns in zip(*selections)])
    return select_fragments(face_verts, face_to_image, *args, with_geometry=with_geometry, twins=twins,
                            dropped_masks=dropped_masks)


# Below this many pixels in a batch, float32 division and floor of a flat pixel index are
# exact (a quotient q + r/n never rounds up to q + 1 while q < 2**22 / n).
_EXACT_FLOAT32_PIXELS = 2**22


def _pixel_xy(pix: torch.Tensor, shape: Tuple[int, int, int], dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    """NDC centres (px, py) of flat pixel indices into a batch of `shape` (N, H, W).

    Float arithmetic, exact for these integers (float32 for batches of fewer than
    _EXACT_FLOAT32_PIXELS pixels, else float64), instead of int64 % and //, which are slow on
    the CPU; the last step is pixel_centers_ndc's formula, so the values are identical.
    """
    n, h, w = shape
    s = min(h, w)
    flat = pix.to(torch.float32 if n * h * w <= _EXACT_FLOAT32_PIXELS else torch.float64)
    within = (flat / (h * w)).floor_().mul_(-(h * w)).add_(flat)  # flat - floor(flat / HW) HW, exact
    row = (within / w).floor_()
    col = (row * -w).add_(within).to(dtype)
    return col.mul_(-2).add_(w - 1).div_(s), row.to(dtype).mul_(-2).add_(h - 1).div_(s)


def rows_geometry(
    table: torch.Tensor,
    pix: torch.Tensor,
    face: torch.Tensor,
    shape: Tuple[int, int, int],
    perspective_correct: bool,
    clip: bool,
) -> torch.Tensor:
    """(4, M): barycentrics w0, w1, w2 and depth z of M chosen (pixel, face) rows, computed
    chunk by chunk from their flat pixel indices into a batch of `shape` (N, H, W) and their
    packed faces (table: (9, F) vertex coordinates x0, y0, z0, x1, ... per face). The same
    operations on the same values as the selection pass, so the same numbers. No autograd."""
    out = table.new_empty(4, pix.numel())
    for start in range(0, pix.numel(), _CHUNK_PAIRS):
        part = slice(start, start + _CHUNK_PAIRS)
        px, py = _pixel_xy(pix[part], shape, table.dtype)
        v = tuple(row.index_select(0, face[part]) for row in table)
        (w0, w1, w2), z, _ = pair_geometry(px, py, v, perspective_correct, clip)
        for i, value in enumerate((w0, w1, w2, z)):
            out[i, part] = value
    return out


def _coordinate_rows(face_verts: torch.Tensor) -> torch.Tensor:
    """(9, F): face_verts (F, 3, 3) as one contiguous row per coordinate x0, y0, z0, x1, ...,
    from which per-pair columns are gathered. No autograd."""
    return face_verts.detach().reshape(-1, 9).t().contiguous()


def _as_columns(values: Sequence[torch.Tensor]) -> torch.Tensor:
    """The (M, C) matrix whose columns are the C given (M,) tensors. Copying column by column
    runs two to three times faster on the CPU than torch.stack(values, dim=1). No autograd."""
    out = values[0].new_empty(values[0].shape[0], len(values))
    for j, value in enumerate(values):
        out[:, j].copy_(value)
    return out


_ALL_PARTS = ("bary", "zbuf", "dists")


class _FragmentGeometry(torch.autograd.Function):
    """Differentiable (bary (M, 3), zbuf (M,), signed dists (M,)) of the chosen fragments, or
    the subset of them named in `parts` (in that order; the inputs of the others may be None).

    The forward pass returns the values already computed. The backward pass
    works chunk by chunk (memory stays at one chunk, the arithmetic runs on cache-sized
    tensors) with hand-written gradients: `geometry_backward` for barycentrics and depth,
    `distance_backward` from the nearest edge of each pair for the distances.
    """

    @staticmethod
    def forward(ctx, face_verts, w0, w1, w2, z, d2, inside, edge, pix, face, shape, perspective_correct, clip, parts=_ALL_PARTS):  # type: ignore[override]
        ctx.set_materialize_grads(False)  # unused outputs (bary, z for silhouettes) get None, not zeros
        ctx.save_for_backward(face_verts, pix, face, inside, edge)
        ctx.settings = (shape, perspective_correct, clip, parts)
        outputs = {
            "bary": lambda: _as_columns((w0, w1, w2)),
            "zbuf": lambda: z,  # returned as is: autograd hands out a view of it, no copy
            "dists": lambda: d2 * (1 - 2 * float_mask(inside, d2.dtype)),  # negative inside
        }
        return tuple(outputs[part]() for part in parts)

    @staticmethod
    def backward(ctx, *grads):  # type: ignore[override]
        face_verts, pix, face, inside, edge = ctx.saved_tensors
        shape, perspective_correct, clip, parts = ctx.settings
        given = dict(zip(parts, grads))
        grad_bary, grad_z, grad_dists = (given.get(part) for part in _ALL_PARTS)
        table = _coordinate_rows(face_verts)
        num_faces = table.shape[1]
        grad = table.new_zeros(num_faces, 9)  # rows x0, y0, z0, x1, ... of each face
        if grad_dists is not None:  # distances depend on x and y only
            grad_xy = table.new_zeros(num_faces, 6)  # x0, y0, x1, y1, x2, y2
            signed = float_mask(inside, grad_dists.dtype).mul_(-2).add_(1).mul_(grad_dists)

            def distances(rows: slice) -> None:  # adds to the rows of grad_xy of its own faces
                face_r, pix_r, signed_r, edge_r = face[rows], pix[rows], signed[rows], edge[rows]
                for part, faces, by_face in _face_chunks(face_r, table.dtype):
                    px, py = _pixel_xy(pix_r[part], shape, table.dtype)
                    v = tuple(row.index_select(0, face_r[part]) if i % 3 != 2 else None for i, row in enumerate(table))
                    grad_xy[faces] += by_face @ distance_backward(pair_differences(px, py, v), signed_r[part], edge_r[part]).view(-1, 6)

            run_parts(distances, [(rows,) for rows in _row_parts(face)])
            grad.view(-1, 3, 3)[:, :, :2] += grad_xy.view(-1, 3, 2)
        if grad_bary is not None or grad_z is not None:
            # Only rows whose barycentrics or depth receive a gradient (shaders leave most at
            # exactly 0: hidden or negligible fragments) take part; the others add nothing.
            columns = ([] if grad_z is None else [grad_z]) + ([] if grad_bary is None else list(grad_bary.unbind(1)))
            active = columns[0] != 0
            for column in columns[1:]:  # column by column: several times faster than .any(1)
                active |= column != 0
            rows = true_positions(active)
            if rows.numel() < face.numel():
                pix, face = pix.index_select(0, rows), face.index_select(0, rows)
                grad_bary = None if grad_bary is None else grad_bary.index_select(0, rows)
                grad_z = None if grad_z is None else grad_z.index_select(0, rows)

            def geometry(rows: slice) -> None:  # adds to the rows of grad of its own faces
                face_r, pix_r = face[rows], pix[rows]
                grad_bary_r = None if grad_bary is None else grad_bary[rows]
                grad_z_r = None if grad_z is None else grad_z[rows]
                for part, faces, by_face in _face_chunks(face_r, table.dtype):
                    px, py = _pixel_xy(pix_r[part], shape, table.dtype)
                    v = tuple(row.index_select(0, face_r[part]) for row in table)
                    grad[faces] += by_face @ geometry_backward(px, py, v, perspective_correct, clip,
                                                               None if grad_bary_r is None else grad_bary_r[part],
                                                               None if grad_z_r is None else grad_z_r[part])

            run_parts(geometry, [(rows,) for rows in _row_parts(face)])
        return (grad.view(face_verts.shape),) + (None,) * 13


# The least work worth a part of its own (see parallel_parts): below it, handing parts to other
# threads and back cost more than running them side by side saved (measured on a fit iteration's
# two views, 10k faces and 290k rows, which ran 13 % slower split).
_MIN_PART_ROWS = 1 << 19
_MIN_PART_FACES = 1 << 14


def _row_parts(face: torch.Tensor) -> List[slice]:
    """Consecutive ranges of the rows of `face` (ascending packed face indices), split where the
    face changes, so that each part's gradients land on faces no other part touches: one per
    `part_count`, each of at least _MIN_PART_ROWS rows."""
    m = face.numel()
    parts = part_count(face.device, m // _MIN_PART_ROWS)
    if parts == 1:
        return [slice(0, m)]
    marks = face[[round(i * m / parts) for i in range(1, parts)]]
    cuts = [0] + torch.searchsorted(face, marks).tolist() + [m]
    return [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _face_chunks(face: torch.Tensor, dtype: torch.dtype) -> Iterator[Tuple[slice, slice, torch.Tensor]]:
    """Chunks of at most _CHUNK_PAIRS rows of `face` (ascending packed face indices): per chunk,
    its rows, the faces it spans, and the sparse matrix that sums each of those faces' run of
    rows (one product instead of a scatter; memory stays at one chunk)."""
    for start in range(0, face.numel(), _CHUNK_PAIRS):
        part = slice(start, start + _CHUNK_PAIRS)
        f = face[part]
        first, last = f[[0, -1]].tolist()
        (by_face,) = face_runs(f - first, last + 1 - first, torch.ones(f.numel(), dtype=dtype, device=f.device))
        yield part, slice(first, last + 1), by_face


def rasterize_meshes(
    meshes,
    image_size=256,
    blur_radius: float = 0.0,
    faces_per_pixel: int = 8,
    bin_size: Optional[int] = None,
    max_faces_per_bin: Optional[int] = None,
    perspective_correct: bool = False,
    clip_barycentric_coords: bool = False,
    cull_backfaces: bool = False,
    z_clip_value: Optional[float] = None,
    cull_to_frustum: bool = False,
    return_sparse: bool = False,
    max_memory_bytes: int = DEFAULT_MEMORY_BUDGET,
    defer_bary_zbuf: bool = False,
    report_truncation: bool = False,
):
    """Rasterize meshes whose vertices are already in NDC (x, y) with view-space z.

    Same signature and outputs as PyTorch3D's `rasterize_meshes`: (pix_to_face, zbuf,
    bary_coords, dists), each (N, H, W, K[, 3]) with -1 in empty slots. With `z_clip_value`,
    faces reaching behind the plane z = z_clip_value are clipped to their part in front of it
    (see `clip.clip_faces`; fragments still name and weight the original faces).
    `bin_size`, `max_faces_per_bin` and `cull_to_frustum` are accepted for compatibility:
    binning here is per face bounding box and needs no tuning, and faces outside the image
    never reach the per-pixel tests anyway. With return_sparse=True only the
    SparseFragments are returned (the dense tensors are then built on demand by `Fragments`).
    A request whose fragments would exceed `max_memory_bytes` raises a ValueError up front.

    defer_bary_zbuf=True (not in PyTorch3D) is a hint from callers that read only the distances
    (silhouettes): with K > 1 and clipped barycentrics or no blur, barycentrics and depths are
    then left out of the selection pass and computed, with the same values and gradients, only
    if they are read (see `select_fragments`). Elsewhere it has no effect.

    report_truncation=True (not in PyTorch3D) records where K dropped faces within reach, as the
    returned SparseFragments' `truncation` (see `Truncation`; about 5 % more time, so off by
    default; None then).
    """
    n = len(meshes)
    h, w = validate_request(n, image_size, faces_per_pixel, blur_radius, max_memory_bytes)
    k = faces_per_pixel
    verts = meshes.verts_packed()
    faces = meshes.faces_packed()
    face_verts = verts.index_select(0, faces.reshape(-1)).view(-1, 3, 3)  # verts[faces], a third faster fwd+bwd
    face_to_image = meshes.faces_packed_to_mesh_idx()
    clipped = None  # the vertex test first: one pass over V depths instead of 3F
    if z_clip_value is not None and verts.numel() and float(verts[:, 2].detach().min()) < z_clip_value:
        clipped = clip_faces(face_verts, face_to_image, float(z_clip_value), perspective_correct)
    if clipped is not None:
        face_verts, face_to_image = clipped.face_verts, clipped.face_to_image
    defer = defer_bary_zbuf and k > 1 and (clip_barycentric_coords or blur_radius <= 0) and clipped is None
    dropped_masks = None
    if report_truncation:
        dropped_masks = (torch.zeros(n * h * w, dtype=torch.bool, device=verts.device),
                         torch.zeros(n * h * w, dtype=torch.bool, device=verts.device))
    sel = _select_by_images(
        face_verts, face_to_image, n, (h, w), float(blur_radius), k,
        perspective_correct, cull_backfaces, clip_barycentric_coords, with_geometry=not defer,
        twins=None if clipped is None else clipped.twin, dropped_masks=dropped_masks,
    )
    truncation = None if dropped_masks is None else Truncation(*dropped_masks, sel.pix, sel.inside)
    settings = ((n, h, w), perspective_correct, clip_barycentric_coords)
    if not defer:
        bary, zbuf, dists = _FragmentGeometry.apply(
            face_verts, sel.w0, sel.w1, sel.w2, sel.z, sel.d2, sel.inside, sel.edge, sel.pix, sel.face, *settings
        )
        face = sel.face
        if clipped is not None:
            bary = clipped.source_barycentrics(face, bary)
            face = clipped.source.index_select(0, face)
        sparse = SparseFragments((n, h, w, k), sel.pix, face, zbuf, bary, dists, sel.rank, truncation=truncation)
    else:
        (dists,) = _FragmentGeometry.apply(
            face_verts, None, None, None, None, sel.d2, sel.inside, sel.edge, sel.pix, sel.face, *settings, ("dists",)
        )

        def bary_zbuf() -> Tuple[torch.Tensor, torch.Tensor]:
            with torch.no_grad():
                w0, w1, w2, z = rows_geometry(_coordinate_rows(face_verts), sel.pix, sel.face, *settings)
            return _FragmentGeometry.apply(
                face_verts, w0, w1, w2, z, None, sel.inside, None, sel.pix, sel.face, *settings, ("bary", "zbuf")
            )

        sparse = SparseFragments(
            (n, h, w, k), sel.pix, sel.face, None, None, dists, sel.rank, bary_zbuf=bary_zbuf, truncation=truncation
        )
    if return_sparse:
        return sparse
    return (sparse.dense(sparse.face, -1), sparse.dense(sparse.zbuf, -1.0), sparse.dense(sparse.bary, -1.0),
            sparse.dense(dists, -1.0))


def _image_hw(image_size) -> Tuple[int, int]:
    """(H, W) from a positive int or a pair of positive ints."""
    hw = (image_size, image_size) if not isinstance(image_size, (tuple, list)) else tuple(image_size)
    if len(hw) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in hw):
        raise ValueError(f"image_size must be a positive int or an (H, W) pair of positive ints; got {image_size!r}")
    return hw  # type: ignore[return-value]




class MemoryBudgetError(ValueError):
    """A rasterization whose fragments would exceed `max_memory_bytes` (refused before anything
    is allocated). Attributes: batch_size, image_size (H, W), faces_per_pixel, need_bytes and
    budget_bytes, for callers that phrase their own advice (the application names its panel)."""

    def __init__(self, batch_size: int, image_size: Tuple[int, int], faces_per_pixel: int, need_bytes: int,
                 budget_bytes: int) -> None:
        self.batch_size, self.image_size, self.faces_per_pixel = batch_size, image_size, faces_per_pixel
        self.need_bytes, self.budget_bytes = need_bytes, budget_bytes
        h, w = image_size
        super().__init__(
            f"rasterizing {batch_size} image(s) of {h}x{w} with faces_per_pixel={faces_per_pixel} needs about "
            f"{format_bytes(need_bytes)} for its fragments, over the budget of {format_bytes(budget_bytes)}; "
            f"lower faces_per_pixel, image_size or the batch size (or raise RasterizationSettings.max_memory_bytes)"
        )


def validate_request(
    batch_size: int, image_size, faces_per_pixel, blur_radius, max_memory_bytes: int = DEFAULT_MEMORY_BUDGET
) -> Tuple[int, int]:
    """Check rasterization settings for a batch; return (H, W). ValueError names the bad setting."""
    hw = _image_hw(image_size)
    k = faces_per_pixel
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"faces_per_pixel must be an int >= 1; got {k!r}")
    try:
        blur = float(blur_radius)
    except (TypeError, ValueError):
        raise ValueError(f"blur_radius must be a finite number >= 0; got {blur_radius!r}") from None
    if not (0.0 <= blur < math.inf):
        raise ValueError(f"blur_radius must be a finite number >= 0; got {blur_radius!r}")
    need = batch_size * hw[0] * hw[1] * k * _BYTES_PER_SLOT
    if need > max_memory_bytes:
        raise MemoryBudgetError(batch_size, hw, k, need, max_memory_bytes)
    return hw


def format_bytes(nbytes: float) -> str:
    """Human-readable byte count."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} GiB"
