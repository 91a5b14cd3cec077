"""The mesh on screen: a checked, normalised `Meshes` plus the arrays the 3D viewport draws.

Loaded meshes come in any size and position; they are centred on their bounding box and scaled
to fit the unit sphere (as in PyTorch3D's tutorials) so that the default camera frames them.
Meshes without colours or texture get a uniform grey (core's shaders need a texture to sample).
No Qt here: loading runs on a worker thread.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.fitting import denormalize_mesh
from core.renderer import TexturesVertex
from core.structures import Meshes

_UIDS = itertools.count(1)
_GREY = (0.7, 0.7, 0.7)
# Largest face area (in the unit-sphere frame) below which a mesh covers no pixel at any size:
# every triangle is degenerate, and the panes would stay empty without saying why.
_MIN_AREA = 1e-10


@dataclass(frozen=True, eq=False)
class SceneMesh:
    """A single mesh ready to render: `meshes` (batch of 1), its name, file, and viewport arrays.

    `uid` is unique per SceneMesh; render caches use it to know the mesh changed.
    Viewport arrays: verts (V, 3) float32, faces (F, 3) uint32, vertex_colors (V, 3) float32.
    `centre` and `radius` undo the normalisation: source coordinates = verts * radius + centre.
    `load_notes`: what the file reader warned about while reading it (a texture it names that
    is missing, say), for the window to tell the user.
    """

    meshes: Meshes
    name: str
    source: Path | None
    verts: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray
    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    radius: float = 1.0
    load_notes: tuple[str, ...] = ()
    uid: int = field(default_factory=lambda: next(_UIDS))

    @property
    def num_verts(self) -> int:
        return int(self.verts.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    def to_source_frame(self, meshes: Meshes) -> Meshes:
        """`meshes`, given in this scene's normalised frame, in the coordinates the mesh was
        loaded (or generated) in: what a file written for the user should hold."""
        return denormalize_mesh(meshes, self.centre, self.radius)

    def counts(self) -> str:
        """E.g. "2930 vertices, 5856 faces" ("1 face" for one)."""
        return f"{_count(self.num_verts, 'vertex', 'vertices')}, {_count(self.num_faces, 'face', 'faces')}"

    def describe(self) -> str:
        """E.g. "cow.obj: 2930 vertices, 5856 faces"."""
        return f"{self.name}: {self.counts()}"


def make_scene_mesh(meshes: Meshes, name: str, source: Path | None = None) -> SceneMesh:
    """Check `meshes` (one non-empty mesh), normalise it, build the viewport arrays.

    Raises ValueError naming the problem: a batch of several meshes, no faces, all vertices
    at one point, or only zero-area faces. (NaN/Inf vertices never get this far: `Meshes` refuses them.)
    """
    if not isinstance(meshes, Meshes):
        raise TypeError(f"expected a core Meshes, got {type(meshes).__name__}")
    if len(meshes) != 1:
        raise ValueError(f"{name}: expected one mesh, got a batch of {len(meshes)}")
    verts, faces = meshes.verts_packed(), meshes.faces_packed()
    if faces.shape[0] == 0 or verts.shape[0] == 0:
        raise ValueError(f"{name}: the mesh is empty ({verts.shape[0]} vertices, {faces.shape[0]} faces)")
    low, high = verts.min(0).values, verts.max(0).values
    centre = (low + high) / 2
    radius = float((verts - centre).norm(dim=1).max())
    if not radius > 0.0:
        raise ValueError(f"{name}: all vertices are at the same point; nothing to render")
    normalised = meshes.offset_verts(-centre).scale_verts_(1.0 / radius).detach()
    if _largest_face_area(normalised) <= _MIN_AREA:
        raise ValueError(
            f"{name}: every face ({faces.shape[0]} in all) has zero area, its corners on a line; nothing to render"
        )
    if normalised.textures is None:  # core's shaders sample a texture: give plain meshes a grey one
        grey = torch.tensor(_GREY, dtype=verts.dtype, device=verts.device).expand_as(verts)
        normalised = Meshes(
            verts=normalised.verts_list(), faces=normalised.faces_list(), textures=TexturesVertex(verts_features=[grey])
        )
    return SceneMesh(
        meshes=normalised,
        name=name,
        source=source,
        verts=normalised.verts_packed().cpu().numpy().astype(np.float32),
        faces=normalised.faces_packed().cpu().numpy().astype(np.uint32),
        vertex_colors=_vertex_colors(normalised),
        centre=tuple(float(c) for c in centre),
        radius=radius,
    )


def load_scene_mesh(path: str | Path) -> SceneMesh:
    """Read `path` with core.io and prepare it for display.

    Raises FileNotFoundError, or ValueError (core.io.MeshLoadError included) with a message
    naming the file and what is wrong with it. Warnings of the reader (a missing texture or
    MTL file: the mesh loads without it) become the SceneMesh's `load_notes`.
    """
    from core.io import load_mesh  # imports trimesh: only when a file is read

    path = Path(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        meshes = load_mesh(path)
    notes = tuple(without_path(str(w.message), path) for w in caught if issubclass(w.category, UserWarning))
    return dataclasses.replace(make_scene_mesh(meshes, path.name, path.resolve()), load_notes=notes)


def without_path(message: str, path: str | Path) -> str:
    """A reader's message without its leading "<path>: " (the window names the file already)."""
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _largest_face_area(meshes: Meshes) -> float:
    """The area of the mesh's largest triangle (core's `faces_areas_packed`)."""
    return float(meshes.faces_areas_packed().max())


def _vertex_colors(meshes: Meshes) -> np.ndarray:
    """Per-vertex RGB for the viewport preview: each vertex's texture colour averaged over the
    face corners that use it (exact for vertex colours, an approximation for UV textures)."""
    verts, faces = meshes.verts_packed(), meshes.faces_packed()
    corner = meshes.textures.faces_verts_textures_packed(faces)  # (F, 3, C)
    channels = corner.shape[-1]
    corner = corner[..., :3] if channels >= 3 else corner[..., :1].expand(*corner.shape[:-1], 3)
    total = torch.zeros(verts.shape[0], 3, dtype=corner.dtype, device=corner.device)
    total.index_add_(0, faces.reshape(-1), corner.reshape(-1, 3))
    uses = torch.bincount(faces.reshape(-1), minlength=verts.shape[0])
    colours = (total / uses.clamp_min(1)[:, None]).clamp(0.0, 1.0)
    colours[uses == 0] = torch.tensor(_GREY, dtype=colours.dtype, device=colours.device)
    return colours.detach().cpu().numpy().astype(np.float32)
