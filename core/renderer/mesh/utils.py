"""Small helpers shared by textures and shaders."""
from __future__ import annotations

import torch


def interpolate_face_attributes(
    pix_to_face: torch.Tensor, barycentric_coords: torch.Tensor, face_attributes: torch.Tensor
) -> torch.Tensor:
    """Interpolate per-face-vertex attributes at every fragment.

    pix_to_face: (N, H, W, K) packed face index, -1 where empty.
    barycentric_coords: (N, H, W, K, 3).
    face_attributes: (F, 3, D) — the attribute at each of a face's three vertices.
    Returns (N, H, W, K, D); zeros where pix_to_face is -1. Differentiable in the
    barycentrics and the attributes.
    """
    if face_attributes.dim() != 3 or face_attributes.shape[1] != 3:
        raise ValueError(f"face_attributes must have shape (F, 3, D); got {tuple(face_attributes.shape)}")
    if barycentric_coords.shape[:-1] != pix_to_face.shape or barycentric_coords.shape[-1] != 3:
        raise ValueError("barycentric_coords must have shape pix_to_face.shape + (3,)")
    if face_attributes.shape[0] == 0:  # no faces at all: every slot is empty
        return face_attributes.new_zeros(*pix_to_face.shape, face_attributes.shape[-1])
    mask = pix_to_face.reshape(-1) < 0
    idx = pix_to_face.reshape(-1).clamp(min=0)
    num_faces, _, dim = face_attributes.shape
    attrs = face_attributes.reshape(num_faces, 3 * dim).index_select(0, idx)
    bary = barycentric_coords.reshape(-1, 3).to(attrs.dtype)
    out = bary[:, 0:1] * attrs[:, :dim] + bary[:, 1:2] * attrs[:, dim : 2 * dim] + bary[:, 2:3] * attrs[:, 2 * dim :]
    out = out.masked_fill(mask[:, None], 0.0)
    return out.view(*pix_to_face.shape, dim)
