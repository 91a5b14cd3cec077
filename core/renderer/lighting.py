"""Light sources and the Phong reflection terms, following PyTorch3D's conventions.

Each light is a batch of N lights (a `TensorProperties`). Its `diffuse` and `specular` methods take
normals / points of shape (N, ..., 3) — any number of middle dimensions — or packed (P, 3); the
per-light (N, 3) properties are broadcast against them. Vectors are normalised with eps 1e-6, the
specular term is zero wherever n·l ≤ 0, and there is no distance falloff.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F

from core.utils.masks import float_mask

from .utils import Device, TensorProperties

_EPS = 1e-6


def _as_tensor(name: str, value: Any, device: torch.device) -> torch.Tensor:
    """Convert `value` to a tensor on `device` with at least one (batch) dimension."""
    if isinstance(value, torch.Tensor):
        t = value.to(device)
    else:
        try:
            t = torch.tensor(value, dtype=torch.float32, device=device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a number, a sequence or a tensor; got {type(value).__name__}") from exc
    return t.view(1) if t.dim() == 0 else t


def _broadcast_batch(names: Sequence[str], values: Sequence[Any], device: torch.device) -> list[torch.Tensor]:
    """Expand the leading (batch) dimension of every value to the largest one; each must be 1 or that size."""
    tensors = [_as_tensor(n, v, device) for n, v in zip(names, values)]
    sizes = [t.shape[0] for t in tensors]
    batch = max(sizes)
    out = []
    for name, t in zip(names, tensors):
        if t.shape[0] not in (1, batch):
            detail = ", ".join(f"{n}={s}" for n, s in zip(names, sizes))
            raise ValueError(f"cannot broadcast the leading (batch) dimension of {name}: got sizes {detail}")
        out.append(t.expand(batch, *t.shape[1:]))
    return out


def _check_last_dim(name: str, t: torch.Tensor) -> None:
    if t.dim() < 1 or t.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3); got {tuple(t.shape)}")


def _match(t: torch.Tensor, like: torch.Tensor, trailing: tuple[int, ...]) -> torch.Tensor:
    """View a per-batch tensor (B, *trailing) as (B, 1, ..., 1, *trailing) to broadcast against `like`."""
    if t.shape == like.shape:
        return t
    n_middle = like.dim() - 1 - len(trailing)
    if t.dim() != 1 + len(trailing):
        raise ValueError(f"cannot broadcast a tensor of shape {tuple(t.shape)} against {tuple(like.shape)}")
    return t.view(t.shape[0], *([1] * n_middle), *trailing)


def diffuse(normals: torch.Tensor, color: Any, direction: Any) -> torch.Tensor:
    """Lambertian term `color · relu(n̂·l̂)`.

    normals: (N, ..., 3) or packed (P, 3). color, direction: (N, 3) or (1, 3) — or the same shape
    as normals (e.g. a per-point direction towards a point light). Returns normals' shape.
    """
    if not isinstance(normals, torch.Tensor):
        raise TypeError("normals must be a tensor")
    _check_last_dim("normals", normals)
    normals, color, direction = _broadcast_batch(
        ("normals", "color", "direction"), (normals, color, direction), normals.device
    )
    _check_last_dim("color", color)
    _check_last_dim("direction", direction)
    direction = _match(direction, normals, (3,))
    color = _match(color, normals, (3,))
    normals = F.normalize(normals, p=2, dim=-1, eps=_EPS)
    direction = F.normalize(direction, p=2, dim=-1, eps=_EPS)
    angle = F.relu(torch.sum(normals * direction, dim=-1))
    return color * angle[..., None]


def specular(
    points: torch.Tensor,
    normals: torch.Tensor,
    direction: Any,
    color: Any,
    camera_position: Any,
    shininess: Any,
) -> torch.Tensor:
    """Phong specular term `color · (relu(v̂·r) · [n̂·l̂ > 0])^shininess`, r = −l̂ + 2(n̂·l̂)n̂.

    points, normals: same shape, (N, ..., 3) or packed (P, 3). direction, color, camera_position:
    (N, 3) / (1, 3) or normals' shape; shininess: (N,) / (1,) or a scalar. v̂ points from each point
    to the camera. Returns normals' shape.
    """
    if not isinstance(points, torch.Tensor) or not isinstance(normals, torch.Tensor):
        raise TypeError("points and normals must be tensors")
    if points.shape != normals.shape:
        raise ValueError(
            f"points and normals must have the same shape; got {tuple(points.shape)} and {tuple(normals.shape)}"
        )
    _check_last_dim("normals", normals)
    points, color, direction, camera_position, shininess, normals = _broadcast_batch(
        ("points", "color", "direction", "camera_position", "shininess", "normals"),
        (points, color, direction, camera_position, shininess, normals),
        points.device,
    )
    _check_last_dim("color", color)
    _check_last_dim("direction", direction)
    _check_last_dim("camera_position", camera_position)
    direction = _match(direction, normals, (3,))
    color = _match(color, normals, (3,))
    camera_position = _match(camera_position, normals, (3,))
    if shininess.shape != normals.shape[:-1]:
        shininess = _match(shininess, normals[..., 0], ())

    normals = F.normalize(normals, p=2, dim=-1, eps=_EPS)
    direction = F.normalize(direction, p=2, dim=-1, eps=_EPS)
    cos_angle = torch.sum(normals * direction, dim=-1)
    # No highlight on the side facing away from the light.
    mask = float_mask(cos_angle > 0, cos_angle.dtype)
    view_direction = F.normalize(camera_position - points, p=2, dim=-1, eps=_EPS)
    reflect_direction = -direction + 2 * (cos_angle[..., None] * normals)
    alpha = F.relu(torch.sum(view_direction * reflect_direction, dim=-1)) * mask
    return color * torch.pow(alpha, shininess)[..., None]


def _validate_light_properties(obj: TensorProperties, names: Sequence[str]) -> None:
    for name in names:
        t = getattr(obj, name)
        if t.dim() < 2 or t.shape[-1] != 3:
            raise ValueError(f"{type(obj).__name__}: expected {name} to have shape (N, 3); got {tuple(t.shape)}")


class _DirectedLights(TensorProperties):
    """Lights with a direction towards the light at each lit point (`_direction(points)`)."""

    def _direction(self, points: Optional[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def diffuse(self, normals: torch.Tensor, points: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Diffuse colour at each normal (and point, for lights that have a position)."""
        return diffuse(normals=normals, color=self.diffuse_color, direction=self._direction(points))

    def specular(
        self, normals: torch.Tensor, points: torch.Tensor, camera_position: Any, shininess: Any
    ) -> torch.Tensor:
        """Specular colour at each point seen from `camera_position`."""
        return specular(
            points=points,
            normals=normals,
            direction=self._direction(points),
            color=self.specular_color,
            camera_position=camera_position,
            shininess=shininess,
        )


class DirectionalLights(_DirectedLights):
    """A batch of directional lights: light arrives along `direction` (pointing towards the light)."""

    def __init__(
        self,
        ambient_color: Any = ((0.5, 0.5, 0.5),),
        diffuse_color: Any = ((0.3, 0.3, 0.3),),
        specular_color: Any = ((0.2, 0.2, 0.2),),
        direction: Any = ((0, 1, 0),),
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device,
            ambient_color=ambient_color,
            diffuse_color=diffuse_color,
            specular_color=specular_color,
            direction=direction,
        )
        _validate_light_properties(self, ("ambient_color", "diffuse_color", "specular_color", "direction"))

    def _direction(self, points: Optional[torch.Tensor]) -> torch.Tensor:
        return self.direction


class PointLights(_DirectedLights):
    """A batch of point lights at `location`; no distance falloff."""

    def __init__(
        self,
        ambient_color: Any = ((0.5, 0.5, 0.5),),
        diffuse_color: Any = ((0.3, 0.3, 0.3),),
        specular_color: Any = ((0.2, 0.2, 0.2),),
        location: Any = ((0, 1, 0),),
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device,
            ambient_color=ambient_color,
            diffuse_color=diffuse_color,
            specular_color=specular_color,
            location=location,
        )
        _validate_light_properties(self, ("ambient_color", "diffuse_color", "specular_color", "location"))

    def reshape_location(self, points: torch.Tensor) -> torch.Tensor:
        """View location (N, 3) as (N, 1, ..., 1, 3) to broadcast against points (N, ..., 3)."""
        if self.location.dim() == points.dim():
            return self.location
        if self.location.dim() != 2:
            raise ValueError(
                f"cannot broadcast location of shape {tuple(self.location.shape)} against points "
                f"of shape {tuple(points.shape)}"
            )
        return self.location.view(self.location.shape[0], *([1] * (points.dim() - 2)), 3)

    def _direction(self, points: Optional[torch.Tensor]) -> torch.Tensor:
        if points is None:
            raise ValueError("PointLights needs the points being lit to compute light directions")
        _check_last_dim("points", points)
        return self.reshape_location(points) - points

class AmbientLights(TensorProperties):
    """Ambient light only: diffuse and specular terms are zero."""

    def __init__(self, *, ambient_color: Any = None, device: Device = "cpu") -> None:
        if ambient_color is None:
            ambient_color = ((1.0, 1.0, 1.0),)
        super().__init__(
            device=device,
            ambient_color=ambient_color,
            diffuse_color=((0.0, 0.0, 0.0),),
            specular_color=((0.0, 0.0, 0.0),),
        )
        _validate_light_properties(self, ("ambient_color",))

    def _zeros_channels(self, points: torch.Tensor) -> torch.Tensor:
        return torch.zeros(
            *points.shape[:-1], self.ambient_color.shape[-1], dtype=points.dtype, device=points.device
        )

    def diffuse(self, normals: torch.Tensor, points: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Zeros shaped like the points (or normals when points are not given)."""
        return self._zeros_channels(normals if points is None else points)

    def specular(
        self, normals: torch.Tensor, points: torch.Tensor, camera_position: Any, shininess: Any
    ) -> torch.Tensor:
        """Zeros shaped like the points."""
        return self._zeros_channels(points)
