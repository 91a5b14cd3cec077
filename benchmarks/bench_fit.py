"""Fit quality and speed of core.fitting on the cow with the PyTorch3D tutorial's settings.

Usage: python benchmarks/bench_fit.py [--iterations 2000] [--threads 2] [--timing-threads 1 2]
                                      [--timing-workers 1 2] [--timing-parallel processes threads]
                                      [--device cpu|cuda] [--malloc default|tuned]

Source ico_sphere(4), 20 training views at 128², sigma 1e-4, K=50, 2 random views per
iteration, SGD lr 1.0 momentum 0.9, weights silhouette 1, RGB 1, edge 1, normal 0.01,
Laplacian 1 (core.fitting.FitConfig's defaults). At each checkpoint the fitted mesh is compared
with the target on 20 held-out views (spread evenly over the sphere; none is a training
view): mean silhouette IoU (exact coverage masks), mean RGB PSNR (hard Phong renders),
and the chamfer distance between 10k surface samples of each. The per-iteration time is the
median of Fitter.step() over the run (evaluation excluded). A second table times 60 iterations
(after 10 warm-up) for each --timing-threads and --timing-workers value, each in its own process:
torch threads of the calling thread, and Fitter(workers=...), the view workers that render the
iteration's views side by side (one torch thread each; 1 = all views in one batch on the calling
thread), as processes or threads (Fitter(parallel=...), --timing-parallel). The quality run
uses the Fitter's defaults (one worker process per view, up to the cores).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scenes import COW_OBJ, child_environment  # noqa: E402
from core.fitting import (  # noqa: E402
    FitConfig,
    Fitter,
    compare_meshes,
    make_targets,
    normalize_mesh,
    sphere_cameras,
)
from core.io import load_objs_as_meshes  # noqa: E402

HELD_OUT_VIEWS = 20


def _setup(device: str):
    config = FitConfig(device=device)
    cow = load_objs_as_meshes([COW_OBJ], device=device)
    target, _, _ = normalize_mesh(cow)
    return config, target, make_targets(cow, config)


def quality_run(iterations: int, checkpoints: List[int], device: str, workers: Optional[int] = None) -> Dict:
    config, target, targets = _setup(device)
    held_out = sphere_cameras(HELD_OUT_VIEWS, config.camera_dist, device)
    fitter = Fitter(targets, config, workers=workers)
    rows, start = [], time.perf_counter()
    with fitter:
        for checkpoint in sorted(c for c in checkpoints if c <= iterations):
            while fitter.iteration < checkpoint:
                fitter.step()
            metrics = compare_meshes(fitter.current_mesh(), target, held_out, targets.lights, config.image_size)
            rows.append({"iteration": checkpoint, **metrics, "loss": fitter.history[-1]["total"],
                         "wall_s": time.perf_counter() - start})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    step_ms = statistics.median(r["seconds"] for r in fitter.history) * 1e3 if fitter.history else float("nan")
    return {"rows": rows, "step_ms": step_ms}


def timing_run(device: str, warmup: int = 10, timed: int = 60, workers: Optional[int] = None,
               parallel: str = "processes") -> Dict:
    config, _, targets = _setup(device)
    with Fitter(targets, config, workers=workers, parallel=parallel) as fitter:
        for _ in range(warmup):
            fitter.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times = [fitter.step()["seconds"] for _ in range(timed)]  # step() ends with .item() reads: synced
    return {"step_ms": statistics.median(times) * 1e3, "p90_ms": sorted(times)[int(0.9 * len(times))] * 1e3}


def _child(args: argparse.Namespace, mode: str, threads: int, env: Dict[str, str], workers: Optional[int] = None,
           parallel: str = "processes") -> Dict:
    cmd = [sys.executable, __file__, "--one", mode, "--threads", str(threads), "--device", args.device,
           *(["--workers", str(workers)] if workers is not None else []), "--parallel", parallel,
           "--iterations", str(args.iterations), "--checkpoints", *map(str, args.checkpoints)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{mode} run failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="0: time iterations only, no quality run")
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the quality run")
    parser.add_argument("--timing-threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--timing-workers", type=int, nargs="*", default=[1, 2], help="Fitter(workers=...) values to time")
    parser.add_argument("--timing-parallel", nargs="*", choices=("processes", "threads"), default=["processes", "threads"],
                        help="Fitter(parallel=...) values to time (rows with more than one view worker)")
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--parallel", default="processes", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--malloc", choices=("default", "tuned"), default="default",
                        help="glibc malloc settings of the child processes (see bench_render.py)")
    parser.add_argument("--one", choices=("quality", "timing"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        torch.set_num_threads(args.threads)
        if args.one == "quality":
            result = quality_run(args.iterations, args.checkpoints, args.device, args.workers)
        else:
            result = timing_run(args.device, workers=args.workers, parallel=args.parallel)
        print(json.dumps(result))
        return 0
    if not COW_OBJ.exists():
        print(f"skipped: {COW_OBJ} is missing (the benchmark needs ../shared beside the repository)")
        return 1
    env = child_environment(args.malloc)
    print(f"torch {torch.__version__}, device {args.device}, malloc {args.malloc}")
    print("\nIteration time (median of 60 after 10 warm-up; tutorial settings on the cow):")
    print("| torch threads | view workers | workers are | median ms / iteration | p90 ms |")
    print("|---------------|--------------|-------------|-----------------------|--------|")
    for workers in args.timing_workers:
        for parallel in args.timing_parallel if workers > 1 else ["-"]:
            for threads in args.timing_threads:
                r = _child(args, "timing", threads, env, workers, "processes" if parallel == "-" else parallel)
                print(f"| {threads:13d} | {workers:12d} | {parallel:>11} | {r['step_ms']:21.1f} | {r['p90_ms']:6.1f} |",
                      flush=True)
    if args.iterations <= 0:
        return 0
    r = _child(args, "quality", args.threads, env)
    print(f"\nFit quality on {HELD_OUT_VIEWS} held-out views ({args.threads} threads; median iteration "
          f"{r['step_ms']:.1f} ms over the run):")
    print("| iterations | silhouette IoU | RGB PSNR dB | chamfer | train loss | wall s |")
    print("|------------|----------------|-------------|---------|------------|--------|")
    for row in r["rows"]:
        print(f"| {row['iteration']:10d} | {row['iou']:14.4f} | {row['psnr']:11.2f} | {row['chamfer']:.5f} | "
              f"{row['loss']:10.4f} | {row['wall_s']:6.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
