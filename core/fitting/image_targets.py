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

Calibrated photos (OpenCV, COLMAP) instead give every view its own ``"opencv": {"K": 3x3
intrinsics in pixels, "R": 3x3, "t": 3}`` (x_pixel ~ K (R X + t)); the views then become
PerspectiveCameras (core.utils.cameras_from_opencv_projection) and "camera" must be absent.
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
from core.renderer import CamerasBase, FoVPerspectiveCameras, PerspectiveCameras, PointLights, look_at_view_transform
from core.utils import cameras_from_opencv_projection, opencv_from_cameras_projection

CAMERAS_FILE = "cameras.json"
_CAMERA_DEFAULTS = {"fov": 60.0, "znear": 1.0, "zfar": 100.0}
_DEFAULT_LIGHT = [0.0, 0.0, -3.0]


def load_image_targets(folder: str | os.PathLike[str], device: str | torch.device = "cpu") -> Targets:
    """Read a folder in the format above into :class:`Targets`; ValueError names any problem."""
    folder = Path(folder)
    spec = _read_spec(folder)
    views = spec["views"]
    images, silhouettes, poses = [], [], []
    where = folder / CAMERAS_FILE
    for i, view in enumerate(views):
        if not isinstance(view, dict) or "image" not in view:
            raise ValueError(f"{where}: view {i} must be an object with an 'image' entry")
        rgb, alpha = _read_rgba(folder / str(view["image"]))
        if images and rgb.shape != images[0].shape:
            raise ValueError(f"{view['image']}: size {rgb.shape[1]}x{rgb.shape[0]} differs from the first view's "
                             f"{images[0].shape[1]}x{images[0].shape[0]}; all views must have one size")
        images.append(rgb)
        silhouettes.append(alpha)
        read_pose = _opencv_pose if "opencv" in view else _view_pose
        poses.append(read_pose(view, f"{where}: view {i}"))
    if len({len(pose) for pose in poses}) > 1:
        raise ValueError(f"{where}: either every view or none gives an 'opencv' calibration")
    if len(poses[0]) == 3:
        if "camera" in spec:
            raise ValueError(f"{where}: 'camera' settings do not apply to 'opencv' views (their K holds the intrinsics)")
        rot, tvec, K = (torch.cat(parts) for parts in zip(*poses))
        sizes = torch.tensor([images[0].shape[:2]] * len(images))
        cameras: CamerasBase = cameras_from_opencv_projection(rot, tvec, K, sizes).to(device)
    else:
        cameras = _fov_cameras(spec, poses, where, device)
    location = spec.get("light", {}).get("location", _DEFAULT_LIGHT)
    lights = PointLights(location=[[float(x) for x in location]], device=device)
    return Targets(
        images=torch.from_numpy(np.stack(images)).to(device),
        silhouettes=torch.from_numpy(np.stack(silhouettes)).to(device),
        cameras=cameras,
        lights=lights,
    )


def _fov_cameras(spec: Dict[str, Any], poses: list, where: Path, device) -> FoVPerspectiveCameras:
    """The views' FoVPerspectiveCameras with the spec's optional "camera" settings."""
    camera = {**_CAMERA_DEFAULTS, **spec.get("camera", {})}
    kind = camera.pop("type", "FoVPerspectiveCameras")
    if kind != "FoVPerspectiveCameras":
        raise ValueError(f"{where}: camera type {kind!r} is not supported (use FoVPerspectiveCameras, or "
                         "'opencv' calibrations in the views)")
    unknown = set(camera) - set(_CAMERA_DEFAULTS)
    if unknown:
        raise ValueError(f"{where}: unknown camera setting(s) {sorted(unknown)}")
    rotations, translations = zip(*poses)
    return FoVPerspectiveCameras(R=torch.cat(rotations), T=torch.cat(translations), device=device,
                                 **{k: float(v) for k, v in camera.items()})


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
        views.append({"image": name, **_pose_entry(cams, i, targets.image_size)})
    spec: Dict[str, Any] = {"light": {"location": targets.lights.location[0].tolist()}, "views": views}
    if isinstance(cams, FoVPerspectiveCameras):
        spec["camera"] = {"type": "FoVPerspectiveCameras", **{k: float(getattr(cams, k)[0]) for k in _CAMERA_DEFAULTS}}
    payloads[folder / CAMERAS_FILE] = json.dumps(spec, indent=2).encode()
    write_files_atomically(payloads)
    return list(payloads)


def _pose_entry(cameras: CamerasBase, i: int, image_size: tuple[int, int]) -> Dict[str, Any]:
    """View i's camera as cameras.json describes it: R and T for FoV cameras, an "opencv"
    calibration for PerspectiveCameras."""
    if isinstance(cameras, FoVPerspectiveCameras):
        return {"R": cameras.R[i].tolist(), "T": cameras.T[i].tolist()}
    if isinstance(cameras, PerspectiveCameras) and cameras.in_ndc():
        R, t, K = opencv_from_cameras_projection(cameras[i], torch.tensor([image_size]))
        return {"opencv": {"K": K[0].tolist(), "R": R[0].tolist(), "t": t[0].tolist()}}
    raise ValueError(f"targets with {type(cameras).__name__} cannot be saved (FoVPerspectiveCameras, or "
                     "PerspectiveCameras in NDC)")


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
            if not _has_alpha(image):
                raise ValueError(
                    f"{path} has no alpha channel: the silhouette is read from alpha, so the object needs a "
                    "transparent background (an image without one would ask for a silhouette filling the frame)"
                )
            rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise ValueError(f"{path} is listed in {CAMERAS_FILE} but does not exist") from None
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"{path} is not a readable image: {exc}") from None
    alpha = rgba[..., 3]
    rgb = rgba[..., :3] * alpha[..., None] + (1.0 - alpha[..., None])
    return np.ascontiguousarray(rgb), np.ascontiguousarray(alpha)


def _has_alpha(image: Any) -> bool:
    """Whether a PIL image carries transparency: an alpha band, or a transparent palette entry
    or colour (PNG's tRNS)."""
    return "A" in image.getbands() or "transparency" in image.info


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


def _opencv_pose(view: Dict[str, Any], where: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(R (1, 3, 3), t (1, 3), K (1, 3, 3)) of a view's "opencv" calibration, checked."""
    calibration = view["opencv"]
    try:
        if not isinstance(calibration, dict):
            raise TypeError("'opencv' must be an object with K, R and t")
        K, R, t = (torch.tensor(calibration[key], dtype=torch.float64) for key in ("K", "R", "t"))
        if K.shape != (3, 3) or R.shape != (3, 3) or t.shape != (3,):
            raise ValueError(f"K and R must be 3x3 and t 3 numbers, got {tuple(K.shape)}, {tuple(R.shape)} and {tuple(t.shape)}")
        if not bool(torch.isfinite(K).all() and torch.isfinite(R).all() and torch.isfinite(t).all()):
            raise ValueError("K, R and t must be finite")
        if not (K[0, 0] > 0 and K[1, 1] > 0):
            raise ValueError(f"the focal lengths K[0][0] and K[1][1] must be > 0, got {float(K[0, 0]):g} and {float(K[1, 1]):g}")
        if not (torch.allclose(R @ R.T, torch.eye(3, dtype=R.dtype), atol=1e-4) and torch.linalg.det(R) > 0):
            raise ValueError("R must be a rotation matrix (orthonormal, determinant +1)")
    except KeyError as exc:
        raise ValueError(f"{where}: 'opencv' needs K, R and t (missing {exc})") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return R.float()[None], t.float()[None], K.float()[None]
