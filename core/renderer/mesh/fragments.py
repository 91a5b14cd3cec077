"""The rasterizer's output: which faces cover each pixel, and where."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

_FIELDS = ("pix_to_face", "zbuf", "bary_coords", "dists")


def depth_ranks(pix: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Rank (0 = nearest) of each entry by depth among the entries of its pixel.

    Equal depths rank the earlier entry first; with entries in packed-face order that is the
    smaller face, PyTorch3D's rule. z must be >= 0 (depths in front of the camera).
    """
    if pix.numel() == 0:
        return pix.clone()
    if z.dtype == torch.float32:
        # One sort on an int64 (pixel, depth) key: z >= 0 as float32 bits is a monotone integer.
        zbits = (z + 0.0).view(torch.int32).to(torch.int64)
        order = torch.sort((pix << 31) | zbits, stable=True).indices
    else:
        by_depth = torch.sort(z, stable=True).indices
        order = by_depth.index_select(0, torch.sort(pix.index_select(0, by_depth), stable=True).indices)
    counts = torch.bincount(pix)
    first_of_pixel = torch.cumsum(counts, 0) - counts
    sorted_rank = torch.arange(pix.numel(), device=pix.device) - first_of_pixel.index_select(0, pix.index_select(0, order))
    return torch.empty_like(sorted_rank).index_put_((order,), sorted_rank)


def nearest_in_pixel(pix: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Ascending positions of the nearest entry of each pixel (ties: the earlier entry).

    Two scatter-min passes, much cheaper than ranking every entry.
    """
    if pix.numel() == 0:
        return pix.clone()
    npix = int(pix.max()) + 1
    nearest = torch.full((npix,), math.inf, dtype=z.dtype, device=z.device)
    nearest.scatter_reduce_(0, pix, z, reduce="amin")
    hit = torch.nonzero(z == nearest.index_select(0, pix)).squeeze(1)
    first = torch.full((npix,), pix.numel(), dtype=torch.int64, device=pix.device)
    first.scatter_reduce_(0, pix.index_select(0, hit), hit, reduce="amin")
    chosen = torch.zeros(pix.numel() + 1, dtype=torch.bool, device=pix.device)
    chosen[first] = True
    return torch.nonzero(chosen[:-1]).squeeze(1)


@dataclass(frozen=True)
class SparseFragments:
    """The filled fragment slots of a rasterization, one row per (pixel, slot).

    shape: (N, H, W, K). pix: (M,) flat index into the (N, H, W) grid; face: (M,) packed face
    index; zbuf (M,), bary (M, 3) and dists (M,) carry gradients. Rows are grouped by image, in
    packed-face order within an image. `rank` (slot 0..K-1 by depth within the pixel) is
    computed on first use when not given: blending needs no ranks, so soft renders never sort.
    Blending and shading use this form directly, which avoids touching the empty slots of a
    large (N, H, W, K) grid.
    """

    shape: Tuple[int, int, int, int]
    pix: torch.Tensor
    face: torch.Tensor
    zbuf: torch.Tensor
    bary: torch.Tensor
    dists: torch.Tensor
    rank: Optional[torch.Tensor] = None

    def ranks(self) -> torch.Tensor:
        """Depth rank of each row within its pixel (computed once)."""
        if self.rank is None:
            object.__setattr__(self, "rank", depth_ranks(self.pix, self.zbuf.detach()))
        return self.rank  # type: ignore[return-value]

    @property
    def slot(self) -> torch.Tensor:
        """(M,) flat index of each row into the (N, H, W, K) grid."""
        return self.pix * self.shape[3] + self.ranks()

    def nearest(self) -> torch.Tensor:
        """Ascending row positions of each covered pixel's nearest fragment (slot 0)."""
        if self.shape[3] == 1:
            return torch.arange(self.pix.numel(), device=self.pix.device)
        if self.rank is not None:
            return torch.nonzero(self.rank == 0).squeeze(1)
        return nearest_in_pixel(self.pix, self.zbuf.detach())

    def detach(self) -> "SparseFragments":
        return SparseFragments(
            self.shape, self.pix, self.face, self.zbuf.detach(), self.bary.detach(), self.dists.detach(), self.rank
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
