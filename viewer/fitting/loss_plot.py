"""Live loss curves (vispy): one line per loss term plus the total, linear or log10 scale."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from vispy import scene

from core.fitting import LOSS_TERMS

from ..views.offscreen_canvas import OffscreenCanvas

CURVES = ("total", *LOSS_TERMS)
CURVE_COLORS = {
    "total": "#000000",
    "silhouette": "#1f77b4",
    "rgb": "#d62728",
    "edge": "#2ca02c",
    "normal": "#9467bd",
    "laplacian": "#ff7f0e",
}
_LOG_FLOOR = 1e-12
# The axes' range while there are no curves: x and y from 0 to 1 (x, y, width, height).
EMPTY_RECT = (0.0, 0.0, 1.0, 1.0)
# At most one redraw per this many ms: vispy re-lays out the axis text on each range change.
REDRAW_MS = 250


class LossPlot(QWidget):
    """Appends history records (`add_records`) and redraws; `set_log_scale` switches the y axis.

    In log scale the y values are log10(loss) and the axis is labelled so. Terms that are not
    computed (NaN, e.g. RGB without colour fitting) draw no line. Redraws are coalesced (at
    most one per REDRAW_MS) and the axes' ranges move in steps (x to the next 1-2-5 number,
    y only when the curves leave it or use less than half of it), because each range change
    costs vispy a re-layout of the tick labels on the GUI thread.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log_scale = True
        self._iterations: list[float] = []
        self._values: dict[str, list[float]] = {name: [] for name in CURVES}
        self._range: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1 shown
        self._redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw_timer.timeout.connect(self.redraw)

        self.canvas_view = OffscreenCanvas(self, bgcolor="white")
        self.canvas_view.setMinimumSize(240, 160)
        self.canvas = self.canvas_view.canvas
        grid = self.canvas.central_widget.add_grid(margin=6)
        axis_style = dict(text_color="black", axis_color="black", tick_color="black", axis_font_size=7,
                          tick_font_size=7)
        self.y_axis = scene.AxisWidget(orientation="left", axis_label="log10 loss", axis_label_margin=38,
                                       tick_label_margin=4, **axis_style)
        self.y_axis.width_max = 62
        self.x_axis = scene.AxisWidget(orientation="bottom", axis_label="iteration", axis_label_margin=24,
                                       tick_label_margin=12, **axis_style)
        self.x_axis.height_max = 40
        grid.add_widget(self.y_axis, row=0, col=0)
        grid.add_widget(self.x_axis, row=1, col=1)
        self.view = grid.add_view(row=0, col=1, border_color="#999999")
        self.view.camera = scene.PanZoomCamera(aspect=None)
        self.view.camera.rect = EMPTY_RECT
        self.x_axis.link_view(self.view)
        self.y_axis.link_view(self.view)
        self.lines = {
            name: scene.visuals.Line(pos=np.zeros((2, 2), np.float32), color=CURVE_COLORS[name],
                                     width=2.0 if name == "total" else 1.2, parent=self.view.scene)
            for name in CURVES
        }
        for line in self.lines.values():
            line.visible = False

        self.log_box = QCheckBox("Log scale")
        self.log_box.setChecked(self.log_scale)
        self.log_box.toggled.connect(self.set_log_scale)
        legend = QHBoxLayout()
        for name in CURVES:
            label = QLabel(f"<span style='color:{CURVE_COLORS[name]}'>━</span> {name}")
            legend.addWidget(label)
        legend.addStretch(1)
        legend.addWidget(self.log_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(legend)
        layout.addWidget(self.canvas_view, 1)

    def add_records(self, records: Iterable[Mapping[str, float]]) -> None:
        added = False
        for record in records:
            self._iterations.append(float(record["iteration"]))
            for name in CURVES:
                self._values[name].append(float(record.get(name, math.nan)))
            added = True
        if added and not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def clear(self) -> None:
        self._iterations.clear()
        for values in self._values.values():
            values.clear()
        self._range = None
        # The axes go back to their empty range too: a reset plot with the last fit's
        # iterations and losses on its axes looks like a plot of curves that failed to draw.
        self.view.camera.rect = EMPTY_RECT
        self.redraw()

    def set_log_scale(self, log: bool) -> None:
        self.log_scale = bool(log)
        if self.log_box.isChecked() != self.log_scale:
            self.log_box.setChecked(self.log_scale)
        self.y_axis.axis.axis_label = "log10 loss" if self.log_scale else "loss"
        self._range = None
        self.redraw()

    def series(self, name: str) -> np.ndarray:
        """(N, 2) points of the curve `name` as drawn (x = iteration, y = loss or log10 loss)."""
        if name not in CURVES:
            raise ValueError(f"unknown curve {name!r}; the curves are {CURVES}")
        x = np.asarray(self._iterations, dtype=np.float64)
        y = np.asarray(self._values[name], dtype=np.float64)
        keep = np.isfinite(y)
        if self.log_scale:
            keep &= y > 0
            y = np.log10(np.maximum(y, _LOG_FLOOR))
        return np.stack([x[keep], y[keep]], axis=1) if keep.any() else np.zeros((0, 2))

    def redraw(self) -> None:
        """Draw the curves now (normally called by the coalescing timer)."""
        self._redraw_timer.stop()
        lows, highs = [], []
        for name, line in self.lines.items():
            points = self.series(name)
            line.visible = len(points) >= 2
            if line.visible:
                line.set_data(pos=points.astype(np.float32))
                lows.append(points[:, 1].min())
                highs.append(points[:, 1].max())
        if lows and self._iterations:
            self._fit_range(self._iterations[-1], min(lows), max(highs))
        self.canvas.update()

    def shown_range(self) -> tuple[float, float, float, float] | None:
        """(x0, x1, y0, y1) of the axes, None before any curve."""
        return self._range

    def _fit_range(self, last: float, low: float, high: float) -> None:
        x1 = _nice_ceiling(max(last, 1.0))
        span = max(high - low, 1e-6)
        current = self._range
        y_ok = (current is not None and current[2] <= low and high <= current[3]
                and span >= 0.5 * (current[3] - current[2]))
        y0, y1 = (current[2], current[3]) if y_ok else (low - 0.1 * span, high + 0.1 * span)
        if current != (0.0, x1, y0, y1):
            self._range = (0.0, x1, y0, y1)
            self.view.camera.set_range(x=(0.0, x1), y=(y0, y1), margin=0.0)


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is >= value."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * power >= value:
            return step * power
    return 10.0 * power
