"""Which mesh file formats core.io reads and writes, keyed by lower-case file extension."""
from __future__ import annotations

from pathlib import Path

# trimesh parses all of these without optional dependencies.
LOAD_FORMATS = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")
SAVE_FORMATS = (".obj", ".ply", ".stl", ".off", ".glb")


def extension(path: Path) -> str:
    """The lower-case suffix of `path` ('.obj'), or '' when it has none."""
    return path.suffix.lower()
