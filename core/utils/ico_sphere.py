"""Unit icospheres built exactly as PyTorch3D 0.7.9 builds them.

Level 0 is PyTorch3D's 12-vertex icosahedron (4-decimal coordinates, not re-normalised).
Each further level splits every face in four at its edge midpoints (midpoint vertices appended
after the old ones, in the order of the sorted unique edges; new faces grouped as all corner
faces at v0, then at v1, then at v2, then all centre faces) and projects every vertex onto the
unit sphere. Reproducing that order keeps vertex and face indices identical to PyTorch3D's.
"""
from __future__ import annotations

from typing import Optional, Union

import torch

from core.structures.meshes import Meshes

_ICO_VERTS0 = [
    [-0.5257, 0.8507, 0.0000], [0.5257, 0.8507, 0.0000], [-0.5257, -0.8507, 0.0000],
    [0.5257, -0.8507, 0.0000], [0.0000, -0.5257, 0.8507], [0.0000, 0.5257, 0.8507],
    [0.0000, -0.5257, -0.8507], [0.0000, 0.5257, -0.8507], [0.8507, 0.0000, -0.5257],
    [0.8507, 0.0000, 0.5257], [-0.8507, 0.0000, -0.5257], [-0.8507, 0.0000, 0.5257],
]
_ICO_FACES0 = [
    [0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11],
    [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6], [7, 1, 8],
    [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9],
    [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1],
]


def _subdivide(verts: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split each face into four at its edge midpoints (PyTorch3D's vertex and face order)."""
    nverts, nfaces = verts.shape[0], faces.shape[0]
    # Edge k of a face is the one opposite its vertex k.
    edges = torch.cat([faces[:, [1, 2]], faces[:, [2, 0]], faces[:, [0, 1]]], 0).sort(dim=1).values
    unique, inverse = torch.unique(edges[:, 0] * nverts + edges[:, 1], sorted=True, return_inverse=True)
    uniq_edges = torch.stack([unique // nverts, unique % nverts], dim=1)
    mid = verts[uniq_edges].mean(dim=1)
    e = inverse.reshape(3, nfaces).t() + nverts  # new vertex on the edge opposite vertex k
    v0, v1, v2 = faces.unbind(1)
    e0, e1, e2 = e.unbind(1)
    new_faces = torch.cat(
        [
            torch.stack([v0, e2, e1], 1),
            torch.stack([v1, e0, e2], 1),
            torch.stack([v2, e1, e0], 1),
            e,
        ],
        0,
    )
    return torch.cat([verts, mid], 0), new_faces


def ico_sphere(level: int = 0, device: Optional[Union[str, torch.device]] = None) -> Meshes:
    """A Meshes holding one unit icosphere subdivided `level` times (level >= 0).

    Vertices: 10 * 4**level + 2; faces: 20 * 4**level, all consistently oriented outwards.
    """
    if not isinstance(level, int) or isinstance(level, bool):
        raise TypeError(f"level must be an int; got {type(level).__name__}")
    if level < 0:
        raise ValueError(f"level must be >= 0; got {level}")
    device = torch.device("cpu") if device is None else torch.device(device)
    verts = torch.tensor(_ICO_VERTS0, dtype=torch.float32, device=device)
    faces = torch.tensor(_ICO_FACES0, dtype=torch.int64, device=device)
    for _ in range(level):
        verts, faces = _subdivide(verts, faces)
        verts = verts / verts.norm(p=2, dim=1, keepdim=True)
    return Meshes(verts=[verts], faces=[faces])
