"""The fitting dock: target, source, the FitConfig settings, run buttons and exports.

A view only: it builds a `FitConfig` from its editors and emits what the user asks for; the
controller (viewer.fitting.controller) talks to the service. Settings a running fit can take
(learning rate, weights, sigma, K, views per iteration, iterations) stay editable during a run
and are emitted as `live_changed`; the others lock until the run stops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.fitting import LOSS_TERMS, FitConfig

from .fit_service import HAS_FIT

TARGETS = {"scene": "Scene mesh (rendered from the camera ring)", "folder": "Image folder (RGBA PNGs + cameras.json)"}
SOURCES = {"sphere": "Ico sphere", "file": "Mesh file"}
BUTTONS = ("start", "pause", "resume", "step", "stop", "reset")
EXPORTS = {"mesh": "Export mesh…", "losses": "Export losses (CSV)…", "turntable": "Export turntable (GIF)…"}
# Which buttons each service phase enables.
_ENABLED = {
    "idle": {"start"},
    "preparing": {"reset"},
    "running": {"pause", "stop", "reset"},
    "paused": {"resume", "step", "stop", "reset"},
    "stopped": {"start", "reset"},
    "finished": {"start", "reset"},
    "failed": {"start", "reset"},
}


def _spin(low: int, high: int, value: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setToolTip(tip)
    return box


def _double(low: float, high: float, value: float, decimals: int, step: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class FitPanel(QWidget):
    """Signals: `command(name)` for the run buttons (BUTTONS), `export_requested(kind)` (EXPORTS),
    `live_changed(dict)` with FitConfig changes (`{"lr": x}` or `{"weights": {term: w}}`),
    `browse_requested(what)` ("folder" or "source") and `display_changed()`."""

    command = Signal(str)
    export_requested = Signal(str)
    live_changed = Signal(object)
    browse_requested = Signal(str)
    display_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        defaults = FitConfig()
        self.phase = "idle"
        self._lockable: list[QWidget] = []

        self.target_combo = QComboBox()
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target_combo.setMinimumContentsLength(16)
        for key, label in TARGETS.items():
            self.target_combo.addItem(label, key)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("folder with cameras.json")
        folder_button = QToolButton(text="…")
        folder_button.clicked.connect(lambda: self.browse_requested.emit("folder"))
        self.source_combo = QComboBox()
        self.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.setMinimumContentsLength(16)
        for key, label in SOURCES.items():
            self.source_combo.addItem(label, key)
        self.level_spin = _spin(0, 6, defaults.sphere_level, "Subdivision level of the starting ico sphere")
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("mesh file to start from")
        source_button = QToolButton(text="…")
        source_button.clicked.connect(lambda: self.browse_requested.emit("source"))
        inputs = QGridLayout()
        inputs.setColumnStretch(1, 1)  # the fields take the width, not the "…" buttons
        inputs.addWidget(QLabel("Target"), 0, 0)
        inputs.addWidget(self.target_combo, 0, 1, 1, 2)
        inputs.addWidget(self.folder_edit, 1, 1)
        inputs.addWidget(folder_button, 1, 2)
        inputs.addWidget(QLabel("Source"), 2, 0)
        inputs.addWidget(self.source_combo, 2, 1, 1, 2)
        inputs.addWidget(QLabel("Sphere level"), 3, 0)
        inputs.addWidget(self.level_spin, 3, 1, 1, 2)
        inputs.addWidget(self.source_edit, 4, 1)
        inputs.addWidget(source_button, 4, 2)
        self._lockable += [self.target_combo, self.folder_edit, folder_button, self.source_combo, self.level_spin,
                           self.source_edit, source_button]

        self.editors: dict[str, QWidget] = {
            "num_views": _spin(1, 200, defaults.num_views, "Target views on the camera ring"),
            "views_per_iteration": _spin(1, 200, defaults.views_per_iteration, "Random views rendered per iteration"),
            "image_size": _spin(16, 512, defaults.image_size, "Side of the square target and fit images [px]"),
            "sigma": _double(1e-6, 1e-1, defaults.sigma, 6, 1e-5, "Soft rasterizer sigma (also sets the blur radius)"),
            "faces_per_pixel": _spin(1, 100, defaults.faces_per_pixel, "Faces blended per pixel (K)"),
            "optimizer": QComboBox(),
            "lr": _double(1e-5, 100.0, defaults.lr, 5, 0.1, "Learning rate"),
            "iterations": _spin(1, 1_000_000, defaults.iterations, "Iterations of the whole run"),
            "fit_colors": QCheckBox("Fit vertex colours"),
            "seed": _spin(0, 2**31 - 1, defaults.seed, "Seed of the random view choice"),
        }
        self.editors["optimizer"].addItems(["sgd", "adam"])
        self.editors["optimizer"].setCurrentText(defaults.optimizer)
        self.editors["fit_colors"].setChecked(defaults.fit_colors)
        self.weight_editors = {
            term: _double(0.0, 1000.0, defaults.weights[term], 4, 0.01, f"Weight of the {term} loss (0 switches it off)")
            for term in LOSS_TERMS
        }
        form = QFormLayout()
        for key, editor in self.editors.items():
            form.addRow(key.replace("_", " ").capitalize(), editor)
        for term, editor in self.weight_editors.items():
            form.addRow(f"Weight: {term}", editor)
        live = ("views_per_iteration", "sigma", "faces_per_pixel", "lr", "iterations")
        self._lockable += [editor for key, editor in self.editors.items() if key not in live]
        for key in live:
            self.editors[key].valueChanged.connect(lambda _v, k=key: self._emit_live({k: self._value(k)}))
        for term, editor in self.weight_editors.items():
            editor.valueChanged.connect(lambda v, t=term: self._emit_live({"weights": {t: float(v)}}))
        live_note = QLabel("Learning rate, weights, sigma, K, views per iteration and iterations apply while running.")
        live_note.setWordWrap(True)
        form.insertRow(0, live_note)
        settings = QGroupBox("Settings")
        settings.setLayout(form)

        self.buttons = {name: QPushButton(name.capitalize()) for name in BUTTONS}
        self.buttons["step"].setToolTip("One iteration (while paused)")
        self.buttons["reset"].setToolTip("Discard the fit and show the scene's mesh again")
        run_row = QGridLayout()  # two rows of three keep the dock narrow
        for index, (name, button) in enumerate(self.buttons.items()):
            button.clicked.connect(lambda _=False, n=name: self.command.emit(n))
            run_row.addWidget(button, index // 3, index % 3)

        self.gradient_box = QCheckBox("Colour the mesh by |gradient|")
        self.gradient_box.setToolTip("Per-vertex magnitude of the last step's gradient (black = 0, white = 99th percentile)")
        self.target_box = QCheckBox("Also show the target mesh")
        for box in (self.gradient_box, self.target_box):
            box.toggled.connect(lambda _=False: self.display_changed.emit())
        self.export_buttons = {kind: QPushButton(label) for kind, label in EXPORTS.items()}
        export_row = QVBoxLayout()  # one per line: their labels are long
        for kind, button in self.export_buttons.items():
            button.clicked.connect(lambda _=False, k=kind: self.export_requested.emit(k))
            export_row.addWidget(button)
        self.status_label = QLabel("Idle")
        self.status_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(inputs)
        layout.addWidget(settings)
        layout.addLayout(run_row)
        layout.addWidget(self.status_label)
        layout.addWidget(self.gradient_box)
        layout.addWidget(self.target_box)
        layout.addLayout(export_row)
        layout.addStretch(1)
        self.target_combo.currentIndexChanged.connect(self._update_inputs)
        self.source_combo.currentIndexChanged.connect(self._update_inputs)
        self.set_phase("idle")

    # -- reading -----------------------------------------------------------------------------------
    def config(self) -> FitConfig:
        """The FitConfig the editors describe (ValueError naming a bad combination)."""
        values: dict[str, Any] = {key: self._value(key) for key in self.editors}
        values["weights"] = {term: float(editor.value()) for term, editor in self.weight_editors.items()}
        values["sphere_level"] = int(self.level_spin.value())
        return FitConfig(**values)

    def target_kind(self) -> str:
        return self.target_combo.currentData()

    def source_kind(self) -> str:
        return self.source_combo.currentData()

    def target_folder(self) -> Path | None:
        text = self.folder_edit.text().strip()
        return Path(text) if text else None

    def source_path(self) -> Path | None:
        text = self.source_edit.text().strip()
        return Path(text) if text else None

    def _value(self, key: str) -> Any:
        editor = self.editors[key]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QComboBox):
            return editor.currentText()
        value = editor.value()
        return float(value) if isinstance(editor, QDoubleSpinBox) else int(value)

    # -- writing -----------------------------------------------------------------------------------
    def set_value(self, key: str, value: Any) -> None:
        """Set an editor programmatically (as a user edit would: live settings are emitted)."""
        if key in self.weight_editors:
            self.weight_editors[key].setValue(value)
        elif isinstance(self.editors[key], QCheckBox):
            self.editors[key].setChecked(bool(value))
        elif isinstance(self.editors[key], QComboBox):
            self.editors[key].setCurrentText(str(value))
        else:
            self.editors[key].setValue(value)

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        enabled = _ENABLED[phase]
        for name, button in self.buttons.items():
            button.setEnabled(name in enabled)
        locked = phase in ("preparing", "running", "paused")
        for widget in self._lockable:
            widget.setEnabled(not locked)
        for button in self.export_buttons.values():
            button.setEnabled(phase in HAS_FIT)
        if not locked:
            self._update_inputs()

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _update_inputs(self) -> None:
        locked = self.phase in ("preparing", "running", "paused")
        folder = self.target_kind() == "folder"
        self.folder_edit.setEnabled(folder and not locked)
        sphere = self.source_kind() == "sphere"
        self.level_spin.setEnabled(sphere and not locked)
        self.source_edit.setEnabled(not sphere and not locked)

    def _emit_live(self, changes: dict) -> None:
        if self.phase in ("running", "paused"):
            self.live_changed.emit(changes)
