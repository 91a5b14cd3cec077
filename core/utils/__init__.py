"""Mesh construction helpers (PyTorch3D-compatible) and process settings for applications."""
from core.utils.allocator import keep_freed_memory
from core.utils.ico_sphere import ico_sphere

__all__ = ["ico_sphere", "keep_freed_memory"]
