"""Mesh regularisers: mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency.

Values are checked against hand computations on tiny meshes (a right triangle, two triangles
folded along their shared edge, a regular tetrahedron and icosahedron, fins around one edge) and
analytic results on spheres; gradients with float64 gradcheck.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck

from core.loss import mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency
from core.ops import cot_laplacian
from core.structures import Meshes
from core.utils import ico_sphere

D = torch.float64
PHI = (1 + math.sqrt(5)) / 2
# Edge length of the regular icosahedron inscribed in the unit sphere.
ICO_EDGE = 1 / math.sin(2 * math.pi / 5)


def right_triangle(dtype=torch.float32) -> Meshes:
    """(0,0,0), (1,0,0), (0,1,0): right angle at v0, 45° at v1 and v2, area 1/2."""
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=dtype)
    return Meshes([verts], [torch.tensor([[0, 1, 2]])])


def folded_pair(theta: float, dtype=torch.float32) -> Meshes:
    """Two triangles sharing edge (v0, v1) on the x axis; b rotated by theta out of a's plane.

    theta = 0 is flat (a and b on opposite sides of the edge), theta = pi folds b onto a.
    """
    verts = torch.tensor(
        [[0.0, 0, 0], [1, 0, 0], [0.3, 1, 0], [0.6, -math.cos(theta), math.sin(theta)]], dtype=dtype
    )
    return Meshes([verts], [torch.tensor([[0, 1, 2], [1, 0, 3]])])


def regular_tetrahedron(dtype=torch.float32) -> Meshes:
    verts = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=dtype)
    faces = torch.tensor([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    return Meshes([verts], [faces])


def regular_icosahedron(scale: float = 1.0, dtype=D) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact regular icosahedron (ico_sphere(0)'s layout, its 4-decimal coordinates snapped)."""
    base = ico_sphere(0)
    rounded = base.verts_packed().to(dtype)
    magnitude = (rounded.abs() > 0.7).to(dtype) * (PHI - 1) + (rounded.abs() > 0.1).to(dtype)
    exact = torch.sign(rounded) * magnitude
    return scale * exact / math.sqrt(1 + PHI**2), base.faces_packed()


def test_empty_batches_give_zero_requiring_grad():
    empty = Meshes([torch.zeros((0, 3))], [torch.zeros((0, 3), dtype=torch.int64)])
    for loss in (mesh_edge_loss(empty), mesh_laplacian_smoothing(empty), mesh_normal_consistency(empty)):
        assert loss.shape == (1,) and loss.item() == 0.0 and loss.requires_grad


# ---------------------------------------------------------------------------- edge loss
def test_edge_loss_right_triangle_by_hand():
    mesh = right_triangle()
    assert mesh_edge_loss(mesh).item() == pytest.approx((1 + 1 + 2) / 3)
    assert mesh_edge_loss(mesh, target_length=1.0).item() == pytest.approx((math.sqrt(2) - 1) ** 2 / 3)


def test_edge_loss_weighs_each_mesh_equally():
    tri = right_triangle()
    tet = regular_tetrahedron()  # 6 edges of length sqrt(8)
    batch = Meshes(tri.verts_list() + tet.verts_list(), tri.faces_list() + tet.faces_list())
    assert mesh_edge_loss(batch).item() == pytest.approx(((4 / 3) + 8.0) / 2)


def test_edge_loss_on_scaled_icosahedron_is_quadratic_and_radial():
    for scale in (0.5, 1.0, 3.0):
        verts, faces = regular_icosahedron(scale)
        verts.requires_grad_(True)
        loss = mesh_edge_loss(Meshes([verts], [faces]))
        assert loss.item() == pytest.approx(scale**2 * ICO_EDGE**2, rel=1e-12)
        (grad,) = torch.autograd.grad(loss, verts)
        # d/dv_i of mean |v_i - v_j|² = (2 / 30) sum_j (v_i - v_j) = (ICO_EDGE² / 6) v_i.
        torch.testing.assert_close(grad, verts.detach() * ICO_EDGE**2 / 6, rtol=1e-12, atol=1e-12)


def test_edge_loss_gradcheck():
    verts = torch.rand(5, 3, dtype=D, requires_grad=True)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    assert gradcheck(lambda v: mesh_edge_loss(Meshes([v], [faces]), target_length=0.3), (verts,))


# ---------------------------------------------------------------------------- laplacian smoothing
def test_laplacian_right_triangle_by_hand():
    mesh = right_triangle()
    # uniform: centroid of the two neighbours minus the vertex.
    expected_uniform = (math.sqrt(0.5) + 2 * math.sqrt(1.25)) / 3
    # cot: weights cot(90°) = 0 on (v1, v2), cot(45°) = 1 on (v0, v1) and (v0, v2).
    expected_cot = (math.sqrt(0.5) + 1 + 1) / 3
    # cotcurv: (L v - rowsum v) / (4 * 1/2) per vertex.
    expected_cotcurv = (math.sqrt(0.5) + 0.5 + 0.5) / 3
    assert mesh_laplacian_smoothing(mesh, "uniform").item() == pytest.approx(expected_uniform, rel=1e-6)
    assert mesh_laplacian_smoothing(mesh, "cot").item() == pytest.approx(expected_cot, rel=1e-6)
    assert mesh_laplacian_smoothing(mesh, "cotcurv").item() == pytest.approx(expected_cotcurv, rel=1e-6)


def test_laplacian_isolated_vertex_counts_its_full_position():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 5]])
    mesh = Meshes([verts], [torch.tensor([[0, 1, 2]])])
    tri = (math.sqrt(0.5) + 2 * math.sqrt(1.25), math.sqrt(0.5) + 2, math.sqrt(0.5) + 1)
    for method, tri_sum in zip(("uniform", "cot", "cotcurv"), tri, strict=True):
        # The isolated vertex has an empty row: uniform -v, cot 0 * Lv - v, cotcurv 0.
        lone = 0.0 if method == "cotcurv" else 5.0
        assert mesh_laplacian_smoothing(mesh, method).item() == pytest.approx((tri_sum + lone) / 4, rel=1e-6)


def test_laplacian_regular_icosahedron_analytic():
    # Every neighbour is at angle acos(1 - e²/2) from v_i: mean(neighbours) - v_i = -(e²/2) v_i.
    for scale in (1.0, 2.5):
        verts, faces = regular_icosahedron(scale)
        loss = mesh_laplacian_smoothing(Meshes([verts], [faces]), "uniform")
        assert loss.item() == pytest.approx(scale * ICO_EDGE**2 / 2, rel=1e-12)
        # All cotangent weights are equal, so the "cot" normalisation gives the same value.
        loss_cot = mesh_laplacian_smoothing(Meshes([verts], [faces]), "cot")
        assert loss_cot.item() == pytest.approx(scale * ICO_EDGE**2 / 2, rel=1e-12)


def test_cotcurv_on_unit_sphere_is_a_third():
    # Sum_j C_ij (v_j - v_i) ~ 2 A_i^bary * (mean-curvature normal of length 2); PyTorch3D divides
    # by 4 * (sum of the areas of the faces around v_i) = 4 * 3 A_i^bary, giving 1/3.
    sphere = ico_sphere(3)
    assert mesh_laplacian_smoothing(sphere, "cotcurv").item() == pytest.approx(1 / 3, abs=2e-3)


def test_laplacian_averages_over_vertices_then_meshes():
    tri = right_triangle()
    verts, faces = regular_icosahedron(dtype=torch.float32)
    batch = Meshes(tri.verts_list() + [verts], tri.faces_list() + [faces])
    expected = ((math.sqrt(0.5) + 2 * math.sqrt(1.25)) / 3 + ICO_EDGE**2 / 2) / 2
    assert mesh_laplacian_smoothing(batch).item() == pytest.approx(expected, rel=1e-6)


def test_uniform_laplacian_gradcheck():
    verts = torch.rand(5, 3, dtype=D, requires_grad=True)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    assert gradcheck(lambda v: mesh_laplacian_smoothing(Meshes([v], [faces]), "uniform"), (verts,))


@pytest.mark.parametrize("method", ["cot", "cotcurv"])
def test_cot_gradients_treat_the_matrix_as_constant(method):
    """As in PyTorch3D the cotangent weights are not differentiated: the gradient equals that of
    the same loss with the weights frozen at the current vertices (a dense reference, gradchecked)."""
    torch.manual_seed(3)
    verts0 = torch.rand(5, 3, dtype=D)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    L, inv_areas = cot_laplacian(verts0, faces)
    dense = L.to_dense()
    rowsum = dense.sum(1, keepdim=True)

    def frozen(v: torch.Tensor) -> torch.Tensor:
        if method == "cot":
            offsets = dense @ v / rowsum - v
        else:
            offsets = (dense @ v - rowsum * v) * 0.25 * inv_areas
        return offsets.norm(dim=1).mean()

    verts = verts0.clone().requires_grad_(True)
    assert gradcheck(frozen, (verts,))
    ours = mesh_laplacian_smoothing(Meshes([verts], [faces]), method)
    torch.testing.assert_close(ours, frozen(verts0))
    (grad,) = torch.autograd.grad(ours, verts)
    (expected,) = torch.autograd.grad(frozen(verts), verts)
    torch.testing.assert_close(grad, expected)


def test_laplacian_unknown_method():
    with pytest.raises(ValueError, match="uniform, cot, cotcurv"):
        mesh_laplacian_smoothing(right_triangle(), "cotangent")


# ---------------------------------------------------------------------------- normal consistency
def test_normal_consistency_single_triangle_is_zero():
    assert mesh_normal_consistency(right_triangle()).item() == 0.0


@pytest.mark.parametrize("theta", [0.0, math.pi / 3, math.pi / 2, 2.0, math.pi])
def test_normal_consistency_fold_angle(theta):
    assert mesh_normal_consistency(folded_pair(theta, D)).item() == pytest.approx(1 - math.cos(theta), abs=1e-12)


def test_normal_consistency_ignores_winding():
    # Same geometry as folded_pair(pi/3) with the second face wound the other way.
    mesh = folded_pair(math.pi / 3, D)
    flipped = Meshes(mesh.verts_list(), [torch.tensor([[0, 1, 2], [0, 1, 3]])])
    assert mesh_normal_consistency(flipped).item() == pytest.approx(0.5, abs=1e-12)


def test_normal_consistency_regular_tetrahedron():
    # Outward normals of two faces meet at pi - acos(1/3): each of the 6 edges costs 1 + 1/3.
    assert mesh_normal_consistency(regular_tetrahedron(D)).item() == pytest.approx(4 / 3, abs=1e-12)


def fins(angles_deg: list[float]) -> Meshes:
    """Triangles (v0, v1, a_k) around the edge v0-v1 on the x axis, a_k at the given angles."""
    tips = [[0.5, math.cos(math.radians(a)), math.sin(math.radians(a))] for a in angles_deg]
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0]] + tips, dtype=D)
    faces = torch.tensor([[0, 1, 2 + k] for k in range(len(angles_deg))])
    return Meshes([verts], [faces])


def test_normal_consistency_non_manifold_edges_follow_pytorch3d_pairs():
    # Fin pair (i, j) costs 1 + cos(angle_i - angle_j).
    assert mesh_normal_consistency(fins([0, 120, 240])).item() == pytest.approx(0.5, abs=1e-12)
    # Four fins: pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,1) (2,3) in packed face order, costs
    # 1, 0, 1, 1, 0, 1, 1; their mean is 5/7 (the six distinct pairs alone would give 2/3).
    assert mesh_normal_consistency(fins([0, 90, 180, 270])).item() == pytest.approx(5 / 7, abs=1e-12)


def test_normal_consistency_averages_pairs_then_meshes():
    a, b = folded_pair(math.pi / 2, D), regular_tetrahedron(D)
    batch = Meshes(a.verts_list() + b.verts_list(), a.faces_list() + b.faces_list())
    assert mesh_normal_consistency(batch).item() == pytest.approx((1.0 + 4 / 3) / 2, abs=1e-12)


def test_normal_consistency_smooth_sphere_is_small():
    # Neighbouring faces of ico_sphere(4) differ by about 4°: 1 - cos ~ 2.4e-3.
    value = mesh_normal_consistency(ico_sphere(4)).item()
    assert 5e-4 < value < 3e-3


def test_normal_consistency_gradcheck():
    torch.manual_seed(0)
    mesh = regular_tetrahedron(D)
    verts = (mesh.verts_packed() + 0.2 * torch.rand(4, 3, dtype=D)).requires_grad_(True)
    faces = mesh.faces_packed()
    assert gradcheck(lambda v: mesh_normal_consistency(Meshes([v], [faces])), (verts,))
