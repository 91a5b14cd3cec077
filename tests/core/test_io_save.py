"""core.io saving: exact file contents, round trips through every format, atomic replacement."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

import core.io.obj as obj_module
from core.io import MeshSaveError, load_mesh, save_mesh, save_obj, save_ply
from core.renderer import TexturesUV, TexturesVertex
from core.structures import Meshes
from core.utils import ico_sphere


def sphere_data():
    sphere = ico_sphere(1)
    verts, faces = sphere.verts_packed(), sphere.faces_packed()
    return verts, faces, (0.5 + 0.45 * verts).clamp(0, 1)


def textured_sphere() -> Meshes:
    """ico_sphere(1) with a random 5x7 texture and uvs from the vertex positions (seams: none)."""
    verts, faces, _ = sphere_data()
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(5, 7, 3, generator=gen)
    image = torch.round(image * 255) / 255  # exactly representable in an 8-bit PNG
    verts_uvs = torch.rand(len(faces) * 3, 2, generator=gen)  # one uv per face corner
    faces_uvs = torch.arange(len(faces) * 3).reshape(-1, 3)
    return Meshes([verts], [faces], textures=TexturesUV([image], [faces_uvs], [verts_uvs]))


def triangle_set(meshes: Meshes) -> np.ndarray:
    """Triangles as sorted rows of 9 coordinates: geometry independent of vertex order."""
    tris = meshes.verts_packed()[meshes.faces_packed()].numpy().reshape(-1, 9)
    return tris[np.lexsort(tris.T[::-1])]


# ------------------------------------------------------------------------------- exact contents
def test_save_obj_text_with_uvs_normals_and_decimal_places(tmp_path):
    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.5]])
    faces = torch.tensor([[0, 1, 2]])
    save_obj(
        tmp_path / "t.obj", verts, faces, decimal_places=2,
        normals=torch.tensor([[0.0, 0.0, 1.0]]), faces_normals_idx=torch.tensor([[0, 0, 0]]),
        verts_uvs=torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), faces_uvs=torch.tensor([[2, 1, 0]]),
        texture_map=torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]),
    )
    assert (tmp_path / "t.obj").read_text().splitlines() == [
        "mtllib t.mtl", "usemtl mesh",
        "v 0.00 0.00 0.00", "v 1.00 0.00 0.00", "v 0.00 1.00 0.50",
        "vt 0.00 0.00", "vt 1.00 0.00", "vt 0.00 1.00",
        "vn 0.00 0.00 1.00",
        "f 1/3/1 2/2/1 3/1/1",
    ]
    assert "map_Kd t.png" in (tmp_path / "t.mtl").read_text().splitlines()
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "t.png")), [[[255, 0, 0], [0, 255, 0]]])
    save_obj(tmp_path / "n.obj", verts, faces, normals=torch.tensor([[0.0, 0.0, 1.0]]), faces_normals_idx=torch.zeros(1, 3, dtype=torch.long))
    assert (tmp_path / "n.obj").read_text().splitlines()[-1] == "f 1//1 2//1 3//1"
    assert sorted(os.listdir(tmp_path)) == ["n.obj", "t.mtl", "t.obj", "t.png"]


def test_save_obj_vertex_colours_and_default_float_format(tmp_path):
    save_obj(tmp_path / "c.obj", torch.tensor([[0.5, 0, 0], [1, 0, 0], [0, 1, 0]]), torch.tensor([[0, 1, 2]]),
             verts_colors=torch.tensor([[1.0, 0.5, 0.25], [0, 0, 0], [2.0, -1.0, 0.0]]))
    assert (tmp_path / "c.obj").read_text().splitlines() == [
        "v 0.500000 0.000000 0.000000 1.000000 0.500000 0.250000",
        "v 1.000000 0.000000 0.000000 0.000000 0.000000 0.000000",
        "v 0.000000 1.000000 0.000000 1.000000 0.000000 0.000000",  # colours clamped to [0, 1]
        "f 1 2 3",
    ]


def test_save_ply_ascii_text(tmp_path):
    save_ply(tmp_path / "a.ply", torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), torch.tensor([[0, 1, 2]]),
             verts_colors=torch.tensor([[1.0, 0, 0], [0, 0.2, 0], [0, 0, 1]]), ascii=True, decimal_places=1)
    assert (tmp_path / "a.ply").read_text().splitlines() == [
        "ply", "format ascii 1.0", "element vertex 3",
        "property float x", "property float y", "property float z",
        "property uchar red", "property uchar green", "property uchar blue",
        "element face 1", "property list uchar int vertex_index", "end_header",
        "0.0 0.0 0.0 255 0 0", "1.0 0.0 0.0 0 51 0", "0.0 1.0 0.0 0 0 255", "3 0 1 2",
    ]


def test_save_ply_binary_layout(tmp_path):
    verts = torch.tensor([[0.0, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, -2.0]])
    normals = torch.tensor([[0.0, 0.0, 1.0]] * 3)
    save_ply(tmp_path / "b.ply", verts, torch.tensor([[0, 1, 2]]), verts_normals=normals)
    data = (tmp_path / "b.ply").read_bytes()
    header, body = data.split(b"end_header\n")
    assert b"format binary_little_endian 1.0" in header and b"property float nz" in header
    records = np.frombuffer(body[: 3 * 24], dtype="<f4").reshape(3, 6)
    np.testing.assert_array_equal(records, torch.cat([verts, normals], 1).numpy())
    assert body[3 * 24:] == b"\x03" + np.array([0, 1, 2], "<i4").tobytes()


# ------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("ascii", [False, True])
def test_ply_round_trip_with_colours(tmp_path, ascii):
    verts, faces, colors = sphere_data()
    save_ply(tmp_path / "s.ply", verts, faces, verts_colors=colors, ascii=ascii, decimal_places=None if not ascii else 7)
    meshes = load_mesh(tmp_path / "s.ply")
    torch.testing.assert_close(meshes.verts_packed(), verts, atol=1e-6, rtol=0)
    assert torch.equal(meshes.faces_packed(), faces)
    torch.testing.assert_close(meshes.textures.verts_features_packed(), colors, atol=0.5 / 255 + 1e-6, rtol=0)


@pytest.mark.parametrize("ext", [".obj", ".ply", ".glb"])
def test_save_mesh_round_trip_vertex_colours(tmp_path, ext):
    verts, faces, colors = sphere_data()
    save_mesh(tmp_path / f"s{ext}", Meshes([verts], [faces], textures=TexturesVertex([colors])))
    meshes = load_mesh(tmp_path / f"s{ext}")
    torch.testing.assert_close(meshes.verts_packed(), verts, atol=1e-6, rtol=0)
    assert torch.equal(meshes.faces_packed(), faces)
    assert isinstance(meshes.textures, TexturesVertex)
    torch.testing.assert_close(meshes.textures.verts_features_packed(), colors, atol=0.5 / 255 + 1e-6, rtol=0)


@pytest.mark.parametrize("ext", [".stl", ".off"])
def test_save_mesh_round_trip_geometry_only_formats(tmp_path, ext):
    verts, faces, colors = sphere_data()
    with pytest.warns(UserWarning, match="no colours"):
        save_mesh(tmp_path / f"s{ext}", Meshes([verts], [faces], textures=TexturesVertex([colors])))
    meshes = load_mesh(tmp_path / f"s{ext}")
    assert meshes.textures is None
    assert meshes.verts_packed().shape == verts.shape and meshes.faces_packed().shape == faces.shape
    np.testing.assert_allclose(triangle_set(meshes), triangle_set(Meshes([verts], [faces])), atol=1e-6)


@pytest.mark.parametrize("ext", [".obj", ".glb"])
def test_save_mesh_round_trip_uv_texture(tmp_path, ext):
    original = textured_sphere()
    save_mesh(tmp_path / f"s{ext}", original)
    meshes = load_mesh(tmp_path / f"s{ext}")
    assert isinstance(meshes.textures, TexturesUV)
    torch.testing.assert_close(meshes.textures.maps_padded(), original.textures.maps_padded(), atol=1e-6, rtol=0)
    # Per face corner: the same position and the same uv (GLB splits vertices at uv seams).
    ours = meshes.verts_packed()[meshes.faces_packed()]
    torch.testing.assert_close(ours, original.verts_packed()[original.faces_packed()], atol=1e-6, rtol=0)
    uv = meshes.textures.verts_uvs_padded()[0][meshes.textures.faces_uvs_padded()[0]]
    ref_uv = original.textures.verts_uvs_padded()[0][original.textures.faces_uvs_padded()[0]]
    torch.testing.assert_close(uv, ref_uv, atol=1e-6, rtol=0)
    if ext == ".obj":  # OBJ keeps one vertex per position
        assert meshes.verts_packed().shape == original.verts_packed().shape


def test_save_mesh_obj_keeps_every_float32_digit(tmp_path):
    """A small object far from the origin (millimetres, in metres): '%f' kept 6 decimals and
    collapsed it; save_mesh writes OBJ numbers that read back exactly."""
    sphere = ico_sphere(1)
    verts = sphere.verts_packed() * 1e-4 + torch.tensor([2.5e-3, -7.0, 1e-9])
    colors = torch.rand(len(verts), 3, generator=torch.Generator().manual_seed(3))
    save_mesh(tmp_path / "small.obj", Meshes([verts], sphere.faces_list(), textures=TexturesVertex([colors])))
    meshes = load_mesh(tmp_path / "small.obj")
    assert torch.equal(meshes.verts_packed(), verts) and torch.equal(meshes.faces_packed(), sphere.faces_packed())
    # trimesh keeps colours as 8-bit values
    torch.testing.assert_close(meshes.textures.verts_features_packed(), colors, atol=0.5 / 255 + 1e-6, rtol=0)


@pytest.mark.parametrize("name", ["my mesh.obj", "mesh #1.obj", "a.b.obj"])
def test_save_mesh_textured_obj_round_trip_with_awkward_names(tmp_path, name):
    original = textured_sphere()
    save_mesh(tmp_path / name, original)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meshes = load_mesh(tmp_path / name)
    assert isinstance(meshes.textures, TexturesUV)
    torch.testing.assert_close(meshes.textures.maps_padded(), original.textures.maps_padded(), atol=1e-6, rtol=0)


def test_save_mesh_drops_texture_where_the_format_cannot_hold_it(tmp_path):
    with pytest.warns(UserWarning, match="no UV texture"):
        save_mesh(tmp_path / "s.ply", textured_sphere())
    assert load_mesh(tmp_path / "s.ply").textures is None


def test_save_mesh_rejects_batches_extensions_and_empty_meshes(tmp_path):
    sphere = ico_sphere(0)
    with pytest.raises(MeshSaveError, match="batch of 2"):
        save_mesh(tmp_path / "a.obj", sphere.extend(2))
    with pytest.raises(MeshSaveError, match=r"unsupported mesh format \('\.fbx'\)"):
        save_mesh(tmp_path / "a.fbx", sphere)
    with pytest.raises(MeshSaveError, match="no faces"):
        save_mesh(tmp_path / "a.obj", Meshes([sphere.verts_packed()], [torch.zeros(0, 3, dtype=torch.long)]))
    with pytest.raises(TypeError, match="Meshes"):
        save_mesh(tmp_path / "a.obj", sphere.verts_packed())
    with open(os.devnull, "wb") as handle, pytest.raises(TypeError, match="file path"):
        save_mesh(handle, sphere)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------- atomic saves
@pytest.fixture
def existing(tmp_path) -> tuple[Path, bytes]:
    path = tmp_path / "keep.obj"
    path.write_bytes(b"v 9 9 9\nprevious contents\n")
    return path, path.read_bytes()


def _assert_untouched(path: Path, contents: bytes) -> None:
    assert path.read_bytes() == contents
    assert os.listdir(path.parent) == [path.name], "a temporary file was left behind"


def test_failure_mid_write_leaves_the_existing_file(existing, monkeypatch):
    path, before = existing
    verts, faces, _ = sphere_data()

    def fail_after_partial_write(fh, *args):
        fh.write(b"f 1 2")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(obj_module, "_write_faces", fail_after_partial_write)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_obj(path, verts, faces)
    _assert_untouched(path, before)


def test_failure_mid_write_of_a_textured_obj_writes_none_of_its_files(existing, monkeypatch):
    path, before = existing
    monkeypatch.setattr(obj_module, "_write_faces", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        save_mesh(path, textured_sphere())
    _assert_untouched(path, before)  # neither keep.png nor keep.mtl appeared


def test_fsync_error_becomes_mesh_save_error(existing, monkeypatch):
    path, before = existing
    verts, faces, _ = sphere_data()

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(MeshSaveError, match=r"cannot save .*keep\.obj: Input/output error"):
        save_obj(path, verts, faces)
    _assert_untouched(path, before)


def test_trimesh_export_error_leaves_the_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.glb"
    path.write_bytes(b"old")

    def broken_export(self, *args, **kwargs):
        raise KeyError("no exporter")

    monkeypatch.setattr(trimesh.Trimesh, "export", broken_export)
    with pytest.raises(MeshSaveError, match=r"keep\.glb.*KeyError"):
        save_mesh(path, ico_sphere(0))
    _assert_untouched(path, b"old")


@pytest.mark.parametrize(
    "verts, faces, message",
    [
        (torch.tensor([[0.0, 0, 0], [1, 0, 0], [float("nan"), 1, 0]]), torch.tensor([[0, 1, 2]]), "NaN or Inf"),
        (torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, float("inf"), 0]]), torch.tensor([[0, 1, 2]]), "NaN or Inf"),
        (torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), torch.tensor([[0, 1, 3]]), r"indices in \[0, 3\]"),
        (torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), torch.tensor([[0, -1, 2]]), r"indices in \[-1, 2\]"),
        (torch.tensor([[0.0, 0], [1, 0]]), torch.tensor([[0, 1, 2]]), r"shape \(N, 3\)"),
        (torch.tensor([[0.0, 0, 0]]), torch.tensor([[0.0, 0, 0]]), "integer"),
    ],
)
@pytest.mark.parametrize("writer", ["obj", "ply"])
def test_bad_data_raises_and_keeps_the_existing_file(existing, verts, faces, message, writer):
    path, before = existing
    save = save_obj if writer == "obj" else save_ply
    with pytest.raises(MeshSaveError, match=message) as info:
        save(path, verts, faces)
    assert str(path) in str(info.value)
    _assert_untouched(path, before)


def test_bad_texture_arguments(tmp_path):
    verts, faces, _ = sphere_data()
    with pytest.raises(MeshSaveError, match="missing texture_map"):
        save_obj(tmp_path / "a.obj", verts, faces, verts_uvs=torch.zeros(1, 2), faces_uvs=torch.zeros_like(faces))
    with pytest.raises(MeshSaveError, match="faces_uvs refer"):
        save_obj(tmp_path / "a.obj", verts, faces, verts_uvs=torch.zeros(1, 2), faces_uvs=torch.ones_like(faces),
                 texture_map=torch.zeros(2, 2, 3))
    with pytest.raises(MeshSaveError, match="together"):
        save_obj(tmp_path / "a.obj", verts, faces, normals=torch.zeros(1, 3))
    with pytest.raises(MeshSaveError, match="decimal_places"):
        save_obj(tmp_path / "a.obj", verts, faces, decimal_places=-1)
    with pytest.raises(MeshSaveError, match="verts_colors must have shape"):
        save_ply(tmp_path / "a.ply", verts, faces, verts_colors=torch.zeros(3, 3))
    assert os.listdir(tmp_path) == []


def test_unwritable_destinations(tmp_path):
    verts, faces, _ = sphere_data()
    with pytest.raises(MeshSaveError, match="does not exist"):
        save_obj(tmp_path / "missing" / "a.obj", verts, faces)
    (tmp_path / "file").write_text("x")
    with pytest.raises(MeshSaveError, match="is not a folder"):
        save_ply(tmp_path / "file" / "a.ply", verts, faces)
    (tmp_path / "dir.obj").mkdir()
    with pytest.raises(MeshSaveError, match="a folder with that name"):
        save_mesh(tmp_path / "dir.obj", ico_sphere(0))
    assert sorted(os.listdir(tmp_path)) == ["dir.obj", "file"]


def test_folder_that_cannot_be_searched_gives_mesh_save_error(tmp_path, monkeypatch):
    """Checking the destination can itself fail (no search permission on the folder): still a
    MeshSaveError naming the file, not a bare PermissionError."""
    verts, faces, _ = sphere_data()
    real_exists = Path.exists

    def no_permission(self, *args, **kwargs):
        if self.name == "locked":
            raise PermissionError(13, "Permission denied", str(self))
        return real_exists(self, *args, **kwargs)

    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(Path, "exists", no_permission)
    with pytest.raises(MeshSaveError, match=r"cannot save .*a\.obj: Permission denied"):
        save_obj(tmp_path / "locked" / "a.obj", verts, faces)


def test_saved_file_permissions_follow_umask_or_the_replaced_file(tmp_path):
    verts, faces, _ = sphere_data()
    reference = tmp_path / "plain.txt"
    reference.write_text("x")
    save_obj(tmp_path / "new.obj", verts, faces)
    assert (tmp_path / "new.obj").stat().st_mode == reference.stat().st_mode
    (tmp_path / "old.obj").write_text("x")
    os.chmod(tmp_path / "old.obj", 0o640)
    save_obj(tmp_path / "old.obj", verts, faces)
    assert (tmp_path / "old.obj").stat().st_mode & 0o777 == 0o640


def test_successful_save_replaces_and_leaves_no_temporary_files(existing):
    path, _ = existing
    verts, faces, _ = sphere_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_obj(path, verts, faces)
    assert os.listdir(path.parent) == [path.name]
    assert load_mesh(path).verts_packed().shape == verts.shape
