"""Pure-PyTorch mesh rasterization with PyTorch3D's numerical conventions.

The work is split in two, as a differentiable rasterizer must be:

1. *Selection* (no autograd): every face enumerates the pixels of its screen bounding box
   (grown by the blur radius), so the cost grows with the pixels each face touches, never with
   pixels x faces. Candidate (pixel, face) pairs are tested with PyTorch3D's rules, in chunks of
   bounded size, and the K nearest survivors of each pixel are kept (streaming top-K, so memory
   stays O(N*H*W*K) plus one chunk).
2. *Geometry* (autograd): barycentrics, depth and signed squared distance are recomputed with
   ordinary tensor ops for the chosen pairs only, so gradients reach the projected vertices.

Pixel centres follow PyTorch3D's NDC: +X left, +Y up, the shorter image side spans [-1, 1].
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from .fragments import SparseFragments

# Numerical constants from PyTorch3D's rasterizer (see shared CONVENTIONS.md).
_AREA_EPS = 1e-8
_PERSPECTIVE_EPS = 1e-8
_CLIP_EPS = 1e-5
_Z_EPS = 1e-8

# Candidate pairs tested at once; bounds the temporary memory of the selection pass.
_CHUNK_PAIRS = 1 << 21


def pixel_centers_ndc(image_size: Tuple[int, int], device: torch.device, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    """NDC x of each column (W,) and y of each row (H,): the shorter side spans [-1, 1]."""
    h, w = image_size
    s = min(h, w)
    xs = (w - 1 - 2 * torch.arange(w, device=device, dtype=dtype)) / s
    ys = (h - 1 - 2 * torch.arange(h, device=device, dtype=dtype)) / s
    return xs, ys


def _edge(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PyTorch3D's edge function (p - a) x (b - a) on (..., 2) points."""
    return (p[..., 0] - a[..., 0]) * (b[..., 1] - a[..., 1]) - (p[..., 1] - a[..., 1]) * (b[..., 0] - a[..., 0])


def barycentrics(
    pxy: torch.Tensor, v: torch.Tensor, perspective_correct: bool
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Barycentric weights of points pxy (M, 2) in faces v (M, 3, 3) (NDC x, y and view z).

    Returns (weights (M, 3), inside (M,) bool) where inside means every weight is > 0;
    weights are perspective corrected when asked, but not clipped.
    """
    xy = v[..., :2]
    v0, v1, v2 = xy[:, 0], xy[:, 1], xy[:, 2]
    area = _edge(v2, v0, v1) + _AREA_EPS
    # Cyclic edges (v1, v2), (v2, v0), (v0, v1) give w0, w1, w2 in one vectorised evaluation.
    a = xy[:, [1, 2, 0]]
    b = xy[:, [2, 0, 1]]
    w = _edge(pxy[:, None, :], a, b) / area[:, None]
    if perspective_correct:
        # Same operation order as PyTorch3D (w0*z1*z2, w1*z0*z2, w2*z0*z1, summed left to right),
        # so that depth ties among the K nearest faces break the same way.
        z = v[..., 2]
        top = w * z[:, [1, 0, 0]] * z[:, [2, 2, 1]]
        w = top / _sum3(top).clamp_min(_PERSPECTIVE_EPS)
    inside = (w > 0).all(dim=1)
    return w, inside


def clip_barycentrics(w: torch.Tensor) -> torch.Tensor:
    """Clamp weights at 0 and renormalise, as PyTorch3D's barycentric clipping does."""
    w = w.clamp_min(0.0)
    return w / _sum3(w).clamp_min(_CLIP_EPS)


def _sum3(w: torch.Tensor) -> torch.Tensor:
    """w0 + w1 + w2 added left to right, as (M, 1)."""
    return (w[:, 0] + w[:, 1] + w[:, 2])[:, None]


def interpolate_depth(w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Depth (M,) at barycentric weights w (M, 3) of faces v (M, 3, 3), summed left to right."""
    zw = w * v[..., 2]
    return zw[:, 0] + zw[:, 1] + zw[:, 2]


def squared_distance_to_triangle(pxy: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Squared 2D distance (M,) from points pxy (M, 2) to the nearest edge segment of faces v (M, 3, >=2)."""
    a = v[:, :, :2]
    b = a[:, [1, 2, 0]]
    ab = b - a
    ap = pxy[:, None, :] - a
    t = (ab * ap).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)
    t = t.clamp(0.0, 1.0)
    d = ap - t[..., None] * ab
    return (d * d).sum(-1).min(dim=1).values


def _face_pixel_boxes(
    face_verts: torch.Tensor, image_size: Tuple[int, int], blur_radius: float
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inclusive pixel ranges (col0, row0, ncols, nrows) of each face's box grown by sqrt(blur)."""
    h, w = image_size
    s = min(h, w)
    grow = math.sqrt(blur_radius) if blur_radius > 0 else 0.0
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
    xy = face_verts[..., :2]
    area = _edge(xy[:, 2], xy[:, 0], xy[:, 1])
    ok = area.abs() > _AREA_EPS
    if cull_backfaces:
        ok &= area >= 0
    ok &= (face_verts[..., 2] >= _Z_EPS).all(dim=1)
    ok &= torch.isfinite(face_verts).all(dim=(1, 2))
    return ok


def _keep_nearest(
    pix: torch.Tensor, z: torch.Tensor, order: torch.Tensor, k: int
) -> torch.Tensor:
    """Indices of the k nearest entries of each pixel, ties to the earlier entry (smaller face).

    `order` is a tie-breaking rank (entries must be passed sorted by it already). Returns the
    selected positions sorted by (pixel, depth, order).
    """
    if pix.numel() == 0:
        return pix
    if k == 1:
        # Two scatter-min passes beat a sort: nearest depth, then first entry at that depth.
        npix = int(pix.max()) + 1
        zmin = torch.full((npix,), math.inf, dtype=z.dtype, device=z.device)
        zmin.scatter_reduce_(0, pix, z, reduce="amin")
        at_min = z == zmin[pix]
        pos = torch.arange(pix.numel(), device=pix.device)
        first = torch.full((npix,), pix.numel(), dtype=torch.long, device=pix.device)
        first.scatter_reduce_(0, pix[at_min], pos[at_min], reduce="amin")
        first = first[first < pix.numel()]
        return first
    by_depth = torch.sort(z, stable=True).indices
    by_pixel = torch.sort(pix[by_depth], stable=True).indices
    sorted_idx = by_depth[by_pixel]
    sorted_pix = pix[sorted_idx]
    new_group = torch.ones_like(sorted_pix, dtype=torch.bool)
    new_group[1:] = sorted_pix[1:] != sorted_pix[:-1]
    group_start = torch.cummax(torch.where(new_group, torch.arange(sorted_pix.numel(), device=pix.device), 0), 0).values
    rank = torch.arange(sorted_pix.numel(), device=pix.device) - group_start
    return sorted_idx[rank < k]


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
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Choose, without autograd, the K nearest faces of every pixel.

    face_verts: (F, 3, 3) NDC x, y and view z of each packed face's vertices.
    face_to_image: (F,) batch element of each face.
    Returns (pix, face, rank): flat (N*H*W) pixel index, packed face index and slot 0..K-1 of
    each chosen fragment, sorted by pixel then depth.
    """
    h, w = image_size
    device = face_verts.device
    with torch.no_grad():
        face_verts = face_verts.detach()
        xs, ys = pixel_centers_ndc(image_size, device, face_verts.dtype)
        col0, row0, ncols, nrows = _face_pixel_boxes(face_verts, image_size, blur_radius)
        counts = ncols * nrows
        counts = torch.where(_face_is_drawable(face_verts, cull_backfaces), counts, 0)
        faces = torch.nonzero(counts > 0).squeeze(1)
        counts = counts[faces]
        ends = torch.cumsum(counts, 0)
        total = int(ends[-1]) if ends.numel() else 0

        best_pix = torch.empty(0, dtype=torch.long, device=device)
        best_face = torch.empty(0, dtype=torch.long, device=device)
        best_z = torch.empty(0, dtype=face_verts.dtype, device=device)
        for start in range(0, total, chunk_pairs):
            pair = torch.arange(start, min(start + chunk_pairs, total), device=device)
            slot = torch.searchsorted(ends, pair, right=True)
            local = pair - (ends[slot] - counts[slot])
            f = faces[slot]
            nc = ncols[f]
            col = col0[f] + local % nc
            row = row0[f] + local // nc
            pxy = torch.stack((xs[col], ys[row]), dim=1)
            v = face_verts[f]
            wts, inside = barycentrics(pxy, v, perspective_correct)
            if clip_barycentric_coords:
                wts = clip_barycentrics(wts)
            z = interpolate_depth(wts, v)
            keep = z >= 0
            if blur_radius > 0:
                outside = keep & ~inside
                idx = torch.nonzero(outside).squeeze(1)
                near = squared_distance_to_triangle(pxy[idx], v[idx]) < blur_radius
                keep &= inside
                keep[idx[near]] = True
            else:
                keep &= inside
            pix = face_to_image[f] * (h * w) + row * w + col
            best_pix = torch.cat((best_pix, pix[keep]))
            best_face = torch.cat((best_face, f[keep]))
            best_z = torch.cat((best_z, z[keep]))
            sel = _keep_nearest(best_pix, best_z, best_face, faces_per_pixel)
            best_pix, best_face, best_z = best_pix[sel], best_face[sel], best_z[sel]

        if faces_per_pixel == 1 or best_pix.numel() == 0:
            rank = torch.zeros_like(best_pix)
        else:
            new_group = torch.ones_like(best_pix, dtype=torch.bool)
            new_group[1:] = best_pix[1:] != best_pix[:-1]
            positions = torch.arange(best_pix.numel(), device=device)
            rank = positions - torch.cummax(torch.where(new_group, positions, 0), 0).values
    return best_pix, best_face, rank


def fragment_geometry(
    face_verts: torch.Tensor,
    pix: torch.Tensor,
    face: torch.Tensor,
    image_size: Tuple[int, int],
    perspective_correct: bool,
    clip_barycentric_coords: bool,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Differentiable (bary (M, 3), zbuf (M,), signed squared dists (M,)) of chosen fragments."""
    h, w = image_size
    xs, ys = pixel_centers_ndc(image_size, face_verts.device, face_verts.dtype)
    within = pix % (h * w)
    pxy = torch.stack((xs[within % w], ys[within // w]), dim=1)
    v = face_verts[face]
    wts, inside = barycentrics(pxy, v, perspective_correct)
    if clip_barycentric_coords:
        wts = clip_barycentrics(wts)
    z = interpolate_depth(wts, v)
    d2 = squared_distance_to_triangle(pxy, v)
    dists = torch.where(inside, -d2, d2)
    return wts, z, dists


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
):
    """Rasterize meshes whose vertices are already in NDC (x, y) with view-space z.

    Same signature and outputs as PyTorch3D's `rasterize_meshes`: (pix_to_face, zbuf,
    bary_coords, dists), each (N, H, W, K[, 3]) with -1 in empty slots. `bin_size`,
    `max_faces_per_bin`, `z_clip_value` and `cull_to_frustum` are accepted for compatibility;
    binning here is per face bounding box and needs no tuning. With return_sparse=True only the
    SparseFragments are returned (the dense tensors are then built on demand by `Fragments`).
    """
    h, w = _image_hw(image_size)
    k = int(faces_per_pixel)
    n = len(meshes)
    verts = meshes.verts_packed()
    faces = meshes.faces_packed()
    face_verts = verts[faces]
    face_to_image = meshes.faces_packed_to_mesh_idx()
    pix, face, rank = select_fragments(
        face_verts, face_to_image, (h, w), float(blur_radius), k,
        perspective_correct, cull_backfaces, clip_barycentric_coords,
    )
    bary, zbuf, dists = fragment_geometry(face_verts, pix, face, (h, w), perspective_correct, clip_barycentric_coords)
    sparse = SparseFragments((n, h, w, k), pix * k + rank, pix, face, zbuf, bary, dists)
    if return_sparse:
        return sparse
    return sparse.dense(face, -1), sparse.dense(zbuf, -1.0), sparse.dense(bary, -1.0), sparse.dense(dists, -1.0)


def _image_hw(image_size) -> Tuple[int, int]:
    """(H, W) from an int or a pair, validated."""
    if isinstance(image_size, int):
        hw = (image_size, image_size)
    else:
        hw = tuple(int(s) for s in image_size)
    if len(hw) != 2 or min(hw) <= 0:
        raise ValueError(f"image_size must be a positive int or (H, W) pair; got {image_size!r}")
    return hw  # type: ignore[return-value]
