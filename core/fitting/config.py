"""`FitConfig`: every setting of a render-and-compare mesh fit, validated in one place.

The defaults are those of PyTorch3D's "fit a textured mesh" tutorial: an ico_sphere(4) source,
20 views at 128², sigma 1e-4, 50 faces per pixel, two random views per iteration, SGD with
lr 1.0 and momentum 0.9, and loss weights silhouette 1, RGB 1, edge 1, normal 0.01, Laplacian 1.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping

OPTIMIZERS = ("sgd", "adam")
LOSS_TERMS = ("silhouette", "rgb", "edge", "normal", "laplacian")
# The settings that decide the shape of the optimisation state; they cannot change mid-run.
FIXED_DURING_RUN = ("num_views", "camera_dist", "image_size", "sphere_level", "fit_colors", "optimizer", "seed", "device")


def blur_radius_from_sigma(sigma: float, eps: float = 1e-4) -> float:
    """The blur radius beyond which a face's soft coverage sigmoid(-d/sigma) drops below ``eps``.

    ``log(1/eps - 1) * sigma``, the rule PyTorch3D's tutorials use to pick blur_radius.
    """
    return math.log(1.0 / eps - 1.0) * sigma


@dataclass
class FitConfig:
    """Settings of one fit. ``weights`` maps each loss term to its weight (0 switches it off)."""

    num_views: int = 20
    camera_dist: float = 2.7
    image_size: int = 128
    sigma: float = 1e-4
    gamma: float = 1e-4
    faces_per_pixel: int = 50
    weights: Dict[str, float] = field(
        default_factory=lambda: {"silhouette": 1.0, "rgb": 1.0, "edge": 1.0, "normal": 0.01, "laplacian": 1.0}
    )
    optimizer: str = "sgd"
    lr: float = 1.0
    momentum: float = 0.9
    iterations: int = 2000
    views_per_iteration: int = 2
    sphere_level: int = 4
    fit_colors: bool = True
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.weights = {**{term: 0.0 for term in LOSS_TERMS}, **dict(self.weights)}
        self.validate()

    @property
    def blur_radius(self) -> float:
        """Blur radius derived from sigma (see :func:`blur_radius_from_sigma`)."""
        return blur_radius_from_sigma(self.sigma)

    def validate(self) -> None:
        """Raise ValueError naming the first setting that is out of range."""
        _positive_int("num_views", self.num_views)
        _positive_int("image_size", self.image_size)
        _positive_int("faces_per_pixel", self.faces_per_pixel)
        _positive_int("views_per_iteration", self.views_per_iteration)
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 0:
            raise ValueError(f"iterations must be an int >= 0, got {self.iterations!r}")
        if isinstance(self.sphere_level, bool) or not isinstance(self.sphere_level, int) or not 0 <= self.sphere_level <= 6:
            raise ValueError(f"sphere_level must be an int in [0, 6], got {self.sphere_level!r}")
        if self.views_per_iteration > self.num_views:
            raise ValueError(f"views_per_iteration ({self.views_per_iteration}) cannot exceed num_views ({self.num_views})")
        for name in ("camera_dist", "sigma", "gamma", "lr"):
            _positive_float(name, getattr(self, name))
        if not (isinstance(self.momentum, (int, float)) and 0.0 <= self.momentum < 1.0):
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        unknown = set(self.weights) - set(LOSS_TERMS)
        if unknown:
            raise ValueError(f"unknown loss weight(s) {sorted(unknown)}; the terms are {LOSS_TERMS}")
        for term, weight in self.weights.items():
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
                raise ValueError(f"weight for {term!r} must be a finite number >= 0, got {weight!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an int, got {self.seed!r}")

    def to_dict(self) -> Dict[str, Any]:
        """Plain-data copy (JSON-serialisable), for checkpoints and logs."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FitConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error, not silently dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown FitConfig field(s) {sorted(unknown)}")
        return cls(**dict(data))


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def _positive_float(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
