"""Small fitting problems for the fitting tests (viewer and worker processes): a coloured ellipsoid, tiny settings.

One iteration takes ~15 ms on 2 CPU cores, so tests can run tens of iterations in a second.
"""

from __future__ import annotations

import torch

from core.fitting import FitConfig
from core.renderer import TexturesVertex
from core.structures import Meshes
from core.utils import ico_sphere

SMALL_SETTINGS = dict(num_views=8, image_size=48, faces_per_pixel=10, sphere_level=2, views_per_iteration=2)


def ellipsoid() -> Meshes:
    """An ico_sphere(2) stretched to (1.3, 0.7, 0.9), coloured by position (so RGB terms matter)."""
    sphere = ico_sphere(2)
    verts = sphere.verts_packed() * torch.tensor([1.3, 0.7, 0.9])
    colors = (sphere.verts_packed() + 1.0) / 2.0
    return Meshes([verts], [sphere.faces_packed()], textures=TexturesVertex([colors]))


def small_config(**changes) -> FitConfig:
    return FitConfig(**{**SMALL_SETTINGS, "iterations": 60, **changes})
