"""Latency of the RasterLab window: from a slider change to both panes showing the new image.

Usage: python benchmarks/bench_app.py [--repeats 15] [--size 256] [--scenes default cow]
       [--configs ...] [--sliders ...]

Drives the real main window (shown on an X server; without DISPLAY the script re-runs itself
under `xvfb-run -a`), on temporary settings. For each slider, it alternates the slider between
two positions; each change is timed from the slider's setValue() to the moment both pane
widgets have painted the render of that change (so it includes the state change, the hop to
the render thread, core's rendering of both panes, the hop back and Qt's painting). Prints the
median and 90th percentile per row, the median time core itself reported per pane, and the CPU
time the GUI thread used per change (Qt's event handling and painting, the vispy viewport's
drawing: CPU that the render threads then do not have).

Configs (torch intra-op threads of the render threads, soft and hard panes in parallel or one
after the other, fragment inspector shown or hidden):
  app       threads 1, parallel, inspector shown (what `python main.py` does by default)
  serial    threads 1, panes one after the other, inspector shown
  threads2  soft pane with torch's default thread count (2 on a 2-core machine), parallel, inspector shown
  no-insp   threads 1, parallel, inspector hidden (no fragment maps copied for it)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cow_mesh" / "cow.obj"


@dataclass(frozen=True)
class Config:
    name: str
    torch_threads: int | None
    parallel: bool
    inspector: bool


CONFIGS = {
    "app": Config("app", 1, True, True),
    "serial": Config("serial", 1, False, True),
    "threads2": Config("threads2", None, True, True),
    "no-insp": Config("no-insp", 1, True, False),
}
# (panel, parameter, two values the slider alternates between)
SLIDERS = {
    "sigma": ("Blend", "blend.sigma", (1e-4, 2e-4)),
    "gamma": ("Blend", "blend.gamma", (1e-4, 1e-3)),
    "shininess": ("Material", "material.shininess", (64.0, 20.0)),
    "azimuth": ("Camera", "camera.azimuth", (20.0, 30.0)),
}
WHAT_CHANGES = {
    "sigma": "soft: rasterize + shade (blur follows sigma); hard: reused",
    "gamma": "soft: shade only; hard: reused",
    "shininess": "both: shade only",
    "azimuth": "both: rasterize + shade",
}


def _rerun_under_xvfb() -> None:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            sys.exit("bench_app: no DISPLAY and no xvfb-run; run it on a desktop or install xvfb")
        os.execv(xvfb, [xvfb, "-a", "-s", "-screen 0 1920x1080x24", sys.executable, *sys.argv])


def _wait(app, condition, timeout_s: float = 120.0) -> None:
    """Run the event loop until condition() holds, sleeping between events as app.exec() does.

    (processEvents with a time limit returns at once when no event is pending: looping on it
    would spin the GUI thread and take a core from the render workers being measured.)
    """
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.perf_counter() + timeout_s
    tick = QTimer()
    tick.start(50)  # wakes the blocking wait now and then, so that the deadline is checked
    try:
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the window did not show the render in time")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finally:
        tick.stop()


def _measure(app, window, slider: str, repeats: int) -> tuple[list[float], dict[str, list[float]], float]:
    """Latencies (ms) of `repeats` slider changes, core's per-pane render times (ms), and the GUI
    thread's CPU time per timed change (ms)."""
    panel, key, values = SLIDERS[slider]
    control = window.panels[panel].controls[key]
    painted: dict[str, float] = {}
    target = {"revision": -1}

    def on_painted(pane: str) -> None:
        result = window.last_result
        if result is not None and result.snapshot_id == target["revision"] and pane not in painted:
            painted[pane] = time.perf_counter()

    def on_shown(result) -> None:
        # A reused image is the one already on screen: that pane is done when the result lands.
        if result.snapshot_id == target["revision"]:
            for pane, image in result.images.items():
                if image.reused:
                    painted.setdefault(pane, time.perf_counter())

    handlers = {pane: (lambda p=pane: on_painted(p)) for pane in window.panes}
    for pane, handler in handlers.items():
        window.panes[pane].view.painted.connect(handler)
    window.render_shown.connect(on_shown)
    latencies, core_ms = [], {pane: [] for pane in window.panes}
    gui_cpu = 0.0
    try:
        for i in range(repeats + 1):  # the first change warms up this slider's code path
            painted.clear()
            position = control.to_slider(values[(i + 1) % 2])
            start, start_cpu = time.perf_counter(), time.thread_time()
            control.slider.setValue(position)
            target["revision"] = window.state.revision
            _wait(app, lambda: len(painted) == len(window.panes))
            if i == 0:
                continue
            gui_cpu += time.thread_time() - start_cpu
            latencies.append((max(painted.values()) - start) * 1000.0)
            for pane, image in window.last_result.images.items():
                if not image.reused:
                    core_ms[pane].append(image.milliseconds)
    finally:
        window.render_shown.disconnect(on_shown)
        for pane, handler in handlers.items():
            window.panes[pane].view.painted.disconnect(handler)
    return latencies, core_ms, gui_cpu * 1000.0 / max(1, repeats)


def _row(scene: str, config: Config, slider: str, latencies: list[float], core_ms: dict[str, list[float]],
         gui_cpu_ms: float) -> str:
    ordered = sorted(latencies)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]

    def core(pane: str) -> str:
        return f"{statistics.median(core_ms[pane]):8.1f}" if core_ms[pane] else "  reused"

    return (
        f"| {scene:7} | {config.name:8} | {slider:9} | {statistics.median(latencies):10.1f} | {p90:6.1f} "
        f"| {core('soft')} | {core('hard')} | {gui_cpu_ms:11.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--scenes", nargs="+", default=["default", "cow"], choices=["default", "cow"])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--sliders", nargs="+", default=list(SLIDERS), choices=list(SLIDERS))
    args = parser.parse_args()
    _rerun_under_xvfb()

    import PySide6
    import torch
    from PySide6.QtWidgets import QApplication

    from viewer.app import known_qt_problem, prepare_rendering_process
    from viewer.main_window import MainWindow
    from viewer.scene_mesh import load_scene_mesh
    from viewer.settings import AppSettings

    prepare_rendering_process()  # as `python main.py` does
    app = QApplication.instance() or QApplication([sys.argv[0]])
    print(f"RasterLab window latency, {args.size}² panes, median of {args.repeats} changes per row "
          f"(torch {torch.__version__}, PySide6 {PySide6.__version__}, {os.cpu_count()} CPUs, "
          f"platform {app.platformName()})")
    if known_qt_problem():
        print(known_qt_problem())
    print("latency: slider setValue() -> both panes painted the new render; core ms: core's own time per pane; "
          "GUI CPU: the GUI thread's CPU time per change")
    print()
    print("| scene   | config   | slider    | median ms  | p90 ms | soft core ms | hard core ms | GUI CPU ms |")
    print("|---------|----------|-----------|------------|--------|--------------|--------------|------------|")
    cow = load_scene_mesh(COW) if "cow" in args.scenes else None
    for scene in args.scenes:
        for name in args.configs:
            config = CONFIGS[name]
            with tempfile.TemporaryDirectory() as folder:
                window = MainWindow(
                    AppSettings.at_path(Path(folder) / "settings.ini"),
                    image_size=args.size,
                    torch_threads=config.torch_threads,
                    parallel=config.parallel,
                )
                window.show()
                if not config.inspector:
                    window.docks["Fragment inspector"].hide()
                if scene == "cow":
                    window.history.set_mesh(cow)
                _wait(app, lambda: window.last_result is not None and window.last_result.snapshot_id == window.state.revision
                      and not window.service.busy)
                for slider in args.sliders:
                    latencies, core_ms, gui_cpu_ms = _measure(app, window, slider, args.repeats)
                    print(_row(scene, config, slider, latencies, core_ms, gui_cpu_ms), flush=True)
                window.close()
    print()
    for slider in args.sliders:
        print(f"{slider}: {WHAT_CHANGES[slider]}")


if __name__ == "__main__":
    main()
