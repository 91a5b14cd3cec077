"""The fit's current mesh in the 3D viewport, beside (or instead of) the scene's mesh.

A second vispy Mesh visual in the viewport's scene, so the viewport keeps its own camera,
toolbar and mesh untouched: the user orbits freely while the fit updates this layer. It is
coloured by the fitted vertex colours, or by the gradient magnitude |dL/dv| of the last step.
"""

from __future__ import annotations

import numpy as np
from vispy import scene

from .heat import heat_colors
from .snapshots import MeshSnapshot

COLOR_MODES = ("colors", "gradient")


class LiveMeshLayer:
    """Shows `MeshSnapshot`s in `viewport` (a viewer.views.viewport.Viewport)."""

    def __init__(self, viewport) -> None:
        self._viewport = viewport
        self.visual: scene.visuals.Mesh | None = None  # made on the first show: vispy cannot draw an empty mesh
        self.snapshot: MeshSnapshot | None = None
        self.color_mode = "colors"
        self.gradient_max = 0.0  # the |grad| shown white in gradient mode (99th percentile)
        self._show_target = False

    @property
    def shown(self) -> bool:
        return self.visual is not None and bool(self.visual.visible)

    def show(self, snapshot: MeshSnapshot) -> None:
        """Draw `snapshot`; from now on the scene's own mesh hides unless `set_show_target(True)`."""
        self.snapshot = snapshot
        data = dict(vertices=snapshot.verts, faces=snapshot.faces, vertex_colors=self._colors(snapshot))
        if self.visual is None:
            self.visual = scene.visuals.Mesh(shading="smooth", parent=self._viewport.view.scene, **data)
            self.visual.shading_filter.ambient_light = (1.0, 1.0, 1.0, 0.5)
            self.visual.shading_filter.specular_light = (1.0, 1.0, 1.0, 0.2)
        else:
            self.visual.set_data(**data)
        self.visual.visible = True
        self._viewport.mesh_visual.visible = self._show_target
        self._viewport.canvas.update()

    def clear(self) -> None:
        """Hide the layer and show the scene's mesh again."""
        self.snapshot = None
        if self.visual is not None:
            self.visual.visible = False
        self._viewport.mesh_visual.visible = True
        self._viewport.canvas.update()

    def set_color_mode(self, mode: str) -> None:
        if mode not in COLOR_MODES:
            raise ValueError(f"colour mode must be one of {COLOR_MODES}, got {mode!r}")
        self.color_mode = mode
        if self.snapshot is not None:
            self.show(self.snapshot)

    def set_show_target(self, show: bool) -> None:
        """Also draw the scene's (target) mesh while the fitted mesh is shown."""
        self._show_target = bool(show)
        if self.shown:
            self._viewport.mesh_visual.visible = self._show_target
            self._viewport.canvas.update()

    def drawn_vertices(self) -> np.ndarray:
        """The vertices the visual currently holds (what the viewport draws)."""
        if self.visual is None:
            return np.zeros((0, 3), np.float32)
        return np.asarray(self.visual.mesh_data.get_vertices())

    def _colors(self, snapshot: MeshSnapshot) -> np.ndarray:
        if self.color_mode == "gradient" and snapshot.grad_norm is not None:
            # The 99th percentile, not the max: one outlier vertex would paint all others black.
            self.gradient_max = float(np.percentile(snapshot.grad_norm, 99)) if snapshot.grad_norm.size else 0.0
            return heat_colors(snapshot.grad_norm, self.gradient_max)
        return snapshot.colors
