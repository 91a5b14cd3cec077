"""Argument checking shared by the save functions: destination paths, tensors, number formats."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .errors import MeshSaveError


def save_path(f: Any) -> Path:
    """`f` as a Path; saving needs a path (not an open file) to write atomically beside it."""
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"expected a file path (str or os.PathLike) to save to; got {type(f).__name__}")
    return Path(f)


def tensor_rows(value: Any, name: str, columns: int, where: str, *, integer: bool = False) -> np.ndarray:
    """A tensor (N, columns) as a numpy array; an empty tensor of any shape gives (0, columns)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor; got {type(value).__name__}")
    if value.is_complex() or value.dtype == torch.bool:
        raise MeshSaveError(f"{where}: {name} must hold real numbers; got dtype {value.dtype}")
    if integer and value.is_floating_point():
        raise MeshSaveError(f"{where}: {name} must be an integer (index) tensor; got dtype {value.dtype}")
    if value.numel() == 0:
        return np.zeros((0, columns), dtype=np.int64 if integer else np.float64)
    if value.dim() != 2 or value.shape[1] != columns:
        raise MeshSaveError(f"{where}: {name} must be empty or of shape (N, {columns}); got {tuple(value.shape)}")
    array = value.detach().cpu().numpy()
    return array.astype(np.int64) if integer else array.astype(np.float64)


def float_format(decimal_places: Optional[int], where: str) -> str:
    """printf format for coordinates: '%f' by default, as PyTorch3D writes them."""
    if decimal_places is None:
        return "%f"
    if not isinstance(decimal_places, int) or isinstance(decimal_places, bool) or decimal_places < 0:
        raise MeshSaveError(f"{where}: decimal_places must be a non-negative int or None; got {decimal_places!r}")
    return f"%.{decimal_places}f"


def colors_to_uint8(colors: np.ndarray) -> np.ndarray:
    """Colours in [0, 1] (clamped) rounded to 8 bits."""
    return np.round(np.clip(colors, 0.0, 1.0) * 255.0).astype(np.uint8)
