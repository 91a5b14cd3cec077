"""Camera panel: distance, elevation, azimuth, field of view, projection (the viewport's camera)."""

from __future__ import annotations

from ..state import SceneState
from ..undo import EditHistory
from .base import ParamPanel

KEYS = ("camera.distance", "camera.elevation", "camera.azimuth", "camera.fov", "camera.projection")


def build(state: SceneState, history: EditHistory) -> ParamPanel:
    return ParamPanel(KEYS, state, history)
