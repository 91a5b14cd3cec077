"""Blend panel: presets, sigma and gamma (log sliders with typed entry), background colour."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel

from ..presets import Preset
from ..state import SceneState
from ..undo import EditHistory
from .base import ParamPanel

KEYS = ("blend.sigma", "blend.gamma", "blend.background")
CHOOSE = "Choose a preset…"


def build(state: SceneState, history: EditHistory, presets: list[Preset]) -> ParamPanel:
    """The panel; picking a preset applies its values (raster and blend) as one undo step."""
    panel = ParamPanel(KEYS, state, history)
    combo = QComboBox()
    combo.addItem(CHOOSE)
    for preset in presets:
        combo.addItem(preset.name)
        combo.setItemData(combo.count() - 1, preset.about, Qt.ItemDataRole.ToolTipRole)
    by_name = {p.name: p for p in presets}

    def apply(name: str) -> None:
        if name in by_name:
            apply_preset(history, by_name[name])
            combo.setCurrentIndex(0)

    combo.currentTextChanged.connect(apply)
    row = QHBoxLayout()
    row.addWidget(QLabel("Preset"))
    row.addWidget(combo, 1)
    panel.header.addLayout(row)
    return panel


def apply_preset(history: EditHistory, preset: Preset) -> bool:
    return history.set_values(preset.values, f"Preset “{preset.name}”")
