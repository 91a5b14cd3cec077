"""Benchmark scenes: the shared cow and ico-spheres, with cameras and lights (no timing here)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.renderer import PointLights, TexturesUV, TexturesVertex
from core.structures import Meshes
from core.utils import ico_sphere

COW_OBJ = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cow_mesh" / "cow.obj"


def load_cow(device: str = "cpu") -> Meshes:
    """The textured cow from ../shared (trimesh splits vertices at UV seams: 3225 verts, 5856 faces)."""
    import trimesh

    if not COW_OBJ.exists():
        raise FileNotFoundError(f"{COW_OBJ} is missing: the benchmarks need the shared/ folder beside the repository")
    mesh = trimesh.load(COW_OBJ, process=False)
    verts = torch.tensor(np.asarray(mesh.vertices), dtype=torch.float32, device=device)
    faces = torch.tensor(np.asarray(mesh.faces), dtype=torch.int64, device=device)
    uv = torch.tensor(np.asarray(mesh.visual.uv), dtype=torch.float32, device=device)
    image = np.asarray(mesh.visual.material.image.convert("RGB"), dtype=np.float32) / 255.0
    tex = TexturesUV(maps=[torch.from_numpy(image).to(device)], faces_uvs=[faces], verts_uvs=[uv])
    # Centre and scale to the unit sphere, as the PyTorch3D tutorials do.
    verts = verts - verts.mean(0)
    verts = verts / verts.norm(dim=1).max()
    return Meshes(verts=[verts], faces=[faces], textures=tex)


def coloured_sphere(level: int, device: str = "cpu") -> Meshes:
    """ico_sphere(level) with smooth per-vertex colours."""
    sphere = ico_sphere(level, device=device)
    verts = sphere.verts_packed()
    colours = (0.5 + 0.4 * verts).clamp(0, 1)
    return Meshes(verts=[verts], faces=[sphere.faces_packed()], textures=TexturesVertex(verts_features=[colours]))


def default_lights(device: str = "cpu") -> PointLights:
    return PointLights(location=((2.0, 2.0, -3.0),), device=device)
