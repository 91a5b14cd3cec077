"""Differentiable mesh rendering with PyTorch3D's public names (import from here)."""
from .blending import (
    BlendParams,
    hard_rgb_blend,
    sigmoid_alpha_blend,
    softmax_rgb_blend,
)
from .cameras import (
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    look_at_rotation,
    look_at_view_transform,
)
from .lighting import AmbientLights, DirectionalLights, PointLights
from .materials import Materials
from .mesh.fragments import Fragments
from .mesh.rasterize_meshes import rasterize_meshes
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
from .mesh.textures import TexturesUV, TexturesVertex
from .mesh.utils import interpolate_face_attributes

__all__ = [
    "AmbientLights", "BlendParams", "DirectionalLights", "FoVOrthographicCameras", "FoVPerspectiveCameras",
    "Fragments", "HardFlatShader", "HardGouraudShader", "HardPhongShader", "Materials", "MeshRasterizer",
    "MeshRenderer", "MeshRendererWithFragments", "OrthographicCameras", "PerspectiveCameras", "PointLights",
    "RasterizationSettings", "SoftGouraudShader", "SoftPhongShader", "SoftSilhouetteShader", "TexturesUV",
    "TexturesVertex", "hard_rgb_blend", "interpolate_face_attributes", "look_at_rotation", "look_at_view_transform",
    "rasterize_meshes", "sigmoid_alpha_blend", "softmax_rgb_blend",
]
