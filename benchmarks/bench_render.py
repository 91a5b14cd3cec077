"""Rendering speed and memory of core.renderer on the issue's reference cases; prints a table.

Usage: python benchmarks/bench_render.py [--threads 1 2] [--repeats 5] [--device cpu|cuda] [--cases ...]

Each case: one warm-up, then the median of --repeats timed runs of the forward pass and of
forward + backward (gradient w.r.t. vertex positions). Each row runs in its own process so that
its peak memory is its own: the CUDA allocator's peak on GPU, the process's peak RSS on CPU
(which includes the ~300 MB of the Python + torch runtime).

--malloc tuned runs the rows with glibc keeping freed memory for reuse (the settings of
core.utils.keep_freed_memory, which the application applies): by default
glibc hands large freed blocks back to the kernel and the next render faults them in again,
which was seen to double small render times on these machines.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scenes import (  # noqa: E402
    child_environment,
    coloured_sphere,
    default_lights,
    load_cow,
)
from core.fitting import blur_radius_from_sigma  # noqa: E402
from core.renderer import (  # noqa: E402
    BlendParams,
    FoVPerspectiveCameras,
    HardPhongShader,
    MeshRasterizer,
    MeshRenderer,
    RasterizationSettings,
    SoftDepthShader,
    SoftPhongShader,
    SoftSilhouetteShader,
    look_at_view_transform,
)

SIGMA = 1e-4


def _renderer(image_size: int, shader: str, k: int, cameras, device: str) -> MeshRenderer:
    blend = BlendParams(sigma=SIGMA, gamma=1e-4)
    soft_settings = RasterizationSettings(
        image_size=image_size, blur_radius=blur_radius_from_sigma(SIGMA), faces_per_pixel=k
    )
    if shader == "silhouette":
        return MeshRenderer(MeshRasterizer(cameras, soft_settings), SoftSilhouetteShader(blend_params=blend))
    if shader == "softphong":
        phong = SoftPhongShader(device=device, cameras=cameras, lights=default_lights(device), blend_params=blend)
        return MeshRenderer(MeshRasterizer(cameras, soft_settings), phong)
    if shader == "softdepth":
        depth = SoftDepthShader(device=device, cameras=cameras, blend_params=blend)
        return MeshRenderer(MeshRasterizer(cameras, soft_settings), depth)
    settings = RasterizationSettings(image_size=image_size, blur_radius=0.0, faces_per_pixel=k)
    return MeshRenderer(
        MeshRasterizer(cameras, settings), HardPhongShader(device=device, cameras=cameras, lights=default_lights(device))
    )


def make_cases(device: str) -> Dict[str, Callable[[], tuple]]:
    """name -> builder returning (renderer, meshes); built lazily so a missing file only skips its rows."""

    def cow_case(size, shader, k):
        def build():
            mesh = load_cow(device)
            R, T = look_at_view_transform(2.7, 10.0, 30.0, device=device)
            return _renderer(size, shader, k, FoVPerspectiveCameras(R=R, T=T, device=device), device), mesh
        return build

    def sphere6(size):
        def build():
            R, T = look_at_view_transform(2.7, 10.0, 30.0, device=device)
            cameras = FoVPerspectiveCameras(R=R, T=T, device=device)
            return _renderer(size, "phong", 1, cameras, device), coloured_sphere(6, device)
        return build

    def sphere4_views(views):
        def build():
            elev = torch.linspace(-30, 30, views) if views > 1 else 10.0
            azim = torch.linspace(-180, 180, views) if views > 1 else 30.0
            R, T = look_at_view_transform(2.7, elev, azim, device=device)
            mesh = coloured_sphere(4, device).extend(views)
            return _renderer(128, "silhouette", 50, FoVPerspectiveCameras(R=R, T=T, device=device), device), mesh
        return build

    return {
        "cow 256² hard Phong K=1": cow_case(256, "phong", 1),
        "cow 128² silhouette K=50": cow_case(128, "silhouette", 50),
        "ico_sphere(6) 512² hard Phong": sphere6(512),
        "20× ico_sphere(4) 128² silhouette K=50": sphere4_views(20),
        "cow 1024² hard Phong K=1": cow_case(1024, "phong", 1),
        "cow 128² soft Phong K=50": cow_case(128, "softphong", 50),
        "cow 256² soft depth K=50": cow_case(256, "softdepth", 50),
        # Rows matching the PyTorch3D CPU timings quoted in the core renderer issue.
        "ico_sphere(6) 256² hard Phong": sphere6(256),
        "1× ico_sphere(4) 128² silhouette K=50": sphere4_views(1),
        "8× ico_sphere(4) 128² silhouette K=50": sphere4_views(8),
    }


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _time(fn: Callable[[], None], repeats: int, device: str) -> float:
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_case(build: Callable[[], tuple], repeats: int, device: str) -> Dict[str, float]:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    renderer, meshes = build()
    verts = meshes.verts_padded().detach()

    def forward():
        with torch.no_grad():
            renderer(meshes)

    def forward_backward():
        v = verts.clone().requires_grad_(True)
        images = renderer(meshes.update_padded(v))
        images[..., 3].sum().backward() if images.shape[-1] == 4 else images.sum().backward()

    fwd = _time(forward, repeats, device)
    fwd_bwd = _time(forward_backward, repeats, device)
    if device.startswith("cuda"):
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"forward_ms": fwd * 1e3, "fwd_bwd_ms": fwd_bwd * 1e3, "peak_mb": peak_mb}


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch.set_num_threads values to run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cases", nargs="*", help="substrings of case names to run (default: all)")
    parser.add_argument("--malloc", choices=("default", "tuned"), default="default",
                        help="glibc malloc settings for the timed processes (see the module docstring)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args(argv)
    cases = make_cases(args.device)
    if args.one is not None:
        torch.set_num_threads(args.threads[0])
        try:
            print(json.dumps(run_case(cases[args.one], args.repeats, args.device)))
        except FileNotFoundError as exc:
            print(json.dumps({"skipped": str(exc)}))
        return 0
    names = [k for k in cases if not args.cases or any(s in k for s in args.cases)]
    env = child_environment(args.malloc)
    print(f"torch {torch.__version__}, device {args.device}, median of {args.repeats} after 1 warm-up, "
          f"malloc {args.malloc}")
    print(f"| {'case':40s} | threads | forward ms | fwd+bwd ms | peak MB |")
    print("|" + "-" * 42 + "|---------|------------|------------|---------|")
    for threads in args.threads:
        for name in names:
            cmd = [sys.executable, __file__, "--one", name, "--threads", str(threads),
                   "--repeats", str(args.repeats), "--device", args.device]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if out.returncode != 0:
                print(f"| {name:40s} | {threads:7d} | failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            if "skipped" in r:
                print(f"| {name:40s} | {threads:7d} | skipped: {r['skipped']}")
                continue
            print(f"| {name:40s} | {threads:7d} | {r['forward_ms']:10.1f} | {r['fwd_bwd_ms']:10.1f} | {r['peak_mb']:7.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
