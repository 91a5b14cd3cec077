"""Phong shading of a flat list of fragments, written for speed on the CPU.

`phong_shading` follows PyTorch3D's layout: (N, H, W, K, 3) tensors whose dot products and
normalisations reduce over a last dimension of size 3, which PyTorch runs several times slower
than plain elementwise arithmetic. Here each vector is three 1-D component tensors (structure of
arrays), so the same formulas run as a handful of elementwise ops per fragment, forward and
backward. The values are PyTorch3D's Phong model (ambient + diffuse + reflection-based
specular, no falloff, eps 1e-6 normalisation); they agree with `phong_shading` to float
rounding. Only point and directional lights take this path; shaders fall back to
`phong_shading` for any other light class.
"""
from __future__ import annotations

from typing import Any, Tuple

import torch

from core.utils.masks import float_mask

from ..lighting import DirectionalLights, PointLights
from .sparse_rows import corner_weights, face_runs, in_face_order

_EPS = 1e-6

Vec = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def supports_packed_phong(lights: Any) -> bool:
    """Whether `packed_phong_colors` can light with `lights` (exact types, not subclasses)."""
    return type(lights) in (PointLights, DirectionalLights)


def _per_fragment(prop: torch.Tensor, image: torch.Tensor) -> Vec:
    """A per-image (N or 1, 3) property as three (M,) components for fragments of `image`."""
    rows = prop if prop.shape[0] == 1 else prop.index_select(0, image)
    return rows[:, 0].expand(image.shape), rows[:, 1].expand(image.shape), rows[:, 2].expand(image.shape)


def interpolate_face_values(table: torch.Tensor, face: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
    """Barycentric interpolation at M fragments of per-corner values: table (3F, C) holds corner i
    of face f in row 3f + i; face (M,) and bary (M, 3) say where each fragment lies. Returns
    (C, M), one contiguous row per channel, ready for structure-of-arrays arithmetic. Stack
    several attributes into one table to interpolate them in one pass."""
    return _FaceInterpolation.apply(table, face, bary)


class _FaceInterpolation(torch.autograd.Function):
    """Interpolation as sparse products (see sparse_rows), forward and backward.

    forward: out = (W @ table)^T with W = corner_weights (M, 3F). backward: d table = W^T @ grad,
    built per corner from each face's run of fragments when they come in packed-face order (as
    the rasterizer's do), else by index_add; d bary[m, i] = grad[m] . table[3 face[m] + i], a
    sampled product on W's pattern.
    """

    @staticmethod
    def forward(ctx, table, face, bary):  # type: ignore[override]
        weights = corner_weights(face, bary, table.shape[0] // 3)
        ctx.save_for_backward(table, face, bary)
        ctx.weights = weights  # its pattern serves the barycentric gradient
        return _transposed(weights @ table)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        table, face, bary = ctx.saved_tensors
        num_faces = table.shape[0] // 3
        grad = _transposed(grad)  # (M, C)
        grad_table = grad_bary = None
        if ctx.needs_input_grad[0]:
            if in_face_order(face):
                corner_bary = _transposed(bary)  # (3, M): each corner's weights, contiguous
                per_corner = [runs @ grad for runs in face_runs(face, num_faces, *corner_bary)]
                grad_table = torch.stack(per_corner, dim=1).reshape(table.shape)
            else:
                grad_table = torch.zeros_like(table)
                for i in range(3):
                    grad_table.index_add_(0, 3 * face + i, grad * bary[:, i : i + 1])
        if ctx.needs_input_grad[2]:
            # beta = 0: W's values only mark where to sample grad @ table^T.
            grad_bary = torch.sparse.sampled_addmm(ctx.weights, grad, table.t(), beta=0.0).values().view(bary.shape)
        return grad_table, None, grad_bary


def _transposed(x: torch.Tensor) -> torch.Tensor:
    """x.t() as a contiguous tensor. Copying into the transposed view of a new tensor runs about
    twice as fast on the CPU as x.t().contiguous(), which reads with the long stride."""
    out = x.new_empty(x.shape[1], x.shape[0])
    out.t().copy_(x)
    return out


def _dot(a: Vec, b: Vec) -> torch.Tensor:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _normalize(a: Vec) -> Vec:
    length = torch.sqrt(_dot(a, a)).clamp_min(_EPS)
    return a[0] / length, a[1] / length, a[2] / length


def packed_phong_colors(
    points: Vec,
    normals: Vec,
    image: torch.Tensor,
    texels: Vec,
    lights: Any,
    cameras: Any,
    materials: Any,
) -> torch.Tensor:
    """Phong colours (M, 3) of M fragments.

    points, normals: the (M,) x, y, z components of interpolated world positions and
    (unnormalised) normals; image: (M,) batch element; texels: the (M,) r, g, b surface colours.
    Lights must satisfy `supports_packed_phong`.
    """
    normals = _normalize(normals)

    if isinstance(lights, PointLights):
        location = _per_fragment(lights.location, image)
        to_light = _normalize((location[0] - points[0], location[1] - points[1], location[2] - points[2]))
    else:
        to_light = _normalize(_per_fragment(lights.direction, image))
    cos_angle = _dot(normals, to_light)

    eye = _per_fragment(cameras.get_camera_center(), image)
    to_eye = _normalize((eye[0] - points[0], eye[1] - points[1], eye[2] - points[2]))
    reflect = tuple(2 * cos_angle * n - l for n, l in zip(normals, to_light))
    lit_side = float_mask(cos_angle > 0, cos_angle.dtype)
    alpha = torch.relu(_dot(to_eye, reflect)) * lit_side  # type: ignore[arg-type]
    shininess = materials.shininess
    shininess = shininess if shininess.shape[0] == 1 else shininess.index_select(0, image)
    highlight = torch.pow(alpha, shininess)
    diffuse_angle = torch.relu(cos_angle)

    ambient = _per_fragment(materials.ambient_color * lights.ambient_color, image)
    diffuse = _per_fragment(materials.diffuse_color * lights.diffuse_color, image)
    specular = _per_fragment(materials.specular_color * lights.specular_color, image)
    channels = [
        (ambient[c] + diffuse[c] * diffuse_angle) * texels[c] + specular[c] * highlight for c in range(3)
    ]
    return torch.stack(channels, dim=1)
