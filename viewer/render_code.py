"""A pane's renderer as Python source: tune σ, γ, K and the rest here, then paste the settings
into a PyTorch3D (or RasterLab `core`) script.

The source is written from the same objects the pane renders with (`scene_builder`), so it
builds that renderer exactly: the tests execute it and compare its image with the pane's.
No Qt here.
"""

from __future__ import annotations

from .parameters import Settings
from .scene_builder import (
    blend_params,
    orthographic_half_height,
    raster_settings,
    shader_class,
    shader_name,
)

# The packages the source can import from, and their names in menus.
PACKAGES = {"pytorch3d": "PyTorch3D", "core": "RasterLab core"}


def render_code(settings: Settings, pane: str, package: str = "pytorch3d") -> str:
    """Python that builds `pane`'s renderer (cameras, lights, materials, raster settings, blend
    parameters, shader) with these settings, importing from `package` ("pytorch3d" or "core";
    core's code also carries the memory budget, a setting PyTorch3D does not have)."""
    if package not in PACKAGES:
        raise ValueError(f"package must be one of {tuple(PACKAGES)}, got {package!r}")
    name = shader_name(settings, pane)
    shader = shader_class(name).__name__
    camera_class, camera_lines = _cameras(settings)
    light_class, light_lines = _lights(settings)
    imports = sorted({"BlendParams", "Materials", "MeshRasterizer", "MeshRenderer", "RasterizationSettings",
                      "look_at_view_transform", camera_class, light_class, shader})
    lines = [
        f"# RasterLab: the {pane} pane's renderer ({name}). The application centres each mesh and",
        "# scales it to the unit sphere before rendering: do the same to see the same picture.",
        "import torch",
        f"from {package}.renderer import (",
        *(f"    {item}," for item in imports),
        ")",
        "",
        'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")',
        *camera_lines,
        *light_lines,
        *_materials(settings),
        *_blend(settings),
        *_raster(settings, pane, package),
        "renderer = MeshRenderer(",
        "    rasterizer=MeshRasterizer(cameras=cameras, raster_settings=raster_settings),",
        f"    shader={_shader_call(shader)},",
        ")",
        "# images = renderer(meshes)",
    ]
    if "Gouraud" in shader:
        lines.append("# Gouraud shading reads vertex colours: give the meshes TexturesVertex (PyTorch3D's rule).")
    return "\n".join(lines) + "\n"


def _vector(values) -> str:
    return "(" + ", ".join(repr(float(v)) for v in values) + ")"


def _batch(values) -> str:
    """A batch of one vector, as PyTorch3D's constructors take it: ((x, y, z),)."""
    return f"({_vector(values)},)"


def _cameras(settings: Settings) -> tuple[str, list[str]]:
    look = (f"R, T = look_at_view_transform(dist={settings['camera.distance']!r}, elev={settings['camera.elevation']!r}, "
            f"azim={settings['camera.azimuth']!r}, device=device)")
    depth = f"znear={settings['camera.znear']!r}, zfar={settings['camera.zfar']!r}"
    if settings["camera.projection"] == "orthographic":
        h = orthographic_half_height(settings)
        extent = f"min_x={-h!r}, max_x={h!r}, min_y={-h!r}, max_y={h!r}"
        return "FoVOrthographicCameras", [look, f"cameras = FoVOrthographicCameras({extent}, {depth}, R=R, T=T, device=device)"]
    return "FoVPerspectiveCameras", [look, f"cameras = FoVPerspectiveCameras(fov={settings['camera.fov']!r}, {depth}, R=R, T=T, device=device)"]


def _lights(settings: Settings) -> tuple[str, list[str]]:
    kind = settings["light.type"]
    ambient = f"ambient_color={_batch(settings['light.ambient'])}"
    if kind == "ambient":
        return "AmbientLights", [f"lights = AmbientLights({ambient}, device=device)"]
    colours = f"{ambient}, diffuse_color={_batch(settings['light.diffuse'])}, specular_color={_batch(settings['light.specular'])}"
    if kind == "directional":
        return "DirectionalLights", [f"lights = DirectionalLights(direction={_batch(settings['light.direction'])}, {colours}, device=device)"]
    return "PointLights", [f"lights = PointLights(location={_batch(settings['light.location'])}, {colours}, device=device)"]


def _materials(settings: Settings) -> list[str]:
    colours = ", ".join(f"{part}_color={_batch(settings[f'material.{part}'])}" for part in ("ambient", "diffuse", "specular"))
    return [f"materials = Materials({colours}, shininess={settings['material.shininess']!r}, device=device)"]


def _blend(settings: Settings) -> list[str]:
    params = blend_params(settings)
    return [f"blend_params = BlendParams(sigma={params.sigma!r}, gamma={params.gamma!r}, "
            f"background_color={_vector(params.background_color)})"]


def _raster(settings: Settings, pane: str, package: str) -> list[str]:
    rs = raster_settings(settings, pane)
    fields = [f"image_size={rs.image_size!r}", f"blur_radius={rs.blur_radius!r}", f"faces_per_pixel={rs.faces_per_pixel!r}",
              f"perspective_correct={rs.perspective_correct!r}", f"cull_backfaces={rs.cull_backfaces!r}"]
    if package == "core":
        fields.append(f"max_memory_bytes={rs.max_memory_bytes!r}")
    return ["raster_settings = RasterizationSettings(", *(f"    {field}," for field in fields), ")"]


def _shader_call(shader: str) -> str:
    if shader == "SoftSilhouetteShader":
        return "SoftSilhouetteShader(blend_params=blend_params)"
    return f"{shader}(device=device, cameras=cameras, lights=lights, materials=materials, blend_params=blend_params)"
