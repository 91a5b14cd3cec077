"""sample_points_from_meshes: points lie on the surface (barycentric reconstruction), faces are
chosen in proportion to their area, points are uniform inside a face, normals are the face
normals, textures interpolate, seeds reproduce, empty meshes give zeros, gradients flow."""
from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from core.ops import sample_points_from_meshes
from core.renderer import TexturesUV, TexturesVertex
from core.structures import Meshes

D = torch.float64


def tetrahedron(dtype=torch.float32) -> Meshes:
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=dtype)
    faces = torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    return Meshes([verts], [faces])


def two_triangles() -> Meshes:
    """Areas 1/2 (z = 0) and 3/2 (z = 1): 1/4 of the points should land on the first."""
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [3, 0, 1], [0, 1, 1]])
    return Meshes([verts], [torch.tensor([[0, 1, 2], [3, 4, 5]])])


def barycentric(points: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
    """(P, 3) barycentrics of points w.r.t. triangle (3, 3), by least squares."""
    basis = torch.stack([tri[1] - tri[0], tri[2] - tri[0]], dim=1)  # (3, 2)
    st = torch.linalg.lstsq(basis.expand(points.shape[0], 3, 2), (points - tri[0])[..., None]).solution[..., 0]
    return torch.cat([1 - st.sum(1, keepdim=True), st], dim=1)


def face_of_each_point(mesh: Meshes, points: torch.Tensor) -> torch.Tensor:
    """Index of the face that reconstructs each point from barycentrics in [0, 1], -1 if none."""
    verts, faces = mesh.verts_packed().double(), mesh.faces_packed()
    owner = torch.full((points.shape[0],), -1)
    for f, tri in enumerate(verts[faces]):
        bary = barycentric(points.double(), tri)
        rebuilt = bary @ tri
        inside = (bary >= -1e-6).all(1) & ((rebuilt - points.double()).norm(dim=1) < 1e-6)
        owner[inside & (owner < 0)] = f
    return owner


def test_points_lie_on_the_surface_and_normals_are_face_normals():
    torch.manual_seed(0)
    mesh = tetrahedron()
    points, normals = sample_points_from_meshes(mesh, 2000, return_normals=True)
    assert points.shape == normals.shape == (1, 2000, 3)
    owner = face_of_each_point(mesh, points[0])
    assert (owner >= 0).all()
    tris = mesh.verts_packed()[mesh.faces_packed()]
    face_normals = torch.nn.functional.normalize(torch.linalg.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]))
    torch.testing.assert_close(normals[0], face_normals[owner])


def test_faces_are_chosen_by_area():
    torch.manual_seed(1)
    n = 40000
    points = sample_points_from_meshes(two_triangles(), n)[0]
    share = (points[:, 2] < 0.5).double().mean().item()
    sigma = (0.25 * 0.75 / n) ** 0.5
    assert abs(share - 0.25) < 5 * sigma


def test_points_are_uniform_inside_a_triangle():
    torch.manual_seed(2)
    n = 40000
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    points = sample_points_from_meshes(Meshes([verts], [torch.tensor([[0, 1, 2]])]), n)[0]
    # Centroid (1/3, 1/3); each of the 4 midpoint sub-triangles gets a quarter of the points.
    torch.testing.assert_close(points.mean(0), torch.tensor([1 / 3, 1 / 3, 0.0]), atol=0.01, rtol=0)
    x, y = points[:, 0], points[:, 1]
    corners = [(x > 0.5), (y > 0.5), (x + y < 0.5)]
    for part in corners + [~(corners[0] | corners[1] | corners[2])]:
        assert abs(part.double().mean().item() - 0.25) < 5 * (0.25 * 0.75 / n) ** 0.5


def test_seed_reproduces_and_matters():
    mesh = tetrahedron()
    torch.manual_seed(7)
    a = sample_points_from_meshes(mesh, 100)
    torch.manual_seed(7)
    b = sample_points_from_meshes(mesh, 100)
    torch.manual_seed(8)
    c = sample_points_from_meshes(mesh, 100)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_empty_meshes_in_a_batch_give_zero_rows():
    tet = tetrahedron()
    empty_v, empty_f = torch.zeros((0, 3)), torch.zeros((0, 3), dtype=torch.int64)
    batch = Meshes([empty_v] + tet.verts_list() + [empty_v], [empty_f] + tet.faces_list() + [empty_f])
    points, normals = sample_points_from_meshes(batch, 50, return_normals=True)
    assert points.shape == (3, 50, 3)
    assert (points[0] == 0).all() and (points[2] == 0).all() and (normals[2] == 0).all()
    assert (face_of_each_point(tet, points[1]) >= 0).all()


def test_vertex_textures_interpolate_like_positions():
    torch.manual_seed(3)
    mesh = tetrahedron()
    colours = mesh.verts_packed() * 2 + 1  # affine in position
    textured = Meshes(mesh.verts_list(), mesh.faces_list(), textures=TexturesVertex([colours]))
    points, normals, tex = sample_points_from_meshes(textured, 300, return_normals=True, return_textures=True)
    torch.testing.assert_close(tex, points * 2 + 1)
    assert normals.shape == (1, 300, 3)
    only_textures = sample_points_from_meshes(textured, 10, return_textures=True)
    assert len(only_textures) == 2 and only_textures[1].shape == (1, 10, 3)


def test_uv_textures_sample_the_map():
    torch.manual_seed(4)
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    faces = torch.tensor([[0, 1, 2]])
    # A 2x2 map with value u: with align_corners=True bilinear sampling returns u exactly.
    ramp = torch.tensor([[[0.0], [1.0]], [[0.0], [1.0]]])
    textures = TexturesUV(maps=[ramp], faces_uvs=[faces], verts_uvs=[verts[:, :2]])
    points, tex = sample_points_from_meshes(Meshes([verts], [faces], textures=textures), 200, return_textures=True)
    torch.testing.assert_close(tex[0, :, 0], points[0, :, 0])


def test_gradients_reach_the_vertices():
    mesh = tetrahedron(D)
    faces = mesh.faces_packed()
    verts = mesh.verts_packed().clone().requires_grad_(True)

    def sample(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(5)  # same faces and barycentrics for every evaluation
        return sample_points_from_meshes(Meshes([v], [faces]), 20, return_normals=True)

    assert gradcheck(sample, (verts,))


@pytest.mark.parametrize(
    "mesh,kwargs,match",
    [
        (Meshes([torch.zeros((0, 3))], [torch.zeros((0, 3), dtype=torch.int64)]), {}, "Meshes are empty"),
        (tetrahedron(), {"return_textures": True}, "do not contain textures"),
        (tetrahedron(), {"num_samples": 0}, "num_samples must be a positive int"),
        (tetrahedron(), {"num_samples": 2.5}, "num_samples must be a positive int"),
        (Meshes([torch.zeros(3, 3)], [torch.tensor([[0, 1, 2]])]), {}, "zero total surface area"),
        (tetrahedron().offset_verts(torch.tensor([float("nan"), 0, 0])), {}, "nan or inf"),
    ],
)
def test_bad_input(mesh, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_points_from_meshes(mesh, **kwargs)
