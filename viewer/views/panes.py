"""A render pane: core's image of the scene with its shader choice and render time."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..pane_renderer import KReport, PaneImage
from ..scene_builder import SHADER_CHOICES
from ..state import SceneState
from ..undo import EditHistory
from .image_view import ImageView

TITLES = {"soft": "Soft rasterization", "hard": "Hard rasterization"}


class PaneTitle(QLabel):
    """A pane's bold title: in full where it fits, else only its first word ("Soft"), so that a
    narrow pane shortens its title instead of cutting it mid-word ("Soft rasterizati") or
    widening the window. The full title is always the tooltip."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_title, self.short_title = title, title.split()[0]
        bold = self.font()
        bold.setBold(True)
        self.setFont(bold)
        self.setToolTip(title)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance(self.short_title))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(title)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        fits = self.fontMetrics().horizontalAdvance(self.full_title) <= self.contentsRect().width()
        self.setText(self.full_title if fits else self.short_title)


class RenderPane(QWidget):
    """Header (title, shader, render time) over the image. The shader combo edits the state;
    the image comes from `show_image`. Failures show in red under the header while the last
    good image stays. Right-click offers copy and save (handled by the window via signals)."""

    copy_requested = Signal(str)  # pane name
    save_requested = Signal(str)

    def __init__(self, pane: str, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pane = pane
        self._key = f"pane.{pane}_shader"
        self._history = history
        self.current: PaneImage | None = None

        self.title_label = title = PaneTitle(TITLES[pane])
        self.shader_combo = QComboBox()
        self.shader_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.shader_combo.setMinimumContentsLength(8)
        self.shader_combo.addItems(SHADER_CHOICES[pane])
        self.shader_combo.setToolTip(f"Shader of the {pane} pane")
        self.shader_combo.currentTextChanged.connect(lambda name: self._history.set_value(self._key, name))
        self.time_label = QLabel("–")
        self.time_label.setToolTip("Time core took to render this image (rasterize + shade)")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d33;")
        self.error_label.hide()
        self.note_label = QLabel()  # how the pane departs from the loaded scene, if it does
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: palette(dark);")
        self.note_label.hide()
        self.k_label = QLabel()  # one line in both panes, so their images stay level
        self.k_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.k_label.hide()
        self.view = ImageView("Rendering…")
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)

        header = QHBoxLayout()
        header.addWidget(title, 1)
        header.addWidget(self.shader_combo)
        header.addWidget(self.time_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(header)
        layout.addWidget(self.error_label)
        layout.addWidget(self.note_label)
        layout.addWidget(self.k_label)
        layout.addWidget(self.view, 1)

        self._state = state
        self._show_shader()
        state.settings_changed.connect(self._on_settings_changed)

    def _on_settings_changed(self, keys: set[str]) -> None:
        if self._key in keys:
            self._show_shader()

    def _show_shader(self) -> None:
        with QSignalBlocker(self.shader_combo):
            self.shader_combo.setCurrentText(self._state.value(self._key))

    def show_image(self, image: PaneImage) -> None:
        self.error_label.hide()
        if self.current is not None and image.rgba is self.current.rgba:
            return  # the very render already on screen (reused): nothing to redraw
        self.current = image
        self.view.set_image(image.display)
        h, w = image.display.shape[:2]
        self.time_label.setText(f"{image.milliseconds:.0f} ms")
        self.time_label.setToolTip(f"{image.shader}, {w}×{h}: rendered by core in {image.milliseconds:.1f} ms")
        self.note_label.setText(image.note or "")
        self.note_label.setVisible(image.note is not None)
        self._show_k_report(image.k_report)

    def _show_k_report(self, report: KReport | None) -> None:
        """The K line (what faces_per_pixel did), in a warning colour where it cost coverage."""
        if report is None:
            self.k_label.hide()
            return
        self.k_label.setText(report.summary())
        self.k_label.setToolTip(report.details())
        self.k_label.setStyleSheet("color: #c70;" if report.lost else "color: palette(dark);")
        self.k_label.show()

    def show_error(self, message: str) -> None:
        """Report a failed render; the previous image (if any) stays on screen."""
        self.error_label.setText(f"Not rendered: {message}")
        self.error_label.show()
        if self.current is None:
            self.view.set_placeholder("Not rendered")

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        copy = menu.addAction("Copy image")
        save = menu.addAction("Save image…")
        copy.setEnabled(self.current is not None)
        save.setEnabled(self.current is not None)
        chosen = menu.exec(self.view.mapToGlobal(pos))
        if chosen is copy:
            self.copy_requested.emit(self.pane)
        elif chosen is save:
            self.save_requested.emit(self.pane)
