"""Rendering off the GUI thread: one worker, requests coalesce, the latest snapshot wins.

`request(snapshot)` only stores the snapshot (replacing any request not yet started) and wakes
the worker; the GUI never waits and never queues stale work. The worker renders the soft and
hard panes (in parallel on a helper thread when `parallel`), then reports a `RenderResult`
tagged with the snapshot id; dense copies of the fragments (for the inspector) follow in a
second report when asked for and no newer request comes for FRAGMENTS_AFTER_QUIET_S. Results
older than one already delivered are dropped. A render that is still running when a newer
request arrives finishes and is shown (the newest image available beats a frozen pane during a
drag); the newer request runs right after it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from .pane_renderer import RENDER_ERRORS, PaneImage, PaneRenderer, render_error_text
from .scene_builder import PANES
from .state import Snapshot
from .thread_counts import check_optional_count

# How long the settings must stay unchanged after a render before the inspector's dense copies
# of its fragments are made.
FRAGMENTS_AFTER_QUIET_S = 0.08


@dataclass(frozen=True)
class RenderResult:
    """What one request produced: an image per pane that rendered, a message per pane that failed."""

    snapshot_id: int
    request_number: int
    images: dict[str, PaneImage] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    milliseconds: float = 0.0


@dataclass(frozen=True)
class _Request:
    number: int  # increases with every request, so even a repeated snapshot is newer
    snapshot: Snapshot
    with_fragments: bool


class _Worker(QThread):
    """Waits for the latest request, renders it, hands the result to the service."""

    def __init__(self, service: RenderService) -> None:
        super().__init__()
        self._service = service
        self._cond = threading.Condition()
        self._pending: _Request | None = None
        self._stopping = False

    def submit(self, request: _Request) -> None:
        with self._cond:
            self._pending = request  # replaces a request not yet started: latest wins
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def _next(self) -> _Request | None:
        """The latest request (waiting for one), or None when stopping."""
        with self._cond:
            while self._pending is None and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            request, self._pending = self._pending, None
            return request

    def _quiet_for(self, seconds: float) -> bool:
        """Wait up to `seconds` for a newer request; True when none came (and not stopping)."""
        with self._cond:
            if self._pending is None and not self._stopping:
                self._cond.wait(seconds)
            return self._pending is None and not self._stopping

    def run(self) -> None:
        service = self._service
        _set_torch_threads(service.torch_threads)
        renderers = {pane: PaneRenderer(pane, service.device) for pane in PANES}
        # The hard pane is light: its helper thread keeps torch to one thread.
        helper = ThreadPoolExecutor(1, initializer=_set_torch_threads, initargs=(1,)) if service.parallel else None
        try:
            while (request := self._next()) is not None:
                service._started.emit(request.snapshot.id)
                service._delivered.emit(_render(request, renderers, helper, with_fragments=False))
                # The panes are on their way; the inspector's copies of the fragments come after,
                # once no newer request has come for a moment: during a drag they would be stale
                # work that the next render waits behind.
                if request.with_fragments and self._quiet_for(FRAGMENTS_AFTER_QUIET_S):
                    service._fragments.emit(_render(request, renderers, None, with_fragments=True))
        finally:
            if helper is not None:
                helper.shutdown(wait=True)


def _set_torch_threads(count: int | None) -> None:
    # torch's intra-op thread count is per calling thread here, so each worker sets its own.
    if count is not None:
        torch.set_num_threads(count)


def _render(
    request: _Request, renderers: dict[str, PaneRenderer], helper: ThreadPoolExecutor | None, with_fragments: bool
) -> RenderResult:
    """Render every pane; the hard pane on `helper` (concurrently) when given."""
    snap = request.snapshot
    start = time.perf_counter()

    def one(pane: str) -> PaneImage | str:
        try:
            return renderers[pane].render(snap.mesh, snap.settings, with_fragments)
        except RENDER_ERRORS as exc:  # shown in the pane
            return render_error_text(exc)

    hard = helper.submit(one, "hard") if helper is not None else None
    outcomes = {"soft": one("soft"), "hard": hard.result() if hard is not None else one("hard")}
    images = {p: o for p, o in outcomes.items() if isinstance(o, PaneImage)}
    errors = {p: o for p, o in outcomes.items() if isinstance(o, str)}
    return RenderResult(snap.id, request.number, images, errors, (time.perf_counter() - start) * 1000.0)


class RenderService(QObject):
    """Owns the render worker. Signals arrive on the GUI thread.

    rendered(RenderResult): a result newer than any delivered before (images, no fragments).
    fragments_ready(RenderResult): the same images with their fragments, after `rendered`, for
        requests that asked for fragments and are still the newest delivered.
    busy_changed(bool): True from a request until the result for the latest request arrives.
    """

    rendered = Signal(object)
    fragments_ready = Signal(object)
    busy_changed = Signal(bool)
    _started = Signal(int)
    _delivered = Signal(object)
    _fragments = Signal(object)

    def __init__(
        self,
        device: str | torch.device = "cpu",
        torch_threads: int | None = 1,
        parallel: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        check_optional_count("torch_threads", torch_threads)
        self.device = torch.device(device)
        self.torch_threads = torch_threads
        self.parallel = parallel
        self.renders_started = 0
        self.renders_finished = 0
        self._last_requested = -1
        self._last_delivered = -1
        self._requested_snapshot = -1
        self._busy = False
        self._started.connect(self._on_started)
        self._delivered.connect(self._on_delivered)
        self._fragments.connect(self._on_fragments)
        self._worker = _Worker(self)
        self._worker.start()

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def latest_requested_snapshot(self) -> int:
        return self._requested_snapshot

    def request(self, snapshot: Snapshot, with_fragments: bool = False) -> None:
        """Ask for `snapshot` to be rendered; replaces any request the worker has not started."""
        self._last_requested += 1
        self._requested_snapshot = snapshot.id
        self._set_busy(True)
        self._worker.submit(_Request(self._last_requested, snapshot, with_fragments))

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Stop the worker after its current render (call before the application quits)."""
        if self._worker.isRunning():
            self._worker.stop()
            self._worker.wait(timeout_ms)

    @Slot(int)
    def _on_started(self, snapshot_id: int) -> None:
        self.renders_started += 1

    @Slot(object)
    def _on_delivered(self, result: RenderResult) -> None:
        self.renders_finished += 1
        if result.request_number == self._last_requested:
            self._set_busy(False)
        if result.request_number <= self._last_delivered:
            return  # outdated: something newer is already on screen
        self._last_delivered = result.request_number
        self.rendered.emit(result)

    @Slot(object)
    def _on_fragments(self, result: RenderResult) -> None:
        if result.request_number == self._last_delivered:
            self.fragments_ready.emit(result)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
