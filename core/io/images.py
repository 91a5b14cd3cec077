"""Encodings of rendered images for writers that save them atomically: PNG (pillow), .npy of the
float values, and a grey picture of a depth map."""
from __future__ import annotations

import io
from typing import Any

import numpy as np


def png_bytes(pixels: Any) -> bytes:
    """PNG encoding of an (H, W), (H, W, 3) or (H, W, 4) image: uint8, or float in [0, 1]."""
    from PIL import Image

    array = np.asarray(pixels)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(array: Any) -> bytes:
    """The .npy encoding of an array as float32 (rendered values: RGBA, depth), for writers
    that save atomically."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=np.float32))
    return buffer.getvalue()


def depth_grey(depth: Any, zfar: float) -> np.ndarray:
    """A depth map (H, W) as a uint8 grey picture to look at: disparity (1 / depth) scaled so
    the map's nearest depth is white and zfar, where depth shaders put the background, black.

    Disparity rather than depth keeps an object's relief visible when zfar is far behind it
    (PyTorch3D's default zfar is 100), and a soft depth map's edges fade smoothly to black.
    """
    if not zfar > 0:
        raise ValueError(f"zfar must be > 0, got {zfar}")
    depth = np.asarray(depth, dtype=np.float64)
    disparity = 1.0 / np.clip(depth, 1e-12, None)
    near = float(disparity.max()) if disparity.size else 0.0
    if near <= 1.0 / zfar:  # nothing nearer than zfar: all background
        return np.zeros(depth.shape, dtype=np.uint8)
    scaled = (disparity - 1.0 / zfar) / (near - 1.0 / zfar)
    return (np.clip(scaled, 0.0, 1.0) * 255.0).round().astype(np.uint8)
