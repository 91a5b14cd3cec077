"""``main.py fit TARGET --out FITTED.obj``: deform a sphere until its renders match the target.

TARGET is a mesh file (rendered from a camera ring to make the target images) or a folder of
RGBA PNGs with cameras.json (see core.fitting.image_targets). Writes the fitted mesh with its
vertex colours, the loss history as CSV and a PNG grid of target vs fitted renders. Ctrl-C stops
early and still writes everything fitted so far.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from cli.common import (
    EXIT_INTERRUPTED,
    CliError,
    check_device,
    check_output,
    load_mesh_or_fail,
    non_negative_float,
    positive_float,
    positive_int,
    write_files,
)

GRID_VIEWS = 4


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from core.fitting import FitConfig

    d = FitConfig()
    p = subparsers.add_parser("fit", help="fit a sphere to a mesh or to images", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", help="mesh file, or a folder of RGBA PNGs with cameras.json")
    p.add_argument("--out", required=True, type=Path, help="fitted mesh (.obj or .ply, with vertex colours)")
    p.add_argument("--history", type=Path, default=None, help="loss history CSV (default: <out>_losses.csv)")
    p.add_argument("--grid", type=Path, default=None, help="target-vs-fitted PNG (default: <out>_grid.png)")
    p.add_argument("--iterations", type=positive_int, default=d.iterations, help=f"default {d.iterations}")
    p.add_argument("--views", type=positive_int, default=d.num_views, help=f"target views on the ring (default {d.num_views})")
    p.add_argument("--views-per-iteration", type=positive_int, default=d.views_per_iteration)
    p.add_argument("--image-size", type=positive_int, default=d.image_size, help=f"default {d.image_size}")
    p.add_argument("--sigma", type=positive_float, default=d.sigma)
    p.add_argument("--gamma", type=positive_float, default=d.gamma)
    p.add_argument("--faces-per-pixel", type=positive_int, default=d.faces_per_pixel)
    p.add_argument("--no-rgb", action="store_true", help="fit the shape only (silhouettes), no vertex colours")
    for term, weight in d.weights.items():
        p.add_argument(f"--w-{term}", type=non_negative_float, default=weight, help=f"{term} loss weight (default {weight:g})")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default=d.optimizer)
    p.add_argument("--lr", type=positive_float, default=d.lr, help=f"learning rate (default {d.lr:g})")
    p.add_argument("--momentum", type=non_negative_float, default=d.momentum)
    p.add_argument("--sphere-level", type=int, default=d.sphere_level, help="ico_sphere level of the source (0-6)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="processes rendering an iteration's views side by side on the CPU (default: one per view, up to "
                        "the cores, for fits of at least two 128² views per iteration; else 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _config(args: argparse.Namespace):
    from core.fitting import LOSS_TERMS, FitConfig

    try:
        return FitConfig(
            num_views=args.views, image_size=args.image_size, sigma=args.sigma, gamma=args.gamma,
            faces_per_pixel=args.faces_per_pixel, weights={t: getattr(args, f"w_{t}") for t in LOSS_TERMS},
            optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, iterations=args.iterations,
            views_per_iteration=args.views_per_iteration, sphere_level=args.sphere_level,
            fit_colors=not args.no_rgb, seed=args.seed, device=args.device,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _targets(args: argparse.Namespace, config):
    from core.fitting import load_image_targets, make_targets

    if Path(args.target).is_dir():
        try:
            return load_image_targets(args.target, config.device)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    mesh = load_mesh_or_fail(args.target, config.device)
    try:
        return make_targets(mesh, config)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.fitting import Fitter

    out = check_output(args.out, (".obj", ".ply"))
    history_path = check_output(args.history or out.with_name(out.stem + "_losses.csv"), (".csv",))
    grid_path = check_output(args.grid or out.with_name(out.stem + "_grid.png"), (".png",))
    check_device(args.device)
    config = _config(args)
    targets = _targets(args, config)
    try:
        fitter = Fitter(targets, config, workers=args.workers)
    except ValueError as exc:
        raise CliError(str(exc)) from None

    interrupted = False
    with fitter, tqdm(total=config.iterations, disable=args.quiet, unit="it", dynamic_ncols=True) as bar:
        try:
            while fitter.iteration < config.iterations:
                record = fitter.step()
                if not all(math.isfinite(record[k]) for k in ("total", "silhouette")):
                    raise CliError(f"the loss became {record['total']} at iteration {record['iteration']}; "
                                   "lower --lr or raise the regulariser weights")
                bar.update(1)
                bar.set_postfix_str(_loss_text(record), refresh=False)
        except KeyboardInterrupt:
            interrupted = True
    _save_results(fitter, targets, out, history_path, grid_path)
    last = fitter.history[-1] if fitter.history else None
    state = "stopped early (Ctrl-C)" if interrupted else "done"
    print(f"{state} after {fitter.iteration} iterations" + (f"; {_loss_text(last)}" if last else ""))
    print(f"wrote {out}, {history_path}, {grid_path}")
    return EXIT_INTERRUPTED if interrupted else 0


def _loss_text(record: dict) -> str:
    return " ".join(f"{k}={record[k]:.4g}" for k in ("total", "silhouette", "rgb") if math.isfinite(record[k]))


def _save_results(fitter, targets, out: Path, history_path: Path, grid_path: Path) -> None:
    from core.fitting import history_csv
    from core.io import MeshSaveError, png_bytes, save_mesh

    mesh = targets.to_source_frame(fitter.current_mesh())
    try:
        save_mesh(out, mesh)
    except MeshSaveError as exc:
        raise CliError(str(exc)) from None
    write_files({history_path: history_csv(fitter.history).encode(), grid_path: png_bytes(_grid(fitter, targets))})


def _grid(fitter, targets):
    """Top row: target RGB of a few evenly spread views; bottom row: the fitted mesh from them."""
    import numpy as np
    import torch

    from core.fitting import render_views

    views = sorted({round(i * (targets.num_views - 1) / max(GRID_VIEWS - 1, 1)) for i in range(GRID_VIEWS)})
    rendered, _ = render_views(fitter.current_mesh(), targets.cameras[views], targets.lights, targets.image_size)
    top = torch.cat(list(targets.images[views]), dim=1)
    bottom = torch.cat(list(rendered), dim=1)
    return np.ascontiguousarray(torch.cat([top, bottom], dim=0).cpu().numpy())
