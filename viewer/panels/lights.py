"""Lights panel: type, position or direction, ambient/diffuse/specular colours."""

from __future__ import annotations

from ..state import SceneState
from ..undo import EditHistory
from .base import ParamPanel

KEYS = ("light.type", "light.location", "light.direction", "light.ambient", "light.diffuse", "light.specular")


def build(state: SceneState, history: EditHistory) -> ParamPanel:
    panel = ParamPanel(KEYS, state, history)
    panel.enable_when("light.location", lambda s: s["light.type"] == "point")
    panel.enable_when("light.direction", lambda s: s["light.type"] == "directional")
    for key in ("light.diffuse", "light.specular"):
        panel.enable_when(key, lambda s: s["light.type"] != "ambient")
    return panel
