"""Phong, Gouraud and flat shading of rasterized meshes (world space), as PyTorch3D does them.

Each function returns per-fragment colours (N, H, W, K, 3):
`(ambient + diffuse) · texel + specular`, where ambient = material·light ambient colours,
diffuse/specular come from the lights (see lighting.py) scaled by the material colours.
Lights, materials and cameras have a batch of N (one per mesh) or 1.
"""
from __future__ import annotations

from typing import Any, Tuple

import torch

from .utils import interpolate_face_attributes


def _lighting_terms(
    points: torch.Tensor,
    normals: torch.Tensor,
    lights: Any,
    camera_position: torch.Tensor,
    materials: Any,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ambient, diffuse, specular) colours at `points` with `normals`, seen from `camera_position`."""
    light_diffuse = lights.diffuse(normals=normals, points=points)
    light_specular = lights.specular(
        normals=normals, points=points, camera_position=camera_position, shininess=materials.shininess
    )
    ambient_color = materials.ambient_color * lights.ambient_color
    mat_diffuse = _per_batch(materials.diffuse_color, light_diffuse)
    mat_specular = _per_batch(materials.specular_color, light_specular)
    diffuse_color = mat_diffuse * light_diffuse
    specular_color = mat_specular * light_specular
    # Packed inputs: a per-batch (1, 3) ambient broadcasts against (P, 3) as it is.
    return _per_batch(ambient_color, diffuse_color), diffuse_color, specular_color


def _per_batch(color: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """View a per-batch colour (B, 3) as (B, 1, ..., 1, 3) so it broadcasts against `like` (N, ..., 3)."""
    if color.dim() == like.dim():
        return color
    ones = [1] * (like.dim() - color.dim())
    return color.view(color.shape[0], *ones, *color.shape[1:])


def _apply_lighting(
    points: torch.Tensor, normals: torch.Tensor, lights: Any, cameras: Any, materials: Any
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ambient, diffuse, specular) colours for points/normals (N, ..., 3) or packed (P, 3).

    The viewer is at `cameras.get_camera_center()`; shininess comes from `materials`.
    """
    return _lighting_terms(points, normals, lights, cameras.get_camera_center(), materials)


def _check_fragments(meshes: Any, fragments: Any) -> None:
    if fragments.pix_to_face.dim() != 4:
        raise ValueError(
            f"fragments.pix_to_face must have shape (N, H, W, K); got {tuple(fragments.pix_to_face.shape)}"
        )
    n_faces = meshes.faces_packed().shape[0]
    if fragments.pix_to_face.numel() and int(fragments.pix_to_face.max()) >= n_faces:
        raise ValueError(
            f"fragments.pix_to_face refers to face {int(fragments.pix_to_face.max())} but the meshes have "
            f"only {n_faces} packed faces"
        )


def phong_shading(
    meshes: Any, fragments: Any, lights: Any, cameras: Any, materials: Any, texels: torch.Tensor
) -> torch.Tensor:
    """Per-pixel lighting: interpolate world positions and vertex normals, then light them.

    texels: (N, H, W, K, 3) surface colours (e.g. from `meshes.sample_textures`).
    Returns (N, H, W, K, 3).
    """
    _check_fragments(meshes, fragments)
    verts = meshes.verts_packed()  # (V, 3)
    faces = meshes.faces_packed()  # (F, 3)
    vertex_normals = meshes.verts_normals_packed()  # (V, 3)
    pixel_coords = interpolate_face_attributes(fragments.pix_to_face, fragments.bary_coords, verts[faces])
    pixel_normals = interpolate_face_attributes(fragments.pix_to_face, fragments.bary_coords, vertex_normals[faces])
    ambient, diffuse, specular = _apply_lighting(pixel_coords, pixel_normals, lights, cameras, materials)
    return (ambient + diffuse) * texels + specular


def _gather_batch(props: Any, batch_idx: torch.Tensor) -> Any:
    """A copy of `props` whose batch-N tensors are indexed per packed element (no-op for batch 1)."""
    if len(props) <= 1:
        return props
    return props.clone().gather_props(batch_idx)


def gouraud_shading(meshes: Any, fragments: Any, lights: Any, cameras: Any, materials: Any) -> torch.Tensor:
    """Per-vertex lighting, then interpolation of the shaded vertex colours across faces.

    Needs `meshes.textures` to be a TexturesVertex (its features are the vertex colours).
    Returns (N, H, W, K, C).
    """
    from .textures import TexturesVertex

    if not isinstance(meshes.textures, TexturesVertex):
        raise ValueError(
            f"gouraud_shading needs mesh textures of type TexturesVertex; got {type(meshes.textures).__name__}"
        )
    _check_fragments(meshes, fragments)
    faces = meshes.faces_packed()  # (F, 3)
    verts = meshes.verts_packed()  # (V, 3)
    verts_normals = meshes.verts_normals_packed()  # (V, 3)
    verts_colors = meshes.textures.verts_features_packed()  # (V, C)
    camera_position = cameras.get_camera_center()  # (N, 3) or (1, 3)

    # Lights, materials and cameras are per mesh; give every packed vertex its mesh's values.
    if len(lights) > 1 or len(materials) > 1 or camera_position.shape[0] > 1:
        vert_to_mesh = meshes.verts_packed_to_mesh_idx()
        lights = _gather_batch(lights, vert_to_mesh)
        materials = _gather_batch(materials, vert_to_mesh)
        if camera_position.shape[0] > 1:
            camera_position = camera_position[vert_to_mesh]

    ambient, diffuse, specular = _lighting_terms(verts, verts_normals, lights, camera_position, materials)
    verts_colors_shaded = verts_colors * (ambient + diffuse) + specular
    return interpolate_face_attributes(fragments.pix_to_face, fragments.bary_coords, verts_colors_shaded[faces])


def flat_shading(
    meshes: Any, fragments: Any, lights: Any, cameras: Any, materials: Any, texels: torch.Tensor
) -> torch.Tensor:
    """Per-face lighting with the face normal at the face centroid.

    texels: (N, H, W, K, 3). Returns (N, H, W, K, 3); empty fragments get a zero normal/position.
    """
    _check_fragments(meshes, fragments)
    verts = meshes.verts_packed()  # (V, 3)
    faces = meshes.faces_packed()  # (F, 3)
    face_normals = meshes.faces_normals_packed()  # (F, 3)
    face_coords = verts[faces].mean(dim=-2)  # (F, 3)

    mask = fragments.pix_to_face < 0
    idx = fragments.pix_to_face.clamp(min=0)
    pixel_coords = face_coords[idx].masked_fill(mask[..., None], 0.0)
    pixel_normals = face_normals[idx].masked_fill(mask[..., None], 0.0)
    ambient, diffuse, specular = _apply_lighting(pixel_coords, pixel_normals, lights, cameras, materials)
    return (ambient + diffuse) * texels + specular
