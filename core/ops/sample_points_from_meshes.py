"""Uniform random points on mesh surfaces (PyTorch3D's `sample_points_from_meshes`).

Faces are drawn with probability proportional to their area, then a point uniformly distributed
inside each drawn face: with u, v ~ U(0, 1), the barycentrics (1 - √u, √u (1 - v), √u v) are
uniform over the triangle. The random calls (multinomial over areas, then one rand of shape
(2, N_valid, S)) come in PyTorch3D's order, so a seed gives the same draws for the same areas.
Points, normals and textures are differentiable in the vertex positions / texture data (the
face choice is not).
"""
from __future__ import annotations

import sys
from typing import Any, Tuple, Union

import torch

from core.renderer.mesh.fragments import Fragments

SampleResult = Union[
    torch.Tensor, Tuple[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor, torch.Tensor]
]


def _sample_faces(meshes: Any, num_samples: int) -> torch.Tensor:
    """(N_valid, S) packed indices of faces drawn by area, one row per mesh with faces."""
    valid = meshes.valid
    face_mesh = meshes.faces_packed_to_mesh_idx()
    first = meshes.mesh_to_faces_packed_first_idx()
    counts = meshes.num_faces_per_mesh()
    areas = meshes.faces_areas_packed().detach()
    # Every face belongs to a valid mesh (a mesh with faces has vertices), so the padded rows
    # are the valid meshes in order.
    row_of_mesh = torch.cumsum(valid.to(torch.int64), 0) - 1
    cols = torch.arange(areas.shape[0], device=areas.device) - first[face_mesh]
    areas_padded = areas.new_zeros((int(valid.sum()), int(counts.max())))
    areas_padded[row_of_mesh[face_mesh], cols] = areas
    empty = areas_padded.sum(1) <= 0
    if bool(empty.any()):
        mesh = int(valid.nonzero()[empty.nonzero()[0, 0], 0])
        raise ValueError(f"mesh {mesh} has zero total surface area: cannot sample points by area")
    face_idx = areas_padded.multinomial(num_samples, replacement=True)
    return face_idx + first[valid][:, None]


def _rand_barycentric(rows: int, num_samples: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(rows, S, 3) barycentric coordinates uniform over a triangle (the square-root trick)."""
    u, v = torch.rand(2, rows, num_samples, dtype=dtype, device=device)
    root_u = u.sqrt()
    return torch.stack([1.0 - root_u, root_u * (1.0 - v), root_u * v], dim=2)


def sample_points_from_meshes(
    meshes: Any,
    num_samples: int = 10000,
    return_normals: bool = False,
    return_textures: bool = False,
) -> SampleResult:
    """Sample `num_samples` points uniformly (by area) on the surface of each mesh.

    Returns samples (N, S, 3), plus normals (N, S, 3) when return_normals (the unit normal of
    the face each point lies in, (v1 - v0) x (v2 - v1) normalised) and textures (N, S, C) when
    return_textures (the meshes' textures sampled at each point). Rows of meshes without
    faces are zero. Raises ValueError when every mesh is empty, when a non-empty mesh has zero
    area, or when textures are requested from meshes that have none.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int; got {num_samples!r}")
    if meshes.isempty():
        raise ValueError("Meshes are empty.")
    if return_textures and meshes.textures is None:
        raise ValueError("Meshes do not contain textures.")
    verts, faces = meshes.verts_packed(), meshes.faces_packed()
    if not bool(torch.isfinite(verts.detach()).all()):
        raise ValueError("Meshes contain nan or inf.")
    valid = meshes.valid
    num_meshes = len(meshes)

    with torch.no_grad():
        face_idx = _sample_faces(meshes, num_samples)  # (N_valid, S)
    bary = _rand_barycentric(face_idx.shape[0], num_samples, verts.dtype, verts.device)

    corners = verts[faces[face_idx]]  # (N_valid, S, 3 corners, 3)
    samples = verts.new_zeros((num_meshes, num_samples, 3))
    samples[valid] = (bary[..., None] * corners).sum(dim=2)
    outputs = [samples]

    if return_normals:
        v0, v1, v2 = verts[faces].unbind(1)
        face_normals = torch.cross(v1 - v0, v2 - v1, dim=1)
        face_normals = face_normals / face_normals.norm(dim=1, keepdim=True).clamp(min=sys.float_info.epsilon)
        normals = verts.new_zeros((num_meshes, num_samples, 3))
        normals[valid] = face_normals[face_idx]
        outputs.append(normals)

    if return_textures:
        # Fragments with H = S, W = 1, K = 1; rows of empty meshes hit no face (-1).
        pix_to_face = torch.full((num_meshes, num_samples), -1, dtype=torch.int64, device=verts.device)
        pix_to_face[valid] = face_idx
        bary_full = verts.new_zeros((num_meshes, num_samples, 3))
        bary_full[valid] = bary
        unused = verts.new_zeros((num_meshes, num_samples, 1, 1))
        fragments = Fragments(
            pix_to_face=pix_to_face[:, :, None, None],
            zbuf=unused,
            bary_coords=bary_full[:, :, None, None, :],
            dists=unused,
        )
        outputs.append(meshes.sample_textures(fragments)[:, :, 0, 0, :])

    return outputs[0] if len(outputs) == 1 else tuple(outputs)
