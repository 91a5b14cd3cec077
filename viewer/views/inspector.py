"""Fragment inspector: pix_to_face, zbuf, bary_coords and dists of one pane, layer k of K, that
layer's share of the soft colour, and where K dropped faces within reach."""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..pane_renderer import FragmentMaps
from ..render_service import RenderResult
from ..scene_builder import PANES
from . import colour_maps
from .image_view import ImageView

class _Picture(NamedTuple):
    """One map of the inspector: its title, how it is drawn from the fragments at layer k
    (an RGB image and its legend), and whether it depends on k (else it shows all layers)."""

    name: str
    draw: Callable[[FragmentMaps, int], tuple[np.ndarray, str]]
    per_layer: bool = True


def _layer_map(name: str, picture: Callable) -> _Picture:
    """A picture of FragmentMaps.<name> at layer k (pixels without a face at k left out)."""
    return _Picture(name, lambda maps, k: picture(getattr(maps, name)[:, :, k], maps.pix_to_face[:, :, k]))


_PICTURES = (
    _Picture("pix_to_face", lambda maps, k: colour_maps.faces_image(maps.pix_to_face[:, :, k])),
    _layer_map("zbuf", colour_maps.depth_image),
    _layer_map("bary_coords", colour_maps.bary_image),
    _layer_map("dists", colour_maps.dists_image),
    _Picture("blend share", lambda maps, k: colour_maps.share_image(  # layer k's share of the soft colour (γ, σ)
        None if maps.shares is None else maps.shares[:, :, k], maps.pix_to_face[:, :, k])),
    _Picture("dropped by K", lambda maps, k: colour_maps.k_state_image(  # where K cut candidates short
        maps.k_state, maps.pix_to_face[:, :, 0]), per_layer=False),
    _Picture("∂α/∂dist", lambda maps, k: colour_maps.alpha_gradient_image(  # where coverage responds to the faces (σ)
        maps.alpha_gradient, maps.pix_to_face[:, :, 0]), per_layer=False),
)


class FragmentInspector(QWidget):
    """Shows the fragments of the chosen pane at layer k; hovering a picture emits a readout.

    `readout_changed(text)` carries the values under the pointer ("" when it leaves).
    """

    readout_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._maps: dict[str, FragmentMaps] = {}
        self.snapshot_id = -1  # of the fragments shown

        self.pane_combo = QComboBox()
        self.pane_combo.addItems([p.capitalize() for p in PANES])
        self.pane_combo.setToolTip("Which pane's fragments to show")
        self.layer_spin = QSpinBox()
        self.layer_spin.setPrefix("k = ")
        self.layer_spin.setRange(0, 0)
        self.layer_spin.setToolTip("Layer k of faces_per_pixel: 0 is each pixel's nearest face")
        self.layers_label = QLabel("of – layers")
        controls = QHBoxLayout()
        for widget in (QLabel("Pane"), self.pane_combo, QLabel("Layer"), self.layer_spin, self.layers_label):
            controls.addWidget(widget)
        controls.addStretch(1)

        grid = QGridLayout()
        self.views: dict[str, ImageView] = {}
        self.legends: dict[str, QLabel] = {}
        for i, (name, _, _) in enumerate(_PICTURES):
            view = ImageView("No fragments yet")
            view.hovered.connect(self._on_hovered)
            legend = QLabel()
            legend.setWordWrap(True)
            # room for four lines in every legend, so that the pictures above them stay level
            legend.setFixedHeight(4 * legend.fontMetrics().lineSpacing())
            legend.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            cell = QVBoxLayout()
            cell.addWidget(QLabel(f"<b>{name}</b>"))
            cell.addWidget(view, 1)
            cell.addWidget(legend)
            grid.addLayout(cell, 0, i)
            grid.setColumnStretch(i, 1)  # the maps share the width equally
            self.views[name], self.legends[name] = view, legend

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(grid, 1)

        self.pane_combo.currentIndexChanged.connect(self._redraw)
        self.layer_spin.valueChanged.connect(lambda: self._redraw(layer_only=True))

    def selected_pane(self) -> str:
        return PANES[self.pane_combo.currentIndex()]

    def layer_count(self) -> int:
        """K of the shown pane's fragments (0 before any arrive)."""
        maps = self._maps.get(self.selected_pane())
        return maps.layers if maps is not None else 0

    def fragments(self, pane: str) -> FragmentMaps | None:
        return self._maps.get(pane)

    def set_result(self, result: RenderResult) -> None:
        """Take the fragments of every pane in `result` that has them. A pane that failed to
        render drops the fragments it had: they belong to older settings (another K, say), and
        showing them as current would mislead; its pictures say it was not rendered instead."""
        for pane, image in result.images.items():
            if image.fragments is not None:
                self._maps[pane] = image.fragments
        for pane in result.errors:
            self._maps.pop(pane, None)
        self.snapshot_id = result.snapshot_id
        self._redraw()

    def readout(self, pane: str, x: int, y: int) -> str:
        """Values of `pane`'s fragments at pixel (x, y), layer k ("" when unknown)."""
        maps = self._maps.get(pane)
        if maps is None or x < 0 or y < 0:
            return ""
        layer = min(self.layer_spin.value(), maps.layers - 1)
        return f"{pane}: " + maps.readout(x, y, layer)

    def _redraw(self, layer_only: bool = False) -> None:
        """Draw the shown pane's pictures; `layer_only`: only those that depend on the layer
        (the others show all layers and stay as drawn)."""
        maps = self._maps.get(self.selected_pane())
        if maps is None:
            if self.snapshot_id >= 0:  # a result came, without this pane's fragments
                self._show_nothing(f"No fragments: the {self.selected_pane()} pane was not rendered")
            return
        with QSignalBlocker(self.layer_spin):
            self.layer_spin.setMaximum(maps.layers - 1)
        self.layers_label.setText(f"of {maps.layers} layer{'s' if maps.layers != 1 else ''}")
        k = self.layer_spin.value()
        for name, draw, per_layer in _PICTURES:
            if layer_only and not per_layer:
                continue
            rgb, legend = draw(maps, k)
            self.views[name].set_image(rgb)
            self.legends[name].setText(legend)
            self.legends[name].setToolTip(legend)  # the whole legend, where a narrow column cuts it

    def _show_nothing(self, reason: str) -> None:
        """Empty every picture and legend (with `reason` as the pictures' placeholder)."""
        self.layers_label.setText("of – layers")
        for name, _, _ in _PICTURES:
            self.views[name].set_image(None)
            self.views[name].set_placeholder(reason)
            self.legends[name].clear()
            self.legends[name].setToolTip("")

    def _on_hovered(self, x: int, y: int) -> None:
        self.readout_changed.emit(self.readout(self.selected_pane(), x, y))
