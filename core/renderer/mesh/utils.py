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
    mask = pix_to_face < 0
    idx = pix_to_face.clamp(min=0).reshape(-1)
    attrs = face_attributes[idx]  # (P, 3, D)
    bary = barycentric_coords.reshape(-1, 3, 1).to(attrs.dtype)
    out = (bary * attrs).sum(dim=1)
    out = out.reshape(*pix_to_face.shape, face_attributes.shape[-1])
    return out.masked_fill(mask[..., None], 0.0)
