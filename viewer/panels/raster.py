"""Rasterization panel: image size, blur radius (or derived from sigma), K, and switches."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from ..scene_builder import effective_blur_radius, near_clip
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


# What decides where faces are clipped (scene_builder.near_clip): znear, and whether the
# rasterization is perspective-correct.
NEAR_CLIP_KEYS = frozenset({"camera.znear", "camera.projection", "raster.perspective_correct"})


def build(state: SceneState, history: EditHistory) -> ParamPanel:
    panel = ParamPanel(KEYS, state, history)
    panel.enable_when("raster.blur_radius", lambda s: not s["raster.derive_blur"])
    used = QLabel()
    used.setToolTip("The blur radius the soft pane is rasterized with")
    panel.header.addWidget(used)

    clip = QLabel()
    clip.setToolTip(
        "Faces reaching nearer to the camera than this view depth are cut there (PyTorch3D's "
        "z_clip_value, znear / 2 for perspective-correct rasterization); set znear in the Camera panel"
    )
    panel.header.addWidget(clip)

    def show_used(_keys=None) -> None:
        used.setText(f"Soft pane blur radius in use: {effective_blur_radius(state.settings):.4g} NDC²")

    def show_clip(keys=None) -> None:
        if keys is not None and not keys & NEAR_CLIP_KEYS:
            return  # orbiting, for one, cannot move it
        depth = near_clip(state.settings, "soft")
        clip.setText("Near clip: none (no perspective correction)" if depth is None else f"Near clip at view depth {depth:.4g}")

    state.settings_changed.connect(show_used)
    state.settings_changed.connect(show_clip)
    show_used()
    show_clip()
    return panel
