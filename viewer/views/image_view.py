"""A widget showing one image scaled to fit (square pixels, no smoothing) with hover readout."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage copy of an (H, W, 3) uint8 array."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def rgb_from_qimage(image: QImage) -> np.ndarray:
    """An (H, W, 3) uint8 array copy of a QImage."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = image.height(), image.width()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.bytesPerLine() * h)
    return data.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


class ImageView(QWidget):
    """Shows an image as large as fits, centred. Emits `hovered(x, y)` with the image pixel under
    the pointer ((-1, -1) off the image) and `painted()` after each paint that drew an image."""

    hovered = Signal(int, int)
    painted = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._placeholder = placeholder
        self.setMouseTracking(True)
        self.setMinimumSize(64, 64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, rgb: np.ndarray | None) -> None:
        self._image = None if rgb is None else qimage_from_rgb(rgb)
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def target_rect(self) -> QRectF:
        """Where the image is drawn in widget coordinates (empty when there is no image)."""
        if self._image is None:
            return QRectF()
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def pixel_at(self, pos: QPointF) -> tuple[int, int]:
        """The image pixel under widget position `pos`, or (-1, -1)."""
        rect = self.target_rect()
        if rect.isEmpty() or not rect.contains(pos):
            return -1, -1
        x = int((pos.x() - rect.left()) / rect.width() * self._image.width())
        y = int((pos.y() - rect.top()) / rect.height() * self._image.height())
        return min(x, self._image.width() - 1), min(y, self._image.height() - 1)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(48, 48, 52))
        if self._image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(self.target_rect(), self._image)
        painter.end()
        self.painted.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.hovered.emit(*self.pixel_at(event.position()))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)
