"""One control per parameter, built from its `Param`: editor, units, range, reset.

Controls never hold values of their own: they show the state and send edits to the
`EditHistory`. A slider drag is one undo step (a gesture from press to release); typed values,
checkboxes and combo choices are one step each. Bad typed values are refused with a message.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QToolButton,
    QWidget,
)

from ..parameters import Param, param
from ..state import SceneState
from ..undo import EditHistory, Gesture

SLIDER_STEPS = 1000
# The narrowest a slider gets: squeezed to its handle alone it looks like an empty tick box
# (a narrow dock scrolls sideways instead).
SLIDER_MIN_WIDTH = 48


class ParamControl(QWidget):
    """Base: subclasses build `editor_layout` widgets and implement `show_value`."""

    def __init__(self, key: str, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec: Param = param(key)
        self._state = state
        self._history = history
        self._gesture: Gesture | None = None
        tip = "\n".join(t for t in (self.spec.help, f"Range: {self.spec.range_text()}", f"Parameter: {key}") if t)
        self.label = QLabel(self.spec.label + (f" [{self.spec.unit}]" if self.spec.unit else ""))
        self.label.setToolTip(tip)
        self.range_label = QLabel(self.spec.range_text())
        self.range_label.setStyleSheet("color: gray; font-size: small;")
        self.reset_button = QToolButton(text="↺")
        self.reset_button.setToolTip(f"Reset {self.spec.label} to {self._format(self.spec.default)}")
        self.reset_button.clicked.connect(self.reset)
        self.setToolTip(tip)
        self.editor_layout = QHBoxLayout(self)
        self.editor_layout.setContentsMargins(0, 0, 0, 0)
        state.settings_changed.connect(self._on_settings_changed)

    @property
    def key(self) -> str:
        return self.spec.key

    def value(self) -> Any:
        return self._state.value(self.key)

    def commit(self, value: Any) -> None:
        """Send `value` to the history (part of the open drag gesture, if any)."""
        if not self._history.try_set_value(self.key, value, self._gesture):
            self.show_value(self.value())  # refused or unchanged: show what the state holds

    def reset(self) -> None:
        self._history.set_value(self.key, self.spec.default)

    def begin_drag(self) -> None:
        self._gesture = self._history.begin_gesture(self.key)

    def end_drag(self) -> None:
        self._history.end_gesture(self._gesture)
        self._gesture = None

    def show_value(self, value: Any) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        self.show_value(self.value())

    def _on_settings_changed(self, keys: set[str]) -> None:
        if self.key in keys:
            self.refresh()

    def _format(self, value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, tuple):
            return ", ".join(f"{v:.3g}" for v in value)
        return str(value)


class NumberControl(ParamControl):
    """Slider (linear or logarithmic) plus typed entry for float and int parameters."""

    def __init__(self, key: str, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(key, state, history, parent)
        spec = self.spec
        if spec.minimum is None or spec.maximum is None:
            raise ValueError(f"{key}: a slider needs a minimum and a maximum")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setMinimumWidth(SLIDER_MIN_WIDTH)
        self.slider.sliderPressed.connect(self.begin_drag)
        self.slider.sliderReleased.connect(self.end_drag)
        self.slider.valueChanged.connect(lambda pos: self.commit(self.from_slider(pos)))
        self.entry = QLineEdit()
        self.entry.setMaximumWidth(90)
        self.entry.setToolTip(f"Type a value ({spec.range_text()}) and press Enter")
        self.entry.editingFinished.connect(self._typed)
        self.editor_layout.addWidget(self.slider, 1)
        self.editor_layout.addWidget(self.entry)
        self.refresh()

    def to_slider(self, value: float) -> int:
        spec = self.spec
        lo, hi = spec.minimum, spec.maximum
        if spec.log:
            if value <= 0.0:
                return 0
            t = (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            t = (value - lo) / (hi - lo)
        return round(min(1.0, max(0.0, t)) * SLIDER_STEPS)

    def from_slider(self, position: int) -> float | int:
        spec = self.spec
        lo, hi = spec.minimum, spec.maximum
        t = position / SLIDER_STEPS
        if spec.log:
            if spec.zero_allowed and position == 0:
                return 0.0
            value = 10.0 ** (math.log10(lo) + t * (math.log10(hi) - math.log10(lo)))
            value = float(f"{value:.3g}")  # round slider values to 3 significant digits
        else:
            value = lo + t * (hi - lo)
        value = min(hi, max(lo, value))
        return round(value) if spec.kind == "int" else value

    def _typed(self) -> None:
        text = self.entry.text().strip()
        try:
            value = int(text) if self.spec.kind == "int" else float(text)
        except ValueError:
            self._history.rejected.emit(f"{self.key}: {text!r} is not a number")
            self.refresh()
            return
        self.commit(value)

    def show_value(self, value: float) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(self.to_slider(value))
        self.entry.setText(self._format(value))


class BoolControl(ParamControl):
    def __init__(self, key: str, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(key, state, history, parent)
        self.checkbox = QCheckBox()
        self.checkbox.toggled.connect(self.commit)
        self.editor_layout.addWidget(self.checkbox)
        self.editor_layout.addStretch(1)
        self.refresh()

    def show_value(self, value: bool) -> None:
        with QSignalBlocker(self.checkbox):
            self.checkbox.setChecked(value)


class ChoiceControl(ParamControl):
    def __init__(self, key: str, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(key, state, history, parent)
        self.combo = QComboBox()
        self.combo.addItems(self.spec.choices)
        self.combo.currentTextChanged.connect(self.commit)
        self.editor_layout.addWidget(self.combo, 1)
        self.refresh()

    def show_value(self, value: str) -> None:
        with QSignalBlocker(self.combo):
            self.combo.setCurrentText(value)


class ColourControl(ParamControl):
    """A swatch that opens a colour dialog, plus typed "r, g, b" in [0, 1]."""

    def __init__(self, key: str, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(key, state, history, parent)
        self.swatch = QToolButton()
        self.swatch.setFixedWidth(36)
        self.swatch.setToolTip("Choose a colour")
        self.swatch.clicked.connect(self._choose)
        self.entry = QLineEdit()
        self.entry.setToolTip("Type r, g, b each in [0, 1] and press Enter")
        self.entry.editingFinished.connect(self._typed)
        self.editor_layout.addWidget(self.swatch)
        self.editor_layout.addWidget(self.entry, 1)
        self.refresh()

    def _choose(self) -> None:
        r, g, b = self.value()
        colour = QColorDialog.getColor(QColor.fromRgbF(r, g, b), self, self.spec.label)
        if colour.isValid():
            self.commit((round(colour.redF(), 4), round(colour.greenF(), 4), round(colour.blueF(), 4)))

    def _typed(self) -> None:
        parts = self.entry.text().replace(",", " ").split()
        try:
            value = tuple(float(p) for p in parts)
        except ValueError:
            self._history.rejected.emit(f"{self.key}: {self.entry.text()!r} is not three numbers")
            self.refresh()
            return
        self.commit(value)

    def show_value(self, value: tuple[float, float, float]) -> None:
        r, g, b = (round(c * 255) for c in value)
        self.swatch.setStyleSheet(f"background-color: rgb({r}, {g}, {b});")
        self.entry.setText(self._format(value))


class Vec3Control(ParamControl):
    """Three spin boxes x, y, z."""

    def __init__(self, key: str, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(key, state, history, parent)
        self.spins = []
        for axis in "xyz":
            spin = QDoubleSpinBox()
            spin.setRange(self.spec.minimum, self.spec.maximum)
            spin.setDecimals(3)
            spin.setSingleStep(0.1)
            spin.setPrefix(f"{axis} ")
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda _=0.0: self.commit(tuple(s.value() for s in self.spins)))
            self.spins.append(spin)
            self.editor_layout.addWidget(spin, 1)
        self.refresh()

    def show_value(self, value: tuple[float, float, float]) -> None:
        for spin, component in zip(self.spins, value):
            with QSignalBlocker(spin):
                spin.setValue(component)


_CONTROLS = {
    "float": NumberControl,
    "int": NumberControl,
    "bool": BoolControl,
    "choice": ChoiceControl,
    "colour": ColourControl,
    "vec3": Vec3Control,
}


def make_control(key: str, state: SceneState, history: EditHistory) -> ParamControl:
    """The control matching the kind of parameter `key`."""
    return _CONTROLS[param(key).kind](key, state, history)
