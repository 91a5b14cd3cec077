"""PNG encoding of rendered images (pillow), for writers that save them atomically."""
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
