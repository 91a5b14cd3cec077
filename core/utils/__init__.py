"""Mesh construction helpers (PyTorch3D-compatible)."""
from core.utils.ico_sphere import ico_sphere

__all__ = ["ico_sphere"]
