"""Fit a mesh to images by differentiable rendering (the engine behind `main.py fit` and the app).

Typical use::

    config = FitConfig(iterations=500)
    targets = make_targets(target_mesh, config)       # or load_image_targets(folder)
    with Fitter(targets, config) as fitter:             # closing stops its view worker processes
        for _ in range(config.iterations):
            losses = fitter.step()
    mesh = targets.to_source_frame(fitter.current_mesh())
"""
from core.fitting.config import (
    FIXED_DURING_RUN,
    LOSS_TERMS,
    FitConfig,
    blur_radius_from_sigma,
)
from core.fitting.fitter import Fitter
from core.fitting.history import HISTORY_COLUMNS, history_csv
from core.fitting.image_targets import load_image_targets, save_image_targets
from core.fitting.metrics import (
    compare_meshes,
    mesh_chamfer,
    psnr,
    render_views,
    silhouette_iou,
)
from core.fitting.targets import Targets, make_targets
from core.fitting.views import (
    denormalize_mesh,
    fitting_lights,
    normalize_mesh,
    ring_cameras,
    sphere_cameras,
)

__all__ = [
    "FIXED_DURING_RUN", "FitConfig", "Fitter", "HISTORY_COLUMNS", "LOSS_TERMS", "Targets", "blur_radius_from_sigma", "compare_meshes",
    "denormalize_mesh", "fitting_lights", "history_csv", "load_image_targets", "make_targets", "mesh_chamfer", "normalize_mesh", "psnr",
    "render_views", "ring_cameras", "save_image_targets", "silhouette_iou", "sphere_cameras",
]
