"""Settings -> core objects (cameras, lights, materials, raster settings, blend params, shaders).

The only place that maps the UI's parameter values to `core`. No Qt, no rendering math: it
only chooses which core classes to build and with which arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import astuple

import torch

from core.fitting import blur_radius_from_sigma
from core.renderer import (
    AmbientLights,
    BlendParams,
    DirectionalLights,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    HardDepthShader,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    Materials,
    MemoryBudgetError,
    PointLights,
    RasterizationSettings,
    SoftDepthShader,
    SoftGouraudShader,
    SoftPhongShader,
    SoftSilhouetteShader,
    look_at_view_transform,
)
from core.renderer.mesh.rasterize_meshes import format_bytes
from core.renderer.mesh.rasterizer import resolve_z_clip

from .parameters import DERIVE_BLUR_EPS, HARD_SHADERS, SOFT_SHADERS, Settings, param

PANES = ("soft", "hard")
SHADER_CHOICES = {"soft": SOFT_SHADERS, "hard": HARD_SHADERS}
SILHOUETTE = "Silhouette"


def shader_name(settings: Settings, pane: str) -> str:
    """The shader chosen for `pane` ("soft" or "hard")."""
    if pane not in PANES:
        raise ValueError(f"pane must be one of {PANES}, got {pane!r}")
    return settings[f"pane.{pane}_shader"]


def derived_blur_radius(sigma: float) -> float:
    """log(1/eps - 1) * sigma with eps = DERIVE_BLUR_EPS (PyTorch3D's tutorials)."""
    return blur_radius_from_sigma(sigma, DERIVE_BLUR_EPS)


def effective_blur_radius(settings: Settings) -> float:
    """The soft pane's blur radius: derived from sigma when asked, else the typed value."""
    if settings["raster.derive_blur"]:
        return derived_blur_radius(settings["blend.sigma"])
    return settings["raster.blur_radius"]


def raster_settings(settings: Settings, pane: str) -> RasterizationSettings:
    """The RasterizationSettings of `pane`. The hard pane uses blur 0 and one face per pixel
    unless raster.hard_uses_soft is on."""
    soft_like = pane == "soft" or settings["raster.hard_uses_soft"]
    perspective = {"auto": None, "on": True, "off": False}[settings["raster.perspective_correct"]]
    return RasterizationSettings(
        image_size=settings["raster.image_size"],
        blur_radius=effective_blur_radius(settings) if soft_like else 0.0,
        faces_per_pixel=settings["raster.faces_per_pixel"] if soft_like else 1,
        perspective_correct=perspective,
        cull_backfaces=settings["raster.cull_backfaces"],
        max_memory_bytes=settings["raster.memory_budget_mb"] * 1024 * 1024,
    )


def blend_params(settings: Settings) -> BlendParams:
    return BlendParams(
        sigma=settings["blend.sigma"], gamma=settings["blend.gamma"], background_color=settings["blend.background"]
    )


def orthographic_half_height(settings: Settings) -> float:
    """Half the visible height of the orthographic view: what the perspective view shows at the
    camera distance, so switching projection keeps the object's size."""
    return settings["camera.distance"] * math.tan(math.radians(settings["camera.fov"]) / 2)


def build_cameras(settings: Settings, device: torch.device):
    """A look-at camera orbiting the origin (distance, elevation, azimuth in degrees)."""
    R, T = look_at_view_transform(
        dist=settings["camera.distance"],
        elev=settings["camera.elevation"],
        azim=settings["camera.azimuth"],
        device=device,
    )
    # znear/zfar default to PyTorch3D's (1, 100): the soft blend normalises depth with them, so
    # gamma means what it means in PyTorch3D scripts; znear / 2 is also where perspective-correct
    # rasterization clips (see near_clip).
    depth_range = {"znear": settings["camera.znear"], "zfar": settings["camera.zfar"]}
    if settings["camera.projection"] == "orthographic":
        h = orthographic_half_height(settings)
        return FoVOrthographicCameras(max_y=h, min_y=-h, max_x=h, min_x=-h, R=R, T=T, device=device, **depth_range)
    return FoVPerspectiveCameras(fov=settings["camera.fov"], R=R, T=T, device=device, **depth_range)


def near_clip(settings: Settings, pane: str) -> float | None:
    """The view depth `pane`'s rasterizer clips geometry at (core decides), or None."""
    return resolve_z_clip(raster_settings(settings, pane), build_cameras(settings, torch.device("cpu")))


def build_lights(settings: Settings, device: torch.device):
    kind = settings["light.type"]
    colours = {
        "ambient_color": (settings["light.ambient"],),
        "diffuse_color": (settings["light.diffuse"],),
        "specular_color": (settings["light.specular"],),
    }
    if kind == "ambient":
        return AmbientLights(ambient_color=colours["ambient_color"], device=device)
    if kind == "directional":
        return DirectionalLights(direction=(settings["light.direction"],), device=device, **colours)
    return PointLights(location=(settings["light.location"],), device=device, **colours)


def build_materials(settings: Settings, device: torch.device) -> Materials:
    return Materials(
        ambient_color=(settings["material.ambient"],),
        diffuse_color=(settings["material.diffuse"],),
        specular_color=(settings["material.specular"],),
        shininess=settings["material.shininess"],
        device=device,
    )


_SHADER_CLASSES: dict[str, Callable[..., torch.nn.Module]] = {
    "Soft Phong": SoftPhongShader,
    "Soft Gouraud": SoftGouraudShader,
    "Hard Phong": HardPhongShader,
    "Hard Gouraud": HardGouraudShader,
    "Hard Flat": HardFlatShader,
    "Soft Depth": SoftDepthShader,
    "Hard Depth": HardDepthShader,
    SILHOUETTE: SoftSilhouetteShader,
}


def shader_class(name: str) -> Callable[..., torch.nn.Module]:
    """The core shader class of a shader choice."""
    return _SHADER_CLASSES[name]


def build_shader(settings: Settings, pane: str, device: torch.device, cameras=None) -> torch.nn.Module:
    """The pane's shader with this scene's cameras (`cameras` when the caller has built them),
    lights, materials and blend parameters."""
    name = shader_name(settings, pane)
    if name == SILHOUETTE:  # it takes only blend parameters
        return SoftSilhouetteShader(blend_params=blend_params(settings))
    return shader_class(name)(
        device=device,
        cameras=build_cameras(settings, device) if cameras is None else cameras,
        lights=build_lights(settings, device),
        materials=build_materials(settings, device),
        blend_params=blend_params(settings),
    )


def fragments_key(settings: Settings, pane: str) -> tuple:
    """What a pane's fragments depend on (besides the mesh): camera and its raster settings."""
    return (settings.group("camera"), astuple(raster_settings(settings, pane)))


def image_key(settings: Settings, pane: str) -> tuple:
    """What a pane's image depends on (besides the mesh): its fragments plus what its shader
    reads. The silhouette reads sigma only; hard shaders read the background but not sigma or
    gamma; soft shaded ones read all blend parameters. Lights and materials matter unless the
    shader is the silhouette or a depth map (the soft one reads sigma, both the camera's zfar,
    which the fragments' key holds)."""
    name = shader_name(settings, pane)
    if name == "Hard Depth":
        reads: tuple = ()
    elif name in (SILHOUETTE, "Soft Depth"):
        reads = (settings["blend.sigma"],)
    elif name in HARD_SHADERS:
        reads = (settings["blend.background"], settings.group("light", "material"))
    else:
        reads = (settings.group("blend"), settings.group("light", "material"))
    return (fragments_key(settings, pane), name, reads)


def over_budget_message(error: MemoryBudgetError, k_is_setting: bool = True) -> str:
    """Core's refusal of a render over the memory budget, in the window's own words: the
    controls to lower or raise are named by their labels in the Rasterization panel, not by the
    RasterizationSettings fields core's message names. k_is_setting=False for a render whose
    faces per pixel is not the panel's (Find K's), which leaves only the image size to lower."""
    h, w = error.image_size
    need, budget = format_bytes(error.need_bytes), format_bytes(error.budget_bytes)
    k, size, limit = (param(key).label for key in ("raster.faces_per_pixel", "raster.image_size", "raster.memory_budget_mb"))
    lower = f"{k} or {size}" if k_is_setting else size
    return (f"{h}×{w} px at {error.faces_per_pixel} faces per pixel needs about {need} for its fragments, over the "
            f"{budget} memory budget: lower {lower}, or raise {limit} (Rasterization panel)")
