"""Benchmark scenes: the shared cow and ico-spheres, with cameras and lights (no timing here),
and the environment of the timed child processes."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

from core.io import load_objs_as_meshes
from core.renderer import PointLights, TexturesVertex
from core.structures import Meshes
from core.utils import ico_sphere
from core.utils.allocator import MMAP_THRESHOLD, TRIM_THRESHOLD

COW_OBJ = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cow_mesh" / "cow.obj"


def load_cow(device: str = "cpu") -> Meshes:
    """The textured cow from ../shared as PyTorch3D loads it (2930 verts, 5856 faces, TexturesUV),
    centred and scaled to the unit sphere as the PyTorch3D tutorials do."""
    if not COW_OBJ.exists():
        raise FileNotFoundError(f"{COW_OBJ} is missing: the benchmarks need the shared/ folder beside the repository")
    cow = load_objs_as_meshes([COW_OBJ], device=device)
    verts = cow.verts_packed()
    verts = verts - verts.mean(0)
    verts = verts / verts.norm(dim=1).max()
    return Meshes(verts=[verts], faces=cow.faces_list(), textures=cow.textures)


def coloured_sphere(level: int, device: str = "cpu") -> Meshes:
    """ico_sphere(level) with smooth per-vertex colours."""
    sphere = ico_sphere(level, device=device)
    verts = sphere.verts_packed()
    colours = (0.5 + 0.4 * verts).clamp(0, 1)
    return Meshes(verts=[verts], faces=[sphere.faces_packed()], textures=TexturesVertex(verts_features=[colours]))


def default_lights(device: str = "cpu") -> PointLights:
    return PointLights(location=((2.0, 2.0, -3.0),), device=device)


def child_environment(malloc: str) -> Dict[str, str]:
    """The environment for timed child processes. malloc "tuned": glibc keeps freed memory for
    reuse from the process's start, the settings core.utils.keep_freed_memory applies (which
    `python main.py` calls); "default": glibc's own behaviour."""
    env = dict(os.environ)
    if malloc == "tuned":
        env.update(MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD), MALLOC_TRIM_THRESHOLD_=str(TRIM_THRESHOLD))
    return env
