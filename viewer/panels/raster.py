"""Rasterization panel: image size, blur radius (or derived from sigma), K, and switches."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThreadPool
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton

from core.renderer.mesh.faces_per_pixel import FacesPerPixelNeeded

from ..k_finder import K_LIMIT, FindKJob
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
    panel.k_finder = KFinder(state, history, panel)
    panel.header.addLayout(panel.k_finder.layout)
    return panel


class KFinder(QObject):
    """"Find K": the faces per pixel the soft pane's current view needs, found off the GUI
    thread, with a button that sets it (one undo step). A result is dropped once the scene
    has changed since it was asked for. A child of its panel: a search that reports after the
    panel is gone reaches nobody."""

    def __init__(self, state: SceneState, history: EditHistory, parent: QObject) -> None:
        super().__init__(parent)
        self._state, self._history = state, history
        self._jobs: list[FindKJob] = []  # kept alive until they report
        self.find_button = QPushButton("Find K")
        self.find_button.setToolTip(
            f"Rasterize the soft pane's view once with K = {K_LIMIT} and report the smallest faces per "
            "pixel that keeps, at every pixel, the face containing the pixel centre, and the smallest "
            "that keeps every face within the blur radius"
        )
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.use_button = QPushButton()
        self.use_button.hide()
        self.layout = QHBoxLayout()
        self.layout.addWidget(self.find_button)
        self.layout.addWidget(self.result, 1)
        self.layout.addWidget(self.use_button)
        self._suggested = 0
        self.find_button.clicked.connect(self.find)
        self.use_button.clicked.connect(
            lambda: self._history.set_value("raster.faces_per_pixel", self._suggested)
        )
        state.settings_changed.connect(self._forget)
        state.mesh_changed.connect(self._forget)

    def find(self) -> None:
        job = FindKJob(self._state.mesh, self._state.settings, self._state.revision)
        job.signals.found.connect(self._on_found)
        job.signals.failed.connect(self._on_failed)
        self._jobs.append(job)
        job.setAutoDelete(False)
        self.find_button.setEnabled(False)
        self.result.setText("Finding K…")
        self.use_button.hide()
        QThreadPool.globalInstance().start(job)

    def _done(self, revision: int) -> bool:
        """Re-enable the button; True when the result is for the scene as it still is (every
        change of the scene raises its revision)."""
        self._jobs = [job for job in self._jobs if job.revision != revision]
        self.find_button.setEnabled(True)
        return revision == self._state.revision

    def _on_found(self, needed: FacesPerPixelNeeded, revision: int) -> None:
        if not self._done(revision):
            return
        if needed.keep_covering is None:
            self.result.setText(f"More than K = {needed.limit} needed: lower the blur radius")
            return
        every = f"{needed.keep_all}" if needed.keep_all is not None else f"more than {needed.limit}"
        self.result.setText(f"K ≥ {needed.keep_covering} keeps the covering face at every pixel; {every} keeps every face in reach")
        self._suggested = needed.keep_covering
        self.use_button.setText(f"Use {needed.keep_covering}")
        self.use_button.show()

    def _on_failed(self, message: str, revision: int) -> None:
        if self._done(revision):
            self.result.setText(f"Not found: {message}")

    def _forget(self, *_args) -> None:
        self.result.clear()
        self.use_button.hide()
