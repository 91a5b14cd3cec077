"""Merge the parts of a multi-part file (a glTF scene, a multi-material OBJ) into one mesh.

Appearance is kept as well as one mesh allows:
- every part has a UV texture: the images are placed side by side in one atlas (top-aligned,
  white where a shorter image leaves a gap) and the uvs remapped so that bilinear sampling with
  align_corners=True and border padding (TexturesUV's defaults) reads exactly the same texels
  as before; uvs outside [0, 1] are clamped, as border padding would do anyway;
- otherwise, if any part has colour: vertex colours for all parts, textures sampled at the
  vertices, white for parts without colour;
- otherwise no colour at all.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np
import torch

from ..renderer import TexturesUV
from .mesh_data import MeshData, UVTexture


def merge_parts(parts: Sequence[MeshData]) -> MeshData:
    """One mesh holding every part's triangles (vertices concatenated in part order)."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [len(p.verts) for p in parts[:-1]])
    verts = np.concatenate([p.verts for p in parts], axis=0)
    faces = np.concatenate([p.faces + off for p, off in zip(parts, offsets)], axis=0)
    merged = MeshData(verts, faces, materials={name: colors for p in parts for name, colors in p.materials.items()})
    if all(p.uv_texture is not None for p in parts):
        merged.uv_texture = pack_atlas([p.uv_texture for p in parts])
    elif any(p.uv_texture is not None or p.verts_colors is not None for p in parts):
        merged.verts_colors = np.concatenate([vertex_colors(p) for p in parts], axis=0)
    return merged


def pack_atlas(textures: Sequence[UVTexture]) -> UVTexture:
    """One texture whose image holds all images left to right; faces_uvs are concatenated."""
    heights = [t.image.shape[0] for t in textures]
    widths = [t.image.shape[1] for t in textures]
    atlas_h, atlas_w = max(heights), sum(widths)
    atlas = np.ones((atlas_h, atlas_w, 3), dtype=np.float32)
    verts_uvs: List[np.ndarray] = []
    faces_uvs: List[np.ndarray] = []
    x0, uv_offset = 0, 0
    for tex, h, w in zip(textures, heights, widths):
        atlas[:h, x0:x0 + w] = tex.image
        u, v = np.clip(tex.verts_uvs, 0.0, 1.0).T
        # Texel coordinates under align_corners=True: u = 0 is the centre of column 0 and
        # u = 1 the centre of column w - 1; v = 1 is row 0 (the top), v = 0 row h - 1.
        x = x0 + u * (w - 1)
        y = (1.0 - v) * (h - 1)
        verts_uvs.append(np.stack([x / max(atlas_w - 1, 1), 1.0 - y / max(atlas_h - 1, 1)], axis=1))
        faces_uvs.append(tex.faces_uvs + uv_offset)
        x0 += w
        uv_offset += len(tex.verts_uvs)
    name = "+".join(t.name for t in textures if t.name)
    return UVTexture(image=atlas, verts_uvs=np.concatenate(verts_uvs), faces_uvs=np.concatenate(faces_uvs), name=name)


def vertex_colors(part: MeshData) -> np.ndarray:
    """(V, 3) colours of a part: its own, its texture sampled at each vertex, or white."""
    if part.verts_colors is not None:
        return part.verts_colors
    colors = np.ones((len(part.verts), 3), dtype=np.float32)
    tex = part.uv_texture
    if tex is not None and len(part.faces):
        textures = TexturesUV(
            maps=[torch.as_tensor(tex.image, dtype=torch.float32)],
            faces_uvs=[torch.as_tensor(tex.faces_uvs, dtype=torch.int64)],
            verts_uvs=[torch.as_tensor(tex.verts_uvs, dtype=torch.float32)],
        )
        corner_colors = textures.faces_verts_textures_packed().numpy()  # (F, 3, 3)
        colors[part.faces.reshape(-1)] = corner_colors.reshape(-1, 3)
    return colors
