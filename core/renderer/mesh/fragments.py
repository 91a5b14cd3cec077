"""The rasterizer's output: which faces cover each pixel, and where."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import torch

from core.utils.masks import true_positions

_FIELDS = ("pix_to_face", "zbuf", "bary_coords", "dists")


# Choosing the K nearest (see beyond_nearest): depth buckets per pixel and round, the most
# rounds of bucketing, and the number of open entries below which sorting them is cheaper than
# another round (a round has a fixed cost of a few passes over the whole pixel grid).
_BUCKETS = 32
_MAX_ROUNDS = 4
_SORT_BELOW = 4096


def _float_bits(z: torch.Tensor) -> torch.Tensor:
    """The IEEE bits of float32 values as int64 (-0.0 read as 0.0): for z >= 0 an integer in the
    same order as z."""
    return (z + 0.0).view(torch.int32).to(torch.int64)


def depth_order(pix: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Positions that sort the entries by pixel, then by depth (nearest first); equal depths
    keep their order, which with entries in packed-face order puts the smaller face first
    (PyTorch3D's rule). z must be >= 0 (depths in front of the camera)."""
    if z.dtype == torch.float32:
        # One sort on an int64 (pixel, depth) key: z >= 0 as float32 bits is a monotone integer.
        return torch.sort((pix << 31) | _float_bits(z), stable=True).indices
    by_depth = torch.sort(z, stable=True).indices
    return by_depth.index_select(0, torch.sort(pix.index_select(0, by_depth), stable=True).indices)


def depth_ranks(pix: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Rank (0 = nearest) of each entry by depth among the entries of its pixel (see
    depth_order for ties)."""
    if pix.numel() == 0:
        return pix.clone()
    order = depth_order(pix, z)
    counts = torch.bincount(pix)
    first_of_pixel = torch.cumsum(counts, 0) - counts
    sorted_rank = torch.arange(pix.numel(), device=pix.device) - first_of_pixel.index_select(0, pix.index_select(0, order))
    return torch.empty_like(sorted_rank).index_put_((order,), sorted_rank)


def _bucket_counts(pix: torch.Tensor, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Split each pixel's depth range [nearest, farthest] into _BUCKETS equal buckets; return,
    per entry, how many entries of its pixel lie in lower buckets and how many in its own."""
    present = torch.bincount(pix) > 0
    local = (torch.cumsum(present, 0) - 1).index_select(0, pix)  # pixels numbered 0..P-1
    num_pixels = int(present.sum())
    near = z.new_full((num_pixels,), math.inf).scatter_reduce_(0, local, z, reduce="amin")
    far = z.new_full((num_pixels,), -math.inf).scatter_reduce_(0, local, z, reduce="amax")
    scale = _BUCKETS / (far - near).clamp_min(1e-30)  # equal depths: all in bucket 0
    # z >= near, so converting to an integer floors; z = far lands on _BUCKETS (or just under).
    # An infinite depth (inf * 0 where the span is infinite) becomes NaN: the last bucket.
    bucket = ((z - near.index_select(0, local)) * scale.index_select(0, local)).clamp_max_(_BUCKETS - 1)
    bucket = bucket.nan_to_num_(nan=_BUCKETS - 1).long()
    key = local * _BUCKETS + bucket
    counts = torch.bincount(key, minlength=num_pixels * _BUCKETS)
    # Exclusive prefix sums over each pixel's buckets, as a product with a triangular matrix
    # (exact in float32 for these counts).
    before = torch.ones(_BUCKETS, _BUCKETS, device=pix.device).triu_(1)
    lower = (counts.view(num_pixels, _BUCKETS).float() @ before).view(-1)
    return lower.index_select(0, key).long(), counts.index_select(0, key)


def beyond_nearest(pix: torch.Tensor, z: torch.Tensor, k: int) -> torch.Tensor:
    """Ascending positions of the entries that are not among the k nearest of their pixel (the
    entries whose `depth_ranks` are >= k), found with histograms instead of a sort.

    Each round splits every pixel's depth range [nearest, farthest] into equal buckets and
    counts the entries of each. floor((z - nearest) * scale) is monotone in z, so a lower bucket
    holds only strictly nearer entries and equal depths share one. Buckets wholly below the
    pixel's remaining slots are kept and those wholly above dropped; only the bucket that
    straddles the limit goes on to the next round, with its own narrower range (which also
    resolves depths clustered at the front). Whatever is left after a few rounds, is small, or
    stops shrinking (equal depths) is ranked by `depth_ranks`.
    """
    beyond: Optional[torch.Tensor] = None
    where = torch.arange(pix.numel(), device=pix.device)  # positions of the entries still open
    slots: Union[int, torch.Tensor] = k  # slots of each open entry's pixel not yet taken by nearer ones
    for _ in range(_MAX_ROUNDS):
        lower, size = _bucket_counts(pix, z)
        if beyond is None:
            beyond = lower >= slots
        else:
            beyond.index_put_((where[lower >= slots],), torch.ones((), dtype=torch.bool, device=pix.device))
        straddle = true_positions((lower < slots) & (lower + size > slots))
        shrunk = straddle.numel() < where.numel()
        where, pix, z = where.index_select(0, straddle), pix.index_select(0, straddle), z.index_select(0, straddle)
        slots = (slots - lower).index_select(0, straddle)
        if where.numel() < _SORT_BELOW or not shrunk:
            break
    if where.numel():
        beyond.index_put_((where[depth_ranks(pix, z) >= slots],), torch.ones((), dtype=torch.bool, device=pix.device))
    return true_positions(beyond)


def _ordered_bits(z: torch.Tensor) -> torch.Tensor:
    """float32 values as int64 integers in the same order (for any non-NaN value; -0.0 = 0.0):
    the IEEE bits, with the magnitude bits of negative values flipped."""
    bits = _float_bits(z)
    return bits ^ ((bits >> 31) & 0x7FFFFFFF)


def nearest_in_pixel(pix: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Ascending positions of the nearest entry of each pixel (ties: the earlier entry).

    float32: one scatter-min of (depth, position) packed into an int64 key; otherwise two
    scatter-min passes (depth, then position among the nearest). Both are much cheaper than
    ranking every entry.
    """
    m = pix.numel()
    if m == 0:
        return pix.clone()
    npix = int(pix.max()) + 1
    chosen = torch.zeros(m + 1, dtype=torch.bool, device=pix.device)
    if z.dtype == torch.float32 and m < 2**32:
        # int32 depth bits above 32 position bits; an empty pixel keeps a key that points at m
        key = (_ordered_bits(z) << 32) | torch.arange(m, device=pix.device)
        best = torch.full((npix,), (0x7FFFFFFF << 32) | m, dtype=torch.int64, device=pix.device)
        best.scatter_reduce_(0, pix, key, reduce="amin")
        chosen[best & 0xFFFFFFFF] = True
    else:
        nearest = torch.full((npix,), math.inf, dtype=z.dtype, device=z.device)
        nearest.scatter_reduce_(0, pix, z, reduce="amin")
        hit = true_positions(z == nearest.index_select(0, pix))
        first = torch.full((npix,), m, dtype=torch.int64, device=pix.device)
        first.scatter_reduce_(0, pix.index_select(0, hit), hit, reduce="amin")
        chosen[first] = True
    return true_positions(chosen[:-1])


class Truncation:
    """Where faces_per_pixel cut a pixel's candidates short, as ascending flat indices into the
    (N, H, W) pixel grid (computed when first read).

    crowded: pixels that had more than K faces within the blur radius (the farthest went).
    lost_inside: the crowded pixels where every face containing the pixel centre went, so the
    kept faces all lie beside the pixel: soft coverage there is too low (holes in silhouettes,
    depths blended towards zfar). A few such pixels are the signature of K too small.

    Built from two (N*H*W,) masks the rasterizer fills while it drops candidates (pixels with
    more than K; pixels with a candidate containing the pixel centre, at least among the
    crowded ones) and the kept rows' pixels and inside flags.
    """

    def __init__(self, crowded: torch.Tensor, had_inside: torch.Tensor, kept_pix: torch.Tensor,
                 kept_inside: torch.Tensor) -> None:
        self._crowded = crowded
        self._had_inside = had_inside
        self._kept = (kept_pix, kept_inside)

    @functools.cached_property
    def crowded(self) -> torch.Tensor:
        return true_positions(self._crowded)

    @functools.cached_property
    def lost_inside(self) -> torch.Tensor:
        kept_pix, kept_inside = self._kept
        lost = self._had_inside & self._crowded
        lost[kept_pix[kept_inside]] = False
        return true_positions(lost)


class SparseFragments:
    """The filled fragment slots of a rasterization, one row per (pixel, slot).

    shape: (N, H, W, K). pix: (M,) flat index into the (N, H, W) grid; face: (M,) packed face
    index; zbuf (M,), bary (M, 3) and dists (M,) carry gradients. Rows are grouped by image, in
    packed-face order within an image. `rank` (slot 0..K-1 by depth within the pixel) is
    computed on first use when not given: blending needs no ranks, so soft renders never sort.
    zbuf and bary may be None with `bary_zbuf` given, a function returning (bary, zbuf) that
    is called on their first read (renders that use only the distances never compute them).
    Blending and shading use this form directly, which avoids touching the empty slots of a
    large (N, H, W, K) grid. `truncation` says where K dropped faces within reach (when the
    rasterizer was asked to report it; else None). `slots_by_depth` is False for fragments made
    by hand whose slots are not in ascending depth within a pixel: slot 0 (`nearest`) is then
    not necessarily the nearest face (`nearest_by_depth`). None (for rows in slot order) leaves
    it to be checked when `nearest_by_depth` first needs it.
    """

    def __init__(
        self,
        shape: Tuple[int, int, int, int],
        pix: torch.Tensor,
        face: torch.Tensor,
        zbuf: Optional[torch.Tensor],
        bary: Optional[torch.Tensor],
        dists: torch.Tensor,
        rank: Optional[torch.Tensor] = None,
        bary_zbuf: Optional[Callable[[], Tuple[torch.Tensor, torch.Tensor]]] = None,
        truncation: Optional[Truncation] = None,
        slots_by_depth: Optional[bool] = True,
    ) -> None:
        if (zbuf is None or bary is None) and bary_zbuf is None:
            raise ValueError("SparseFragments needs zbuf and bary, or bary_zbuf to compute them")
        self.shape = shape
        self.pix = pix
        self.face = face
        self.dists = dists
        self.rank = rank
        self._zbuf = zbuf
        self._bary = bary
        self._bary_zbuf = bary_zbuf if zbuf is None or bary is None else None
        self.truncation = truncation
        self.slots_by_depth = slots_by_depth

    @property
    def zbuf(self) -> torch.Tensor:
        """(M,) view-space depth of each row."""
        self._compute_bary_zbuf()
        return self._zbuf  # type: ignore[return-value]

    @property
    def bary(self) -> torch.Tensor:
        """(M, 3) barycentric coordinates of each row."""
        self._compute_bary_zbuf()
        return self._bary  # type: ignore[return-value]

    def _compute_bary_zbuf(self) -> None:
        if self._bary_zbuf is not None:
            self._bary, self._zbuf = self._bary_zbuf()
            self._bary_zbuf = None

    def ranks(self) -> torch.Tensor:
        """Depth rank of each row within its pixel (computed once)."""
        if self.rank is None:
            self.rank = depth_ranks(self.pix, self.zbuf.detach())
        return self.rank

    @property
    def slot(self) -> torch.Tensor:
        """(M,) flat index of each row into the (N, H, W, K) grid."""
        return self.pix * self.shape[3] + self.ranks()

    def nearest(self) -> torch.Tensor:
        """Ascending row positions of each covered pixel's nearest fragment (slot 0)."""
        if self.shape[3] == 1:
            return torch.arange(self.pix.numel(), device=self.pix.device)
        if self.rank is not None:
            return true_positions(self.rank == 0)
        return nearest_in_pixel(self.pix, self.zbuf.detach())

    def nearest_by_depth(self) -> torch.Tensor:
        """Ascending row positions of each covered pixel's nearest fragment by depth (equal
        depths: the earlier row). The rows of `nearest` unless the slots were made by hand out of
        depth order."""
        if self.slots_by_depth is None:  # rows in slot order: do depths ascend within each pixel?
            zbuf = self.zbuf.detach()
            same_pixel = self.pix[1:] == self.pix[:-1]
            self.slots_by_depth = not bool((same_pixel & (zbuf[1:] < zbuf[:-1])).any())
        if self.slots_by_depth:
            return self.nearest()
        return nearest_in_pixel(self.pix, self.zbuf.detach())

    def detach(self) -> "SparseFragments":
        if self._bary_zbuf is None:
            return SparseFragments(
                self.shape, self.pix, self.face, self._zbuf.detach(), self._bary.detach(), self.dists.detach(), self.rank,
                truncation=self.truncation, slots_by_depth=self.slots_by_depth,
            )
        compute = self._bary_zbuf

        def detached() -> Tuple[torch.Tensor, torch.Tensor]:
            with torch.no_grad():
                return compute()

        return SparseFragments(
            self.shape, self.pix, self.face, None, None, self.dists.detach(), self.rank, detached, self.truncation,
            self.slots_by_depth,
        )

    def dense(self, values: torch.Tensor, fill: float) -> torch.Tensor:
        """Scatter per-slot `values` (M, ...) into a dense (N, H, W, K, ...) tensor filled with `fill`."""
        n, h, w, k = self.shape
        out = values.new_full((n * h * w * k, *values.shape[1:]), fill)
        out = out.index_put((self.slot,), values)
        return out.view(n, h, w, k, *values.shape[1:])


@dataclass(frozen=True)
class Fragments:
    """Per-pixel rasterization results, K slots per pixel sorted by ascending depth.

    pix_to_face: (N, H, W, K) int64 index into the batch's packed faces, -1 where empty.
    zbuf: (N, H, W, K) view-space depth of each hit, -1 where empty.
    bary_coords: (N, H, W, K, 3) barycentric coordinates of the pixel in the face, -1 where empty.
    dists: (N, H, W, K) signed squared NDC distance from the pixel centre to the face
        (negative inside), -1 where empty.

    Fragments made by the rasterizer hold a `SparseFragments` and build each dense tensor the
    first time it is read.
    """

    pix_to_face: torch.Tensor
    zbuf: torch.Tensor
    bary_coords: torch.Tensor
    dists: Optional[torch.Tensor]

    @classmethod
    def from_sparse(cls, sparse: SparseFragments) -> "Fragments":
        """Fragments whose dense tensors are materialised from `sparse` on first access."""
        frags = object.__new__(cls)
        object.__setattr__(frags, "_sparse", sparse)
        return frags

    @property
    def sparse(self) -> Optional[SparseFragments]:
        """The sparse form when these fragments came from the rasterizer, else None."""
        return self.__dict__.get("_sparse")

    def __getattr__(self, name: str):
        # Only reached when the attribute is missing: a dense field not yet built from _sparse.
        sparse = self.__dict__.get("_sparse")
        if sparse is None or name not in _FIELDS:
            raise AttributeError(name)
        if name == "pix_to_face":
            value = sparse.dense(sparse.face, -1)
        elif name == "zbuf":
            value = sparse.dense(sparse.zbuf, -1.0)
        elif name == "bary_coords":
            value = sparse.dense(sparse.bary, -1.0)
        else:
            value = sparse.dense(sparse.dists, -1.0)
        object.__setattr__(self, name, value)
        return value

    def detach(self) -> "Fragments":
        if self.sparse is not None:
            return Fragments.from_sparse(self.sparse.detach())
        return Fragments(
            pix_to_face=self.pix_to_face,
            zbuf=self.zbuf.detach(),
            bary_coords=self.bary_coords.detach(),
            dists=self.dists.detach() if self.dists is not None else None,
        )
