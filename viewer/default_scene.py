"""The built-in scene: a rainbow-coloured torus, generated in code (no file to download).

A torus shows soft against hard rasterization at a glance: besides its outer silhouette it has
an inner silhouette (the hole) and a self-occlusion edge where the near side of the ring passes
in front of the far side; soft blending (sigma, gamma) visibly changes all three.
"""

from __future__ import annotations

import math

import torch

from core.renderer import TexturesVertex
from core.structures import Meshes

DEFAULT_SCENE_NAME = "Default scene (torus)"
RING_RADIUS = 0.7  # distance from the centre to the middle of the tube
TUBE_RADIUS = 0.25
RING_SEGMENTS = 48
TUBE_SEGMENTS = 16


def torus_mesh(
    ring_radius: float = RING_RADIUS,
    tube_radius: float = TUBE_RADIUS,
    ring_segments: int = RING_SEGMENTS,
    tube_segments: int = TUBE_SEGMENTS,
    device: str | torch.device = "cpu",
) -> Meshes:
    """A closed torus lying in the xz-plane (axis +Y), faces wound so normals point outwards.

    Vertex (i, j) sits at ring angle u = 2πi/ring_segments and tube angle v = 2πj/tube_segments:
    ((R + r cos v) cos u, r sin v, (R + r cos v) sin u). Colours: a cosine rainbow around the
    ring, brighter on the outside of the tube.
    """
    if not 0.0 < tube_radius < ring_radius:
        raise ValueError(f"need 0 < tube_radius < ring_radius, got {tube_radius} and {ring_radius}")
    if ring_segments < 3 or tube_segments < 3:
        raise ValueError(f"need at least 3 segments each way, got {ring_segments} and {tube_segments}")
    u = torch.arange(ring_segments, dtype=torch.float32) * (2 * math.pi / ring_segments)
    v = torch.arange(tube_segments, dtype=torch.float32) * (2 * math.pi / tube_segments)
    uu, vv = torch.meshgrid(u, v, indexing="ij")
    radial = ring_radius + tube_radius * torch.cos(vv)
    verts = torch.stack((radial * torch.cos(uu), tube_radius * torch.sin(vv), radial * torch.sin(uu)), -1)

    i = torch.arange(ring_segments)[:, None]
    j = torch.arange(tube_segments)[None, :]
    i1, j1 = (i + 1) % ring_segments, (j + 1) % tube_segments

    def index(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a * tube_segments + b).expand(ring_segments, tube_segments)

    p00, p01, p10, p11 = index(i, j), index(i, j1), index(i1, j), index(i1, j1)
    faces = torch.cat(
        (torch.stack((p00, p01, p11), -1).reshape(-1, 3), torch.stack((p00, p11, p10), -1).reshape(-1, 3))
    )

    phase = uu[..., None] / (2 * math.pi) + torch.tensor((0.0, 1.0 / 3.0, 2.0 / 3.0))
    rainbow = 0.6 + 0.4 * torch.cos(2 * math.pi * phase)
    brightness = 0.85 + 0.15 * torch.cos(vv)[..., None]
    colours = (rainbow * brightness).clamp(0.0, 1.0)

    dev = torch.device(device)
    return Meshes(
        verts=[verts.reshape(-1, 3).to(dev)],
        faces=[faces.to(dev)],
        textures=TexturesVertex(verts_features=[colours.reshape(-1, 3).to(dev)]),
    )
