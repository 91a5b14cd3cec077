"""A panel: a column of parameter controls (label, editor, reset; range underneath)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from ..parameters import Settings
from ..state import SceneState
from ..undo import EditHistory
from .controls import ParamControl, make_control


class ParamPanel(QWidget):
    """Controls for `keys` in a grid. `enable_when(key, rule)` greys a control out whenever
    `rule(settings)` is False (e.g. a light's position when the light is directional)."""

    def __init__(self, keys: Iterable[str], state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._rules: dict[str, Callable[[Settings], bool]] = {}
        self.controls: dict[str, ParamControl] = {}
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        for key in keys:
            self.add_control(key, history)
        outer = QVBoxLayout(self)
        self.header = QVBoxLayout()
        outer.addLayout(self.header)
        outer.addLayout(self.grid)
        outer.addStretch(1)
        state.settings_changed.connect(lambda _keys: self._apply_rules())

    def add_control(self, key: str, history: EditHistory) -> ParamControl:
        control = make_control(key, self._state, history)
        row = self.grid.rowCount()
        control.label.setWordWrap(True)  # long names wrap in a narrow dock
        self.grid.addWidget(control.label, row, 0)
        self.grid.addWidget(control, row, 1)
        self.grid.addWidget(control.reset_button, row, 2)
        self.grid.addWidget(control.range_label, row + 1, 1)
        self.controls[key] = control
        return control

    def add_note(self, label: QLabel) -> None:
        """A line of text under the last control (e.g. a derived value)."""
        self.grid.addWidget(label, self.grid.rowCount(), 1)

    def enable_when(self, key: str, rule: Callable[[Settings], bool]) -> None:
        self._rules[key] = rule
        self._apply_rules()

    def _apply_rules(self) -> None:
        settings = self._state.settings
        for key, rule in self._rules.items():
            enabled = rule(settings)
            control = self.controls[key]
            for widget in (control, control.label, control.reset_button, control.range_label):
                widget.setEnabled(enabled)
