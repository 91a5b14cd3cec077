"""Camera rings and the lighting used for fitting (PyTorch3D tutorial conventions)."""

from __future__ import annotations

import math

import torch

from core.renderer import FoVPerspectiveCameras, PointLights, look_at_view_transform
from core.structures import Meshes


def ring_cameras(num_views: int, dist: float = 2.7, device: str | torch.device = "cpu") -> FoVPerspectiveCameras:
    """``num_views`` cameras looking at the origin from ``dist``, as the fitting tutorial places them.

    Elevation runs over linspace(0, 360) and azimuth over linspace(-180, 180) together, so the
    ring spirals over the whole sphere of directions (its first and last views coincide, as in
    the tutorial).
    """
    if num_views < 1:
        raise ValueError(f"num_views must be >= 1, got {num_views}")
    elev = torch.linspace(0.0, 360.0, num_views)
    azim = torch.linspace(-180.0, 180.0, num_views)
    R, T = look_at_view_transform(dist=dist, elev=elev, azim=azim)
    return FoVPerspectiveCameras(R=R, T=T, device=device)


def sphere_cameras(num_views: int, dist: float = 2.7, device: str | torch.device = "cpu") -> FoVPerspectiveCameras:
    """``num_views`` cameras spread evenly over the sphere (a Fibonacci lattice), looking at the origin.

    None of them coincides with a :func:`ring_cameras` view, so they serve as held-out views for
    judging a fit from directions it was not trained on.
    """
    if num_views < 1:
        raise ValueError(f"num_views must be >= 1, got {num_views}")
    i = torch.arange(num_views, dtype=torch.float64) + 0.5
    elev = torch.rad2deg(torch.asin(1.0 - 2.0 * i / num_views))
    azim = torch.rad2deg(i * math.pi * (3.0 - math.sqrt(5.0))) % 360.0 - 180.0
    R, T = look_at_view_transform(dist=dist, elev=elev.float(), azim=azim.float())
    return FoVPerspectiveCameras(R=R, T=T, device=device)


def fitting_lights(device: str | torch.device = "cpu") -> PointLights:
    """The tutorial's light: a point light in front of the object, at (0, 0, -3)."""
    return PointLights(location=[[0.0, 0.0, -3.0]], device=device)


def normalize_mesh(mesh: Meshes) -> tuple[Meshes, torch.Tensor, float]:
    """Centre a single mesh on its vertex mean and scale its largest coordinate to 1.

    Returns ``(normalized, center, scale)`` with ``original = normalized * scale + center``; the
    tutorial normalises its target this way so that the camera ring at distance 2.7 frames it.
    """
    if len(mesh) != 1:
        raise ValueError(f"normalize_mesh expects a single mesh, got a batch of {len(mesh)}")
    verts = mesh.verts_packed()
    if verts.shape[0] == 0:
        raise ValueError("cannot normalise an empty mesh")
    center = verts.mean(0)
    scale = float((verts - center).abs().max())
    if not scale > 0:
        raise ValueError("cannot normalise a mesh whose vertices all coincide")
    return mesh.offset_verts(-center.expand_as(verts)).scale_verts(1.0 / scale), center.detach(), scale


def denormalize_mesh(mesh: Meshes, center, scale: float) -> Meshes:
    """A new mesh with vertices ``verts * scale + center``: the inverse of a normalisation such
    as :func:`normalize_mesh` (``center``: a (3,) tensor or sequence)."""
    verts = mesh.verts_packed()
    center = torch.as_tensor(center, dtype=verts.dtype, device=verts.device)
    return mesh.scale_verts(scale).offset_verts(center.expand_as(verts))
