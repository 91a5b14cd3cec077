"""The 3D viewport shows what core renders and drives the camera of the panes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.viewer.conftest import pane_pixels, wait_rendered
from viewer.views.viewport import BACKGROUND

SIZE = 128


def _viewport_mask(window, size: int) -> np.ndarray:
    """Pixels of the middle square of the vispy canvas that are not background, at `size`²."""
    rgba = window.viewport.canvas.render()
    background = np.round(np.array(BACKGROUND[:3]) * 255)
    covered = np.abs(rgba[..., :3].astype(float) - background).max(-1) > 8
    h, w = covered.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(covered[top : top + side, left : left + side].astype(np.uint8) * 255)
    return np.asarray(square.resize((size, size), Image.Resampling.BOX)) > 127


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize(
    "camera",
    [
        {},
        {"camera.azimuth": -120.0, "camera.elevation": -20.0, "camera.distance": 2.2, "camera.fov": 45.0},
        {"camera.projection": "orthographic", "camera.elevation": 80.0},
    ],
)
def test_viewport_shows_the_same_silhouette_as_the_hard_pane(qtbot, window, camera) -> None:
    window.history.set_values({"raster.image_size": SIZE, **camera}, "camera")
    wait_rendered(qtbot, window)
    hard = np.any(pane_pixels(window, "hard") != 255, axis=-1)
    assert _iou(_viewport_mask(window, SIZE), hard) > 0.93


def test_dragging_in_the_viewport_orbits_the_panes_as_one_undo_step(qtbot, window) -> None:
    before = pane_pixels(window, "hard")
    shown = window.viewport.canvas_view  # the widget under the mouse; it passes events to vispy's
    x, y = shown.width() / 2, shown.height() / 2
    _mouse(shown, QEvent.Type.MouseButtonPress, x, y, Qt.MouseButton.LeftButton)
    for dx in (10, 25, 40):
        qtbot.wait(15)  # vispy drops move events that come within 10 ms of the previous one
        _mouse(shown, QEvent.Type.MouseMove, x + dx, y, Qt.MouseButton.NoButton)
    _mouse(shown, QEvent.Type.MouseButtonRelease, x + 40, y, Qt.MouseButton.LeftButton)
    azimuth = window.state.value("camera.azimuth")
    assert azimuth != 20.0
    assert window.history.stack.count() == 1 and window.history.stack.undoText() == "Orbit view"
    wait_rendered(qtbot, window)
    assert not np.array_equal(pane_pixels(window, "hard"), before)
    window.history.stack.undo()
    assert window.state.value("camera.azimuth") == 20.0
    assert window.viewport.camera.azimuth == pytest.approx(110.0)  # the vispy camera follows


def _mouse(widget, kind: QEvent.Type, x: float, y: float, button: Qt.MouseButton) -> None:
    """A real Qt mouse event with the left button held (press, drag or release)."""
    pos = QPointF(x, y)
    held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, held, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_standard_views_and_reset(window) -> None:
    viewport = window.viewport
    viewport.standard_view("Top", 90.0, 0.0)
    assert (window.state.value("camera.elevation"), window.state.value("camera.azimuth")) == (90.0, 0.0)
    window.history.set_value("camera.distance", 5.0)
    viewport.reset_view()
    assert (window.state.value("camera.elevation"), window.state.value("camera.distance")) == (35.0, 3.0)
    assert viewport.camera.elevation == 35.0 and viewport.camera.distance == 3.0


def test_zoom_is_kept_within_the_allowed_distance(window) -> None:
    camera = window.viewport.camera
    camera.distance = 500.0  # as a long wheel zoom out would
    assert window.state.value("camera.distance") == 50.0
    assert camera.distance == 50.0  # snapped back to what the panes render


def test_view_modes_toggle_the_wireframe(window) -> None:
    viewport = window.viewport
    assert not viewport.wireframe.enabled
    window.history.set_value("view.mode", "wireframe")
    assert viewport.wireframe.enabled and viewport.wireframe.wireframe_only
    window.history.set_value("view.mode", "both")
    assert viewport.wireframe.enabled and not viewport.wireframe.wireframe_only
    checked = [b.text() for b in viewport.mode_buttons.buttons() if b.isChecked()]
    assert checked == ["Both"]
