"""Parameter sweeps: the soft pane rendered at several values of one setting, for comparing them
side by side instead of moving a slider back and forth (σ, γ, faces per pixel, blur radius).

`sweep_values` and `sweep_points` are plain functions (one setting, or a grid over two);
`SweepJob` renders a sweep on a QThreadPool thread with the panes' own `PaneRenderer`,
reporting each image as it is done.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from PySide6.QtCore import QObject, QRunnable, Signal

from .pane_renderer import RENDER_ERRORS, PaneRenderer, render_error_text
from .parameters import Settings, param
from .scene_builder import effective_blur_radius
from .scene_mesh import SceneMesh

# The settings a sweep can vary: those whose effect the panes make hard to judge by eye alone.
SWEEPABLE = ("blend.sigma", "blend.gamma", "raster.faces_per_pixel", "raster.blur_radius")
MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 2, 12, 5
# The default range spans the current value times and divided by this (log settings), or
# times and divided by 4 (faces per pixel).
LOG_SPAN, K_SPAN = 10.0, 4


def sweep_values(key: str, first: float, last: float, steps: int) -> list[float | int]:
    """`steps` values from `first` to `last`: evenly spaced on a log scale for settings shown on
    logarithmic sliders (σ, γ, the blur radius), else linearly; whole numbers for integer
    settings, without repeats. ValueError for a value the setting refuses or a bad step count."""
    if key not in SWEEPABLE:
        raise ValueError(f"cannot sweep {key!r}; choose one of {', '.join(SWEEPABLE)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not MIN_STEPS <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an int in [{MIN_STEPS}, {MAX_STEPS}], got {steps!r}")
    spec = param(key)
    first, last = spec.validate(first), spec.validate(last)
    fractions = [i / (steps - 1) for i in range(steps)]
    if spec.log and first > 0 and last > 0:
        values = [math.exp(math.log(first) + f * (math.log(last) - math.log(first))) for f in fractions]
    else:
        values = [first + f * (last - first) for f in fractions]
    if spec.kind == "int":
        return list(dict.fromkeys(int(round(v)) for v in values))
    return [spec.validate(float(f"{v:.6g}")) for v in values]  # round-trips through the entry boxes


def current_value(key: str, settings: Settings) -> float:
    """The value `key` has in use now (the derived blur radius when it follows σ)."""
    return effective_blur_radius(settings) if key == "raster.blur_radius" else settings[key]


def default_range(key: str, settings: Settings) -> tuple[float, float]:
    """A range around the current value: ÷/× LOG_SPAN for log settings, ÷/× K_SPAN for K,
    within the setting's own limits."""
    spec, value = param(key), current_value(key, settings)
    low, high = spec.minimum, spec.maximum
    if spec.kind == "int":
        return max(low, value // K_SPAN), min(high, value * K_SPAN)
    return max(low, value / LOG_SPAN), min(high, value * LOG_SPAN)


def swept_values(key: str, value: float | int) -> dict[str, object]:
    """The setting changes that make `value` the one in use (a blur radius is used as typed:
    derive from σ off)."""
    return {"raster.derive_blur": False, key: value} if key == "raster.blur_radius" else {key: value}


# Short names for the captions under each render.
SYMBOLS = {"blend.sigma": "σ", "blend.gamma": "γ", "raster.faces_per_pixel": "K", "raster.blur_radius": "blur radius"}


def value_label(key: str, value: float | int) -> str:
    """E.g. "σ = 0.0001 NDC²"."""
    unit = param(key).unit
    return f"{SYMBOLS[key]} = {value:g}{' ' + unit if unit and key != 'raster.faces_per_pixel' else ''}"


@dataclass(frozen=True)
class SweepPoint:
    """One render of a sweep: the setting changes that make it, and its caption."""

    changes: dict[str, object]
    label: str


# The most renders a grid over two settings may ask for.
MAX_RENDERS = 36


def sweep_points(first: tuple[str, Sequence[float | int]],
                 second: tuple[str, Sequence[float | int]] | None = None) -> list[SweepPoint]:
    """The renders of a sweep over one setting's values, or of a grid over two: row by row, the
    first setting varying along each row, the second from row to row. ValueError for the same
    setting twice or a grid of more than MAX_RENDERS renders."""
    key, values = first
    if second is None:
        return [SweepPoint(swept_values(key, v), value_label(key, v)) for v in values]
    other, others = second
    if other == key:
        raise ValueError(f"a grid needs two different settings; got {param(key).label} twice")
    if len(values) * len(others) > MAX_RENDERS:
        raise ValueError(f"a grid of {len(values)} × {len(others)} renders is more than {MAX_RENDERS}; take fewer steps")
    return [SweepPoint({**swept_values(key, v), **swept_values(other, w)}, f"{value_label(key, v)}, {value_label(other, w)}")
            for w in others for v in values]


class _Signals(QObject):
    rendered = Signal(int, object, int)  # index, PaneImage, sweep id
    failed = Signal(int, str, int)  # index, message, sweep id
    finished = Signal(int)  # sweep id


class SweepJob(QRunnable):
    """Renders the soft pane at each of `points`, in order, one torch thread; stops between
    images once `cancel()` is called (a newer sweep, or the dialog closed)."""

    def __init__(self, mesh: SceneMesh, settings: Settings, points: Sequence[SweepPoint], sweep_id: int) -> None:
        super().__init__()
        self.mesh, self.settings, self.points, self.sweep_id = mesh, settings, list(points), sweep_id
        self.signals = _Signals()
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self) -> None:
        torch.set_num_threads(1)  # per thread here; the panes' workers render beside it
        renderer = PaneRenderer("soft")
        for index, point in enumerate(self.points):
            if self._cancelled.is_set():
                break
            try:
                image = renderer.render(self.mesh, self.settings.replace(point.changes))
            except RENDER_ERRORS as exc:
                self.signals.failed.emit(index, render_error_text(exc), self.sweep_id)
            else:
                self.signals.rendered.emit(index, image, self.sweep_id)
        self.signals.finished.emit(self.sweep_id)
