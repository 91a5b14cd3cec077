"""How many faces per pixel a scene needs: the smallest K that drops nothing that matters.

Soft rasterization keeps each pixel's K nearest faces within the blur radius. Too small a K
drops faces; where it drops the face that contains the pixel centre, soft coverage comes out
too low (see `Truncation`). This rasterizes once with a generous K and reads off, from the
per-pixel face counts and depth ranks, the K each pixel would have needed.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple, Optional

import torch

from .rasterizer import MeshRasterizer, RasterizationSettings


class FacesPerPixelNeeded(NamedTuple):
    """keep_covering: the smallest K that keeps, at every pixel, the nearest face containing the
    pixel centre (no coverage lost); keep_all: the smallest K that keeps every face within the
    blur radius. None where even `limit` was not enough."""

    keep_covering: Optional[int]
    keep_all: Optional[int]
    limit: int


def faces_per_pixel_needed(meshes, cameras, raster_settings: RasterizationSettings, limit: int = 100,
                           **kwargs) -> FacesPerPixelNeeded:
    """Rasterize `meshes` as `raster_settings` say but with faces_per_pixel = `limit`, and find
    the K each pixel needed (see FacesPerPixelNeeded). Raises what rasterization raises (e.g.
    a ValueError when `limit` slots per pixel would exceed the memory budget)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    settings = dataclasses.replace(raster_settings, faces_per_pixel=limit)
    with torch.no_grad():
        fragments = MeshRasterizer(cameras, settings)(meshes, report_truncation=True, **kwargs)
    sparse = fragments.sparse
    truncation = sparse.truncation
    keep_all = None
    if truncation.crowded.numel() == 0:
        keep_all = int(torch.bincount(sparse.pix).max()) if sparse.pix.numel() else 1
    keep_covering = None
    if truncation.lost_inside.numel() == 0:
        inside = sparse.dists < 0
        if bool(inside.any()):
            # per pixel, the depth rank of its nearest face containing the centre, plus one
            rank = sparse.ranks()[inside]
            pixels = sparse.pix[inside]
            first = torch.full((int(pixels.max()) + 1,), limit, dtype=rank.dtype, device=rank.device)
            first.scatter_reduce_(0, pixels, rank, reduce="amin")
            keep_covering = int(first[first < limit].max()) + 1
        else:
            keep_covering = 1
    return FacesPerPixelNeeded(keep_covering, keep_all, limit)
