"""Target | current | difference for one selectable target view, side by side."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..views.image_view import ImageView
from .heat import heat_image
from .snapshots import CompareImages

TITLES = ("Target", "Current", "|Difference|")


class ViewCompare(QWidget):
    """Shows `CompareImages`; `view_changed(int)` when the user picks another target view.

    The difference is the mean absolute RGB difference, black = 0, white = 1 (fixed scale, so
    it visibly fades as the fit converges).
    """

    view_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view_spin = QSpinBox()
        self.view_spin.setRange(0, 0)
        self.view_spin.setToolTip("Which target view to compare (the index into the camera ring or image folder)")
        self.view_spin.valueChanged.connect(self.view_changed)
        self.summary = QLabel("No fit yet")
        top = QHBoxLayout()
        top.addWidget(QLabel("View"))
        top.addWidget(self.view_spin)
        top.addWidget(self.summary, 1)
        grid = QGridLayout()
        self.images = {title: ImageView("—") for title in TITLES}
        for column, (title, view) in enumerate(self.images.items()):
            grid.addWidget(QLabel(title), 0, column)
            grid.addWidget(view, 1, column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addLayout(grid, 1)
        self.shown: CompareImages | None = None

    def set_view_count(self, count: int) -> None:
        self.view_spin.setRange(0, max(0, count - 1))

    def show_images(self, images: CompareImages) -> None:
        self.shown = images
        target, current, difference = (self.images[t] for t in TITLES)
        target.set_image(images.target)
        current.set_image(images.current)
        difference.set_image(heat_image(images.difference, 1.0))
        self.summary.setText(f"view {images.view}: mean |difference| {float(images.difference.mean()):.4f}")

    def clear(self) -> None:
        self.shown = None
        for view in self.images.values():
            view.set_image(None)
        self.summary.setText("No fit yet")
