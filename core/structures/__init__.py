"""Batched data structures (PyTorch3D-compatible): Meshes and batch joining."""
from core.structures.meshes import Meshes, join_meshes_as_batch

__all__ = ["Meshes", "join_meshes_as_batch"]
