"""The rasterizer's output: which faces cover each pixel, and where."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch

_FIELDS = ("pix_to_face", "zbuf", "bary_coords", "dists")


@dataclass(frozen=True)
class SparseFragments:
    """The filled fragment slots of a rasterization, one row per (pixel, slot).

    shape: (N, H, W, K). slot: (M,) flat index into the (N, H, W, K) grid; pix: (M,) flat index
    into the (N, H, W) grid; face: (M,) packed face index; zbuf (M,), bary (M, 3) and dists (M,)
    carry gradients. Blending and shading use this form directly, which avoids touching the
    empty slots of a large (N, H, W, K) grid.
    """

    shape: Tuple[int, int, int, int]
    slot: torch.Tensor
    pix: torch.Tensor
    face: torch.Tensor
    zbuf: torch.Tensor
    bary: torch.Tensor
    dists: torch.Tensor

    def detach(self) -> "SparseFragments":
        return SparseFragments(
            self.shape, self.slot, self.pix, self.face, self.zbuf.detach(), self.bary.detach(), self.dists.detach()
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
