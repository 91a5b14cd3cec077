"""Rasterization panel: image size, blur radius (or derived from sigma), K, and switches."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from ..scene_builder import effective_blur_radius
from ..state import SceneState
from ..undo import EditHistory
from .base import ParamPanel

KEYS = (
    "raster.image_size",
    "raster.faces_per_pixel",
    "raster.derive_blur",
    "raster.blur_radius",
    "raster.perspective_correct",
    "raster.cull_backfaces",
    "raster.hard_uses_soft",
    "raster.memory_budget_mb",
)


def build(state: SceneState, history: EditHistory) -> ParamPanel:
    panel = ParamPanel(KEYS, state, history)
    panel.enable_when("raster.blur_radius", lambda s: not s["raster.derive_blur"])
    used = QLabel()
    used.setToolTip("The blur radius the soft pane is rasterized with")
    panel.header.addWidget(used)

    def show_used(_keys=None) -> None:
        used.setText(f"Soft pane blur radius in use: {effective_blur_radius(state.settings):.4g} NDC²")

    state.settings_changed.connect(show_used)
    show_used()
    return panel
