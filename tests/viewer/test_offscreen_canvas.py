"""vispy canvases drawn offscreen: the window stays a plain raster window, the canvas still draws,
coalesces its updates and receives the mouse."""

from __future__ import annotations

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QSurface, QWheelEvent
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QApplication
from vispy import scene

from viewer.fitting import install_fitting
from viewer.views.offscreen_canvas import OffscreenCanvas


@pytest.fixture
def canvas_view(qtbot):
    view = OffscreenCanvas(bgcolor=(0.0, 0.0, 0.0, 1.0))
    qtbot.addWidget(view)
    view.resize(120, 90)
    camera_view = view.canvas.central_widget.add_view()
    camera_view.camera = scene.PanZoomCamera(rect=(0, 0, 1, 1))
    scene.visuals.Rectangle(center=(0.5, 0.5), width=0.5, height=0.5, color=(1.0, 0.0, 0.0, 1.0),
                            parent=camera_view.scene)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.image() is not None)
    return view


def _pixels(view: OffscreenCanvas) -> np.ndarray:
    """(H, W, 3) uint8 of what the widget paints (a copy: the grabbed image is a temporary)."""
    image = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * image.height())
    rows = rows.reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def test_main_window_composes_without_opengl(qtbot, make_window) -> None:
    """No QOpenGLWidget sits in the window, which therefore stays a raster surface (no OpenGL
    composition of the whole window on every repaint), with the fitting docks' plot too."""
    window = make_window()
    controller = install_fitting(window, confirm_close=lambda: True)
    assert window.findChildren(QOpenGLWidget) == []
    assert window.windowHandle().surfaceType() == QSurface.SurfaceType.RasterSurface
    for canvas in (window.viewport.canvas, controller.plot.canvas):
        native = canvas.native
        assert native.parent() is None and native.testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        assert not native.testAttribute(Qt.WidgetAttribute.WA_QuitOnClose)
    controller.shutdown()


def test_the_canvas_draws_what_vispy_renders(canvas_view) -> None:
    shown = _pixels(canvas_view)
    assert shown.shape[:2] == (90, 120)
    red = (shown[..., 0] > 200) & (shown[..., 1] < 50)
    assert 0.2 < red.mean() < 0.3  # the half-size square covers a quarter
    assert red[45, 60] and not red[5, 5]
    rendered = canvas_view.canvas.render(alpha=False)
    assert np.array_equal(rendered, shown)


def test_update_requests_coalesce_into_one_draw(qtbot, canvas_view, monkeypatch) -> None:
    draws = []
    render = canvas_view.canvas.render
    monkeypatch.setattr(canvas_view.canvas, "render", lambda *a, **k: draws.append(1) or render(*a, **k))
    for _ in range(5):
        canvas_view.canvas.update()
    qtbot.waitUntil(lambda: len(draws) >= 1)
    qtbot.wait(50)
    assert len(draws) == 1


def test_a_hidden_canvas_draws_when_shown_again(qtbot, canvas_view, monkeypatch) -> None:
    draws = []
    render = canvas_view.canvas.render
    monkeypatch.setattr(canvas_view.canvas, "render", lambda *a, **k: draws.append(1) or render(*a, **k))
    canvas_view.hide()
    canvas_view.canvas.update()
    qtbot.wait(50)
    assert draws == []
    canvas_view.show()
    qtbot.waitUntil(lambda: len(draws) == 1)


def test_resizing_resizes_the_canvas(qtbot, canvas_view) -> None:
    canvas_view.resize(200, 70)
    qtbot.waitUntil(lambda: canvas_view.image() is not None and canvas_view.image().width() == 200)
    assert tuple(canvas_view.canvas.size) == (200, 70)
    assert canvas_view.image().height() == 70


def test_mouse_events_reach_the_canvas(canvas_view) -> None:
    seen = []
    for kind in ("mouse_press", "mouse_move", "mouse_release"):
        getattr(canvas_view.canvas.events, kind).connect(lambda event, k=kind: seen.append((k, tuple(event.pos))))
    for kind, x in ((QEvent.Type.MouseButtonPress, 30), (QEvent.Type.MouseMove, 50), (QEvent.Type.MouseButtonRelease, 60)):
        held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
        pos = QPointF(x, 40)
        event = QMouseEvent(kind, pos, canvas_view.mapToGlobal(pos), Qt.MouseButton.LeftButton, held,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas_view, event)
    wheel = QWheelEvent(QPointF(70, 20), canvas_view.mapToGlobal(QPointF(70, 20)), QPoint(), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    canvas_view.canvas.events.mouse_wheel.connect(lambda event: seen.append(("mouse_wheel", tuple(event.pos))))
    QApplication.sendEvent(canvas_view, wheel)
    assert [k for k, _ in seen] == ["mouse_press", "mouse_move", "mouse_release", "mouse_wheel"]
    assert [pos for _, pos in seen] == [(30, 40), (50, 40), (60, 40), (70, 20)]


def test_the_canvas_widget_goes_with_its_view(qtbot) -> None:
    view = OffscreenCanvas()
    native = view.canvas.native
    view.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(view))
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: not shiboken6.isValid(native))
