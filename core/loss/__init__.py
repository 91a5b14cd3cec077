"""Losses with PyTorch3D's names: chamfer distance and mesh regularisers."""
from core.loss.chamfer import chamfer_distance
from core.loss.mesh_edge_loss import mesh_edge_loss
from core.loss.mesh_laplacian_smoothing import mesh_laplacian_smoothing
from core.loss.mesh_normal_consistency import mesh_normal_consistency

__all__ = ["chamfer_distance", "mesh_edge_loss", "mesh_laplacian_smoothing", "mesh_normal_consistency"]
