"""Plain-data pictures of a running fit, made on the worker thread and sent to the GUI.

No Qt here. A `MeshSnapshot` holds numpy arrays for the viewport plus the detached `Meshes` for
export; `CompareImages` holds one target view, the current mesh's render of it and their
difference. Both are frozen copies: the fit can go on while the GUI draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.fitting import Fitter, render_views
from core.structures import Meshes


@dataclass(frozen=True, eq=False)
class MeshSnapshot:
    """The current mesh in the target's frame.

    verts (V, 3) float32, faces (F, 3) uint32, colors (V, 3) float32 in [0, 1],
    grad_norm (V,) float32 = |d loss / d vertex| of the last step (None before the first step),
    meshes: the same mesh as a detached core `Meshes` with TexturesVertex colours (for export).
    """

    verts: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    grad_norm: np.ndarray | None
    meshes: Meshes


@dataclass(frozen=True, eq=False)
class CompareImages:
    """Target view `view` and the current mesh rendered from the same camera (uint8 RGB, H x W x 3);
    `difference` (H, W) float32 is the mean absolute RGB difference in [0, 1]."""

    view: int
    target: np.ndarray
    current: np.ndarray
    difference: np.ndarray


def mesh_snapshot(fitter: Fitter) -> MeshSnapshot:
    """Copy the fitter's current mesh (mapped back to the target's frame) and last gradient."""
    mesh = fitter.targets.to_source_frame(fitter.current_mesh())
    grad = fitter.last_vertex_grad
    return MeshSnapshot(
        verts=mesh.verts_packed().detach().cpu().numpy().astype(np.float32),
        faces=mesh.faces_packed().cpu().numpy().astype(np.uint32),
        colors=mesh.textures.verts_features_packed().detach().cpu().numpy().astype(np.float32),
        grad_norm=None if grad is None else grad.norm(dim=1).cpu().numpy().astype(np.float32),
        meshes=mesh,
    )


def compare_images(fitter: Fitter, view: int) -> CompareImages:
    """Render the current mesh from target view `view` (hard render) next to the target image."""
    targets = fitter.targets
    if not 0 <= view < targets.num_views:
        raise ValueError(f"view must be in [0, {targets.num_views - 1}], got {view}")
    rgb, _ = render_views(fitter.current_mesh(), targets.cameras[[view]], targets.lights, targets.image_size)
    current = rgb[0].clamp(0.0, 1.0)
    target = targets.images[view].clamp(0.0, 1.0)
    difference = (current - target).abs().mean(dim=-1)
    return CompareImages(view, _to_uint8(target), _to_uint8(current), difference.cpu().numpy().astype(np.float32))


def _to_uint8(rgb: torch.Tensor) -> np.ndarray:
    return (rgb * 255.0).round().to(torch.uint8).cpu().numpy()
