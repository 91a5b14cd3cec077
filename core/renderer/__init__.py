"""Differentiable mesh rendering with PyTorch3D's public names (import from here)."""
from .blending import (
    BlendParams,
    hard_rgb_blend,
    sigmoid_alpha_blend,
    silhouette_alpha_gradient,
    softmax_blend_shares,
    softmax_rgb_blend,
)
from .cameras import (
    CamerasBase,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    camera_position_from_spherical_angles,
    get_world_to_view_transform,
    look_at_rotation,
    look_at_view_transform,
)
from .lighting import AmbientLights, DirectionalLights, PointLights, diffuse, specular
from .materials import Materials
from .mesh.depth_shader import HardDepthShader, SoftDepthShader
from .mesh.fragments import Fragments
from .mesh.rasterize_meshes import MemoryBudgetError, rasterize_meshes
from .mesh.rasterizer import MeshRasterizer, RasterizationSettings
from .mesh.renderer import MeshRenderer, MeshRendererWithFragments
from .mesh.shader import (
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    SoftGouraudShader,
    SoftPhongShader,
    SoftSilhouetteShader,
)
from .mesh.shading import flat_shading, gouraud_shading, phong_shading
from .mesh.textures import TexturesAtlas, TexturesUV, TexturesVertex
from .mesh.utils import interpolate_face_attributes
from .utils import TensorProperties

__all__ = [
    "AmbientLights", "BlendParams", "CamerasBase", "DirectionalLights", "FoVOrthographicCameras",
    "FoVPerspectiveCameras", "Fragments", "HardDepthShader", "HardFlatShader", "HardGouraudShader",
    "HardPhongShader", "Materials", "MemoryBudgetError", "MeshRasterizer", "MeshRenderer", "MeshRendererWithFragments",
    "OrthographicCameras", "PerspectiveCameras", "PointLights", "RasterizationSettings", "SoftDepthShader",
    "SoftGouraudShader", "SoftPhongShader", "SoftSilhouetteShader", "TensorProperties", "TexturesAtlas", "TexturesUV",
    "TexturesVertex", "camera_position_from_spherical_angles", "diffuse", "flat_shading",
    "get_world_to_view_transform", "gouraud_shading", "hard_rgb_blend", "interpolate_face_attributes",
    "look_at_rotation", "look_at_view_transform", "phong_shading", "rasterize_meshes", "sigmoid_alpha_blend",
    "silhouette_alpha_gradient", "softmax_blend_shares", "softmax_rgb_blend", "specular",
]
