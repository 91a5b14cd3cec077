"""Surface reflectance (Phong material) properties, following PyTorch3D's `Materials`."""
from __future__ import annotations

from typing import Any

from .utils import Device, TensorProperties


class Materials(TensorProperties):
    """A batch of N materials: ambient/diffuse/specular reflectance (N, 3) and shininess (N,).

    The colours multiply the matching light colours; shininess is the specular exponent.
    """

    def __init__(
        self,
        ambient_color: Any = ((1, 1, 1),),
        diffuse_color: Any = ((1, 1, 1),),
        specular_color: Any = ((1, 1, 1),),
        shininess: Any = 64,
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device,
            diffuse_color=diffuse_color,
            ambient_color=ambient_color,
            specular_color=specular_color,
            shininess=shininess,
        )
        for name in ("ambient_color", "diffuse_color", "specular_color"):
            t = getattr(self, name)
            if t.dim() < 2 or t.shape[-1] != 3:
                raise ValueError(f"Materials: expected {name} to have shape (N, 3); got {tuple(t.shape)}")
        if self.shininess.shape != (self._N,):
            raise ValueError(f"Materials: shininess should have shape (N,); got {tuple(self.shininess.shape)}")
