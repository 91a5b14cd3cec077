"""A vispy SceneCanvas drawn into an offscreen framebuffer and shown as an image in a plain widget.

Why: one QOpenGLWidget anywhere in a window makes Qt compose the *whole* window through OpenGL
on every repaint of any widget in it. Where OpenGL is Mesa's software rasterizer (machines
without a GPU, remote desktops, Xvfb) that cost the GUI thread about 50 ms of CPU per slider
change in the 1800×1000 main window (and 2.5 ms without it), CPU taken from the render workers
on a 2-core machine. Here the canvas's own QOpenGLWidget never goes on screen
(WA_DontShowOnScreen): vispy draws into a framebuffer (`SceneCanvas.render`) when the scene asks
for an update, this widget paints the image with QPainter, and mouse and wheel events are passed
on to the canvas's widget, so vispy's cameras and the canvas's mouse events work as on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import vispy

vispy.use(app="pyside6")

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QWidget
from vispy import scene

_FORWARDED_EVENTS = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
}


class _RequestingCanvas(scene.SceneCanvas):
    """A SceneCanvas whose update requests call `on_update` instead of repainting its widget."""

    def __init__(self, on_update: Callable[[], None], **kwargs: Any) -> None:
        self._on_update = on_update
        super().__init__(show=False, **kwargs)

    def update(self, node=None) -> None:  # noqa: ARG002 (vispy's signature)
        if not self._drawing:
            self._on_update()


class OffscreenCanvas(QWidget):
    """Shows `canvas` (a vispy SceneCanvas made with `canvas_kwargs`; keys=None unless given: key
    events are not passed on), drawn offscreen.

    Update requests from vispy (a camera move, new data, `canvas.update()`) coalesce into one
    draw on the next pass of the event loop; a hidden widget draws when it is shown again.
    """

    def __init__(self, parent: QWidget | None = None, **canvas_kwargs: Any) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._draw_timer = QTimer(self, singleShot=True, interval=0)
        self._draw_timer.timeout.connect(self.draw)
        self.canvas = _RequestingCanvas(self.request_draw, **{"keys": None, **canvas_kwargs})
        # The canvas's widget stays a window of its own without a parent: a QOpenGLWidget put
        # under this widget, even as a separate window, would still mark this window for
        # OpenGL composition. It goes when this widget goes, and never keeps the application open.
        native = self.canvas.native
        native.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        native.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.destroyed.connect(native.deleteLater)
        native.show()  # creates its GL context; it stays off screen
        self._background = QColor.fromRgbF(*self.canvas.bgcolor.rgba)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.WheelFocus)

    def request_draw(self) -> None:
        if not self._draw_timer.isActive():
            self._draw_timer.start()

    def draw(self) -> None:
        """Draw the scene now (normally called by the coalescing timer) and show it."""
        self._draw_timer.stop()
        if not self.isVisible() or self.width() <= 0 or self.height() <= 0:
            return
        # RGBA rows copy as whole rows (dropping alpha first would gather bytes: ten times slower)
        rgba = np.ascontiguousarray(self.canvas.render())
        h, w, _ = rgba.shape
        self._image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBX8888).copy()
        self.update()

    def image(self) -> QImage | None:
        """The last image drawn (None before the first draw)."""
        return self._image

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        if self._image is None:
            painter.fillRect(self.rect(), self._background)
        else:
            painter.drawImage(self.rect(), self._image)
        painter.end()

    def resizeEvent(self, event) -> None:  # noqa: N802
        self.canvas.size = (max(1, self.width()), max(1, self.height()))
        self.request_draw()
        super().resizeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        self.request_draw()
        super().showEvent(event)

    def event(self, event: QEvent) -> bool:
        """Mouse and wheel events go to the canvas's widget (same size, same coordinates)."""
        if event.type() in _FORWARDED_EVENTS:
            QApplication.sendEvent(self.canvas.native, event)
            return True
        return super().event(event)
