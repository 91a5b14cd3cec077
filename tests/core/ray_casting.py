"""Independent truth for rasterization tests: rays through the pixel centres of a camera at the
origin looking down +z (R = I, T = 0, so view = world), intersected in float64 numpy."""
from __future__ import annotations

import math

import numpy as np


def pixel_rays(size: int, fov: float) -> np.ndarray:
    """(size, size, 3) view-space ray directions (z = 1) through the pixel centres."""
    centres = (size - 1 - 2 * np.arange(size)) / size * math.tan(math.radians(fov) / 2)
    x = np.broadcast_to(centres[None, :], (size, size))
    y = np.broadcast_to(centres[:, None], (size, size))
    return np.stack((x, y, np.ones((size, size))), axis=-1)


def ray_hits(rays: np.ndarray, tri: np.ndarray):
    """Depth t (z of the hit) and barycentrics of each ray's hit of the triangle's plane."""
    a, b, c = tri
    e1, e2 = b - a, c - a
    pvec = np.cross(rays, e2)
    det = pvec @ e1
    s = -a
    u = (pvec @ s) / det
    qvec = np.cross(s, e1)
    v = (rays @ qvec) / det
    t = (qvec @ e2) / det
    return t, np.stack((1 - u - v, u, v), axis=-1)
