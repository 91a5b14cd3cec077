"""make_scene_mesh: checks, normalisation to the unit sphere, viewport colours."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.renderer import TexturesUV, TexturesVertex
from core.structures import Meshes
from viewer.scene_mesh import make_scene_mesh


def _triangle_mesh(offset=(0.0, 0.0, 0.0), scale=1.0, textures=None) -> Meshes:
    verts = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [5.0, 5.0, 5.0]]) * scale
    verts = verts + torch.tensor(offset)
    faces = torch.tensor([[0, 1, 2]])
    return Meshes(verts=[verts], faces=[faces], textures=textures)


def test_centred_on_the_bounding_box_and_scaled_to_the_unit_sphere() -> None:
    mesh = make_scene_mesh(_triangle_mesh(offset=(10.0, -3.0, 7.0), scale=3.0), "t.obj")
    verts = mesh.meshes.verts_packed()
    # Bounding box of the original: [10, 25] x [-3, 12] x [7, 22] -> centre (17.5, 4.5, 14.5).
    low, high = verts.min(0).values, verts.max(0).values
    assert torch.allclose((low + high) / 2, torch.zeros(3), atol=1e-6)
    assert float(verts.norm(dim=1).max()) == pytest.approx(1.0)
    assert np.allclose(mesh.verts, verts.numpy())
    assert mesh.faces.dtype == np.uint32 and mesh.faces.tolist() == [[0, 1, 2]]
    assert mesh.describe() == "t.obj: 4 vertices, 1 face"


def test_unused_vertices_are_grey_and_vertex_colours_pass_through() -> None:
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.3, 0.3, 0.3]])
    mesh = make_scene_mesh(_triangle_mesh(textures=TexturesVertex(verts_features=[colours])), "c")
    assert np.allclose(mesh.vertex_colors[:3], colours[:3].numpy())
    assert np.allclose(mesh.vertex_colors[3], 0.7)  # vertex 3 belongs to no face


def test_uv_texture_of_one_colour_gives_that_colour() -> None:
    texture = TexturesUV(
        maps=[torch.full((4, 4, 3), 0.25)], faces_uvs=[torch.tensor([[0, 1, 2]])], verts_uvs=[torch.rand(3, 2)]
    )
    mesh = make_scene_mesh(_triangle_mesh(textures=texture), "uv")
    assert np.allclose(mesh.vertex_colors[:3], 0.25)


def test_a_mesh_without_texture_is_made_grey() -> None:
    mesh = make_scene_mesh(_triangle_mesh(), "plain")
    assert isinstance(mesh.meshes.textures, TexturesVertex)
    assert torch.allclose(mesh.meshes.textures.verts_features_packed(), torch.full((4, 3), 0.7))
    assert np.allclose(mesh.vertex_colors, 0.7)


def test_each_scene_mesh_has_its_own_uid() -> None:
    assert make_scene_mesh(_triangle_mesh(), "a").uid != make_scene_mesh(_triangle_mesh(), "a").uid


@pytest.mark.parametrize(
    ("meshes", "match"),
    [
        (Meshes(verts=[torch.zeros(0, 3)], faces=[torch.zeros(0, 3, dtype=torch.int64)]), "empty"),
        (Meshes(verts=[torch.rand(3, 3)], faces=[torch.zeros(0, 3, dtype=torch.int64)]), "empty"),
        (Meshes(verts=[torch.ones(3, 3)], faces=[torch.tensor([[0, 1, 2]])]), "same point"),
        (Meshes(verts=[torch.rand(3, 3)] * 2, faces=[torch.tensor([[0, 1, 2]])] * 2), "batch of 2"),
    ],
)
def test_unrenderable_meshes_are_refused(meshes, match) -> None:
    with pytest.raises(ValueError, match=match):
        make_scene_mesh(meshes, "bad")


def test_not_a_mesh() -> None:
    with pytest.raises(TypeError, match="Meshes"):
        make_scene_mesh("cow.obj", "bad")  # type: ignore[arg-type]


def test_to_source_frame_undoes_the_normalisation() -> None:
    verts = torch.tensor([[10.0, 5.0, -3.0], [14.0, 5.0, -3.0], [10.0, 11.0, -3.0], [10.0, 5.0, -1.0]])
    faces = torch.tensor([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])
    scene = make_scene_mesh(Meshes([verts], [faces]), "tetra")
    shown = scene.meshes.verts_packed().clone()
    assert not torch.allclose(shown, verts)
    back = scene.to_source_frame(scene.meshes)
    torch.testing.assert_close(back.verts_packed(), verts, rtol=0, atol=1e-5)
    assert torch.equal(back.faces_packed(), faces)
    assert back.textures is not None  # colours travel with the mesh
    assert torch.equal(scene.meshes.verts_packed(), shown)  # the scene itself is left as it was
