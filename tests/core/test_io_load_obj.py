"""core.io.load_obj: PyTorch3D's (verts, faces, aux) for one OBJ file."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.io import load_obj, load_objs_as_meshes
from core.structures import Meshes
from tests.core.test_io_load import QUAD_IMAGE, write_textured_obj
from tests.shared_data import require_shared


def test_textured_quad(tmp_path):
    """Two triangles on four positions, uvs per corner, the MTL's material name as the key."""
    verts, faces, aux = load_obj(write_textured_obj(tmp_path))
    torch.testing.assert_close(verts, torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]))
    assert faces.verts_idx.tolist() == [[0, 1, 2], [0, 2, 3]]
    uv_corners = aux.verts_uvs[faces.textures_idx]
    torch.testing.assert_close(uv_corners, verts[faces.verts_idx][..., :2])  # this quad's uv = its xy
    assert list(aux.texture_images) == ["skin"]
    torch.testing.assert_close(aux.texture_images["skin"], torch.tensor(QUAD_IMAGE, dtype=torch.float32) / 255)
    assert faces.materials_idx.tolist() == [0, 0]
    assert aux.normals is None and (faces.normals_idx == -1).all()
    assert aux.material_colors["skin"]["diffuse_color"].tolist() == [1.0, 1.0, 1.0]  # the MTL's Kd
    assert aux.texture_atlas is None


def test_untextured_and_textures_off(tmp_path):
    plain = tmp_path / "tri.obj"
    plain.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    verts, faces, aux = load_obj(plain)
    assert verts.shape == (3, 3) and faces.verts_idx.tolist() == [[0, 1, 2]]
    assert (faces.textures_idx == -1).all() and faces.materials_idx.tolist() == [-1]
    assert aux.verts_uvs is None and aux.texture_images is None
    _, faces, aux = load_obj(write_textured_obj(tmp_path), load_textures=False)
    assert aux.texture_images is None and (faces.textures_idx == -1).all()


def test_cow_matches_load_objs_as_meshes():
    cow = require_shared("data/cow_mesh/cow.obj")
    verts, faces, aux = load_obj(cow)
    mesh = load_objs_as_meshes([cow])
    assert verts.shape == (2930, 3) and faces.verts_idx.shape == (5856, 3)
    assert torch.equal(verts, mesh.verts_packed()) and torch.equal(faces.verts_idx, mesh.faces_packed())
    assert torch.equal(faces.textures_idx, mesh.textures.faces_uvs_list()[0])
    assert torch.equal(aux.verts_uvs, mesh.textures.verts_uvs_list()[0])
    assert list(aux.texture_images) == ["material_1"]
    # the "deform a source mesh" tutorial's use
    assert len(Meshes(verts=[verts], faces=[faces.verts_idx])) == 1


def test_bad_arguments(tmp_path):
    obj = write_textured_obj(tmp_path)
    with pytest.raises(ValueError, match="texture_atlas_size"):
        load_obj(obj, create_texture_atlas=True, texture_atlas_size=2.5)
    with pytest.raises(ValueError, match="texture_wrap"):
        load_obj(obj, texture_wrap="mirror")
    with pytest.raises(NotImplementedError, match="path_manager"):
        load_obj(obj, path_manager=object())
    with pytest.raises(FileNotFoundError):
        load_obj(tmp_path / "missing.obj")


def test_material_colors_are_the_mtl_values(tmp_path):
    """PyTorch3D's aux.material_colors: Ka, Kd, Ks, Ns of each material the faces use (the
    cow's MTL carries end-of-line comments after each colour)."""
    cow = require_shared("data/cow_mesh/cow.obj")
    _, _, aux = load_obj(cow)
    colours = aux.material_colors["material_1"]
    assert colours["ambient_color"].tolist() == [1.0, 1.0, 1.0] and colours["diffuse_color"].tolist() == [1.0, 1.0, 1.0]
    assert colours["specular_color"].tolist() == [0.0, 0.0, 0.0] and colours["shininess"].tolist() == [10.0]
    (tmp_path / "two.mtl").write_text("newmtl red\nKa 0.2 0 0\nKd 0.8 0.1 0.1\nKs 0.5 0.5 0.5\nNs 40\n"
                                      "newmtl blue\nKd 0.1 0.1 0.8  # blue\n")
    (tmp_path / "two.obj").write_text("mtllib two.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\n"
                                      "usemtl red\nf 1 2 3\nusemtl blue\nf 2 4 3\n")
    _, _, aux = load_obj(tmp_path / "two.obj")
    assert set(aux.material_colors) == {"red", "blue"}
    red, blue = aux.material_colors["red"], aux.material_colors["blue"]
    np.testing.assert_allclose(red["ambient_color"], [0.2, 0, 0], atol=1 / 255)
    np.testing.assert_allclose(red["specular_color"], [0.5, 0.5, 0.5], atol=1 / 255)
    assert red["shininess"].tolist() == [40.0]
    np.testing.assert_allclose(blue["diffuse_color"], [0.1, 0.1, 0.8], atol=1 / 255)
    assert load_obj(tmp_path / "two.obj", load_textures=False)[2].material_colors is None
    (tmp_path / "bare.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    assert load_obj(tmp_path / "bare.obj")[2].material_colors is None
