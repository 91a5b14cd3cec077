"""How good a fit is: silhouette IoU, RGB PSNR and chamfer distance, on any set of views."""

from __future__ import annotations

from typing import Dict

import torch

from core.loss import chamfer_distance
from core.ops import sample_points_from_meshes
from core.renderer import (
    MeshRasterizer,
    MeshRendererWithFragments,
    PointLights,
    RasterizationSettings,
    SoftPhongShader,
)
from core.renderer.cameras import CamerasBase
from core.structures import Meshes


def silhouette_iou(pred: torch.Tensor, target: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Per-view intersection over union of two (V, H, W) masks, each binarised at ``threshold``.

    A view where both masks are empty counts as IoU 1 (nothing to miss).
    """
    if pred.shape != target.shape:
        raise ValueError(f"mask shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    a, b = pred > threshold, target > threshold
    inter = (a & b).flatten(1).sum(1).double()
    union = (a | b).flatten(1).sum(1).double()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def psnr(pred: torch.Tensor, target: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Per-view peak signal-to-noise ratio (dB) of (V, ...) images with values in [0, max_value]."""
    if pred.shape != target.shape:
        raise ValueError(f"image shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    mse = ((pred.double() - target.double()) ** 2).flatten(1).mean(1)
    return 10.0 * torch.log10(max_value**2 / mse.clamp(min=1e-12))


def render_views(mesh: Meshes, cameras: CamerasBase, lights: PointLights, image_size: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard renders of one mesh from every camera: (RGB (V, H, W, 3), coverage mask (V, H, W)).

    RGB as the targets are made (SoftPhongShader, blur 0, one face per pixel); the mask is
    exact pixel coverage (pix_to_face >= 0).
    """
    settings = RasterizationSettings(image_size=image_size, blur_radius=0.0, faces_per_pixel=1)
    renderer = MeshRendererWithFragments(MeshRasterizer(cameras, settings),
                                         SoftPhongShader(device=mesh.device, cameras=cameras, lights=lights))
    with torch.no_grad():
        images, fragments = renderer(mesh.extend(len(cameras)))
    return images[..., :3], (fragments.pix_to_face[..., 0] >= 0).float()


def mesh_chamfer(a: Meshes, b: Meshes, num_samples: int = 10000, seed: int = 0) -> float:
    """Symmetric chamfer distance (mean squared nearest-point distance, both ways) between surfaces."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        points_a = sample_points_from_meshes(a, num_samples)
        points_b = sample_points_from_meshes(b, num_samples)
    loss, _ = chamfer_distance(points_a, points_b)
    return float(loss)


def compare_meshes(fitted: Meshes, target: Meshes, cameras: CamerasBase, lights: PointLights,
                   image_size: int | tuple[int, int]) -> Dict[str, float]:
    """Mean silhouette IoU, mean RGB PSNR over ``cameras``, and chamfer distance of two meshes."""
    rgb_f, mask_f = render_views(fitted, cameras, lights, image_size)
    rgb_t, mask_t = render_views(target, cameras, lights, image_size)
    return {
        "iou": float(silhouette_iou(mask_f, mask_t).mean()),
        "psnr": float(psnr(rgb_f, rgb_t).mean()),
        "chamfer": mesh_chamfer(fitted, target),
    }
