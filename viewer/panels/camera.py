"""Camera panel: distance, elevation, azimuth, field of view, projection (the viewport's camera),
and PyTorch3D's znear / zfar (the soft blend's depth range and the near clip)."""

from __future__ import annotations

from ..state import SceneState
from ..undo import EditHistory
from .base import ParamPanel

KEYS = (
    "camera.distance", "camera.elevation", "camera.azimuth", "camera.fov", "camera.projection",
    "camera.znear", "camera.zfar",
)


def build(state: SceneState, history: EditHistory) -> ParamPanel:
    return ParamPanel(KEYS, state, history)
