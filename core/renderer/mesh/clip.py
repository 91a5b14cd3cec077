"""Near-plane clipping of faces before rasterization (PyTorch3D's `z_clip_value`).

A face with some vertices in front of the plane z = z_clip_value and some behind it is cut to
its part in front: one triangle when two vertices are behind, a quadrilateral split into two
triangles ("twins") when one is. Faces wholly behind the plane are dropped. The rasterizer then
works on the clipped faces, and its fragments are mapped back to the original faces: face
indices through `source`, barycentrics through each clipped face's 3×3 matrix whose column j
holds the original-face barycentrics of the clipped face's vertex j.

Without this, perspective projection of a vertex at or behind the camera (x/z, y/z) blows up,
and the rasterizer has to drop every face that has such a vertex, leaving holes where a surface
passes the camera. Same construction, vertex order and twin rule as PyTorch3D, so fragments
agree; unlike PyTorch3D every cut position stays differentiable (it detaches one of the two).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch

from core.utils.masks import true_positions


class ClippedFaces(NamedTuple):
    """Faces after clipping, in packed order (each original face's pieces consecutive).

    face_verts: (F', 3, 3), differentiable in the original face_verts.
    face_to_image: (F',) batch element of each clipped face.
    source: (F',) original packed face of each clipped face (non-decreasing).
    to_source: (F', 3, 3) barycentric conversion (identity for faces left whole).
    cut: (F',) bool, whether the face was cut (its barycentrics need converting).
    twin: (F',) the other half of a quadrilateral split in two, else -1.
    """

    face_verts: torch.Tensor
    face_to_image: torch.Tensor
    source: torch.Tensor
    to_source: torch.Tensor
    cut: torch.Tensor
    twin: torch.Tensor

    def source_barycentrics(self, face: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
        """(M, 3) barycentrics w.r.t. the clipped faces `face` → w.r.t. their original faces."""
        rows = true_positions(self.cut.index_select(0, face))
        if rows.numel() == 0:
            return bary
        matrices = self.to_source.index_select(0, face.index_select(0, rows))
        converted = torch.bmm(matrices.to(bary.dtype), bary.index_select(0, rows).unsqueeze(2)).squeeze(2)
        return bary.index_copy(0, rows, converted)


def _cut_point(a: torch.Tensor, b: torch.Tensor, z_clip: float, perspective_correct: bool):
    """Where the edge a→b ((T, 3) NDC x, y and view z) crosses z = z_clip, and its weight t on b.

    With perspective correction x, y are interpolated in view space (x·z) and projected again
    at z_clip, as the projection is not affine along the edge."""
    t = (a[:, 2] - z_clip) / (a[:, 2] - b[:, 2])
    point = a * (1 - t[:, None]) + b * t[:, None]
    if perspective_correct:
        xy = (a[:, :2] * a[:, 2:3] * (1 - t[:, None]) + b[:, :2] * b[:, 2:3] * t[:, None]) / z_clip
        point = torch.cat((xy, point[:, 2:]), dim=1)
    return point, t


def _corner_weights(corner: torch.Tensor, count: int, dtype: torch.dtype) -> torch.Tensor:
    """(T, 3) one-hot barycentrics of the original corner index per face."""
    weights = torch.zeros(count, 3, dtype=dtype, device=corner.device)
    return weights.scatter_(1, corner[:, None], 1.0)


def clip_faces(
    face_verts: torch.Tensor, face_to_image: torch.Tensor, z_clip: float, perspective_correct: bool
) -> Optional[ClippedFaces]:
    """Clip (F, 3, 3) faces (NDC x, y; view z) to z >= z_clip; None when no face reaches behind it."""
    behind = face_verts[..., 2].detach() < z_clip
    n_behind = behind.sum(1)
    if not bool(n_behind.any()):
        return None
    device, dtype = face_verts.device, face_verts.dtype
    one_cut = n_behind == 2  # two behind: one smaller triangle
    two_cut = n_behind == 1  # one behind: a quadrilateral, two triangles
    pieces = (n_behind == 0).long() + one_cut.long() + 2 * two_cut.long()
    starts = torch.cumsum(pieces, 0) - pieces  # first clipped index of each original face
    total = int(pieces.sum())
    source = torch.repeat_interleave(torch.arange(face_verts.shape[0], device=device), pieces, output_size=total)

    whole = true_positions(n_behind == 0)
    parts = [face_verts.index_select(0, whole)]
    positions = [starts.index_select(0, whole)]
    conversions = []
    cut_positions = []

    for faces_mask, lone_is_behind in ((one_cut, False), (two_cut, True)):
        faces = true_positions(faces_mask)
        if faces.numel() == 0:
            continue
        # p1: the vertex alone on its side of the plane; p2, p3 follow it in the face's order.
        i1 = torch.argmax((behind.index_select(0, faces) == lone_is_behind).to(torch.uint8), dim=1)
        i2, i3 = (i1 + 1) % 3, (i1 + 2) % 3
        verts = face_verts.index_select(0, faces)
        rows = torch.arange(faces.numel(), device=device)
        p1, p2, p3 = verts[rows, i1], verts[rows, i2], verts[rows, i3]
        p4, t4 = _cut_point(p1, p2, z_clip, perspective_correct)
        p5, t5 = _cut_point(p1, p3, z_clip, perspective_correct)
        b1, b2, b3 = (_corner_weights(i, faces.numel(), dtype) for i in (i1, i2, i3))
        b4 = b1 * (1 - t4[:, None]) + b2 * t4[:, None]
        b5 = b1 * (1 - t5[:, None]) + b3 * t5[:, None]
        first = starts.index_select(0, faces)
        if not lone_is_behind:
            triangles = [((p4, p5, p1), (b4, b5, b1), first)]
        else:
            triangles = [((p4, p2, p5), (b4, b2, b5), first), ((p5, p2, p3), (b5, b2, b3), first + 1)]
        for corners, weights, at in triangles:
            parts.append(torch.stack(corners, 1))
            conversions.append(torch.stack(weights, 2))
            positions.append(at)
            cut_positions.append(at)

    clipped = face_verts.new_empty(total, 3, 3).index_copy(0, torch.cat(positions), torch.cat(parts))
    eye = torch.eye(3, dtype=dtype, device=device).expand(total, 3, 3)
    to_source = eye.index_copy(0, torch.cat(cut_positions), torch.cat(conversions)) if conversions else eye
    cut = torch.zeros(total, dtype=torch.bool, device=device)
    twin = torch.full((total,), -1, dtype=torch.long, device=device)
    if cut_positions:
        cut[torch.cat(cut_positions)] = True
    halves = starts.index_select(0, true_positions(two_cut))
    twin[halves] = halves + 1
    twin[halves + 1] = halves
    return ClippedFaces(clipped, face_to_image.index_select(0, source), source, to_source, cut, twin)
