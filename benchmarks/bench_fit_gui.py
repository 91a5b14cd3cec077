"""GUI responsiveness while a fit runs in the RasterLab window; prints a table.

Usage: python benchmarks/bench_fit_gui.py [--seconds 5] [--configs small default] [--threads 1]
                                          [--workers 1 0]

Drives the real main window with the fitting docks installed (shown on an X server; without
DISPLAY the script re-runs itself under `xvfb-run -a`), on temporary settings. For each row a fit
runs for --seconds while the GUI thread measures two latencies:
  timer late   how late a 20 ms repeating timer fires (interval between ticks minus 20 ms)
  round trip   delay from a plain Python thread emitting a queued signal (every 50 ms) to its
               slot running on the GUI thread, i.e. how long any event from a worker waits
Every progress report updates the loss plot, the viewport's live mesh and the compare view, as
in normal use. Threads: the fitting worker's torch intra-op threads (0 = torch's default, 2 on
a 2-core machine); workers: the Fitter's view workers, processes of one torch thread each that
render an iteration's views side by side (0 = the default, one per view up to the cores). The render service's worker keeps its own setting (1). The "idle" row runs
no fit. Target: p95 of both latencies <= 50 ms.

Fit configs (target: the default scene's torus, rendered from the config's camera ring):
  small    ico_sphere(3) source, 12 views at 64², K 20, 2 views per iteration
  default  FitConfig() defaults: ico_sphere(4), 20 views at 128², K 50, 2 views per iteration
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_DEFAULTS = dict(num_views=20, image_size=128, faces_per_pixel=50, sphere_level=4)  # FitConfig's
CONFIGS = {
    "small": dict(num_views=12, image_size=64, faces_per_pixel=20, sphere_level=3),
    "default": _DEFAULTS,
}
TIMER_MS = 20
POST_EVERY_MS = 50


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100.0 * (len(ordered) - 1))))]


def _measure(app, seconds: float) -> tuple[list[float], list[float]]:
    """Run the event loop for `seconds`; return (timer lateness ms, cross-thread event delay ms)."""
    from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal

    class Pinger(QObject):  # lives on the GUI thread; pinged from a plain Python thread
        ping = Signal(float)

    late, trips = [], []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        late.append(max(0.0, (now - last[0]) * 1000.0 - TIMER_MS))
        last[0] = now

    pinger = Pinger()
    pinger.ping.connect(lambda posted: trips.append((time.perf_counter() - posted) * 1000.0),
                        Qt.ConnectionType.QueuedConnection)
    stop = threading.Event()

    def post() -> None:
        while not stop.wait(POST_EVERY_MS / 1000.0):
            pinger.ping.emit(time.perf_counter())

    ticker = QTimer(interval=TIMER_MS, timerType=Qt.TimerType.PreciseTimer)
    ticker.timeout.connect(tick)
    poster = threading.Thread(target=post, daemon=True)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    last[0] = time.perf_counter()
    ticker.start()
    poster.start()
    loop.exec()
    stop.set()
    poster.join()
    ticker.stop()
    app.processEvents()  # deliver the last pings
    return late[1:], trips


def _wait(app, predicate, timeout_s: float = 120.0) -> None:
    end = time.perf_counter() + timeout_s
    while not predicate():
        if time.perf_counter() > end:
            raise TimeoutError("the fit did not reach the expected state")
        app.processEvents()
        time.sleep(0.005)


def _row(name: str, threads: str, workers: str, late: list[float], trips: list[float], rate: float, reports: float) -> str:
    return (f"| {name:<8} | {threads:>7} | {workers:>7} | {rate:8.1f} | {reports:9.1f} | {_percentile(late, 50):6.1f} | "
            f"{_percentile(late, 95):6.1f} | {max(late, default=float('nan')):7.1f} | {_percentile(trips, 50):6.1f} | "
            f"{_percentile(trips, 95):6.1f} | {max(trips, default=float('nan')):7.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=["small", "default"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1], help="fitting worker's torch threads; 0 = torch default")
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 0], help="the Fitter's view workers; 0 = its default")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", "-s", "-screen 0 1920x1200x24", sys.executable, *sys.argv])

    import torch
    from PySide6.QtWidgets import QApplication

    from viewer.app import prepare_rendering_process

    prepare_rendering_process()  # as `python main.py` does
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from viewer.fitting import FitService, install_fitting
    from viewer.main_window import MainWindow
    from viewer.settings import AppSettings

    print(f"# torch {torch.__version__}, {os.cpu_count()} CPU cores, torch default threads {torch.get_num_threads()}, "
          f"{args.seconds:g} s per row, GUI timer {TIMER_MS} ms, posted event every {POST_EVERY_MS} ms")
    print("| config   | threads | workers |     it/s | reports/s | late50 | late95 | lateMax | trip50 | trip95 | tripMax |")
    print("|----------|---------|---------|----------|-----------|--------|--------|---------|--------|--------|---------|")
    with tempfile.TemporaryDirectory() as folder:
        settings = AppSettings.at_path(Path(folder) / "settings.ini")
        idle_shown = False
        for threads, workers in [(t, w) for t in args.threads for w in args.workers]:
            window = MainWindow(settings, image_size=128)
            window.resize(1500, 900)
            window.show()
            service = FitService(torch_threads=threads or None, view_workers=workers or None)
            controller = install_fitting(window, confirm_close=lambda: True, service=service)
            if not idle_shown:
                # Let the first render and the GL set-up finish: idle means nothing in flight.
                _wait(app, lambda: window.last_result is not None and not window.service.busy)
                _measure(app, 1.0)
                late, trips = _measure(app, min(args.seconds, 3.0))
                print(_row("idle", "-", "-", late, trips, 0.0, 0.0), flush=True)
                idle_shown = True
            for config in args.configs:
                for key, value in {**_DEFAULTS, **CONFIGS[config]}.items():
                    if key == "sphere_level":
                        controller.panel.level_spin.setValue(value)
                    else:
                        controller.panel.set_value(key, value)
                controller.panel.set_value("iterations", 1_000_000)
                controller.start()
                _wait(app, lambda: service.phase == "running" and len(controller.history) >= 2)
                start_iteration, start_reports = len(controller.history), service.progress_count
                started = time.perf_counter()
                late, trips = _measure(app, args.seconds)
                wall = time.perf_counter() - started
                rate = (len(controller.history) - start_iteration) / wall
                reports = (service.progress_count - start_reports) / wall
                print(_row(config, str(threads or "default"), str(workers or "default"), late, trips, rate, reports), flush=True)
                service.stop()
                _wait(app, lambda: service.phase == "stopped")
            window.close()  # the controller stops the fitting worker; the window its render worker
    print("# threads: GUI thread (Qt + vispy), 1 pinging thread, 1 render-service worker (torch threads 1), 1 fitting worker "
          "(torch threads as in the column) and its view workers. Latencies in ms; p50/p95 by nearest rank.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
