"""How much core's CPU rendering slows down when something else loads the second core.

Usage: python benchmarks/bench_contention.py [--repeats 7] [--threads 1 2] [--cases cow ...]
       [--neighbours ...]

Times bench_render's cases (forward+backward) alone, beside a compute-bound process (a pure
Python loop: registers and L1 only), beside a memory-bound process (numpy summing a 256 MB
array over and over: it streams from DRAM and evicts the shared L3), and beside another render
(the cow at 256², hard Phong, one torch thread, in a loop) run by a second process or by a
second thread of this process. A renderer whose time barely moves beside the first but grows
beside the second is limited by memory bandwidth, not by arithmetic; a render that slows more
beside a render thread than beside a render process waits for Python's global interpreter lock
(the many small torch calls of a render each take it). Both are why a second core buys less
than twice the speed, and why a render inside the application (next to the GUI and the other
pane) is slower than the same render alone.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_render import _time, make_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NEIGHBOUR_RENDER = "cow 256² hard Phong K=1"
_RENDER_PROCESS = (
    f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
    "from benchmarks.bench_contention import render_loop\nrender_loop()\n"
)


def render_loop(stop: Optional[threading.Event] = None, ready: Optional[threading.Event] = None) -> None:
    """Render NEIGHBOUR_RENDER forward with one torch thread until `stop` is set (or forever);
    once looping, set `ready` (or print "ready" where there is none)."""
    torch.set_num_threads(1)
    renderer, meshes = make_cases("cpu")[NEIGHBOUR_RENDER]()
    if ready is None:
        print("ready", flush=True)
    else:
        ready.set()
    while stop is None or not stop.is_set():
        with torch.no_grad():
            renderer(meshes)


def _process(code: str, wait_for_ready: bool = False) -> Callable[[], Callable[[], None]]:
    def start() -> Callable[[], None]:
        neighbour = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE if wait_for_ready else None, text=True)
        if wait_for_ready:
            neighbour.stdout.readline()
        time.sleep(1.0)  # let it settle in its loop

        def stop() -> None:
            neighbour.kill()
            neighbour.wait()

        return stop

    return start


def _render_thread() -> Callable[[], None]:
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=render_loop, args=(stop, ready), daemon=True)
    thread.start()
    ready.wait()
    time.sleep(1.0)  # let it settle in its loop

    def end() -> None:
        stop.set()
        thread.join()

    return end


# label -> None (alone) or a function that starts the neighbour and returns one that stops it
NEIGHBOURS = {
    "alone": None,
    "compute neighbour": _process("x = 0\nwhile True:\n    x = (x * 31 + 7) % 1000003\n"),
    "memory neighbour": _process("import numpy as np\na = np.ones(1 << 25)\nwhile True:\n    a.sum()\n"),
    "render process": _process(_RENDER_PROCESS, wait_for_ready=True),
    "render thread": _render_thread,
}
DEFAULT_CASES = ["cow 256² hard Phong K=1", "cow 128² soft Phong K=50", "20× ico_sphere(4) 128² silhouette K=50"]


def _fwd_bwd(build):
    renderer, meshes = build()
    verts = meshes.verts_padded().detach()

    def run() -> None:
        v = verts.clone().requires_grad_(True)
        images = renderer(meshes.update_padded(v))
        images.sum().backward()

    return run


def measure(cases: List[str], threads: List[int], repeats: int, neighbours: List[str]) -> List[Dict]:
    """Rows of times (ms) per case and thread count, one column per label in `neighbours`."""
    builders = make_cases("cpu")
    runs = {name: _fwd_bwd(builders[name]) for name in cases}
    rows = {(name, t): {} for name in cases for t in threads}
    for label in neighbours:
        start = NEIGHBOURS[label]
        stop = start() if start is not None else None
        try:
            for name in cases:
                for t in threads:
                    torch.set_num_threads(t)
                    rows[(name, t)][label] = _time(runs[name], repeats, "cpu") * 1e3
        finally:
            if stop is not None:
                stop()
    return [{"case": name, "threads": t, **times} for (name, t), times in rows.items()]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, help="bench_render case names")
    parser.add_argument("--neighbours", nargs="+", default=list(NEIGHBOURS), choices=list(NEIGHBOURS))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases) - set(make_cases("cpu")))
    if unknown:
        parser.error(f"unknown cases {unknown}; see benchmarks/bench_render.py")
    labels = ["alone"] + [n for n in args.neighbours if n != "alone"]
    rows = measure(args.cases, args.threads, args.repeats, labels)
    print(f"torch {torch.__version__}, forward+backward median of {args.repeats} after a warm-up, ms (× alone); "
          f"render neighbours: {NEIGHBOUR_RENDER} forward, one torch thread\n")
    print("| case | threads | " + " | ".join(labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    for row in rows:
        alone = row["alone"]
        cells = [f"{row[label]:.1f}" + ("" if label == "alone" else f" ({row[label] / alone:.2f}×)") for label in labels]
        print(f"| {row['case']} | {row['threads']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
