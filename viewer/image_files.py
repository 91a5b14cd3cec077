"""Writing rendered images (PNG, or .npy of the rendered values), atomically, and never over an
existing file unless asked."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def write_png(image: np.ndarray, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write an RGB uint8 image (H, W, 3) to `path` as PNG; return the path.

    Written atomically by core.io (temporary file, fsync, rename), so a failure never leaves a
    half-written file and readers never see one. Parent folders are created. Raises
    FileExistsError when `path` exists and `overwrite` is False (callers ask the user first),
    ValueError for an image that is not RGB uint8 or a destination that cannot be written.
    """
    from core.io import png_bytes

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        detail = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {detail}")
    return _write(png_bytes(image), path, overwrite)


def write_npy(values: np.ndarray, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write rendered values (H, W, 4 RGBA or H, W depth) to `path` as a float32 .npy file, as
    `write_png` writes (atomically; FileExistsError unless `overwrite`)."""
    from core.io import npy_bytes

    return _write(npy_bytes(values), path, overwrite)


def _write(payload: bytes, path: str | os.PathLike[str], overwrite: bool) -> Path:
    from core.io import write_bytes_atomically

    out = Path(path)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; not overwriting it")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(out, payload)
    return out


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 4, gap_value: int = 128) -> np.ndarray:
    """Two RGB uint8 images next to each other (top-aligned), separated by a grey gap."""
    height = max(left.shape[0], right.shape[0])
    out = np.full((height, left.shape[1] + gap + right.shape[1], 3), gap_value, dtype=np.uint8)
    out[: left.shape[0], : left.shape[1]] = left
    out[: right.shape[0], left.shape[1] + gap :] = right
    return out
