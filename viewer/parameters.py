"""Every user-settable value of the scene: key, label, unit, range, default and validation.

One table drives the panels (a control per parameter), undo (values are set by key),
persistence (QSettings entries by key) and presets (partial mappings of keys). No Qt here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Blur radius derived from sigma as in PyTorch3D's tutorials: log(1/eps - 1) * sigma.
DERIVE_BLUR_EPS = 1e-4

SOFT_SHADERS = ("Soft Phong", "Soft Gouraud", "Silhouette", "Soft Depth")
HARD_SHADERS = ("Hard Phong", "Hard Gouraud", "Hard Flat", "Hard Depth")
DEPTH_SHADERS = ("Soft Depth", "Hard Depth")
LIGHT_TYPES = ("point", "directional", "ambient")
PROJECTIONS = ("perspective", "orthographic")
PERSPECTIVE_CORRECT = ("auto", "on", "off")
VIEW_MODES = ("shaded", "wireframe", "both")

Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Param:
    """One parameter. kind: "float", "int", "bool", "choice", "colour" (RGB in [0, 1]) or "vec3".

    `log` makes sliders logarithmic; `zero_allowed` lets a log parameter also take 0 (below
    `minimum`). `minimum`/`maximum` bound floats, ints and each vec3 component.
    """

    key: str
    label: str
    kind: str
    default: Any
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    log: bool = False
    zero_allowed: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def group(self) -> str:
        return self.key.split(".", 1)[0]

    def range_text(self) -> str:
        """Human-readable range, e.g. "1e-07 … 0.1 NDC²" or "one of: point, directional"."""
        if self.kind == "choice":
            return "one of: " + ", ".join(self.choices)
        if self.kind == "bool":
            return "on / off"
        if self.kind == "colour":
            return "RGB, each 0 … 1"
        low = "0 or " + _fmt(self.minimum) if self.zero_allowed else _fmt(self.minimum)
        text = f"{low} … {_fmt(self.maximum)}"
        if self.kind == "vec3":
            text = "x, y, z each " + text
        return f"{text} {self.unit}".rstrip()

    def validate(self, value: Any) -> Any:
        """The value in canonical form (float, int, bool, str or tuple of 3 floats).

        Raises TypeError for a value of the wrong type and ValueError for one out of range,
        both naming the parameter.
        """
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise TypeError(f"{self.key} must be a bool, got {type(value).__name__}")
            return value
        if kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{self.key} must be one of {', '.join(self.choices)}; got {value!r}")
            return str(value)
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{self.key} must be an int, got {type(value).__name__}")
            self._check_range(value)
            return int(value)
        if kind == "float":
            number = _as_float(self.key, value)
            if not (self.zero_allowed and number == 0.0):
                self._check_range(number)
            return number
        if kind in ("colour", "vec3"):
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise TypeError(f"{self.key} must be 3 numbers, got {type(value).__name__}")
            numbers = tuple(_as_float(self.key, v) for v in value)
            if len(numbers) != 3:
                raise ValueError(f"{self.key} must have 3 components, got {len(numbers)}")
            if kind == "colour":
                if any(not 0.0 <= v <= 1.0 for v in numbers):
                    raise ValueError(f"{self.key} components must be in [0, 1], got {numbers}")
            else:
                for v in numbers:
                    self._check_range(v)
            return numbers
        raise AssertionError(f"unknown parameter kind {kind!r}")

    def _check_range(self, value: float) -> None:
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            raise ValueError(f"{self.key} must be in {self.range_text()}; got {value:g}")


def _as_float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{key} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{key} must be finite, got {number}")
    return number


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


_PARAMS = (
    # Rasterization (the soft pane's rasterizer; the hard pane uses blur 0 and one face per pixel
    # unless raster.hard_uses_soft is on).
    Param("raster.image_size", "Image size", "int", 256, "px", 8, 4096, log=True,
          help="Width and height of both rendered panes."),
    Param("raster.blur_radius", "Blur radius", "float", 0.0, "NDC²", 1e-8, 0.1, log=True, zero_allowed=True,
          help="Faces within this squared NDC distance of a pixel are rasterized into it."),
    Param("raster.derive_blur", "Derive blur from σ", "bool", True,
          help=f"blur_radius = log(1/ε − 1)·σ with ε = {DERIVE_BLUR_EPS:g}, as in PyTorch3D's tutorials."),
    Param("raster.faces_per_pixel", "Faces per pixel", "int", 10, "faces", 1, 100,
          help="K: how many nearest faces each pixel keeps."),
    Param("raster.perspective_correct", "Perspective correct", "choice", "auto", choices=PERSPECTIVE_CORRECT,
          help="Perspective-correct barycentrics; auto follows the camera (on for perspective)."),
    Param("raster.cull_backfaces", "Cull back faces", "bool", False),
    Param("raster.hard_uses_soft", "Hard pane uses blur and K", "bool", False,
          help="Off: the hard pane rasterizes with blur 0 and one face per pixel, as a hard renderer would."),
    Param("raster.memory_budget_mb", "Memory budget", "int", 2048, "MB", 64, 65536,
          help="Largest fragment memory one render may take (core's RasterizationSettings.max_memory_bytes); "
               "larger requests are refused with a message instead of exhausting the machine."),
    # Blend
    Param("blend.sigma", "σ (sigma)", "float", 1e-4, "NDC²", 1e-8, 0.1, log=True,
          help="Width of the sigmoid that softens silhouette edges."),
    Param("blend.gamma", "γ (gamma)", "float", 1e-4, "", 1e-6, 10.0, log=True,
          help="Depth softness of the softmax blend (normalised inverse depth)."),
    Param("blend.background", "Background", "colour", (1.0, 1.0, 1.0)),
    # Lights
    Param("light.type", "Type", "choice", "point", choices=LIGHT_TYPES),
    Param("light.location", "Position", "vec3", (2.0, 2.0, 3.0), "world", -50.0, 50.0,
          help="Where the point light is."),
    Param("light.direction", "Direction", "vec3", (0.0, 1.0, 1.0), "world", -1.0, 1.0,
          help="Direction towards a directional light (normalised by core)."),
    Param("light.ambient", "Ambient colour", "colour", (0.5, 0.5, 0.5)),
    Param("light.diffuse", "Diffuse colour", "colour", (0.3, 0.3, 0.3)),
    Param("light.specular", "Specular colour", "colour", (0.2, 0.2, 0.2)),
    # Material
    Param("material.ambient", "Ambient colour", "colour", (1.0, 1.0, 1.0)),
    Param("material.diffuse", "Diffuse colour", "colour", (1.0, 1.0, 1.0)),
    Param("material.specular", "Specular colour", "colour", (1.0, 1.0, 1.0)),
    Param("material.shininess", "Shininess", "float", 64.0, "exponent", 0.0, 512.0),
    # Camera (orbiting the viewport changes distance, elevation and azimuth)
    Param("camera.distance", "Distance", "float", 3.0, "world", 0.2, 50.0, log=True),
    Param("camera.elevation", "Elevation", "float", 35.0, "°", -90.0, 90.0),
    Param("camera.azimuth", "Azimuth", "float", 20.0, "°", -180.0, 180.0),
    Param("camera.fov", "Field of view", "float", 60.0, "°", 1.0, 170.0,
          help="Vertical field of view; for orthographic, the visible height at the camera distance."),
    Param("camera.projection", "Projection", "choice", "perspective", choices=PROJECTIONS),
    # Disjoint ranges keep znear < zfar whatever the two controls say.
    Param("camera.znear", "Near plane (znear)", "float", 1.0, "world", 0.01, 10.0, log=True,
          help="PyTorch3D's znear: the soft blend normalises depth between znear and zfar, and "
               "perspective-correct rasterization clips geometry nearer than znear / 2."),
    Param("camera.zfar", "Far plane (zfar)", "float", 100.0, "world", 20.0, 10000.0, log=True,
          help="PyTorch3D's zfar: with znear it sets the depth scale γ works on (zfar − znear)."),
    # Panes and viewport
    Param("pane.soft_shader", "Soft shader", "choice", "Soft Phong", choices=SOFT_SHADERS),
    Param("pane.hard_shader", "Hard shader", "choice", "Hard Phong", choices=HARD_SHADERS),
    Param("view.mode", "Viewport", "choice", "shaded", choices=VIEW_MODES),
)

PARAMS: Mapping[str, Param] = {p.key: p for p in _PARAMS}


def param(key: str) -> Param:
    """The parameter called `key`; KeyError listing the known keys otherwise."""
    try:
        return PARAMS[key]
    except KeyError:
        raise KeyError(f"unknown parameter {key!r}; known: {', '.join(PARAMS)}") from None


def wrap_degrees(angle: float) -> float:
    """An angle in degrees brought into [-180, 180)."""
    return (angle + 180.0) % 360.0 - 180.0


class Settings(Mapping[str, Any]):
    """An immutable, validated value for every parameter; `replace` returns a new one."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        merged = {key: p.default for key, p in PARAMS.items()}
        for key, value in (values or {}).items():
            merged[key] = param(key).validate(value)
        self._values = merged

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if v != PARAMS[k].default}
        return f"Settings({changed})"

    def replace(self, updates: Mapping[str, Any]) -> Settings:
        """A copy with `updates` applied (each validated)."""
        return Settings({**self._values, **updates})

    def group(self, *prefixes: str) -> tuple[tuple[str, Any], ...]:
        """Hashable (key, value) pairs of the parameters whose group is one of `prefixes`."""
        return tuple((k, v) for k, v in self._values.items() if PARAMS[k].group in prefixes)

    def changed_keys(self, other: Settings) -> set[str]:
        """Keys whose value differs between self and other."""
        return {k for k, v in self._values.items() if other[k] != v}
