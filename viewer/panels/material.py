"""Material panel: ambient/diffuse/specular reflectance and shininess."""

from __future__ import annotations

from ..state import SceneState
from ..undo import EditHistory
from .base import ParamPanel

KEYS = ("material.ambient", "material.diffuse", "material.specular", "material.shininess")


def build(state: SceneState, history: EditHistory) -> ParamPanel:
    return ParamPanel(KEYS, state, history)
