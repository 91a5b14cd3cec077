"""Wiring of the fitting feature into a main window: panel, service, viewport layer, plots.

The controller is the only piece that knows both the widgets and the service: panel buttons
become service commands, throttled progress goes to the loss plot, the viewport layer, the
compare view and the status bar. It also guards closing: a window closed during a fit asks
first, then stops the worker thread before the window goes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMessageBox

from ..scene_mesh import SceneMesh
from . import exports
from .fit_panel import FitPanel
from .fit_service import FitJob, FitProgress, FitService
from .live_mesh import LiveMeshLayer
from .loss_plot import LossPlot
from .snapshots import MeshSnapshot
from .view_compare import ViewCompare

ACTIVE_PHASES = ("preparing", "running", "paused")
EXPORT_FILTERS = {
    "mesh": "Meshes with colours (*.ply *.obj)",
    "losses": "CSV (*.csv)",
    "turntable": "Animation (*.gif *.mp4)",
}
EXPORT_SUFFIX = {"mesh": ".ply", "losses": ".csv", "turntable": ".gif"}


class _ExportSignals(QObject):
    done = Signal(str)
    failed = Signal(str)


class _ExportJob(QRunnable):
    """Runs one export function on a pool thread; reports the path or the error by signal."""

    def __init__(self, function: Callable[..., Path], *args) -> None:
        super().__init__()
        self.signals = _ExportSignals()
        self._function, self._args = function, args

    def run(self) -> None:
        try:
            path = self._function(*self._args)
        except (OSError, ValueError, RuntimeError) as exc:
            self.signals.failed.emit(str(exc))
        else:
            self.signals.done.emit(str(path))


class FittingController(QObject):
    """Adds the fitting docks to `window` (a viewer.main_window.MainWindow) and runs fits.

    `confirm_close()` decides whether a window closed mid-fit may close (default: ask with a
    message box); tests pass `lambda: True`. `export_finished(kind, path)` / `export_failed(kind,
    message)` report exports, the turntable's after its worker thread is done.
    """

    export_finished = Signal(str, str)
    export_failed = Signal(str, str)

    def __init__(self, window, service: FitService | None = None, confirm_close: Callable[[], bool] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.service = service if service is not None else FitService(parent=self)
        self.confirm_close = confirm_close if confirm_close is not None else self._ask_close
        self.history: list[dict[str, float]] = []
        self.mesh: MeshSnapshot | None = None
        self._target_scene: SceneMesh | None = None  # the scene mesh the running fit aims at
        self._jobs: list[_ExportJob] = []

        self.panel = FitPanel()
        self.plot = LossPlot()
        self.compare = ViewCompare()
        self.live = LiveMeshLayer(window.viewport)
        self.status_label = QLabel()
        window.statusBar().addPermanentWidget(self.status_label)
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks = {
            "Fitting": window.add_dock("Fitting", self.panel, right),
            "Fit losses": window.add_dock("Fit losses", self.plot, bottom, scrollable=False),
            "Fit views": window.add_dock("Fit views", self.compare, bottom, scrollable=False),
        }
        # By default the bottom row gives the fragment inspector the largest share.
        bottom_row = [window.docks["Fragment inspector"], self.docks["Fit losses"], self.docks["Fit views"]]
        window.resizeDocks(bottom_row, [window.width() * share // 12 for share in (5, 4, 3)], Qt.Orientation.Horizontal)
        window.restore_dock_layout()

        self.panel.command.connect(self.command)
        self.panel.live_changed.connect(lambda changes: self.service.update_config(**changes))
        self.panel.export_requested.connect(self.export_dialog)
        self.panel.browse_requested.connect(self._browse)
        self.panel.display_changed.connect(self._apply_display)
        self.compare.view_changed.connect(self.service.set_compare_view)
        self.service.progress.connect(self._on_progress)
        self.service.phase_changed.connect(self._on_phase)
        self.service.failed.connect(lambda message: self.window.show_error(f"Fit failed: {message}"))
        self.service.rejected.connect(lambda message: self.window.show_error(f"Setting not applied: {message}"))
        window.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- commands ----------------------------------------------------------------------------------
    def command(self, name: str) -> None:
        """Run a panel command: start, pause, resume, step, stop or reset."""
        if name == "start":
            self.start()
        elif name in ("pause", "resume", "step", "stop", "reset"):
            getattr(self.service, name)()
        else:
            raise ValueError(f"unknown fitting command {name!r}")

    def start(self) -> bool:
        """Start a fit with the panel's settings; False (and a message) when they are invalid."""
        try:
            job = self._job()
        except (ValueError, TypeError) as exc:
            self.window.show_error(f"Cannot start the fit: {exc}")
            return False
        self.history.clear()
        self.mesh = None
        self._target_scene = self.window.state.mesh if job.target_mesh is not None else None
        self.plot.clear()
        self.compare.clear()
        if job.target_mesh is not None:  # a folder's view count is known once it is read
            self.compare.set_view_count(job.config.num_views)
        self.service.set_compare_view(self.compare.view_spin.value())
        self.service.start(job)
        return True

    def _job(self) -> FitJob:
        config = self.panel.config()
        target_mesh = target_folder = None
        if self.panel.target_kind() == "folder":
            target_folder = self.panel.target_folder()
            if target_folder is None:
                raise ValueError("choose a folder of target images")
        else:
            target_mesh = self.window.state.mesh.meshes
        source_path = None
        if self.panel.source_kind() == "file":
            source_path = self.panel.source_path()
            if source_path is None:
                raise ValueError("choose a source mesh file")
        return FitJob(config, target_mesh=target_mesh, target_folder=target_folder, source_path=source_path)

    # -- progress ----------------------------------------------------------------------------------
    def _on_progress(self, progress: FitProgress) -> None:
        self.history.extend(progress.records)
        self.plot.add_records(progress.records)
        if progress.mesh is not None:
            self.mesh = progress.mesh
            self.live.show(progress.mesh)
        if progress.compare is not None:
            self.compare.show_images(progress.compare)
        if self.compare.view_spin.maximum() != progress.num_views - 1:
            self.compare.set_view_count(progress.num_views)
        minutes, seconds = divmod(progress.elapsed_s, 60.0)
        rate = f"{progress.iterations_per_second:.1f} it/s" if progress.phase == "running" else progress.phase
        self.status_label.setText(f"Fit {progress.iteration}/{progress.iterations} · {rate} · {int(minutes):02d}:{seconds:04.1f}")
        if progress.latest:
            self.panel.set_status(f"{progress.phase.capitalize()}: iteration {progress.iteration}, "
                                  f"total loss {progress.latest['total']:.5g}")

    def _on_phase(self, phase: str) -> None:
        self.panel.set_phase(phase)
        if phase == "idle":
            self.history.clear()
            self.mesh = None
            self.plot.clear()
            self.compare.clear()
            self.live.clear()
            self.status_label.clear()
            self.panel.set_status("Idle")
        elif phase in ("preparing", "failed"):
            self.panel.set_status("Preparing the fit (targets, view workers)…" if phase == "preparing" else "Failed (see the message above)")

    def _apply_display(self) -> None:
        self.live.set_color_mode("gradient" if self.panel.gradient_box.isChecked() else "colors")
        self.live.set_show_target(self.panel.target_box.isChecked())

    # -- exports -----------------------------------------------------------------------------------
    def export_mesh(self, path: str | Path) -> Path:
        """Write the latest fitted mesh with vertex colours; ValueError when there is none.

        Fitted to the scene mesh, it is written in that mesh's own coordinates (as in its file,
        not centred and scaled as the viewer shows it), so that the two line up elsewhere.
        """
        meshes = self._require_mesh().meshes
        if self._target_scene is not None:
            meshes = self._target_scene.to_source_frame(meshes)
        return exports.save_fitted_mesh(path, meshes)

    def export_losses(self, path: str | Path) -> Path:
        if not self.history:
            raise ValueError("no fit has run yet: there is no loss history to export")
        return exports.save_loss_csv(path, self.history)

    def export_turntable(self, path: str | Path, frames: int = 36, image_size: int = 128) -> None:
        """Render and write the turntable on a pool thread; `export_finished` / `export_failed` tell."""
        job = _ExportJob(exports.save_turntable, Path(path), self._require_mesh().meshes, frames, image_size)
        job.setAutoDelete(False)
        job.signals.done.connect(lambda p, j=job: self._export_done(j, "turntable", p))
        job.signals.failed.connect(lambda m, j=job: self._export_done(j, "turntable", None, m))
        self._jobs.append(job)
        QThreadPool.globalInstance().start(job)

    def export_dialog(self, kind: str) -> None:
        start = str(Path.cwd() / f"fit{EXPORT_SUFFIX[kind]}")
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {kind}", start, EXPORT_FILTERS[kind])
        if not path:
            return
        try:
            if kind == "turntable":
                self.export_turntable(path)
                self.window.statusBar().showMessage("Rendering the turntable…")
                return
            written = self.export_mesh(path) if kind == "mesh" else self.export_losses(path)
        except (OSError, ValueError) as exc:
            self._export_done(None, kind, None, str(exc))
            return
        self._export_done(None, kind, str(written))

    def _export_done(self, job: _ExportJob | None, kind: str, path: str | None, message: str = "") -> None:
        if job is not None:
            self._jobs.remove(job)
        if path is None:
            self.window.show_error(f"Export failed: {message}")
            self.export_failed.emit(kind, message)
        else:
            self.window.statusBar().showMessage(f"Exported {path}", 10_000)
            self.export_finished.emit(kind, path)

    def _require_mesh(self) -> MeshSnapshot:
        if self.mesh is None:
            raise ValueError("no fitted mesh yet: start a fit first")
        return self.mesh

    def _browse(self, what: str) -> None:
        if what == "folder":
            path = QFileDialog.getExistingDirectory(self.window, "Folder of target images")
            if path:
                self.panel.folder_edit.setText(path)
        else:
            path, _ = QFileDialog.getOpenFileName(self.window, "Source mesh")
            if path:
                self.panel.source_edit.setText(path)

    # -- closing -----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            if self.service.phase in ACTIVE_PHASES and not self.confirm_close():
                event.ignore()
                return True  # the window stays open, the fit goes on
            self.shutdown()
        return super().eventFilter(watched, event)

    def _ask_close(self) -> bool:
        answer = QMessageBox.question(self.window, "Fit in progress", "A fit is running. Stop it and close the window?")
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self) -> None:
        """Stop the fitting worker thread (idempotent)."""
        self.service.shutdown()
