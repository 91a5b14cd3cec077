"""laplacian, cot_laplacian, norm_laplacian and Meshes.laplacian_packed: hand-built matrices on
tiny graphs, float64 gradcheck, caching of the packed Laplacian, bad input."""
from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from core.ops import cot_laplacian, laplacian, norm_laplacian
from core.structures import Meshes
from core.utils import ico_sphere

D = torch.float64


def test_uniform_laplacian_by_hand():
    # Path 0-1-2 plus the isolated vertex 3.
    verts = torch.zeros(4, 3)
    L = laplacian(verts, torch.tensor([[0, 1], [1, 2]]))
    assert L.is_sparse and L.is_coalesced() and L.dtype == torch.float32
    expected = torch.tensor(
        [[-1.0, 1, 0, 0], [0.5, -1, 0.5, 0], [0, 1, -1, 0], [0, 0, 0, -1]]
    )
    torch.testing.assert_close(L.to_dense(), expected)


def test_uniform_laplacian_follows_verts_dtype_and_repeats_sum():
    L = laplacian(torch.zeros(2, 3, dtype=D), torch.tensor([[0, 1], [0, 1]]))
    # A repeated edge counts twice in the degree and twice in the entry, as in PyTorch3D.
    torch.testing.assert_close(L.to_dense(), torch.tensor([[-1.0, 1], [1, -1]], dtype=D))


def test_cot_laplacian_right_triangle_by_hand():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [3, 3, 3]], dtype=D)
    L, inv_areas = cot_laplacian(verts, torch.tensor([[0, 1, 2]]))
    # Angle 90° at v0 (opposite edge 1-2), 45° at v1 (edge 0-2) and v2 (edge 0-1).
    expected = torch.tensor([[0.0, 1, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=D)
    torch.testing.assert_close(L.to_dense(), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(inv_areas, torch.tensor([[2.0], [2.0], [2.0], [0.0]], dtype=D))


def test_cot_laplacian_shared_edge_sums_both_angles():
    # Square split along its diagonal 0-2: both angles opposite the diagonal are 90°, cot 0;
    # the sides see 45° angles. Vertex areas: 1/2 for 1 and 3, 1 for 0 and 2.
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=D)
    L, inv_areas = cot_laplacian(verts, torch.tensor([[0, 1, 2], [0, 2, 3]]))
    dense = L.to_dense()
    torch.testing.assert_close(dense, dense.T)
    assert dense[0, 2].item() == pytest.approx(0.0, abs=1e-12)
    assert dense[0, 1].item() == pytest.approx(1.0) and dense[1, 2].item() == pytest.approx(1.0)
    torch.testing.assert_close(inv_areas.flatten(), torch.tensor([1.0, 2.0, 1.0, 2.0], dtype=D))


def test_cot_laplacian_degenerate_face_is_finite():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]], dtype=D)
    L, inv_areas = cot_laplacian(verts, torch.tensor([[0, 1, 2]]))
    assert torch.isfinite(L.to_dense()).all() and torch.isfinite(inv_areas).all()


def test_cot_and_norm_laplacian_gradcheck():
    torch.manual_seed(0)
    verts = torch.rand(5, 3, dtype=D, requires_grad=True)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    edges = torch.tensor([[0, 1], [1, 2], [0, 2], [2, 3], [1, 4]])
    assert gradcheck(lambda v: tuple(t.to_dense() if t.is_sparse else t for t in cot_laplacian(v, faces)), (verts,))
    assert gradcheck(lambda v: norm_laplacian(v, edges).to_dense(), (verts,))


def test_norm_laplacian_by_hand():
    verts = torch.tensor([[0.0, 0, 0], [3, 4, 0], [0, 0, 2]])
    L = norm_laplacian(verts, torch.tensor([[0, 1], [2, 0]]), eps=0.0)
    expected = torch.tensor([[0.0, 0.2, 0.5], [0.2, 0, 0], [0.5, 0, 0]])
    torch.testing.assert_close(L.to_dense(), expected)


def test_meshes_laplacian_packed_is_cached_and_block_diagonal():
    a, b = ico_sphere(0), ico_sphere(1)
    batch = Meshes(a.verts_list() + b.verts_list(), a.faces_list() + b.faces_list())
    L = batch.laplacian_packed()
    assert L is batch.laplacian_packed()
    torch.testing.assert_close(L.to_dense(), laplacian(batch.verts_packed(), batch.edges_packed()).to_dense())
    dense = L.to_dense()
    assert (dense[:12, 12:] == 0).all() and (dense[12:, :12] == 0).all()
    torch.testing.assert_close(dense.sum(1), torch.zeros(54), atol=1e-6, rtol=0)
    # Moving vertices keeps the topology, hence the same Laplacian; clones carry the cache.
    moved = batch.offset_verts(torch.rand(54, 3))
    torch.testing.assert_close(moved.laplacian_packed().to_dense(), dense)
    assert batch.clone()._laplacian_packed is not None


def test_meshes_laplacian_packed_empty():
    empty = Meshes([torch.zeros((0, 3))], [torch.zeros((0, 3), dtype=torch.int64)])
    L = empty.laplacian_packed()
    assert L.is_sparse and L.shape == (0, 0)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: laplacian(torch.zeros(3, 2), torch.tensor([[0, 1]])), ValueError, r"verts must be .* \(V, 3\)"),
        (lambda: laplacian(torch.zeros(3, 3), torch.tensor([0, 1])), ValueError, r"edges must be .* \(M, 2\)"),
        (lambda: laplacian(torch.zeros(3, 3), torch.tensor([[0, 3]])), ValueError, "outside"),
        (lambda: cot_laplacian(torch.zeros(3, 3), torch.tensor([[0.0, 1, 2]])), TypeError, "integer"),
        (lambda: cot_laplacian(torch.zeros(3, 3), torch.tensor([[0, 1]])), ValueError, r"faces must be .* \(M, 3\)"),
        (lambda: norm_laplacian(torch.zeros(3, 3, dtype=torch.int64), torch.tensor([[0, 1]])), TypeError, "floating"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
