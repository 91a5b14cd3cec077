"""Parse a mesh file with trimesh and turn what it finds into `MeshData` parts.

Every exception trimesh raises is turned into a MeshLoadError naming the file. A scene's parts
come back with their node transforms applied (trimesh's `Scene.dump`). Appearance per part:
- a texture image with per-vertex uvs (OBJ map_Kd, glTF baseColorTexture times
  baseColorFactor) becomes a UV texture;
- a material without usable image becomes its uniform colour (OBJ Kd, glTF baseColorFactor,
  white when a glTF material gives none), times the part's glTF vertex colours (COLOR_0) if it
  has them; uvs without any material give no colour (a texture image wins over COLOR_0:
  one mesh cannot hold both);
- vertex colours stay vertex colours; face colours are averaged onto the vertices (trimesh's
  conversion);
- anything else: no colour.
"""
from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import Any, List, Optional

import numpy as np
import trimesh
from trimesh.visual.material import PBRMaterial, SimpleMaterial, color_image

from .asset_resolver import AssetResolver
from .errors import MeshLoadError
from .formats import extension
from .mesh_data import MaterialColors, MeshData, UVTexture, check_geometry
from .obj_text import clean_obj_text


def read_parts(path: Path) -> List[MeshData]:
    """The triangle meshes in the file at `path` (one per scene instance), in scene order.

    Warns (UserWarning) for each file the mesh names that could not be found (an MTL, a
    texture image) or an image that cannot be decoded, since the mesh then loads without
    that material or texture.
    """
    fmt = extension(path)[1:].upper()
    resolver = AssetResolver(str(path))
    loaded = _trimesh_load(path, fmt, resolver)
    geometries = list(loaded.geometry.values()) if isinstance(loaded, trimesh.Scene) else [loaded]
    if fmt == "PLY":
        _check_ply_complete(path, geometries)
    for geometry in geometries:
        if isinstance(geometry, trimesh.Trimesh):
            check_geometry(np.asarray(geometry.vertices), np.asarray(geometry.faces), str(path), MeshLoadError)
            _keep_vertex_colors(geometry)
    try:
        instances = loaded.dump() if isinstance(loaded, trimesh.Scene) else [loaded]
    except Exception as exc:
        raise MeshLoadError(f"{path}: could not place the scene's parts ({_describe(exc)})") from None
    meshes = [g for g in instances if isinstance(g, trimesh.Trimesh) and len(g.faces) > 0]
    if not meshes:
        raise MeshLoadError(f"{path}: {_why_no_mesh(instances, fmt)}")
    try:
        parts = [_part_data(mesh) for mesh in meshes]
    except Exception as exc:  # malformed colours or materials surface only when trimesh converts them
        raise MeshLoadError(f"{path}: could not read the colours or texture ({_describe(exc)})") from None
    for name in resolver.missing:
        warnings.warn(f"{path}: cannot find {name!r}, which it refers to; loaded without it", stacklevel=4)
    for name in resolver.unreadable:
        warnings.warn(f"{path}: cannot decode the image {name!r}, which it refers to; loaded without it", stacklevel=4)
    return parts


def _trimesh_load(path: Path, fmt: str, resolver: AssetResolver) -> Any:
    """trimesh's reading of the file (OBJ text cleaned first, see core.io.obj_text); every
    exception becomes a MeshLoadError naming the file."""
    try:
        if path.stat().st_size == 0:
            raise MeshLoadError(f"{path}: the file is empty (0 bytes): it contains no geometry")
        source: Any = str(path)
        if fmt == "OBJ":
            source = io.BytesIO(clean_obj_text(path.read_bytes(), str(path), MeshLoadError))
    except OSError as exc:
        raise MeshLoadError(f"{path}: cannot read the file ({exc.strerror or _describe(exc)})") from None
    try:
        return trimesh.load(source, file_type=fmt.lower(), process=False, resolver=resolver)
    except IndexError as exc:
        if fmt == "OBJ":  # trimesh indexes its arrays with the faces' numbers as they stand
            raise MeshLoadError(
                f"{path}: a face refers to a vertex, texture coordinate or normal the file does not have "
                f"({_describe(exc)})"
            ) from None
        raise MeshLoadError(f"{path}: not a readable {fmt} file ({_describe(exc)})") from None
    except Exception as exc:  # trimesh raises anything from IndexError to NameError on bad input
        raise MeshLoadError(f"{path}: not a readable {fmt} file ({_describe(exc)})") from None


# A PLY header is a few hundred bytes; a file whose "end_header" is not within this is not one.
_PLY_HEADER_LIMIT = 65536
_PLY_ELEMENT = re.compile(rb"^element[ \t]+(vertex|face)[ \t]+(\d+)[ \t]*$", re.MULTILINE)


def _check_ply_complete(path: Path, geometries: List[Any]) -> None:
    """MeshLoadError when a PLY file holds fewer vertices or faces than its header declares:
    trimesh reads a truncated ASCII PLY as the part that is there, a mesh with faces missing.
    (Faces may come out more numerous than declared: polygons are split into triangles.)"""
    with open(path, "rb") as fh:
        head = fh.read(_PLY_HEADER_LIMIT)
    end = head.find(b"end_header")
    declared = {kind.decode(): int(count) for kind, count in _PLY_ELEMENT.findall(head[: max(end, 0)])}
    verts = sum(len(getattr(g, "vertices", ())) for g in geometries)
    faces = sum(len(getattr(g, "faces", ())) for g in geometries if isinstance(g, trimesh.Trimesh))
    for kind, found, short in (("vertex", verts, verts != declared.get("vertex", verts)),
                               ("face", faces, faces < declared.get("face", 0))):
        if short:
            raise MeshLoadError(
                f"{path}: its header declares {declared[kind]} {kind} records but {found} could be read: "
                "the file is truncated or damaged"
            )


def _article(fmt: str) -> str:
    """'an' before a format name said with a vowel sound (OBJ, OFF, STL: "an S-T-L"), else 'a'."""
    return "an" if fmt[:1] in "AEFHILMNORSX" else "a"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _why_no_mesh(instances: List[Any], fmt: str) -> str:
    """A user-facing explanation for a file that parsed but holds no triangles."""
    num_points = sum(len(g.vertices) for g in instances if hasattr(g, "vertices"))
    if not instances:
        return f"contains no geometry (an empty scene, or not {_article(fmt)} {fmt} mesh file)"
    if num_points and all(isinstance(g, (trimesh.Trimesh, trimesh.PointCloud)) for g in instances):
        return f"has {num_points} vertices but no faces: a point cloud, not a triangle mesh"
    kinds = sorted({type(g).__name__ for g in instances})
    return f"contains no triangle faces (found only {', '.join(kinds)})"


def _part_data(mesh: trimesh.Trimesh) -> MeshData:
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals):
        return _textured_part(verts, faces, visual, _vertex_attribute_colors(mesh))
    if isinstance(visual, trimesh.visual.ColorVisuals) and visual.kind in ("vertex", "face"):
        colors = np.asarray(visual.vertex_colors)[:, :3].astype(np.float32) / 255.0
        return MeshData(verts, faces, verts_colors=colors)
    return MeshData(verts, faces)


def _textured_part(
    verts: np.ndarray, faces: np.ndarray, visual: trimesh.visual.TextureVisuals, vertex_colors: Optional[np.ndarray]
) -> MeshData:
    material = visual.material
    if _is_placeholder(material):
        return MeshData(verts, faces, verts_colors=vertex_colors)
    data = _appearance(verts, faces, visual, vertex_colors)
    colors = _material_colors(material)
    if colors is not None:
        data.materials[str(material.name)] = colors
    return data


def _appearance(
    verts: np.ndarray, faces: np.ndarray, visual: trimesh.visual.TextureVisuals, vertex_colors: Optional[np.ndarray]
) -> MeshData:
    """The part with its material's image (and uvs), or its uniform colour times its vertex
    colours (glTF's rule), if it has either."""
    material = visual.material
    image = _material_image(material)
    uv = None if visual.uv is None else np.asarray(visual.uv, dtype=np.float64)
    if image is not None and uv is not None and uv.shape == (len(verts), 2):
        pixels = _rgb_pixels(image)
        factor = _base_color_factor(material)
        if factor is not None:
            pixels = pixels * factor
        name = getattr(material, "name", None) or ""
        return MeshData(verts, faces, uv_texture=UVTexture(pixels, uv, faces.copy(), name=str(name)))
    color = _material_color(material)
    if vertex_colors is not None:
        return MeshData(verts, faces, verts_colors=vertex_colors * (1.0 if color is None else color))
    if color is None:
        return MeshData(verts, faces)
    return MeshData(verts, faces, verts_colors=np.tile(color, (len(verts), 1)))


def _rgb_pixels(image: Any) -> np.ndarray:
    """A PIL image as (H, W, 3) float32 RGB in [0, 1]. Single-channel images of more than 8
    bits (16-bit PNG: modes I;16*, I; float: F) are scaled from their own range: PIL's RGB
    conversion would clip every value above 255 to white."""
    if image.mode.startswith("I;16") or image.mode == "I":
        grey = np.asarray(image, dtype=np.float32) / 65535.0
    elif image.mode == "F":
        grey = np.asarray(image, dtype=np.float32)
    else:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=2)


def _keep_vertex_colors(mesh: trimesh.Trimesh) -> None:
    """Copy a glTF part's COLOR_0 from its TextureVisuals to the mesh's own vertex attributes:
    trimesh keeps it on the visual when the part also has a material, and `Scene.dump`'s copies
    of the visual drop it."""
    colors = getattr(mesh.visual, "vertex_attributes", {}).get("color")
    if colors is not None:
        mesh.vertex_attributes["color"] = np.asarray(colors)


def _vertex_attribute_colors(mesh: trimesh.Trimesh) -> Optional[np.ndarray]:
    """A glTF part's COLOR_0 (see `_keep_vertex_colors`) as RGB in [0, 1], if it has one for
    every vertex; stored as float, or as normalized uint8 / uint16."""
    colors = mesh.vertex_attributes.get("color")
    count = len(mesh.vertices)
    if colors is None:
        return None
    colors = np.asarray(colors)
    if colors.ndim != 2 or colors.shape[0] != count or colors.shape[1] not in (3, 4):
        return None
    if np.issubdtype(colors.dtype, np.integer):
        return colors[:, :3].astype(np.float32) / float(np.iinfo(colors.dtype).max)
    return np.clip(colors[:, :3].astype(np.float32), 0.0, 1.0)


def _rgb01(values: Any) -> np.ndarray:
    """The RGB of a colour trimesh stores as uint8 (RGB or RGBA), in [0, 1]."""
    return np.asarray(values, dtype=np.float32)[:3] / 255.0


def _material_colors(material: Any) -> Optional[MaterialColors]:
    """A named OBJ (MTL) material's Ka, Kd, Ks and Ns; None for other materials."""
    if not isinstance(material, SimpleMaterial) or not getattr(material, "name", None):
        return None
    shininess = float(material.glossiness) if material.glossiness is not None else 0.0
    return MaterialColors(_rgb01(material.ambient), _rgb01(material.diffuse), _rgb01(material.specular), shininess)


def _material_image(material: Any) -> Optional[Any]:
    """The PIL image that colours the surface, if any."""
    if isinstance(material, PBRMaterial):
        return material.baseColorTexture
    if isinstance(material, SimpleMaterial):
        return material.image
    return None


def _is_placeholder(material: Any) -> bool:
    """Whether trimesh made this material up (uvs without a loaded material get a grey 2x2 image)."""
    image = _material_image(material)
    return isinstance(material, SimpleMaterial) and image is not None and np.array_equal(
        np.asarray(image), np.asarray(color_image())
    )


def _base_color_factor(material: Any) -> Optional[np.ndarray]:
    """A glTF material's RGB baseColorFactor in [0, 1] (trimesh stores it as uint8), if set."""
    if isinstance(material, PBRMaterial) and material.baseColorFactor is not None:
        return _rgb01(material.baseColorFactor)
    return None


def _material_color(material: Any) -> Optional[np.ndarray]:
    """The uniform RGB colour of a material without a usable image."""
    if isinstance(material, PBRMaterial):
        factor = _base_color_factor(material)
        return np.ones(3, dtype=np.float32) if factor is None else factor
    if isinstance(material, SimpleMaterial):
        return _rgb01(material.main_color)
    return None
