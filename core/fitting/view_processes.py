"""Worker processes that render a fit iteration's views side by side on the CPU.

Threads share one interpreter: a render issues thousands of small torch operations, and two
renders on two threads wait for each other's Python between them (on a 2-core machine a fit
view took ~15 % longer beside another on a thread, ~8 % beside another in a process). So each
view worker here is a process of its own, started with ``spawn`` (safe from any thread,
including a GUI's), holding its own copy of the targets and the source mesh and one torch
thread. An iteration sends each worker its view numbers; the parameters and the gradients
travel through shared-memory tensors, so a step adds well under a millisecond of messaging.

A worker computes exactly what the Fitter's own `_image_losses` computes on a thread (it runs a
Fitter of one worker), so a fit gives the same numbers, bit for bit, on processes or threads.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import traceback
import types
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.multiprocessing as mp

# Exceptions a worker's failure is raised as in the fitting process (others become RuntimeError).
_RERAISED = {"ValueError": ValueError, "TypeError": TypeError}
ImageLosses = Tuple[Dict[str, torch.Tensor], Tuple[Optional[torch.Tensor], ...]]


class ViewProcesses:
    """`count` worker processes, each rendering the views it is sent for the current parameters.

    targets, config, source_verts, source_faces: what each worker builds its Fitter from.
    Started at construction; `submit` hands out an iteration's views, `collect` waits for every
    worker's answer; `close` (also run when the object is collected) stops them.
    """

    def __init__(self, count: int, targets: Any, config: Any, source_verts: torch.Tensor,
                 source_faces: torch.Tensor, fit_colors: bool) -> None:
        context = mp.get_context("spawn")
        verts = source_verts.detach().cpu()
        # One input pair for all workers (they only read it); one output pair per worker.
        self._inputs = tuple(torch.zeros_like(verts).share_memory_() for _ in range(2))
        self._outputs = [tuple(torch.zeros_like(verts).share_memory_() for _ in range(2)) for _ in range(count)]
        self._fit_colors = fit_colors
        self._connections: List[Any] = []
        self._processes: List[Any] = []
        self._closed = False
        self._ready = False
        try:
            with _spawning():
                for outputs in self._outputs:
                    mine, theirs = context.Pipe()
                    self._connections.append(mine)
                    process = context.Process(
                        target=_serve, name="fit-view-worker", daemon=True,
                        args=(theirs, targets, config.to_dict(), verts, source_faces.detach().cpu(), self._inputs, outputs),
                    )
                    process.start()
                    theirs.close()  # the worker's end lives in the worker only: its exit ends our recv
                    self._processes.append(process)
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self._processes)

    @property
    def closed(self) -> bool:
        return self._closed

    def send_config(self, config: Any) -> None:
        """Use `config` (a FitConfig) from the next views on."""
        self._broadcast(("config", config.to_dict()))

    def send_source(self, verts: torch.Tensor) -> None:
        """Deform these source vertex positions from the next views on (same faces)."""
        self._broadcast(("source", verts.detach().cpu()))

    def submit(self, groups: Sequence[List[int]], deform: torch.Tensor, colors: torch.Tensor) -> None:
        """Have worker i render group i of views at these parameter values, without waiting
        (`collect` returns the results)."""
        if len(groups) > len(self._connections):
            raise ValueError(f"{len(groups)} groups of views for {len(self._connections)} workers")
        self.wait_ready()
        self._inputs[0].copy_(deform.detach())
        self._inputs[1].copy_(colors.detach())
        for connection, group in zip(self._connections, groups):
            self._send(connection, ("views", list(group)))

    def collect(self, count: int) -> List[ImageLosses]:
        """The results of the last `submit` of `count` groups, in group order: each group's
        image loss terms and their gradients w.r.t. (deform[, colors]), as
        `Fitter._image_losses` returns them. Every worker's answer is read before a failure
        is raised, so the next iteration starts in step."""
        answers, failure = [], None
        try:
            for connection in self._connections[:count]:
                try:
                    answers.append(self._receive(connection))
                except (RuntimeError, ValueError, TypeError) as exc:
                    failure = failure or exc
        except BaseException:  # interrupted (Ctrl-C) with answers unread: these workers are done
            self.close()
            raise
        if failure is not None:
            raise failure
        results = []
        for outputs, (terms, present) in zip(self._outputs, answers):
            # float32 values travel as Python floats (exact) and come back as 0-d tensors
            dtype = outputs[0].dtype
            values = {name: torch.tensor(value, dtype=dtype) for name, value in terms.items()}
            grads = tuple(out.clone() if has else None for out, has in zip(outputs, present))
            results.append((values, grads if self._fit_colors else grads[:1]))
        return results

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for connection in self._connections:
            try:
                connection.send(None)
            except (OSError, ValueError):
                pass
        for process in self._processes:
            process.join(timeout=2.0)
            if process.is_alive():
                process.terminate()
                process.join(timeout=2.0)
        for connection in self._connections:
            connection.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # at interpreter exit: multiprocessing stops daemonic workers itself
            pass

    def wait_ready(self) -> None:
        """Block until every worker has built its Fitter (raising what one failed with)."""
        if not self._ready:
            try:
                for connection in self._connections:
                    self._receive(connection)
            except BaseException:  # a worker could not start: none of them will be used
                self.close()
                raise
            self._ready = True

    # --- messaging ----------------------------------------------------------------------------
    def _broadcast(self, message: Tuple[str, Any]) -> None:
        for connection in self._connections:
            self._send(connection, message)

    def _send(self, connection, message) -> None:
        if self._closed:
            raise RuntimeError("the fit's view worker processes were closed")  # the Fitter starts new ones
        try:
            connection.send(message)
        except (OSError, ValueError) as exc:
            raise self._worker_died() from exc

    def _receive(self, connection) -> Any:
        try:
            kind, payload = connection.recv()
        except (EOFError, OSError) as exc:
            raise self._worker_died() from exc
        if kind == "error":
            name, message = payload
            raise _RERAISED.get(name, RuntimeError)(message)
        return payload

    def _worker_died(self) -> RuntimeError:
        """The error for a worker that is gone (killed, out of memory); all of them are closed,
        so that the Fitter starts new ones at its next step."""
        codes = [p.exitcode for p in self._processes if p.exitcode is not None]
        self.close()
        return RuntimeError(f"a view worker process of the fit exited unexpectedly (exit code {codes[0] if codes else 'unknown'})")


@contextlib.contextmanager
def _spawning():
    """Start worker processes in here.

    SIGINT is ignored while they start (on the main thread only: elsewhere handlers cannot
    change, and the workers ignore it themselves first thing), so they inherit that: Ctrl-C
    reaches the fitting process only, which stops the fit. And `spawn` does not see the
    program's __main__ module: it would import it again in every worker, which re-runs a
    script without an ``if __name__ == "__main__"`` guard (fatally) and costs start-up time in
    any case. The workers need nothing from it: their code and arguments come from `core`.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _serve(connection, targets, config: Dict[str, Any], source_verts: torch.Tensor, source_faces: torch.Tensor,
           inputs: Tuple[torch.Tensor, torch.Tensor], outputs: Tuple[torch.Tensor, torch.Tensor]) -> None:
    """A worker's life: build a one-worker Fitter, then answer messages until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    from core.fitting.config import FitConfig
    from core.fitting.fitter import Fitter
    from core.structures import Meshes
    from core.utils import keep_freed_memory

    # A fresh process has a small heap: without this, a render's temporaries of a few MB come as
    # new mappings, faulted in again on every view (a view took ~50 ms instead of ~44).
    keep_freed_memory()

    try:
        fitter = Fitter(targets, FitConfig.from_dict(config), Meshes([source_verts], [source_faces]), workers=1)
    except Exception as exc:  # reported at the first step, in the fitting process
        connection.send(("error", (type(exc).__name__, str(exc))))
        return
    connection.send(("ready", None))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the fitting process is gone
            return
        if message is None:
            return
        kind, payload = message
        try:
            if kind == "config":
                fitter._use_config(FitConfig.from_dict(payload))
            elif kind == "source":
                fitter._use_source(payload)
            else:
                connection.send(("done", _views(fitter, payload, inputs, outputs)))
        except Exception as exc:  # raised in the fitting process at its next answer
            text = str(exc) if isinstance(exc, tuple(_RERAISED.values())) else f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            connection.send(("error", (type(exc).__name__, text)))
            if kind != "views":  # settings the fitting process accepted: this worker cannot go on
                return


def _views(fitter, views: List[int], inputs, outputs) -> Tuple[Dict[str, float], Tuple[bool, bool]]:
    """Render `views` at the shared parameters; gradients into the shared outputs."""
    with torch.no_grad():
        fitter.deform.copy_(inputs[0])
        fitter.colors.copy_(inputs[1])
    terms, grads = fitter._image_losses(fitter._current(), fitter.targets.cameras[views], views)
    present = []
    for out, grad in zip(outputs, tuple(grads) + (None,) * (2 - len(grads))):
        if grad is not None:
            out.copy_(grad)
        present.append(grad is not None)
    return {name: float(value) for name, value in terms.items()}, tuple(present)
