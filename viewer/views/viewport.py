"""The 3D viewport: the mesh in a vispy SceneCanvas with a turntable camera tied to the state.

The camera is the state's camera: orbiting or zooming here writes camera.azimuth, elevation and
distance (one undo step per drag or wheel burst), and state changes move the vispy camera. So
the render panes, which core renders from the same values, always show this view.

Conventions: core's look-at camera at azimuth a sits at (sin a, ·, cos a) on the ring; vispy's
turntable (up +Y) at azimuth a' sits at (−cos a', ·, sin a'), so a' = a + 90°. Elevation and
distance mean the same in both; the field of view spans the shorter side of the canvas, as it
spans the side of core's square images. Panning is disabled: core's camera always looks at the
origin.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import vispy

vispy.use(app="pyside6")

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from vispy import scene
from vispy.visuals.filters import WireframeFilter

from ..parameters import PARAMS, VIEW_MODES, wrap_degrees
from ..scene_builder import orthographic_half_height
from ..scene_mesh import SceneMesh
from ..state import SceneState
from ..undo import EditHistory, Gesture
from .offscreen_canvas import OffscreenCanvas

VISPY_AZIMUTH_OFFSET = 90.0
BACKGROUND = (0.16, 0.16, 0.18, 1.0)
STANDARD_VIEWS = {"Front": (0.0, 0.0), "Side": (0.0, 90.0), "Top": (90.0, 0.0)}  # (elevation, azimuth)
_CAMERA_KEYS = ("camera.distance", "camera.elevation", "camera.azimuth", "camera.fov", "camera.projection")
_WHEEL_GESTURE_MS = 400


class _OrbitCamera(scene.TurntableCamera):
    """A turntable camera that orbits and zooms but never pans (core looks at the origin), and
    calls `on_view_changed()` after every change of its parameters (mouse or code)."""

    on_view_changed: Callable[[], None] | None = None

    def _dist_to_trans(self, dist):
        return 0.0, 0.0, 0.0

    def view_changed(self) -> None:
        super().view_changed()
        if self.on_view_changed is not None:
            self.on_view_changed()


class Viewport(QWidget):
    """Toolbar (shaded / wireframe / both, reset, standard views) over the vispy canvas."""

    def __init__(self, state: SceneState, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._history = history
        self._applying = False
        self._drag: Gesture | None = None
        self._wheel: Gesture | None = None
        self._wheel_timer = QTimer(self, singleShot=True, interval=_WHEEL_GESTURE_MS)
        self._wheel_timer.timeout.connect(self._end_wheel)

        self.canvas_view = OffscreenCanvas(self, bgcolor=BACKGROUND)
        self.canvas = self.canvas_view.canvas
        self.view = self.canvas.central_widget.add_view()
        self.camera = _OrbitCamera(up="+y", center=(0.0, 0.0, 0.0))
        self.view.camera = self.camera
        self.mesh_visual = scene.visuals.Mesh(shading="smooth", parent=self.view.scene)
        self.wireframe = WireframeFilter(color=(0.05, 0.05, 0.05, 1.0), width=1.0)
        self.mesh_visual.attach(self.wireframe)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self._toolbar())
        layout.addWidget(self.canvas_view, 1)

        self.canvas.events.mouse_press.connect(self._on_mouse_press)
        self.canvas.events.mouse_release.connect(self._on_mouse_release)
        self.canvas.events.mouse_wheel.connect(self._on_wheel)
        self.canvas.events.resize.connect(lambda event: self._apply_camera())
        state.mesh_changed.connect(self._show_mesh)
        state.settings_changed.connect(self._on_settings_changed)
        self._show_mesh(state.mesh)
        # A brighter preview than vispy's default lighting, closer to core's default lights.
        self.mesh_visual.shading_filter.ambient_light = (1.0, 1.0, 1.0, 0.5)
        self.mesh_visual.shading_filter.specular_light = (1.0, 1.0, 1.0, 0.2)
        self._apply_camera()
        self._apply_mode()
        self.camera.on_view_changed = self._on_camera_moved  # only now: the camera shows the state

    def _toolbar(self) -> QToolBar:
        """A toolbar that tucks the buttons that do not fit into its "»" menu, so the viewport
        can be narrow."""
        bar = QToolBar()
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.mode_buttons = QButtonGroup(self)
        for mode in VIEW_MODES:
            button = QToolButton(text=mode.capitalize(), checkable=True)
            button.setToolTip(f"Show the mesh {mode}" if mode != "both" else "Shaded with the wireframe on top")
            button.clicked.connect(lambda _=False, m=mode: self._history.set_value("view.mode", m))
            self.mode_buttons.addButton(button)
            bar.addWidget(button)
        bar.addSeparator()
        reset = QToolButton(text="Reset view")
        reset.setToolTip("Camera distance, elevation, azimuth and field of view back to their defaults")
        reset.clicked.connect(self.reset_view)
        bar.addWidget(reset)
        for name, (elevation, azimuth) in STANDARD_VIEWS.items():
            button = QToolButton(text=name)
            button.setToolTip(f"{name} view: elevation {elevation:g}°, azimuth {azimuth:g}°")
            button.clicked.connect(lambda _=False, e=elevation, a=azimuth, n=name: self.standard_view(n, e, a))
            bar.addWidget(button)
        return bar

    # -- state -> vispy ----------------------------------------------------------------------------
    def _show_mesh(self, mesh: SceneMesh) -> None:
        self.mesh_visual.set_data(vertices=mesh.verts, faces=mesh.faces, vertex_colors=mesh.vertex_colors)

    def _on_settings_changed(self, keys: set[str]) -> None:
        if keys.intersection(_CAMERA_KEYS):
            self._apply_camera()
        if "view.mode" in keys:
            self._apply_mode()

    def _apply_camera(self) -> None:
        settings = self._state.settings
        self._applying = True
        try:
            cam = self.camera
            orthographic = settings["camera.projection"] == "orthographic"
            cam.fov = 0.0 if orthographic else self._vispy_fov(settings["camera.fov"])
            cam.scale_factor = 2.0 * orthographic_half_height(settings)
            cam.distance = settings["camera.distance"]
            cam.elevation = settings["camera.elevation"]
            cam.azimuth = settings["camera.azimuth"] + VISPY_AZIMUTH_OFFSET
        finally:
            self._applying = False

    def _vispy_fov(self, fov: float) -> float:
        """vispy's field of view always spans the canvas height; core's square panes show `fov`
        across their side. On a canvas taller than wide, widen vispy's so that its width sees
        `fov`: the panes then show exactly the middle square of the viewport."""
        width, height = self.canvas.size  # the view box is resized after the canvas: not yet current
        if height <= width or width <= 0:
            return fov
        return math.degrees(2.0 * math.atan(math.tan(math.radians(fov) / 2.0) * height / width))

    def _apply_mode(self) -> None:
        mode = self._state.value("view.mode")
        self.wireframe.enabled = mode != "shaded"
        self.wireframe.wireframe_only = mode == "wireframe"
        for button in self.mode_buttons.buttons():
            button.setChecked(button.text().lower() == mode)
        self.canvas.update()

    # -- vispy -> state ----------------------------------------------------------------------------
    def _on_camera_moved(self) -> None:
        if self._applying:
            return
        cam = self.camera
        distance = cam.distance if cam.distance is not None else self._state.value("camera.distance")
        spec = PARAMS["camera.distance"]
        values = {
            "camera.azimuth": wrap_degrees(cam.azimuth - VISPY_AZIMUTH_OFFSET),
            "camera.elevation": max(-90.0, min(90.0, cam.elevation)),
            "camera.distance": max(spec.minimum, min(spec.maximum, distance)),
        }
        gesture = self._drag or self._wheel
        self._history.set_values(values, "Orbit view", gesture)
        if not math.isclose(values["camera.distance"], distance):
            self._apply_camera()  # zoomed past the allowed range: snap the view back

    def _on_mouse_press(self, event) -> None:
        self._drag = self._history.begin_gesture("orbit")

    def _on_mouse_release(self, event) -> None:
        self._history.end_gesture(self._drag)
        self._drag = None

    def _on_wheel(self, event) -> None:
        if self._wheel is None:
            self._wheel = self._history.begin_gesture("zoom")
        self._wheel_timer.start()

    def _end_wheel(self) -> None:
        self._history.end_gesture(self._wheel)
        self._wheel = None

    # -- toolbar actions ---------------------------------------------------------------------------
    def reset_view(self) -> None:
        keys = ("camera.distance", "camera.elevation", "camera.azimuth", "camera.fov")
        self._history.set_values({k: PARAMS[k].default for k in keys}, "Reset view")

    def standard_view(self, name: str, elevation: float, azimuth: float) -> None:
        self._history.set_values({"camera.elevation": elevation, "camera.azimuth": azimuth}, f"{name} view")
