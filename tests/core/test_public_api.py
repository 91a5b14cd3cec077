"""PyTorch3D code ports by replacing `pytorch3d.` with `core.`: the names its tutorials and
the issue use must import from the same module paths."""
from __future__ import annotations

import importlib

import pytest

NAMES = {
    "core.renderer": [
        "FoVPerspectiveCameras", "FoVOrthographicCameras", "PerspectiveCameras", "OrthographicCameras",
        "CamerasBase", "look_at_view_transform", "look_at_rotation", "camera_position_from_spherical_angles",
        "get_world_to_view_transform", "RasterizationSettings", "MeshRasterizer", "rasterize_meshes",
        "HardPhongShader", "SoftPhongShader", "HardGouraudShader", "SoftGouraudShader", "HardFlatShader",
        "SoftSilhouetteShader", "HardDepthShader", "SoftDepthShader", "MeshRenderer", "MeshRendererWithFragments", "BlendParams", "hard_rgb_blend",
        "softmax_rgb_blend", "sigmoid_alpha_blend", "silhouette_alpha_gradient", "AmbientLights", "PointLights", "DirectionalLights",
        "diffuse", "specular", "Materials", "TexturesVertex", "TexturesUV", "TexturesAtlas", "phong_shading", "gouraud_shading",
        "flat_shading", "interpolate_face_attributes", "TensorProperties",
    ],
    "core.renderer.mesh.rasterizer": ["MeshRasterizer", "RasterizationSettings"],
    "core.renderer.mesh.fragments": ["Fragments"],
    "core.structures": ["Meshes", "join_meshes_as_batch", "join_meshes_as_scene"],
    "core.utils": ["ico_sphere", "cameras_from_opencv_projection", "opencv_from_cameras_projection"],
    "core.io": ["load_obj", "load_objs_as_meshes", "save_obj", "save_ply"],
    "core.loss": ["chamfer_distance", "mesh_edge_loss", "mesh_laplacian_smoothing", "mesh_normal_consistency"],
    "core.ops": ["sample_points_from_meshes", "knn_points", "knn_gather", "interpolate_face_attributes"],
    "core.transforms": ["Transform3d", "Translate", "Rotate", "RotateAxisAngle", "Scale"],
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_pytorch3d_names_import(module):
    imported = importlib.import_module(module)
    missing = [name for name in NAMES[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lacks {missing}"
