"""Targets from the user's own photos: a folder of RGBA PNGs plus ``cameras.json``.

Format (documented in the README)::

    {
      "camera": {"type": "FoVPerspectiveCameras", "fov": 60.0, "znear": 1.0, "zfar": 100.0},
      "light": {"location": [0.0, 0.0, -3.0]},
      "views": [
        {"image": "view_000.png", "dist": 2.7, "elev": 10.0, "azim": -30.0},
        {"image": "view_001.png", "R": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "T": [0, 0, 2.7]}
      ]
    }

Each view gives either ``dist``/``elev``/``azim`` (degrees, looking at the origin, PyTorch3D's
``look_at_view_transform``) or an explicit world-to-view ``R`` (3x3, row-vector convention) and
``T``. "camera" and "light" are optional (defaults shown). The PNG's alpha channel is the
silhouette; its RGB is composited over white, the renderer's background. All images must have
the same size.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import torch

from core.fitting.targets import Targets
from core.renderer import FoVPerspectiveCameras, PointLights, look_at_view_transform

CAMERAS_FILE = "cameras.json"
_CAMERA_DEFAULTS = {"fov": 60.0, "znear": 1.0, "zfar": 100.0}
_DEFAULT_LIGHT = [0.0, 0.0, -3.0]


def load_image_targets(folder: str | os.PathLike[str], device: str | torch.device = "cpu") -> Targets:
    """Read a folder in the format above into :class:`Targets`; ValueError names any problem."""
    folder = Path(folder)
    spec = _read_spec(folder)
    views = spec["views"]
    images, silhouettes, rotations, translations = [], [], [], []
    for i, view in enumerate(views):
        if not isinstance(view, dict) or "image" not in view:
            raise ValueError(f"{folder / CAMERAS_FILE}: view {i} must be an object with an 'image' entry")
        rgb, alpha = _read_rgba(folder / str(view["image"]))
        if images and rgb.shape != images[0].shape:
            raise ValueError(f"{view['image']}: size {rgb.shape[1]}x{rgb.shape[0]} differs from the first view's "
                             f"{images[0].shape[1]}x{images[0].shape[0]}; all views must have one size")
        images.append(rgb)
        silhouettes.append(alpha)
        R, T = _view_pose(view, f"{folder / CAMERAS_FILE}: view {i}")
        rotations.append(R)
        translations.append(T)
    camera = {**_CAMERA_DEFAULTS, **spec.get("camera", {})}
    kind = camera.pop("type", "FoVPerspectiveCameras")
    if kind != "FoVPerspectiveCameras":
        raise ValueError(f"{folder / CAMERAS_FILE}: camera type {kind!r} is not supported (use FoVPerspectiveCameras)")
    unknown = set(camera) - set(_CAMERA_DEFAULTS)
    if unknown:
        raise ValueError(f"{folder / CAMERAS_FILE}: unknown camera setting(s) {sorted(unknown)}")
    cameras = FoVPerspectiveCameras(R=torch.cat(rotations), T=torch.cat(translations), device=device,
                                    **{k: float(v) for k, v in camera.items()})
    location = spec.get("light", {}).get("location", _DEFAULT_LIGHT)
    lights = PointLights(location=[[float(x) for x in location]], device=device)
    return Targets(
        images=torch.from_numpy(np.stack(images)).to(device),
        silhouettes=torch.from_numpy(np.stack(silhouettes)).to(device),
        cameras=cameras,
        lights=lights,
    )


def save_image_targets(targets: Targets, folder: str | os.PathLike[str]) -> List[Path]:
    """Write ``targets`` in the folder format (one RGBA PNG per view + cameras.json); return paths.

    All files are written atomically together (core.io's temporary-file-then-rename), so an
    existing folder is either fully replaced or left as it was.
    """
    from core.io import (  # imported here: core.io loads trimesh
        png_bytes,
        write_files_atomically,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cams = targets.cameras
    payloads, views = {}, []
    for i in range(targets.num_views):
        name = f"view_{i:03d}.png"
        rgba = torch.cat([targets.images[i], targets.silhouettes[i, ..., None]], dim=-1)
        payloads[folder / name] = png_bytes(rgba.clamp(0, 1).cpu().numpy())
        views.append({"image": name, "R": cams.R[i].tolist(), "T": cams.T[i].tolist()})
    spec = {
        "camera": {"type": "FoVPerspectiveCameras", **{k: float(getattr(cams, k)[0]) for k in _CAMERA_DEFAULTS}},
        "light": {"location": targets.lights.location[0].tolist()},
        "views": views,
    }
    payloads[folder / CAMERAS_FILE] = json.dumps(spec, indent=2).encode()
    write_files_atomically(payloads)
    return list(payloads)


def _read_spec(folder: Path) -> Dict[str, Any]:
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of target images")
    path = folder / CAMERAS_FILE
    if not path.is_file():
        raise ValueError(f"{folder} has no {CAMERAS_FILE} describing the views' cameras")
    try:
        spec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("views"), list) or not spec["views"]:
        raise ValueError(f"{path} must be an object with a non-empty 'views' list")
    return spec


def _read_rgba(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(RGB composited over white (H, W, 3), alpha (H, W)), float32 in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise ValueError(f"{path} is listed in {CAMERAS_FILE} but does not exist") from None
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"{path} is not a readable image: {exc}") from None
    alpha = rgba[..., 3]
    rgb = rgba[..., :3] * alpha[..., None] + (1.0 - alpha[..., None])
    return np.ascontiguousarray(rgb), np.ascontiguousarray(alpha)


def _view_pose(view: Dict[str, Any], where: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        if "R" in view or "T" in view:
            R = torch.tensor(view["R"], dtype=torch.float32)
            T = torch.tensor(view["T"], dtype=torch.float32)
            if R.shape != (3, 3) or T.shape != (3,):
                raise ValueError(f"R must be 3x3 and T 3 numbers, got {tuple(R.shape)} and {tuple(T.shape)}")
            if not bool(torch.isfinite(R).all() and torch.isfinite(T).all()):
                raise ValueError("R and T must be finite")
            return R[None], T[None]
        dist, elev, azim = (float(view[k]) for k in ("dist", "elev", "azim"))
        if not all(math.isfinite(x) for x in (dist, elev, azim)) or dist <= 0:
            raise ValueError("dist must be > 0 and elev/azim finite")
        return look_at_view_transform(dist=dist, elev=elev, azim=azim)
    except KeyError as exc:
        raise ValueError(f"{where}: needs either R and T or dist, elev and azim (missing {exc})") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
