"""The main window: viewport and the soft/hard panes in the middle, parameter docks around.

Wiring only: widgets edit the state through the `EditHistory`; every state change asks the
render service for a new render; results go to the panes and the inspector. Extensions (e.g. a
fitting panel) add their own docks with `add_dock`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.io import LOAD_FORMATS

from .about import about_text
from .default_scene import DEFAULT_SCENE_NAME, torus_mesh
from .image_files import side_by_side, write_npy, write_png
from .mesh_loader import MeshLoadJob
from .pane_renderer import PaneImage, shaded_readout
from .panels import blend, camera, lights, material, raster
from .presets import Preset, load_presets
from .render_code import PACKAGES, render_code
from .render_service import RenderResult, RenderService
from .scene_builder import PANES
from .scene_mesh import SceneMesh, make_scene_mesh
from .settings import AppSettings
from .state import SceneState
from .undo import EditHistory
from .views.image_view import qimage_from_rgb
from .views.inspector import FragmentInspector
from .views.panes import RenderPane
from .views.save_target import save_target
from .views.sweep_dialog import SweepDialog
from .views.viewport import Viewport

APP_NAME = "RasterLab"
MESH_FILTER = f"Meshes ({' '.join('*' + ext for ext in LOAD_FORMATS)});;All files (*)"
BUSY_DELAY_MS = 150
# A dock may be narrowed to this width (its panel then scrolls sideways), so that the window's
# minimum width stays within a laptop screen whatever the panels hold.
DOCK_MIN_WIDTH = 260
DEFAULT_SIZE = (1800, 1000)
# The widest a dock starts (before the user drags it), for panels whose content is wider.
DOCK_START_WIDTH = 440
SAVE_CHOICES = {"soft": "Soft pane", "hard": "Hard pane", "both": "Both panes"}
NPY_FILTER = "Rendered values, float32 NumPy array (*.npy)"
# The banner above the views: red for what failed, amber for what the user should know.
ERROR_STYLE = "background: #fde2e2; color: #8a1111; padding: 4px;"
NOTICE_STYLE = "background: #fff1d6; color: #7a4a00; padding: 4px;"


def default_scene_mesh() -> SceneMesh:
    return make_scene_mesh(torus_mesh(), DEFAULT_SCENE_NAME)


class MainWindow(QMainWindow):
    """RasterLab's window. `render_shown(RenderResult)` fires once the panes show a result;
    `mesh_load_finished(ok, message)` after each attempt to open a file."""

    render_shown = Signal(object)
    mesh_load_finished = Signal(bool, str)

    def __init__(
        self,
        app_settings: AppSettings,
        *,
        device: str = "cpu",
        image_size: int | None = None,
        torch_threads: int | None = 1,
        parallel: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("RasterLabMainWindow")
        self.app_settings = app_settings
        settings, problems = app_settings.load_settings()
        if image_size is not None:
            settings = settings.replace({"raster.image_size": image_size})
        self.state = SceneState(default_scene_mesh(), settings, self)
        self.history = EditHistory(self.state, self)
        self.last_result: RenderResult | None = None
        self._load_jobs: list[MeshLoadJob] = []
        self._view_menu: QMenu | None = None
        self.sweep_dialog: SweepDialog | None = None
        self._start_widths: dict[QDockWidget, int] = {}
        self._views_shared = False
        self.presets = self._load_presets(problems)

        self.viewport = Viewport(self.state, self.history)
        self.panes = {pane: RenderPane(pane, self.state, self.history) for pane in PANES}
        self.inspector = FragmentInspector()
        self.setCentralWidget(self._central())
        self._create_menus()
        self._create_status_bar()
        self._create_docks()
        self.setAcceptDrops(True)
        self._fit_to_screen()
        self._size_docks()
        self._restore_layout()
        # Started last: a worker thread left running by a failed constructor would abort Qt.
        self.service = RenderService(device, torch_threads, parallel, self)

        self.state.settings_changed.connect(lambda _keys: self.request_render())
        self.state.mesh_changed.connect(self._on_mesh_changed)
        self.service.rendered.connect(self._show_result)
        self.service.fragments_ready.connect(self.inspector.set_result)
        self.service.busy_changed.connect(self._show_busy)
        self.history.rejected.connect(self.show_error)
        for pane in self.panes.values():
            pane.view.hovered.connect(lambda x, y, p=pane.pane: self._show_readout(p, x, y))
            pane.copy_requested.connect(self.copy_image)
            pane.save_requested.connect(self.save_render_dialog)
        self.inspector.readout_changed.connect(self._show_readout_text)
        self.docks["Fragment inspector"].visibilityChanged.connect(self._on_inspector_visibility)
        self._on_mesh_changed(self.state.mesh)
        for problem in problems:
            self.show_error(problem)
        self.request_render()

    # -- layout ------------------------------------------------------------------------------------
    def _central(self) -> QWidget:
        self.error_banner = QLabel()
        self.error_banner.setWordWrap(True)
        self.error_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QToolButton(text="✕")
        dismiss.setToolTip("Dismiss")
        dismiss.clicked.connect(self.clear_error)
        self._banner = QWidget()
        row = QHBoxLayout(self._banner)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.error_banner, 1)
        row.addWidget(dismiss)
        self._banner.hide()

        splitter = self._views_splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("views")
        splitter.addWidget(self.viewport)
        for pane in self.panes.values():
            splitter.addWidget(pane)
        for index in range(splitter.count()):
            splitter.setStretchFactor(index, 1)  # the viewport and the two panes share the width
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self._banner)
        layout.addWidget(splitter, 1)
        return central

    def add_dock(
        self,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
        scrollable: bool = True,
    ) -> QDockWidget:
        """Put `widget` in a dock (listed in the View menu; its place persists between runs)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock:{title}")
        if scrollable:
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(widget)
            bar = scroll.verticalScrollBar().sizeHint().width()
            scroll.setMinimumWidth(min(widget.minimumSizeHint().width() + bar, DOCK_MIN_WIDTH))
            self._start_widths[dock] = min(widget.sizeHint().width() + bar, DOCK_START_WIDTH)
            widget = scroll
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        if self._view_menu is not None:
            self._view_menu.addAction(dock.toggleViewAction())
        return dock

    def _create_docks(self) -> None:
        left, right, bottom = (
            Qt.DockWidgetArea.LeftDockWidgetArea,
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.panels = {
            "Rasterization": raster.build(self.state, self.history),
            "Blend": blend.build(self.state, self.history, self.presets),
            "Camera": camera.build(self.state, self.history),
            "Lights": lights.build(self.state, self.history),
            "Material": material.build(self.state, self.history),
        }
        areas = {"Rasterization": left, "Blend": left, "Camera": right, "Lights": right, "Material": right}
        self.docks = {title: self.add_dock(title, panel, areas[title]) for title, panel in self.panels.items()}
        self.docks["Fragment inspector"] = self.add_dock("Fragment inspector", self.inspector, bottom, scrollable=False)
        self.tabifyDockWidget(self.docks["Camera"], self.docks["Lights"])
        self.tabifyDockWidget(self.docks["Lights"], self.docks["Material"])
        self.docks["Camera"].raise_()

    def _size_docks(self) -> None:
        """Starting widths of the side columns: their panels' width, but at most 2/9 of the
        window each, so that on a small screen the views keep most of it."""
        cap = self._column_cap()
        columns = self._side_columns()
        widths = [min(cap, max(self._start_widths[dock] for dock in column)) for column in columns.values()]
        self.resizeDocks([column[0] for column in columns.values()], widths, Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Fragment inspector"]], [300], Qt.Orientation.Vertical)

    def _column_cap(self) -> int:
        return max(DOCK_MIN_WIDTH, self.width() * 2 // 9)

    def _side_columns(self) -> dict[Qt.DockWidgetArea, list[QDockWidget]]:
        """The panel docks in the left and right columns (floating or hidden ones left out)."""
        columns: dict[Qt.DockWidgetArea, list[QDockWidget]] = {}
        for dock in self._start_widths:
            area = self.dockWidgetArea(dock)
            if not dock.isFloating() and area in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea):
                columns.setdefault(area, []).append(dock)
        return columns

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._views_shared and 0 < event.size().width() < event.oldSize().width():
            QTimer.singleShot(0, self._keep_room_for_views)

    def _keep_room_for_views(self) -> None:
        """After the window narrowed: side columns wider than 2/9 of it give way (Qt takes the
        whole loss from the views otherwise), and a viewport squeezed under half a pane's width
        gets its third back."""
        cap = self._column_cap()
        wide = [column[0] for column in self._side_columns().values() if column[0].width() > cap]
        if wide:
            self.resizeDocks(wide, [cap] * len(wide), Qt.Orientation.Horizontal)
        QTimer.singleShot(0, self._unsqueeze_viewport)

    def _unsqueeze_viewport(self) -> None:
        sizes = self._views_splitter.sizes()
        if sizes[0] < min(sizes[1:]) // 2:
            self._share_views()

    def _create_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        open_action = file_menu.addAction("&Open…", self.open_dialog)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        save_menu = file_menu.addMenu("&Save Render")
        for which, label in SAVE_CHOICES.items():
            action = save_menu.addAction(f"{label}…", lambda w=which: self.save_render_dialog(w))
            if which == "both":
                action.setShortcut(QKeySequence.StandardKey.Save)
        file_menu.addSeparator()
        file_menu.addAction("&Quit", self.close).setShortcut(QKeySequence.StandardKey.Quit)

        edit_menu = bar.addMenu("&Edit")
        undo = self.history.stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.history.stack.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        edit_menu.addSeparator()
        copy = edit_menu.addAction("&Copy Image", lambda: self.copy_image("both"))
        copy.setShortcut(QKeySequence("Ctrl+Shift+C"))
        copy.setToolTip("Copy both panes, side by side, to the clipboard")
        code_menu = edit_menu.addMenu("Copy Render Co&de")
        for pane in PANES:
            for package, label in PACKAGES.items():
                code_menu.addAction(f"{pane.title()} pane, {label} imports", lambda p=pane, k=package: self.copy_render_code(p, k))

        presets_menu = bar.addMenu("&Presets")
        for preset in self.presets:
            action = presets_menu.addAction(preset.name, lambda p=preset: self.apply_preset(p))
            action.setToolTip(preset.about)
        presets_menu.setToolTipsVisible(True)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(f"&About {APP_NAME}", self.show_about)
        self._view_menu = QMenu("&View", self)
        bar.insertMenu(help_menu.menuAction(), self._view_menu)
        sweep = self._view_menu.addAction("Parameter &Sweep…", self.show_sweep)
        sweep.setToolTip("The soft pane at several values of σ, γ, faces per pixel or blur radius, side by side")
        self._view_menu.setToolTipsVisible(True)
        self._view_menu.addSeparator()

    def _create_status_bar(self) -> None:
        status = self.statusBar()
        self.mesh_label = QLabel()
        # A gap, so that a long message clipped at the label's edge does not run into its text.
        self.mesh_label.setContentsMargins(16, 0, 4, 0)
        # A still label, not an animated bar, shown only once a render has taken BUSY_DELAY_MS:
        # every repaint during a render takes CPU the render needs.
        self.busy_label = QLabel("● rendering…")
        self.busy_label.setStyleSheet("color: #c60;")
        self.busy_label.setToolTip("A render is in flight")
        self.busy_label.hide()
        self._busy_timer = QTimer(self, singleShot=True, interval=BUSY_DELAY_MS)
        self._busy_timer.timeout.connect(self.busy_label.show)
        status.addPermanentWidget(self.mesh_label)
        status.addPermanentWidget(self.busy_label)

    def _fit_to_screen(self) -> None:
        """The default size, shrunk to the screen's free area (a laptop's 1366×768, say)."""
        width, height = DEFAULT_SIZE
        screen = self.screen()
        if screen is not None:
            free = screen.availableGeometry()
            width, height = min(width, free.width()), min(height, free.height())
        self.resize(width, height)

    def _restore_layout(self) -> None:
        geometry, _ = self.app_settings.layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.restore_dock_layout()

    def restore_dock_layout(self) -> None:
        """Put the docks where the last run left them; call again after adding docks later (the
        fitting docks), since docks that do not exist yet keep their default place."""
        _, dock_state = self.app_settings.layout()
        if dock_state is not None:
            self.restoreState(dock_state)

    # -- rendering ---------------------------------------------------------------------------------
    def request_render(self) -> None:
        """Ask for the current state to be rendered (with fragments while the inspector shows)."""
        self.service.request(self.state.snapshot(), with_fragments=self.inspector_shown())

    def inspector_shown(self) -> bool:
        docks = getattr(self, "docks", None)  # None while the window is being built
        return docks is not None and docks["Fragment inspector"].isVisible()

    def _on_inspector_visibility(self, visible: bool) -> None:
        if visible:
            self.request_render()  # the images are cached; this only adds the fragments

    def _show_result(self, result: RenderResult) -> None:
        self.last_result = result
        for pane, image in result.images.items():
            self.panes[pane].show_image(image)
        for pane, message in result.errors.items():
            self.panes[pane].show_error(message)
            self.statusBar().showMessage(f"{pane.capitalize()} pane not rendered: {message}", 10_000)
        self.render_shown.emit(result)

    def _show_busy(self, busy: bool) -> None:
        if busy:
            self._busy_timer.start()
        else:
            self._busy_timer.stop()
            self.busy_label.hide()

    def _show_readout(self, pane: str, x: int, y: int) -> None:
        if x < 0:
            self.statusBar().clearMessage()
            return
        text = self.inspector.readout(pane, x, y)
        image = self.panes[pane].current
        if not text and image is not None:
            text = f"{pane}: ({x}, {y})  {shaded_readout(image.rgba[y, x])}"
        self.statusBar().showMessage(text)

    def _show_readout_text(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    # -- files -------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open mesh", self.app_settings.last_directory(), MESH_FILTER)
        if path:
            self.open_mesh(path)

    def open_mesh(self, path: str | Path) -> None:
        """Load `path` off the GUI thread; on success it replaces the mesh (undoable), on failure
        the window says why and keeps the current mesh."""
        path = Path(path)
        self.statusBar().showMessage(f"Opening {path.name}…")
        job = MeshLoadJob(path)
        job.setAutoDelete(False)
        job.signals.loaded.connect(lambda mesh, j=job: self._on_loaded(j, mesh))
        job.signals.failed.connect(lambda p, message, j=job: self._on_load_failed(j, p, message))
        self._load_jobs.append(job)
        QThreadPool.globalInstance().start(job)

    def _on_loaded(self, job: MeshLoadJob, mesh: SceneMesh) -> None:
        self._load_jobs.remove(job)
        self.history.set_mesh(mesh)
        self.app_settings.add_recent_file(job.path)
        self.app_settings.set_last_directory(job.path.parent)
        self.clear_error()
        message = f"Opened {mesh.describe()} (centred and scaled to the unit sphere)"
        if mesh.load_notes:
            message += ". Note: " + "; ".join(mesh.load_notes)
            self.show_notice(message)
        else:
            self.statusBar().showMessage(message, 10_000)
        self.mesh_load_finished.emit(True, message)

    def _on_load_failed(self, job: MeshLoadJob, path: str, message: str) -> None:
        self._load_jobs.remove(job)
        text = f"Could not open {Path(path).name}: {message}. The current mesh stays loaded."
        self.show_error(text)
        self.mesh_load_finished.emit(False, text)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.app_settings.recent_files()
        for path in recent:
            self.recent_menu.addAction(str(path), lambda p=path: self.open_mesh(p))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _on_mesh_changed(self, mesh: SceneMesh) -> None:
        self.setWindowTitle(f"{mesh.name} — {APP_NAME}")
        self.mesh_label.setText(mesh.counts())
        self.request_render()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = _local_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_mesh(files[0])
        if len(files) > 1:
            self.statusBar().showMessage(f"Opening {files[0].name}; one mesh at a time, the other files were ignored")

    # -- images ------------------------------------------------------------------------------------
    def render_image(self, which: str) -> np.ndarray:
        """The RGB image a pane shows ("soft", "hard") or both side by side ("both").

        Raises ValueError when the pane has shown no image yet."""
        if which not in SAVE_CHOICES:
            raise ValueError(f"which must be one of {', '.join(SAVE_CHOICES)}, got {which!r}")
        images: dict[str, PaneImage | None] = {pane: self.panes[pane].current for pane in PANES}
        needed = PANES if which == "both" else (which,)
        missing = [pane for pane in needed if images[pane] is None]
        if missing:
            raise ValueError(f"nothing rendered yet in the {' and '.join(missing)} pane")
        if which == "both":
            return side_by_side(images["soft"].display, images["hard"].display)
        return images[which].display

    def save_render(self, which: str, path: str | Path, overwrite: bool = False) -> Path:
        """Write `render_image(which)` as PNG, or for one pane and a `.npy` path the values core
        rendered (H, W, 4 RGBA; H, W depths for a depth shader), atomically; FileExistsError
        unless `overwrite`."""
        if Path(path).suffix.lower() == ".npy":
            return write_npy(self.render_values(which), path, overwrite=overwrite)
        return write_png(self.render_image(which), path, overwrite=overwrite)

    def render_values(self, which: str) -> np.ndarray:
        """The float values one pane's shader returned; ValueError for "both" or no image yet."""
        if which not in PANES:
            raise ValueError(f"rendered values are saved one pane at a time ({' or '.join(PANES)}), not {which!r}")
        self.render_image(which)  # raises when nothing was rendered yet
        values = self.panes[which].current.rgba
        return values[..., 0] if values.shape[-1] == 1 else values

    def save_render_dialog(self, which: str) -> None:
        try:
            self.render_image(which)
        except ValueError as exc:
            self.show_error(f"Cannot save: {exc}")
            return
        stem = Path(self.state.mesh.name).stem.replace(" ", "_")
        start = str(Path(self.app_settings.last_directory() or ".") / f"{stem}-{which}.png")
        filters = "PNG image (*.png)" if which not in PANES else f"PNG image (*.png);;{NPY_FILTER}"
        # The dialog itself asks before overwriting an existing file.
        path, chosen = QFileDialog.getSaveFileName(self, f"Save render ({SAVE_CHOICES[which]})", start, filters)
        if not path:
            return
        target = save_target(self, path, ".npy" if chosen == NPY_FILTER else ".png")
        if target is None:
            return
        try:
            written = self.save_render(which, target, overwrite=True)
        except (OSError, ValueError) as exc:
            self.show_error(f"Could not save {target.name}: {exc}")
            return
        self.statusBar().showMessage(f"Saved {written}", 10_000)

    def copy_render_code(self, pane: str, package: str = "pytorch3d") -> str:
        """Put Python that builds `pane`'s renderer with the current settings on the clipboard
        (viewer.render_code); return it."""
        code = render_code(self.state.settings, pane, package)
        QGuiApplication.clipboard().setText(code)
        self.statusBar().showMessage(
            f"Copied the {pane} pane's renderer as Python ({PACKAGES[package]} imports) to the clipboard", 10_000
        )
        return code

    def show_about(self) -> QMessageBox:
        """Help › About: the version, libraries and devices (non-modal)."""
        box = QMessageBox(QMessageBox.Icon.Information, f"About {APP_NAME}", about_text(), parent=self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setModal(False)
        box.show()
        return box

    def show_sweep(self) -> SweepDialog:
        """Open (or bring up) the parameter sweep window."""
        if self.sweep_dialog is None:
            self.sweep_dialog = SweepDialog(self.state, self.history, self)
        self.sweep_dialog.show()
        self.sweep_dialog.raise_()
        self.sweep_dialog.activateWindow()
        return self.sweep_dialog

    def copy_image(self, which: str = "both") -> None:
        try:
            image = self.render_image(which)
        except ValueError as exc:
            self.show_error(f"Cannot copy: {exc}")
            return
        QGuiApplication.clipboard().setImage(qimage_from_rgb(image))
        self.statusBar().showMessage(f"Copied {SAVE_CHOICES[which].lower()} to the clipboard", 5_000)

    # -- presets, messages, closing ----------------------------------------------------------------
    def _load_presets(self, problems: list[str]) -> list[Preset]:
        try:
            return load_presets()
        except ValueError as exc:
            problems.append(f"No presets: {exc}")
            return []

    def apply_preset(self, preset: Preset) -> None:
        blend.apply_preset(self.history, preset)
        self.statusBar().showMessage(f"Preset “{preset.name}”: {preset.about}", 10_000)

    def show_error(self, message: str) -> None:
        """Show a problem in the banner above the views and in the status bar."""
        self._show_banner(message, ERROR_STYLE)

    def show_notice(self, message: str) -> None:
        """Like `show_error`, in amber: something the user should know about that did not fail
        (a mesh loaded without the texture its file names)."""
        self._show_banner(message, NOTICE_STYLE)

    def _show_banner(self, message: str, style: str) -> None:
        self.error_banner.setStyleSheet(style)
        self.error_banner.setText(message)
        self._banner.show()
        self.statusBar().showMessage(message, 15_000)

    def clear_error(self) -> None:
        self.error_banner.clear()
        self._banner.hide()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._views_shared:  # once laid out: the viewport and the panes get a third each
            self._views_shared = True
            QTimer.singleShot(0, self._share_views)

    def _share_views(self) -> None:
        splitter = self._views_splitter
        splitter.setSizes([splitter.width() // splitter.count()] * splitter.count())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.app_settings.save_settings(self.state.settings)
        self.app_settings.save_layout(self.saveGeometry(), self.saveState())
        self.app_settings.sync()
        if self.sweep_dialog is not None:
            self.sweep_dialog.close()  # stops a sweep in flight after its current render
        self.service.shutdown()
        super().closeEvent(event)


def _local_files(mime: QMimeData) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
