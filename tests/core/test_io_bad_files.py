"""core.io loading of bad input: a clear error naming the file, never a traceback from trimesh."""
from __future__ import annotations

import traceback
from pathlib import Path

import numpy as np
import pytest

from core.io import MeshLoadError, load_mesh, load_objs_as_meshes

PLY_HEADER = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
PLY_FACES = "element face 1\nproperty list uchar int vertex_indices\n"
GARBAGE = np.random.default_rng(7).integers(0, 256, 600, dtype=np.uint8).tobytes()

# name: (file name, contents, expected message pattern)
BAD_FILES = {
    "garbage ply": ("g.ply", GARBAGE, "not a readable PLY file"),
    "garbage stl": ("g.stl", GARBAGE, "no geometry"),
    "garbage glb": ("g.glb", GARBAGE, "not a readable GLB file"),
    "garbage off": ("g.off", GARBAGE, "not a readable OFF file"),
    "garbage obj": ("g.obj", GARBAGE, "no geometry"),
    "prose obj": ("p.obj", "Dear diary,\ntoday I saved a mesh.\n", "no geometry .*not an OBJ mesh file"),
    "prose ply": ("p.ply", "Dear diary,\n", "not a readable PLY file"),
    "prose gltf": ("p.gltf", "Dear diary,\n", "not a readable GLTF file"),
    "empty obj": ("e.obj", "", "no geometry"),
    "empty stl": ("e.stl", "", "no geometry"),
    "empty ply": ("e.ply", "", r"the file is empty \(0 bytes\)"),
    "empty glb": ("e.glb", "", r"the file is empty \(0 bytes\)"),
    "empty gltf": ("e.gltf", "", r"the file is empty \(0 bytes\)"),
    "empty off": ("e.off", "", r"the file is empty \(0 bytes\)"),
    "empty gltf scene": ("e.gltf", '{"asset": {"version": "2.0"}, "scenes": [{"nodes": []}], "scene": 0}', "no geometry"),
    "obj point cloud": ("pc.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n", "3 vertices but no faces"),
    "ply point cloud": ("pc.ply", PLY_HEADER + "end_header\n0 0 0\n1 0 0\n0 1 0\n", "3 vertices but no faces"),
    "obj nan": ("n.obj", "v 0 0 nan\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "1 of 3 vertices contain NaN or Inf"),
    "ply inf": ("i.ply", PLY_HEADER + PLY_FACES + "end_header\n0 0 0\ninf 0 0\n0 -inf 0\n3 0 1 2\n", "2 of 3 vertices contain NaN or Inf"),
    "obj face out of range": ("r.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n", "a face refers to a vertex, texture coordinate or normal the file does not have"),
    "ply truncated in its vertices": ("t.ply", PLY_HEADER + PLY_FACES + "end_header\n0 0 0\n1 0 0\n", "declares 3 vertex records but 2 could be read"),
    "ply truncated in its faces": ("t.ply", PLY_HEADER.replace("vertex 3", "vertex 4") + PLY_FACES.replace("face 1", "face 2") + "end_header\n0 0 0\n1 0 0\n0 1 0\n1 1 0\n3 0 1 2\n", "declares 2 face records but 1 could be read"),
    "obj beyond float32": ("b.obj", "v 0 0 0\nv 1e300 0 0\nv 0 1 0\nf 1 2 3\n", "1 of 3 vertices lie beyond the float32 range"),
    # A face must use one corner form; trimesh cut `f 1/1 2/2 3` into the triangle (1, 1, 2).
    "obj mixed corner forms": ("m.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nf 1/1 2/2 3\n", r"line 6 \('f 1/1 2/2 3'\)"),
    "obj mixed corners with normals": ("n.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2 3//1\n", "line 5"),
    "ply face out of range": ("r.ply", PLY_HEADER + PLY_FACES + "end_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", r"indices in \[0, 7\]"),
    "off face out of range": ("r.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n", "face index outside"),
}


def _write(folder: Path, name: str, contents) -> Path:
    path = folder / name
    if isinstance(contents, bytes):
        path.write_bytes(contents)
    else:
        path.write_text(contents)
    return path


@pytest.mark.parametrize("case", BAD_FILES.keys())
def test_bad_file_raises_mesh_load_error_naming_it(tmp_path, case):
    name, contents, pattern = BAD_FILES[case]
    path = _write(tmp_path, name, contents)
    with pytest.raises(MeshLoadError, match=pattern) as info:
        load_mesh(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)
    shown = "".join(traceback.format_exception(info.value))
    assert "site-packages/trimesh" not in shown and "site-packages\\trimesh" not in shown


def test_bad_obj_through_load_objs_as_meshes(tmp_path):
    path = _write(tmp_path, "n.obj", BAD_FILES["obj nan"][1])
    with pytest.raises(MeshLoadError, match="NaN"):
        load_objs_as_meshes([path])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.obj"):
        load_mesh(tmp_path / "missing.obj")


def test_directory(tmp_path):
    (tmp_path / "folder.obj").mkdir()
    with pytest.raises(MeshLoadError, match=r"folder\.obj: is a folder"):
        load_mesh(tmp_path / "folder.obj")


@pytest.mark.parametrize("name, shown", [("cloud.xyz", "'.xyz'"), ("README", "no extension")])
def test_unsupported_extension(tmp_path, name, shown):
    path = _write(tmp_path, name, "0 0 0\n")
    with pytest.raises(MeshLoadError, match=f"unsupported mesh format \\({shown}\\); supported: .obj, .ply"):
        load_mesh(path)


def test_path_must_be_a_path():
    with pytest.raises(TypeError, match="file path"):
        load_mesh(42)
