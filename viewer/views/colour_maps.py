"""Colour-mapped pictures of one fragment layer, each with a one-line legend.

Empty slots (pix_to_face = -1) are drawn black in every picture. Colour maps come from vispy.
"""

from __future__ import annotations

import numpy as np
from vispy.color import get_colormap

from ..pane_renderer import CROWDED, LOST

EMPTY = np.array((0, 0, 0), dtype=np.uint8)
# Irrational steps spread consecutive face ids over distinct, stable colours.
_FACE_STEPS = np.array((0.6180339887, 0.3819660113, 0.7548776662))


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def _colormap(name: str, values: np.ndarray) -> np.ndarray:
    """(…, 3) uint8 colours of `values` in [0, 1] under the vispy colour map `name`."""
    flat = get_colormap(name).map(values.reshape(-1).astype(np.float32))[:, :3]
    return _to_uint8(flat.reshape(*values.shape, 3))


def faces_image(faces: np.ndarray) -> tuple[np.ndarray, str]:
    """pix_to_face (H, W): a stable colour per face id."""
    covered = faces >= 0
    out = np.zeros((*faces.shape, 3), dtype=np.uint8)
    ids = faces[covered].astype(np.float64)
    out[covered] = _to_uint8(0.25 + 0.75 * np.mod(ids[:, None] * _FACE_STEPS, 1.0))
    if not covered.any():
        return out, "no faces in this layer"
    distinct = np.unique(faces[covered]).size
    return out, f"face ids {int(ids.min())} … {int(ids.max())} ({distinct} distinct)"


def depth_image(zbuf: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, str]:
    """zbuf (H, W): viridis from the nearest (dark) to the farthest (yellow) depth in the layer."""
    covered = faces >= 0
    out = np.zeros((*zbuf.shape, 3), dtype=np.uint8)
    if not covered.any():
        return out, "no depths in this layer"
    z = zbuf[covered]
    low, high = float(z.min()), float(z.max())
    out[covered] = _colormap("viridis", (z - low) / max(high - low, 1e-12))
    return out, f"depth {low:.4g} (dark) … {high:.4g} (yellow)"


def bary_image(bary: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, str]:
    """bary_coords (H, W, 3): the three weights as red, green, blue."""
    covered = faces >= 0
    out = np.zeros((*faces.shape, 3), dtype=np.uint8)
    out[covered] = _to_uint8(bary[covered])
    return out, "barycentrics as RGB (w0 red, w1 green, w2 blue)"


def dists_image(dists: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, str]:
    """dists (H, W): diverging map, blue inside the face (d < 0), red outside, symmetric range."""
    covered = faces >= 0
    out = np.zeros((*dists.shape, 3), dtype=np.uint8)
    if not covered.any():
        return out, "no distances in this layer"
    d = dists[covered]
    extent = max(float(np.abs(d).max()), 1e-12)
    out[covered] = _colormap("coolwarm", 0.5 + 0.5 * d / extent)
    return out, f"signed dist² ±{extent:.3g} NDC² (blue inside, red outside)"


def k_state_image(state: np.ndarray | None, faces: np.ndarray) -> tuple[np.ndarray, str]:
    """FragmentMaps.k_state (H, W) over all layers: grey where K kept every face within reach,
    amber where it dropped farther ones, red where it dropped the face under the pixel."""
    covered = faces >= 0
    out = np.zeros((*faces.shape, 3), dtype=np.uint8)
    out[covered] = (96, 96, 96)
    if state is None:
        return out, "not recorded"
    crowded, lost = state == CROWDED, state == LOST
    out[crowded] = (230, 160, 30)
    out[lost] = (220, 40, 40)
    return out, f"K full at {int(crowded.sum() + lost.sum())} px (amber); covering face lost at {int(lost.sum())} (red)"


def share_image(shares: np.ndarray | None, faces: np.ndarray) -> tuple[np.ndarray, str]:
    """A layer's share (H, W) of its pixels' soft colour, cubehelix from 0 (dark) to 1 (bright)."""
    out = np.zeros((*faces.shape, 3), dtype=np.uint8)
    if shares is None:
        return out, "no softmax blend (soft Phong / Gouraud only)"
    covered = faces >= 0
    if not covered.any():
        return out, "no faces in this layer"
    values = shares[covered]
    out[covered] = _colormap("cubehelix", values)
    return out, f"share of the colour 0 (dark) … 1 (bright); max {float(values.max()):.3g}"


# Decades below the strongest response still drawn by alpha_gradient_image.
GRADIENT_DECADES = 4


def alpha_gradient_image(gradient: np.ndarray | None, faces: np.ndarray) -> tuple[np.ndarray, str]:
    """|∂α/∂dist| summed over all layers (gradient (H, W, K)), viridis on a log scale from the
    strongest pixel (yellow) down GRADIENT_DECADES decades (purple; weaker ones black): where
    moving the mesh's faces changes its soft coverage, i.e. where a silhouette loss can push it."""
    out = np.zeros((*faces.shape, 3), dtype=np.uint8)
    if gradient is None:
        return out, "no soft coverage (soft Phong / Gouraud / silhouette only)"
    total = np.abs(gradient).sum(axis=2)
    peak = float(total.max())
    if not peak > 0:
        return out, "no pixel's coverage responds to its faces"
    shown = total >= peak * 10.0**-GRADIENT_DECADES
    out[shown] = _colormap("viridis", 1.0 + np.log10(total[shown] / peak) / GRADIENT_DECADES)
    return out, (f"|∂α/∂dist| over all layers, log: {peak:.3g} /NDC² (yellow) … 1e-{GRADIENT_DECADES} of it (purple); "
                 f"responds at {int(shown.sum())} px")
