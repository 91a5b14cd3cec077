"""View › Parameter sweep: the soft pane at several values of σ, γ, K or the blur radius (or a
grid over two of them), side by side, rendered off the GUI thread (viewer.sweep). Clicking a
render uses its values (one undo step); Save… writes the grid, captions included, as a PNG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QThreadPool
from PySide6.QtGui import QCloseEvent, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..image_files import write_png
from ..parameters import param
from ..state import SceneState
from ..sweep import (
    DEFAULT_STEPS,
    MAX_STEPS,
    MIN_STEPS,
    SWEEPABLE,
    SweepJob,
    SweepPoint,
    default_range,
    sweep_points,
    sweep_values,
)
from ..undo import EditHistory
from .image_view import qimage_from_rgb, rgb_from_qimage
from .save_target import save_target

THUMB_SIZE = 180
COLUMNS = 4  # of a sweep over one setting; a grid has one column per value of its first setting
NONE = "(nothing)"


class _Axis:
    """One swept setting's controls: which setting, from, to, how many steps. The second axis
    may be NONE (a sweep over one setting)."""

    def __init__(self, state: SceneState, optional: bool, steps: int) -> None:
        self._state = state
        self.combo = QComboBox()
        if optional:
            self.combo.addItem(NONE, None)
        for key in SWEEPABLE:
            self.combo.addItem(param(key).label, key)
        self.first_edit, self.last_edit = QLineEdit(), QLineEdit()
        for edit in (self.first_edit, self.last_edit):
            edit.setMaximumWidth(110)
        self.steps_spin = QSpinBox(minimum=MIN_STEPS, maximum=MAX_STEPS, value=steps)
        self.combo.currentIndexChanged.connect(self.fill_range)
        self.fill_range()

    @property
    def key(self) -> str | None:
        return self.combo.currentData()

    def widgets(self, label: str) -> list[QWidget]:
        return [QLabel(label), self.combo, QLabel("from"), self.first_edit, QLabel("to"), self.last_edit,
                QLabel("steps"), self.steps_spin]

    def fill_range(self) -> None:
        """A range around the setting's current value; the bounds disabled when nothing is swept."""
        key = self.key
        for widget in (self.first_edit, self.last_edit, self.steps_spin):
            widget.setEnabled(key is not None)
        if key is None:
            return
        first, last = default_range(key, self._state.settings)
        self.first_edit.setText(f"{first:g}")
        self.last_edit.setText(f"{last:g}")
        spec = param(key)
        tip = f"{spec.label}: {spec.range_text()}{' (log spaced)' if spec.log else ''}"
        self.first_edit.setToolTip(tip)
        self.last_edit.setToolTip(tip)

    def set(self, key: str | None, first: float = 0.0, last: float = 0.0, steps: int = DEFAULT_STEPS) -> None:
        self.combo.setCurrentIndex(self.combo.findData(key))
        if key is not None:
            self.first_edit.setText(f"{first:g}")
            self.last_edit.setText(f"{last:g}")
            self.steps_spin.setValue(steps)

    def values(self) -> tuple[str, list[float | int]] | None:
        """(setting, values) as typed; None when nothing is swept. ValueError for bad bounds."""
        key = self.key
        if key is None:
            return None
        first, last = (_number(edit.text(), key) for edit in (self.first_edit, self.last_edit))
        return key, sweep_values(key, first, last, self.steps_spin.value())


class SweepDialog(QDialog):
    """Non-modal: the scene keeps responding while a sweep renders. A sweep shows the scene as
    it was when Render was pressed (the note under the buttons says when it no longer is)."""

    def __init__(self, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Parameter sweep (soft pane)")
        self._state, self._history = state, history
        self._sweep_id = 0
        self.job: SweepJob | None = None  # the sweep in flight
        self._jobs: list[SweepJob] = []  # kept alive until they report
        self._points: list[SweepPoint] = []
        self._made_at_revision = -1

        self.first_axis = _Axis(state, optional=False, steps=DEFAULT_STEPS)
        self.second_axis = _Axis(state, optional=True, steps=3)
        self.render_button = QPushButton("Render")
        self.save_button = QPushButton("Save…")
        self.save_button.setEnabled(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        rows = []
        for label, axis, buttons in (("Sweep", self.first_axis, [self.render_button]),
                                     ("across", self.second_axis, [self.save_button])):
            row = QHBoxLayout()
            for widget in axis.widgets(label):
                row.addWidget(widget)
            row.addStretch(1)
            for button in buttons:
                row.addWidget(button)
            rows.append(row)
        self.second_axis.combo.setToolTip("A second setting makes a grid: one row per value of it")

        self.grid_widget = QWidget()
        self.grid = QGridLayout(self.grid_widget)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.tiles: list[QToolButton] = []
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_widget)

        layout = QVBoxLayout(self)
        for row in rows:
            layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 1)
        self.resize(COLUMNS * (THUMB_SIZE + 24 + self.grid.horizontalSpacing()) + 60, 2 * (THUMB_SIZE + 80) + 120)

        self.render_button.clicked.connect(self.render_sweep)
        self.save_button.clicked.connect(self.save_dialog)
        state.settings_changed.connect(self._note_staleness)
        state.mesh_changed.connect(self._note_staleness)

    # -- setting up a sweep ------------------------------------------------------------------------
    def set_sweep(self, key: str, first: float, last: float, steps: int,
                  across: tuple[str, float, float, int] | None = None) -> None:
        """Fill in the controls (as a user would) without rendering; `across` = (setting, from,
        to, steps) of a second setting for a grid."""
        self.first_axis.set(key, first, last, steps)
        self.second_axis.set(*(across or (None,)))

    def render_sweep(self) -> None:
        """Start rendering the sweep the controls describe (a sweep in flight is dropped)."""
        try:
            first = self.first_axis.values()
            points = sweep_points(first, self.second_axis.values())
        except (TypeError, ValueError) as exc:
            self.status.setText(f"Cannot sweep: {exc}")
            return
        if self.job is not None:
            self.job.cancel()
        self._sweep_id += 1
        self._points = points
        self._made_at_revision = self._state.revision
        self._make_tiles(len(first[1]) if self.second_axis.key is not None else COLUMNS)
        job = self.job = SweepJob(self._state.mesh, self._state.settings, points, self._sweep_id)
        job.setAutoDelete(False)
        job.signals.rendered.connect(self._on_rendered)
        job.signals.failed.connect(self._on_failed)
        job.signals.finished.connect(self._on_finished)
        self._jobs.append(job)
        self.save_button.setEnabled(False)
        self.status.setText(f"Rendering {len(points)} renders…")
        QThreadPool.globalInstance().start(job)

    def _make_tiles(self, columns: int) -> None:
        for tile in self.tiles:
            tile.deleteLater()
        self.tiles = []
        for index, point in enumerate(self._points):
            tile = QToolButton()
            tile.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            tile.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
            tile.setFixedWidth(THUMB_SIZE + 24)  # equal columns whatever the captions' widths
            self._caption(tile, point, "rendering…")
            tile.setToolTip(f"Use {point.label} (one undo step)")
            tile.clicked.connect(lambda _checked=False, i=index: self.use(i))
            self.grid.addWidget(tile, index // columns, index % columns)
            self.tiles.append(tile)

    @staticmethod
    def _caption(tile: QToolButton, point: SweepPoint, *lines: str) -> None:
        """The point's values (one per line) over `lines`, padded to two lines below them (time,
        K's coverage loss), so that every tile of a sweep has as many lines: a row's pictures
        stay level."""
        values = point.label.split(", ")
        text = [*values, *lines]
        tile.setText("\n".join(text + [""] * (len(values) + 2 - len(text))))

    # -- results -----------------------------------------------------------------------------------
    def _on_rendered(self, index: int, image, sweep_id: int) -> None:
        if sweep_id != self._sweep_id:
            return
        pixmap = QPixmap.fromImage(qimage_from_rgb(image.display)).scaled(
            THUMB_SIZE, THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
        )
        tile = self.tiles[index]
        tile.setIcon(QIcon(pixmap))
        report = image.k_report
        lost = f"K too small at {report.share(report.lost)} px" if report and report.lost else ""
        self._caption(tile, self._points[index], f"{image.milliseconds:.0f} ms", lost)
        if lost:
            tile.setToolTip(f"{tile.toolTip()}\n{report.details()}")

    def _on_failed(self, index: int, message: str, sweep_id: int) -> None:
        if sweep_id == self._sweep_id:
            self._caption(self.tiles[index], self._points[index], "not rendered")
            self.tiles[index].setToolTip(message)

    def _on_finished(self, sweep_id: int) -> None:
        self._jobs = [job for job in self._jobs if job.sweep_id != sweep_id]
        if sweep_id == self._sweep_id:
            self.job = None
            self.save_button.setEnabled(True)
            self.status.setText("Click a render to use its values.")
            self._note_staleness()

    def _note_staleness(self, *_args) -> None:
        if self.job is None and self.tiles and self._state.revision != self._made_at_revision:
            self.status.setText("The scene has changed since this sweep was rendered: Render again to update it.")

    # -- actions -----------------------------------------------------------------------------------
    def use(self, index: int) -> None:
        """Set the settings to those of the `index`-th render (one undo step)."""
        point = self._points[index]
        self._history.set_values(point.changes, f"Use {point.label} from the sweep")

    def grid_image(self):
        """The grid of renders and captions as an RGB uint8 array."""
        return rgb_from_qimage(self.grid_widget.grab().toImage())

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        return write_png(self.grid_image(), path, overwrite=overwrite)

    def save_dialog(self) -> None:
        stem = Path(self._state.mesh.name).stem.replace(" ", "_")
        path, _ = QFileDialog.getSaveFileName(self, "Save sweep", f"{stem}-sweep.png", "PNG image (*.png)")
        if not path:
            return
        target = save_target(self, path, ".png")
        if target is None:
            return
        try:
            written = self.save(target, overwrite=True)  # the file dialog asked before replacing
        except (OSError, ValueError) as exc:
            self.status.setText(f"Could not save {target.name}: {exc}")
            return
        self.status.setText(f"Saved {written}")

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.job is not None:
            self.job.cancel()
        super().closeEvent(event)


def _number(text: str, key: str) -> float | int:
    """A typed bound of the sweep of `key`: a whole number for integer settings."""
    value = float(text)
    if param(key).kind != "int":
        return value
    if not value.is_integer():
        raise ValueError(f"{param(key).label} takes whole numbers; got {text.strip()!r}")
    return int(value)
