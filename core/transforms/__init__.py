"""Batched 3D transforms (PyTorch3D-compatible, row-vector convention)."""
from .transform3d import Rotate, RotateAxisAngle, Scale, Transform3d, Translate

__all__ = ["Transform3d", "Translate", "Rotate", "RotateAxisAngle", "Scale"]
