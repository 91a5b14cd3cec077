"""What a finished fit can be saved as: the mesh, the loss history (CSV), a turntable GIF.

No Qt here, so the slow one (the turntable) can run on a worker thread. Every file is written
atomically (core.io's temporary-file-then-rename): a failed export leaves no partial file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch

from core.fitting import fitting_lights, history_csv, render_views
from core.io import write_bytes_atomically
from core.renderer import FoVPerspectiveCameras, look_at_view_transform
from core.structures import Meshes

TURNTABLE_FORMATS = (".gif", ".mp4")


def save_fitted_mesh(path: str | os.PathLike[str], mesh: Meshes) -> Path:
    """Write the fitted mesh with its vertex colours (.obj or .ply; any format core.io saves)."""
    from core.io import save_mesh  # imports trimesh: only when a mesh is saved

    save_mesh(path, mesh)
    return Path(path)


def save_loss_csv(path: str | os.PathLike[str], history: Iterable[Mapping[str, float]]) -> Path:
    path = Path(path)
    write_bytes_atomically(path, history_csv(history).encode("utf-8"))
    return path


def turntable_frames(mesh: Meshes, frames: int = 36, image_size: int = 128, elevation: float = 15.0,
                     distance: float = 2.7, batch: int = 6) -> np.ndarray:
    """(frames, H, W, 3) uint8 renders of `mesh` from cameras circling it once at `elevation`."""
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames must be an int >= 1, got {frames!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 8 <= image_size <= 1024:
        raise ValueError(f"image_size must be an int in [8, 1024], got {image_size!r}")
    if not (math.isfinite(distance) and distance > 0):
        raise ValueError(f"distance must be a finite number > 0, got {distance!r}")
    if not isinstance(mesh, Meshes) or len(mesh) != 1:
        raise ValueError("the turntable needs a single mesh")
    azimuths = torch.arange(frames, dtype=torch.float32) * (360.0 / frames)
    R, T = look_at_view_transform(dist=distance, elev=float(elevation), azim=azimuths)
    cameras = FoVPerspectiveCameras(R=R, T=T, device=mesh.device)
    lights = fitting_lights(mesh.device)
    images = []
    for start in range(0, frames, batch):
        views = list(range(start, min(start + batch, frames)))
        rgb, _ = render_views(mesh, cameras[views], lights, image_size)
        images.append((rgb.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).cpu().numpy())
    return np.concatenate(images)


def save_turntable(path: str | os.PathLike[str], mesh: Meshes, frames: int = 36, image_size: int = 128,
                   fps: float = 12.0) -> Path:
    """Write a turntable animation of `mesh`: an endlessly looping GIF (or MP4 with imageio-ffmpeg)."""
    import imageio.v3 as iio  # only here: the rest of the app does not need imageio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TURNTABLE_FORMATS:
        raise ValueError(f"turntable format must be one of {', '.join(TURNTABLE_FORMATS)}, got {suffix or 'no extension'!r}")
    if not (isinstance(fps, (int, float)) and 0 < fps <= 100):
        raise ValueError(f"fps must be in (0, 100], got {fps!r}")
    images = turntable_frames(mesh, frames, image_size)
    if suffix == ".gif":
        data = iio.imwrite("<bytes>", images, extension=".gif", duration=1000.0 / fps, loop=0)
    else:
        data = iio.imwrite("<bytes>", images, extension=".mp4", fps=fps)
    write_bytes_atomically(path, data)
    return path
