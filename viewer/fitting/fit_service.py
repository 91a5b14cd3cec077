"""Fitting off the GUI thread: one worker thread owns the `core.fitting.Fitter`.

The GUI sends commands (start, pause, resume, step, stop, reset, setting changes, which view
to compare); the worker applies them between iterations, in order, so a change of learning
rate or weight takes effect at the next iteration and Pause freezes the iteration count after
the step in progress. Progress comes back throttled by time: at most one `progress` per
`interval_s` (10 Hz by default) and a mesh snapshot at most every `mesh_interval_s`, however
fast iterations are; every history record still arrives (batched in `new_records`). Pausing,
stopping, finishing and single steps always send a progress with the mesh, so the GUI shows
the exact state the run rests in. Each run has an id; progress of an older run is dropped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from core.fitting import (
    FitConfig,
    Fitter,
    load_image_targets,
    make_targets,
    normalize_mesh,
)
from core.structures import Meshes

from ..thread_counts import check_optional_count
from .snapshots import CompareImages, MeshSnapshot, compare_images, mesh_snapshot

PHASES = ("idle", "preparing", "running", "paused", "stopped", "finished", "failed")
# Phases in which a Fitter exists and its mesh can be shown or exported.
HAS_FIT = ("running", "paused", "stopped", "finished")


@dataclass(frozen=True, eq=False)
class FitJob:
    """What to fit: exactly one of `target_mesh` (rendered from the config's camera ring) or
    `target_folder` (RGBA PNGs + cameras.json); the source is `source_mesh`, a mesh file
    `source_path`, or (neither) an ico_sphere of `config.sphere_level`."""

    config: FitConfig
    target_mesh: Meshes | None = None
    target_folder: Path | None = None
    source_mesh: Meshes | None = None
    source_path: Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.config, FitConfig):
            raise TypeError(f"config must be a FitConfig, got {type(self.config).__name__}")
        if (self.target_mesh is None) == (self.target_folder is None):
            raise ValueError("give exactly one target: a mesh or a folder of images")
        if self.source_mesh is not None and self.source_path is not None:
            raise ValueError("give at most one source: a mesh or a mesh file")
        self.config.validate()


@dataclass(frozen=True, eq=False)
class FitProgress:
    """One throttled report. `records` are the history entries since the previous report."""

    run_id: int
    phase: str
    iteration: int
    iterations: int
    num_views: int
    records: tuple[dict[str, float], ...]
    iterations_per_second: float
    elapsed_s: float
    settings: dict[str, Any]
    mesh: MeshSnapshot | None = None
    compare: CompareImages | None = None
    latest: dict[str, float] = field(default_factory=dict)


class _Run:
    """The worker's bookkeeping for one fit (only the worker thread touches it)."""

    def __init__(self, run_id: int, fitter: Fitter) -> None:
        self.id = run_id
        self.fitter = fitter
        self.reported = len(fitter.history)  # history entries already sent
        self.elapsed = 0.0  # seconds spent running (pauses excluded)
        self.last_report = float("-inf")
        self.last_mesh = float("-inf")
        self.window_start = time.perf_counter()
        self.window_iteration = fitter.iteration


class _Worker(QThread):
    """Runs commands and iterations; never touches Qt widgets."""

    def __init__(self, service: "FitService") -> None:
        super().__init__()
        self._service = service
        self._cond = threading.Condition()
        self._commands: deque[tuple[str, Any]] = deque()
        self._run: _Run | None = None
        self._run_id = 0  # the run the worker's phase belongs to
        self._phase = "idle"
        self._compare_view: int | None = 0

    def submit(self, name: str, payload: Any = None) -> None:
        with self._cond:
            self._commands.append((name, payload))
            self._cond.notify()

    def run(self) -> None:
        if self._service.torch_threads is not None:
            torch.set_num_threads(self._service.torch_threads)
        while True:
            with self._cond:
                while not self._commands and self._phase != "running":
                    self._cond.wait()
                commands = list(self._commands)
                self._commands.clear()
            for name, payload in commands:
                if name == "shutdown":
                    self._discard_run()
                    return
                self._handle(name, payload)
            if self._phase == "running":
                self._iterate()

    # -- commands ----------------------------------------------------------------------------------
    def _handle(self, name: str, payload: Any) -> None:
        run = self._run
        if name == "start":
            self._start(*payload)
        elif name == "reset":
            self._discard_run()
            self._run_id = payload
            self._set_phase("idle")
        elif name == "compare":
            self._compare_view = payload
            if run is not None and self._phase in HAS_FIT and self._phase != "running":
                self._report(force=True)
        elif run is None or self._phase not in HAS_FIT:
            return  # nothing to pause, step or change
        elif name == "update":
            try:
                run.fitter.update_config(**payload)
            except (ValueError, TypeError) as exc:
                self._service._rejected.emit(str(exc))
            else:
                self._report(force=self._phase != "running")
        elif name == "pause" and self._phase == "running":
            self._set_phase("paused")
            self._report(force=True)
        elif name == "resume" and self._phase == "paused":
            self._resume()
        elif name == "step" and self._phase == "paused":
            self._step_once()
            self._report(force=True)
        elif name == "stop" and self._phase in ("running", "paused"):
            self._set_phase("stopped")
            self._report(force=True)

    def _discard_run(self) -> None:
        """Drop the current run, stopping its Fitter's view worker processes."""
        if self._run is not None:
            self._run.fitter.close()
            self._run = None

    def _start(self, run_id: int, job: FitJob) -> None:
        self._discard_run()
        self._run_id = run_id
        self._set_phase("preparing")
        try:
            fitter = _build_fitter(job, workers=self._service.view_workers)
            fitter.prepare()  # its view worker processes start while the phase says so
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            self._service._failed.emit(run_id, f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc))
            self._set_phase("failed")
            return
        self._run = _Run(run_id, fitter)
        self._set_phase("running")
        self._report(force=True)
        if fitter.iteration >= fitter.config.iterations:
            self._set_phase("finished")
            self._report(force=True)

    def _resume(self) -> None:
        run = self._run
        if run.fitter.iteration >= run.fitter.config.iterations:
            self._set_phase("finished")
            self._report(force=True)
            return
        run.window_start, run.window_iteration = time.perf_counter(), run.fitter.iteration
        self._set_phase("running")

    # -- iterations --------------------------------------------------------------------------------
    def _iterate(self) -> None:
        run = self._run
        try:
            self._step_once()
        except (RuntimeError, ValueError) as exc:  # e.g. NaN geometry: report, keep the app alive
            self._service._failed.emit(run.id, f"iteration {run.fitter.iteration + 1} failed: {exc}")
            self._set_phase("stopped")
            self._report(force=True)
            return
        if run.fitter.iteration >= run.fitter.config.iterations:
            self._set_phase("finished")
            self._report(force=True)
        else:
            self._report(force=False)

    def _step_once(self) -> None:
        run = self._run
        start = time.perf_counter()
        run.fitter.step()
        run.elapsed += time.perf_counter() - start

    def _report(self, force: bool) -> None:
        """Send progress if forced or if `interval_s` has passed since the last one."""
        run, service = self._run, self._service
        now = time.perf_counter()
        if not force and now - run.last_report < service.interval_s:
            return
        fitter = run.fitter
        with_mesh = force or now - run.last_mesh >= service.mesh_interval_s
        mesh = compare = None
        if with_mesh:
            run.last_mesh = now
            mesh = mesh_snapshot(fitter)
            view = self._compare_view
            if view is not None and 0 <= view < fitter.targets.num_views:
                compare = compare_images(fitter, view)
        window = now - run.window_start
        done = fitter.iteration - run.window_iteration
        rate = done / window if window > 0 and done > 0 else 0.0
        if self._phase == "running":
            run.window_start, run.window_iteration = now, fitter.iteration
        records = tuple(dict(r) for r in fitter.history[run.reported:])
        run.reported = len(fitter.history)
        run.last_report = now
        progress = FitProgress(
            run_id=run.id,
            phase=self._phase,
            iteration=fitter.iteration,
            iterations=fitter.config.iterations,
            num_views=fitter.targets.num_views,
            records=records,
            iterations_per_second=rate,
            elapsed_s=run.elapsed,
            settings=fitter.config.to_dict(),
            mesh=mesh,
            compare=compare,
            latest=dict(fitter.history[-1]) if fitter.history else {},
        )
        service._progress.emit(progress)

    def _set_phase(self, phase: str) -> None:
        if phase in ("stopped", "finished") and self._run is not None:
            self._run.fitter.close()  # its mesh and history stay; its worker processes go
        self._phase = phase
        self._service._phase.emit(self._run_id, phase)  # the service drops repeats


def _build_fitter(job: FitJob, workers: int | None = None) -> Fitter:
    config = job.config
    if job.target_folder is not None:
        targets = load_image_targets(job.target_folder, config.device)
    else:
        targets = make_targets(job.target_mesh, config)
    source = job.source_mesh
    if job.source_path is not None:
        from core.io import (
            load_mesh,  # core.io loads trimesh: only when a file is asked for
        )

        source = load_mesh(job.source_path)
    if source is not None:
        source, _, _ = normalize_mesh(source)
    return Fitter(targets, config, source, workers=workers)


class FitService(QObject):
    """Owns the fitting worker. Signals arrive on the GUI thread.

    progress(FitProgress): throttled reports of the current run (older runs' are dropped).
    phase_changed(str): one of PHASES. failed(str): a run could not start or an iteration broke.
    rejected(str): a setting change the running fit refused (the run goes on unchanged).
    """

    progress = Signal(object)
    phase_changed = Signal(str)
    failed = Signal(str)
    rejected = Signal(str)
    _progress = Signal(object)
    _phase = Signal(int, str)
    _failed = Signal(int, str)
    _rejected = Signal(str)

    def __init__(self, torch_threads: int | None = 1, interval_s: float = 0.1, mesh_interval_s: float = 0.25,
                 parent: QObject | None = None, view_workers: int | None = None) -> None:
        """torch_threads: the fitting thread's own torch threads (None: torch's default);
        view_workers: the Fitter's worker processes rendering an iteration's views side by side,
        one torch thread each (None: the Fitter's default, one per view up to the cores for fits
        large enough to gain from them). A run's processes stop when it stops, finishes, is
        reset or replaced, and at shutdown."""
        super().__init__(parent)
        check_optional_count("torch_threads", torch_threads)
        check_optional_count("view_workers", view_workers)
        for name, value in (("interval_s", interval_s), ("mesh_interval_s", mesh_interval_s)):
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        self.torch_threads = torch_threads
        self.view_workers = view_workers
        self.interval_s = float(interval_s)
        self.mesh_interval_s = float(mesh_interval_s)
        self.phase = "idle"
        self.latest: FitProgress | None = None
        self.progress_count = 0
        self._run_id = 0
        self._progress.connect(self._on_progress)
        self._phase.connect(self._on_phase)
        self._failed.connect(self._on_failed)
        self._rejected.connect(self.rejected)
        self._worker = _Worker(self)
        self._worker.start()

    @property
    def run_id(self) -> int:
        """Id of the latest run started (0 before any)."""
        return self._run_id

    @property
    def has_fit(self) -> bool:
        return self.phase in HAS_FIT

    def start(self, job: FitJob) -> int:
        """Discard any current run and start `job`; returns the new run's id."""
        if not isinstance(job, FitJob):
            raise TypeError(f"expected a FitJob, got {type(job).__name__}")
        self._run_id += 1
        self.latest = None
        self._worker.submit("start", (self._run_id, job))
        return self._run_id

    def pause(self) -> None:
        self._worker.submit("pause")

    def resume(self) -> None:
        self._worker.submit("resume")

    def step(self) -> None:
        """One iteration (only while paused)."""
        self._worker.submit("step")

    def stop(self) -> None:
        """End the run; its mesh and history stay available for export."""
        self._worker.submit("stop")

    def reset(self) -> None:
        """Discard the run (back to idle)."""
        self._run_id += 1
        self.latest = None
        self._worker.submit("reset", self._run_id)

    def update_config(self, **changes: Any) -> None:
        """Change settings of the current run before its next iteration (see Fitter.update_config)."""
        self._worker.submit("update", changes)

    def set_compare_view(self, view: int | None) -> None:
        """Which target view the progress's `compare` images show (None: none)."""
        if view is not None and (isinstance(view, bool) or not isinstance(view, int) or view < 0):
            raise ValueError(f"view must be None or an int >= 0, got {view!r}")
        self._worker.submit("compare", view)

    def is_alive(self) -> bool:
        return self._worker.isRunning()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop the worker after its current iteration; True once the thread has ended."""
        if self._worker.isRunning():
            self._worker.submit("shutdown")
            self._worker.quit()
            return self._worker.wait(timeout_ms)
        return True

    @Slot(object)
    def _on_progress(self, progress: FitProgress) -> None:
        if progress.run_id != self._run_id:
            return  # a run that was reset or replaced
        self.progress_count += 1
        self.latest = progress
        self.progress.emit(progress)

    @Slot(int, str)
    def _on_phase(self, run_id: int, phase: str) -> None:
        if run_id != self._run_id:
            return  # about a run that was reset or replaced
        if phase != self.phase:
            self.phase = phase
            self.phase_changed.emit(phase)

    @Slot(int, str)
    def _on_failed(self, run_id: int, message: str) -> None:
        if run_id == self._run_id:
            self.failed.emit(message)
