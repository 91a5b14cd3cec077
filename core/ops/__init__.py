"""Geometry operations with PyTorch3D's names: nearest neighbours, Laplacians, surface sampling."""
from core.ops.knn import KNN, knn_gather, knn_points
from core.ops.laplacian_matrices import cot_laplacian, laplacian, norm_laplacian
from core.ops.sample_points_from_meshes import sample_points_from_meshes
from core.renderer.mesh.utils import interpolate_face_attributes

__all__ = [
    "KNN", "cot_laplacian", "interpolate_face_attributes", "knn_gather", "knn_points", "laplacian",
    "norm_laplacian", "sample_points_from_meshes",
]
