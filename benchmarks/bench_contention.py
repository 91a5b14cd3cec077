"""How much core's CPU rendering slows down when another process loads the second core.

Usage: python benchmarks/bench_contention.py [--repeats 7] [--threads 1 2] [--cases cow ...]

Times bench_render's cases (forward+backward) alone, beside a compute-bound process (a pure
Python loop: registers and L1 only) and beside a memory-bound process (numpy summing a 256 MB
array over and over: it streams from DRAM and evicts the shared L3). A renderer whose time
barely moves beside the first but grows beside the second is limited by memory bandwidth, not
by arithmetic; that is also why a second torch thread buys little on such a machine, and why a
render inside the application (next to the GUI, the X server and the other pane) is slower
than the same render alone.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_render import _time, make_cases  # noqa: E402

NEIGHBOURS = {
    "alone": None,
    "compute neighbour": "x = 0\nwhile True:\n    x = (x * 31 + 7) % 1000003\n",
    "memory neighbour": "import numpy as np\na = np.ones(1 << 25)\nwhile True:\n    a.sum()\n",
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


def measure(cases: List[str], threads: List[int], repeats: int) -> List[Dict]:
    builders = make_cases("cpu")
    runs = {name: _fwd_bwd(builders[name]) for name in cases}
    rows = {(name, t): {} for name in cases for t in threads}
    for label, code in NEIGHBOURS.items():
        neighbour: Optional[subprocess.Popen] = None
        if code is not None:
            neighbour = subprocess.Popen([sys.executable, "-c", code])
            time.sleep(1.0)  # let it reach its loop
        try:
            for name in cases:
                for t in threads:
                    torch.set_num_threads(t)
                    rows[(name, t)][label] = _time(runs[name], repeats, "cpu") * 1e3
        finally:
            if neighbour is not None:
                neighbour.kill()
                neighbour.wait()
    return [{"case": name, "threads": t, **times} for (name, t), times in rows.items()]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, help="bench_render case names")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases) - set(make_cases("cpu")))
    if unknown:
        parser.error(f"unknown cases {unknown}; see benchmarks/bench_render.py")
    rows = measure(args.cases, args.threads, args.repeats)
    print(f"torch {torch.__version__}, forward+backward median of {args.repeats} after a warm-up, ms (× alone)\n")
    labels = list(NEIGHBOURS)
    print("| case | threads | " + " | ".join(labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    for row in rows:
        alone = row["alone"]
        cells = [f"{row[label]:.1f}" + ("" if label == "alone" else f" ({row[label] / alone:.2f}×)") for label in labels]
        print(f"| {row['case']} | {row['threads']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
