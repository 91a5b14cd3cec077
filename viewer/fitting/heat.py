"""Magnitudes as colours (vispy's "hot" map): per-vertex gradients and per-pixel differences."""

from __future__ import annotations

import numpy as np
from vispy.color import get_colormap

HEAT_MAP = "hot"


def heat_colors(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """(…, 3) float32 RGB in [0, 1] of non-negative `values` scaled by `vmax` (default: their max).

    Zero is black, `vmax` and above white; an all-zero input is all black.
    """
    values = np.asarray(values, dtype=np.float32)
    top = float(np.max(values)) if vmax is None and values.size else float(vmax or 0.0)
    scaled = np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values)
    rgb = get_colormap(HEAT_MAP).map(scaled.reshape(-1, 1))[:, :3]
    return rgb.reshape(*values.shape, 3).astype(np.float32)


def heat_image(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """(H, W, 3) uint8 picture of an (H, W) magnitude array (see heat_colors)."""
    return np.round(heat_colors(values, vmax) * 255.0).astype(np.uint8)
