"""`Fitter`: deform a source mesh (and its vertex colours) until its renders match the targets.

One :meth:`Fitter.step` is one iteration of PyTorch3D's "fit a textured mesh" tutorial: render
the current mesh from a few random target views with a soft rasterizer, compare silhouettes (and
RGB), add the mesh regularisers (edge length, normal consistency, Laplacian smoothing), and take
an optimiser step on per-vertex offsets (and colours). The whole run state - parameters,
optimiser moments, the view sampler's random state and the history - round-trips through
:meth:`state_dict` / :meth:`load_state_dict`, so a paused run resumes exactly.

On the CPU the iteration's views are split among view workers (one torch thread each), each
rendering its views and differentiating their image losses, while the mesh regularisers are
computed beside them. Much of a render's work is in operations torch runs on one thread only
(gathers, scatters, comparisons) and in Python, so two renders side by side use two cores far
better than one render with two torch threads. The workers are processes by default (see
`view_processes`: threads of one interpreter slow each other's Python down), or threads.
Gradients are summed in a fixed order: a run is deterministic for a given seed and worker
count, and the same on processes as on threads.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from core.fitting.config import FIXED_DURING_RUN, LOSS_TERMS, FitConfig, _positive_int
from core.fitting.targets import Targets
from core.fitting.view_processes import ViewProcesses
from core.loss import mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency
from core.renderer import (
    BlendParams,
    MeshRasterizer,
    MeshRenderer,
    RasterizationSettings,
    SoftPhongShader,
    SoftSilhouetteShader,
    TexturesVertex,
)
from core.structures import Meshes
from core.utils import ico_sphere

STATE_VERSION = 1
# Default view workers need an iteration to render at least this many pixels (two views at 128²):
# smaller fits are bound by per-operation overhead, which threads do not share out (on a 2-core
# machine, 12 views at 64² with an ico_sphere(3) ran 25 % slower on two workers than on one, two
# views at 128² from ico_sphere(4) about 30 % faster).
MIN_PIXELS_FOR_VIEW_WORKERS = 2 * 128 * 128
# Starting colour of fitted vertex colours (the tutorial's mid grey).
INITIAL_COLOR = 0.5
# How view workers run side by side on the CPU (see the module docstring).
PARALLEL_MODES = ("processes", "threads")


class Fitter:
    """Run a fit step by step. Never touches Qt; deterministic for a given seed on CPU."""

    def __init__(self, targets: Targets, config: FitConfig, source: Optional[Meshes] = None,
                 workers: Optional[int] = None, parallel: str = "processes") -> None:
        """workers: view workers that render an iteration's views side by side on the CPU
        (default: one per view, at most the machine's cores, when an iteration renders at least
        MIN_PIXELS_FOR_VIEW_WORKERS pixels, else 1; 1 renders all views as one batch on the
        calling thread, as on CUDA). parallel: "processes" (started at the first step that
        uses them; call :meth:`close`, or use the Fitter as a context manager, to stop them
        early) or "threads"."""
        config.validate()
        if workers is not None:
            _positive_int("workers", workers)
        if parallel not in PARALLEL_MODES:
            raise ValueError(f"parallel must be one of {PARALLEL_MODES}, got {parallel!r}")
        if config.views_per_iteration > targets.num_views:
            raise ValueError(f"views_per_iteration ({config.views_per_iteration}) exceeds the {targets.num_views} target views")
        self.config = config
        self.device = torch.device(config.device)
        self.targets = targets.to(self.device)
        if source is None:
            source = ico_sphere(config.sphere_level, self.device)
        if len(source) != 1 or source.isempty():
            raise ValueError("the source must be a single non-empty mesh")
        self._source = self._topology_cached(source.verts_packed().detach(), source.faces_packed())
        verts = self._source.verts_packed()
        self.deform = torch.zeros_like(verts, requires_grad=True)
        self.colors = torch.full_like(verts, INITIAL_COLOR, requires_grad=config.fit_colors)
        params = [self.deform] + ([self.colors] if config.fit_colors else [])
        if config.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)
        else:
            self.optimizer = torch.optim.Adam(params, lr=config.lr)
        self._generator = torch.Generator().manual_seed(config.seed)
        self.workers = workers if workers is not None else _default_workers(config.views_per_iteration, self.targets.image_size)
        self.parallel = parallel
        self._pool: Optional[ThreadPoolExecutor] = None
        self._processes: Optional[ViewProcesses] = None
        self.iteration = 0
        self.history: List[Dict[str, float]] = []
        self.last_vertex_grad: Optional[torch.Tensor] = None
        self._build_renderer()

    def _topology_cached(self, verts: torch.Tensor, faces: torch.Tensor) -> Meshes:
        """The source mesh with its edges and Laplacian built once: every iteration's
        ``offset_verts`` copy inherits them instead of rebuilding them."""
        mesh = Meshes(verts=[verts.to(self.device)], faces=[faces.to(self.device)])
        mesh.edges_packed()
        mesh.laplacian_packed()
        return mesh

    # --- settings -----------------------------------------------------------------------------
    def _uses_rgb(self) -> bool:
        return self.config.fit_colors and self.config.weights["rgb"] > 0

    def _build_renderer(self) -> None:
        cfg = self.config
        settings = RasterizationSettings(image_size=self.targets.image_size, blur_radius=cfg.blur_radius,
                                         faces_per_pixel=cfg.faces_per_pixel, perspective_correct=False)
        blend = BlendParams(sigma=cfg.sigma, gamma=cfg.gamma)
        cameras = self.targets.cameras
        if self._uses_rgb():
            shader = SoftPhongShader(device=self.device, cameras=cameras, lights=self.targets.lights, blend_params=blend)
        else:
            shader = SoftSilhouetteShader(blend)
        self._renderer = MeshRenderer(MeshRasterizer(cameras, settings), shader)

    def update_config(self, **changes: Any) -> None:
        """Change settings between steps (learning rate, momentum, weights, sigma, gamma, K, ...).

        Settings that fix the shape of the run (see ``FIXED_DURING_RUN``) raise ValueError.
        Takes effect at the next :meth:`step`.
        """
        fixed = sorted(set(changes) & set(FIXED_DURING_RUN))
        if fixed:
            raise ValueError(f"{fixed} cannot change during a run; start a new fit instead")
        weights = {**self.config.weights, **changes.pop("weights", {})}
        candidate = FitConfig.from_dict({**self.config.to_dict(), **changes, "weights": weights})
        if candidate.views_per_iteration > self.targets.num_views:
            raise ValueError(f"views_per_iteration ({candidate.views_per_iteration}) exceeds the {self.targets.num_views} target views")
        self._use_config(candidate)

    def _use_config(self, config: FitConfig) -> None:
        """Run on `config` (checked) from the next step on, here and in the view processes."""
        self.config = config
        for group in self.optimizer.param_groups:
            group["lr"] = config.lr
            if "momentum" in group:
                group["momentum"] = config.momentum
        self._build_renderer()
        if self._open_processes() is not None:
            self._processes.send_config(config)

    def _use_source(self, verts: torch.Tensor) -> None:
        """Deform a source with these vertex positions (same faces), here and in the view processes."""
        self._source = self._topology_cached(verts, self._source.faces_packed())
        if self._open_processes() is not None:
            self._processes.send_source(verts)

    def set_learning_rate(self, lr: float) -> None:
        self.update_config(lr=lr)

    def set_weights(self, **weights: float) -> None:
        """Set loss weights by term name (silhouette, rgb, edge, normal, laplacian)."""
        self.update_config(weights=weights)

    # --- the iteration ------------------------------------------------------------------------
    def _current(self) -> Meshes:
        mesh = self._source.offset_verts(self.deform)
        mesh.textures = TexturesVertex(verts_features=self.colors[None])
        return mesh

    def _parameters(self) -> List[torch.Tensor]:
        return [self.deform, self.colors] if self.config.fit_colors else [self.deform]

    def _view_groups(self, views: List[int]) -> List[List[int]]:
        """The views split into consecutive groups, one per worker that renders them (one group,
        a single batch, on CUDA or with one worker)."""
        count = 1 if self.device.type != "cpu" else min(self.workers, len(views))
        bounds = [round(i * len(views) / count) for i in range(count + 1)]
        return [views[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def _image_losses(self, mesh: Meshes, cameras: Any, views: List[int]) -> Tuple[Dict[str, torch.Tensor], Sequence[Optional[torch.Tensor]]]:
        """The silhouette (and RGB) losses of `views`, as their share of the iteration's mean over
        all its views, and the gradients of their weighted sum w.r.t. the fitted parameters."""
        cfg = self.config
        images = self._renderer(mesh if len(views) == 1 else mesh.extend(len(views)), cameras=cameras)
        index = torch.tensor(views, device=self.device)
        share = len(views) / cfg.views_per_iteration
        terms = {"silhouette": ((images[..., 3] - self.targets.silhouettes[index]) ** 2).mean() * share}
        if self._uses_rgb():
            terms["rgb"] = ((images[..., :3] - self.targets.images[index]) ** 2).mean() * share
        total = sum(cfg.weights[name] * value for name, value in terms.items())
        grads = torch.autograd.grad(total, self._parameters(), allow_unused=True)
        return {name: value.detach() for name, value in terms.items()}, grads

    def _regularizers(self) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
        """The mesh regularisers (edge, normal consistency, Laplacian) and the gradient of their
        weighted sum w.r.t. the vertex offsets."""
        mesh = self._current()
        terms = {
            "edge": mesh_edge_loss(mesh),
            "normal": mesh_normal_consistency(mesh),
            "laplacian": mesh_laplacian_smoothing(mesh, method="uniform"),
        }
        total = sum(self.config.weights[name] * value for name, value in terms.items())
        (grad,) = torch.autograd.grad(total, [self.deform])
        return {name: value.detach() for name, value in terms.items()}, grad

    def _worker_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fit-view", initializer=torch.set_num_threads, initargs=(1,))
        return self._pool

    def _open_processes(self) -> Optional[ViewProcesses]:
        """The view processes, unless none were started or they closed themselves (after an
        interrupted step or a worker's death): the next step then starts new ones."""
        return None if self._processes is None or self._processes.closed else self._processes

    def _on_processes(self, groups: List[List[int]]) -> bool:
        """Whether these groups of views render on the worker processes."""
        return len(groups) > 1 and self.parallel == "processes"

    def _view_processes(self) -> ViewProcesses:
        if self._open_processes() is None:
            self._processes = ViewProcesses(self.workers, self.targets, self.config, self._source.verts_packed(),
                                            self._source.faces_packed(), self.config.fit_colors)
        return self._processes

    def prepare(self) -> None:
        """Start the view worker processes now and wait until they are ready (else the first step
        that needs them does; starting takes a few seconds)."""
        if self._on_processes(self._view_groups(list(range(self.config.views_per_iteration)))):
            self._view_processes().wait_ready()

    def close(self) -> None:
        """Stop the view workers (processes or threads); a later step starts them again."""
        if self._processes is not None:
            self._processes.close()
            self._processes = None
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> "Fitter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def step(self) -> Dict[str, float]:
        """Run one iteration; return ``{"iteration", "total", <each loss term>, "seconds"}``."""
        start = time.perf_counter()
        cfg = self.config
        views = torch.randperm(self.targets.num_views, generator=self._generator)[: cfg.views_per_iteration].tolist()
        groups = self._view_groups(views)
        if self._on_processes(groups):
            processes = self._view_processes()
            processes.submit(groups, self.deform, self.colors)
            # the regularisers meanwhile, on a thread of one torch thread: at more, this process
            # would contend with the workers for the cores (an iteration took 66 ms instead of 44)
            pending_regularizers = self._worker_pool().submit(self._regularizers)
            results = processes.collect(len(groups))
            regularizers, regularizer_grad = pending_regularizers.result()
        elif len(groups) == 1:
            regularizers, regularizer_grad = self._regularizers()
            results = [self._image_losses(self._current(), self.targets.cameras[groups[0]], groups[0])]
        else:  # everything on the worker threads (one torch thread each); the short regularisers
            # go to whichever worker frees first. Meshes and cameras are made here, not in the
            # workers: they share cached state.
            jobs = [(self._current(), self.targets.cameras[group], group) for group in groups]
            pool = self._worker_pool()
            pending = [pool.submit(self._image_losses, *job) for job in jobs]
            pending_regularizers = pool.submit(self._regularizers)
            results = [job.result() for job in pending]
            regularizers, regularizer_grad = pending_regularizers.result()
        terms = dict(regularizers)
        for image_terms, _ in results:  # in view order, like the gradients below
            for name, value in image_terms.items():
                terms[name] = terms[name] + value if name in terms else value
        total = sum(cfg.weights[name] * value for name, value in terms.items())
        grads = [_sum_present(column) for column in zip(*(grads for _, grads in results))]
        grads[0] = _sum_present([grads[0], regularizer_grad])
        for parameter, grad in zip(self._parameters(), grads):
            parameter.grad = grad
        self.last_vertex_grad = self.deform.grad.detach().clone()
        self.optimizer.step()
        self.iteration += 1
        record = {"iteration": self.iteration, "total": float(total)}
        record.update({name: float(terms[name]) if name in terms else float("nan") for name in LOSS_TERMS})
        record["seconds"] = time.perf_counter() - start
        self.history.append(record)
        return record

    def run(self, iterations: Optional[int] = None) -> List[Dict[str, float]]:
        """Run ``iterations`` steps (default: until ``config.iterations`` in total)."""
        count = self.config.iterations - self.iteration if iterations is None else iterations
        return [self.step() for _ in range(max(0, count))]

    # --- results ------------------------------------------------------------------------------
    def current_mesh(self) -> Meshes:
        """The current mesh, detached, with its vertex colours (clamped to [0, 1]) as TexturesVertex.

        Without colour fitting the colours are the constant starting grey.
        """
        with torch.no_grad():
            verts = self._source.verts_packed() + self.deform
            colors = self.colors.clamp(0.0, 1.0)
        return Meshes(verts=[verts.detach().clone()], faces=[self._source.faces_packed()],
                      textures=TexturesVertex(verts_features=[colors.detach().clone()]))

    def state_dict(self) -> Dict[str, Any]:
        """Everything needed to continue this run exactly (tensors are copies)."""
        return {
            "version": STATE_VERSION,
            "config": self.config.to_dict(),
            "iteration": self.iteration,
            "source_verts": self._source.verts_packed().detach().cpu().clone(),
            "source_faces": self._source.faces_packed().cpu().clone(),
            "deform": self.deform.detach().cpu().clone(),
            "colors": self.colors.detach().cpu().clone(),
            "optimizer": _clone_state(self.optimizer.state_dict()),
            "generator": self._generator.get_state(),
            "history": [dict(r) for r in self.history],
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the next step then equals the one the saved run would take."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported fitter state version {state.get('version')!r}")
        config = FitConfig.from_dict(state["config"])
        if state["deform"].shape != self.deform.shape or not torch.equal(state["source_faces"], self._source.faces_packed().cpu()):
            raise ValueError("the saved state is for a different source mesh")
        if config.fit_colors != self.config.fit_colors or config.optimizer != self.config.optimizer:
            raise ValueError("the saved state used a different optimizer or colour setting; build the Fitter with its config")
        self._use_source(state["source_verts"])
        with torch.no_grad():
            self.deform.copy_(state["deform"])
            self.colors.copy_(state["colors"])
        self.optimizer.load_state_dict(_clone_state(state["optimizer"]))
        self._generator.set_state(state["generator"])
        self.iteration = int(state["iteration"])
        self.history = [dict(r) for r in state["history"]]
        self._use_config(config)


def _default_workers(views_per_iteration: int, image_size: Tuple[int, int]) -> int:
    """One view worker per view, up to the cores, for fits large enough to gain from them."""
    if views_per_iteration * image_size[0] * image_size[1] < MIN_PIXELS_FOR_VIEW_WORKERS:
        return 1
    return max(1, min(views_per_iteration, os.cpu_count() or 1))


def _sum_present(grads: Sequence[Optional[torch.Tensor]]) -> Optional[torch.Tensor]:
    """The sum of the gradients that are not None, in order (None when all are: the parameter
    took no part)."""
    present = [g for g in grads if g is not None]
    return sum(present[1:], present[0]) if present else None


def _clone_state(value: Any) -> Any:
    """Deep copy of an optimizer state dict (tensors cloned), so saved states never alias live ones."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone_state(v) for v in value]
    return value
