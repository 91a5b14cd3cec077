"""Random NDC triangle batches for rasterizer tests."""
from __future__ import annotations

import numpy as np
import torch

from core.structures import Meshes


def random_ndc_meshes(seed: int, sizes=(40, 25), dtype=torch.float64) -> Meshes:
    """A batch of random NDC triangles (x, y in [-1.2, 1.2], view z in [0.5, 5]), one mesh of
    `sizes[i]` faces each (0: an empty mesh), crowded enough that many pixels hold more than a
    few faces within the blur radius."""
    rng = np.random.default_rng(seed)
    verts, faces = [], []
    for f in sizes:
        xy = rng.uniform(-1.2, 1.2, size=(f, 3, 2))
        z = rng.uniform(0.5, 5.0, size=(f, 3, 1))
        verts.append(torch.as_tensor(np.concatenate([xy, z], axis=2).reshape(-1, 3), dtype=dtype))
        faces.append(torch.arange(3 * f).reshape(-1, 3))
    return Meshes(verts=verts, faces=faces)
