"""Per-face texel grids (`TexturesAtlas`) from what an OBJ file holds: PyTorch3D's
`create_texture_atlas=True` for `load_obj` and `load_objs_as_meshes`.

Each face gets an R×R grid; texel (y, x) takes the colour at the centroid of its small triangle
(see `TexturesAtlas`): below the cell diagonal (x + y < R) barycentrics
((x + 1/3) / R, (y + 1/3) / R), above it ((R - 1 - x + 2/3) / R, (R - 1 - y + 2/3) / R). With
a texture image the centroid's uv is sampled bilinearly (align_corners=True, zeros outside, as
PyTorch3D); with vertex colours (plain MTL Kd materials) the face takes its corners' mean;
with neither it is white, PyTorch3D's base colour.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from .mesh_data import MeshData

TEXTURE_WRAPS = ("repeat", "clamp")


def check_atlas_size(size: int) -> None:
    """ValueError unless `size` (texels per face side) is a positive integer."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"texture_atlas_size must be a positive integer, got {size!r}")


def check_texture_wrap(texture_wrap: Optional[str]) -> None:
    """ValueError unless `texture_wrap` is one of TEXTURE_WRAPS or None."""
    if texture_wrap not in (*TEXTURE_WRAPS, None):
        raise ValueError(f"texture_wrap must be one of {list(TEXTURE_WRAPS)} or None, got {texture_wrap!r}")


def texel_barycentrics(size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(R, R, 3) barycentrics of the centroid of each texel's small triangle."""
    check_atlas_size(size)
    y, x = torch.meshgrid(torch.arange(size, dtype=dtype), torch.arange(size, dtype=dtype), indexing="ij")
    lower = (x + y) < size
    w0 = torch.where(lower, (x + 1.0 / 3.0) / size, (size - 1 - x + 2.0 / 3.0) / size)
    w1 = torch.where(lower, (y + 1.0 / 3.0) / size, (size - 1 - y + 2.0 / 3.0) / size)
    return torch.stack((w0, w1, 1.0 - w0 - w1), dim=-1)


def sample_face_atlas(image: torch.Tensor, faces_verts_uvs: torch.Tensor, size: int,
                      texture_wrap: Optional[str] = "repeat") -> torch.Tensor:
    """(F, R, R, C) atlas of an (H, W, C) image seen through each face's corner uvs (F, 3, 2).

    texture_wrap: "repeat" keeps the fractional part of uvs outside [0, 1], "clamp" clamps
    them, None leaves them (zeros beyond the image).
    """
    check_texture_wrap(texture_wrap)
    uvs = faces_verts_uvs.to(image.dtype)
    if texture_wrap == "repeat" and bool(((uvs < 0) | (uvs > 1)).any()):
        uvs = torch.remainder(uvs, 1.0)
    elif texture_wrap == "clamp":
        uvs = uvs.clamp(0.0, 1.0)
    bary = texel_barycentrics(size, image.dtype).to(image.device)
    texel_uvs = torch.einsum("yxc,fcd->fyxd", bary, uvs)  # (F, R, R, 2)
    grid = torch.stack((2.0 * texel_uvs[..., 0] - 1.0, 1.0 - 2.0 * texel_uvs[..., 1]), dim=-1)
    faces = grid.shape[0]
    sampled = F.grid_sample(
        image.permute(2, 0, 1)[None], grid.reshape(1, faces, size * size, 2),
        mode="bilinear", padding_mode="zeros", align_corners=True,
    )  # (1, C, F, R*R)
    return sampled[0].permute(1, 2, 0).reshape(faces, size, size, image.shape[-1])


def mesh_data_atlas(data: MeshData, size: int, texture_wrap: Optional[str], device: torch.device) -> torch.Tensor:
    """(F, R, R, 3) float32 atlas of a loaded mesh (see the module notes)."""
    check_atlas_size(size)
    faces = len(data.faces)
    if data.uv_texture is not None:
        tex = data.uv_texture
        image = torch.as_tensor(np.ascontiguousarray(tex.image[..., :3]), dtype=torch.float32, device=device)
        verts_uvs = torch.as_tensor(tex.verts_uvs, dtype=torch.float32, device=device)
        faces_uvs = torch.as_tensor(tex.faces_uvs, dtype=torch.int64, device=device)
        return sample_face_atlas(image, verts_uvs[faces_uvs], size, texture_wrap)
    if data.verts_colors is not None:
        colours = torch.as_tensor(data.verts_colors, dtype=torch.float32, device=device)
        face_colours = colours[torch.as_tensor(data.faces, dtype=torch.int64, device=device)].mean(dim=1)
        return face_colours[:, None, None, :].expand(faces, size, size, 3).contiguous()
    return torch.ones(faces, size, size, 3, device=device)
