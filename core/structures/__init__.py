"""Batched data structures (PyTorch3D-compatible): Meshes and batch / scene joining."""
from core.structures.meshes import Meshes, join_meshes_as_batch, join_meshes_as_scene

__all__ = ["Meshes", "join_meshes_as_batch", "join_meshes_as_scene"]
