"""knn_points / knn_gather against brute-force numpy neighbours: indices, distances, padding,
K larger than a cloud, both norms, bounded memory (many small blocks give the same answer and no
block exceeds the budget), gradients and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

import core.ops.knn as knn_module
from core.ops import knn_gather, knn_points

D = torch.float64


def brute_force(p1, p2, l1, l2, k, norm):
    """Per cloud: (P1_n, min(k, P2_n)) indices and distances of the nearest p2 points, ascending."""
    out = []
    for n in range(p1.shape[0]):
        a, b = p1[n, : l1[n]].numpy(), p2[n, : l2[n]].numpy()
        diff = a[:, None] - b[None]
        d = (diff**2).sum(-1) if norm == 2 else np.abs(diff).sum(-1)
        order = np.argsort(d, axis=1, kind="stable")[:, :k]
        out.append((order, np.take_along_axis(d, order, 1)))
    return out


@pytest.mark.parametrize("norm", [1, 2])
@pytest.mark.parametrize("K", [1, 4, 50])
def test_matches_brute_force_with_padding(norm, K):
    g = torch.Generator().manual_seed(K + norm)
    p1 = torch.randn(3, 57, 3, generator=g)
    p2 = torch.randn(3, 33, 3, generator=g)
    l1, l2 = torch.tensor([57, 10, 0]), torch.tensor([33, 2, 5])
    res = knn_points(p1, p2, l1, l2, norm=norm, K=K, return_nn=True)
    assert res.dists.shape == res.idx.shape == (3, 57, K) and res.knn.shape == (3, 57, K, 3)
    for n, (order, dist) in enumerate(brute_force(p1, p2, l1, l2, K, norm)):
        found = order.shape[1]
        np.testing.assert_array_equal(res.idx[n, : l1[n], :found].numpy(), order)
        np.testing.assert_allclose(res.dists[n, : l1[n], :found].numpy(), dist, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(res.knn[n, : l1[n], :found].numpy(), p2[n][order].numpy())
        # Padding: rows beyond lengths1 and slots beyond lengths2 are zero.
        assert (res.dists[n, l1[n]:] == 0).all() and (res.idx[n, l1[n]:] == 0).all()
        assert (res.dists[n, :, found:] == 0).all() and (res.idx[n, :, found:] == 0).all()
        assert (res.knn[n, :, found:] == 0).all()


def test_default_lengths_and_namedtuple():
    p1 = torch.tensor([[[0.0, 0, 0], [5, 5, 5]]])
    p2 = torch.tensor([[[1.0, 0, 0], [5, 5, 4], [0, 0, 0.5]]])
    res = knn_points(p1, p2)
    assert res._fields == ("dists", "idx", "knn") and res.knn is None
    torch.testing.assert_close(res.idx, torch.tensor([[[2], [1]]]))
    torch.testing.assert_close(res.dists, torch.tensor([[[0.25], [1.0]]]))


@pytest.fixture
def block_bytes(monkeypatch) -> list[int]:
    """Records the size in bytes of every score block the search allocates."""
    sizes: list[int] = []
    original = knn_module._ranking_blocks

    def recording(*args):
        for block in original(*args):
            sizes.append(block[2].numel() * block[2].element_size())
            yield block

    monkeypatch.setattr(knn_module, "_ranking_blocks", recording)
    return sizes


def test_small_blocks_give_the_same_result(monkeypatch, block_bytes):
    g = torch.Generator().manual_seed(0)
    p1 = torch.rand(2, 300, 3, generator=g)
    p2 = torch.rand(2, 500, 3, generator=g)
    expected = knn_points(p1, p2, K=3)
    block_bytes.clear()
    monkeypatch.setattr(knn_module, "BLOCK_BYTES", 16 * 1024)
    got = knn_points(p1, p2, K=3)
    torch.testing.assert_close(got.idx, expected.idx)
    torch.testing.assert_close(got.dists, expected.dists)
    assert len(block_bytes) > 50 and max(block_bytes) <= 16 * 1024


def test_memory_stays_bounded_for_large_clouds(block_bytes):
    """2000 x 20000 points would need 160 MB as one float32 distance matrix; no block exceeds 2 MB."""
    g = torch.Generator().manual_seed(1)
    p1 = torch.rand(1, 2000, 3, generator=g)
    p2 = torch.rand(1, 20000, 3, generator=g)
    res = knn_points(p1, p2)
    assert max(block_bytes) <= knn_module.BLOCK_BYTES <= 64 * 2**20
    # Spot-check a few rows against brute force.
    rows = [0, 777, 1999]
    d = torch.cdist(p1[0, rows].double(), p2[0].double()) ** 2
    torch.testing.assert_close(res.idx[0, rows, 0], d.argmin(1))


def test_gradients_match_pytorch3d_backward():
    g = torch.Generator().manual_seed(2)
    p1 = torch.rand(2, 6, 3, generator=g, dtype=D, requires_grad=True)
    p2 = torch.rand(2, 9, 3, generator=g, dtype=D, requires_grad=True)
    lengths2 = torch.tensor([9, 5])
    for norm in (1, 2):
        assert gradcheck(lambda a, b, norm=norm: knn_points(a, b, lengths2=lengths2, K=3, norm=norm).dists, (p1, p2))
    # Squared L2: d dist / d p1 = 2 (p1 - nn).
    res = knn_points(p1, p2, K=1)
    (grad,) = torch.autograd.grad(res.dists.sum(), p1)
    nn = knn_gather(p2, res.idx)[:, :, 0]
    torch.testing.assert_close(grad, 2 * (p1 - nn).detach())


def test_knn_gather_masks_short_clouds():
    x = torch.arange(12.0).view(2, 3, 2)
    idx = torch.tensor([[[2, 0]], [[1, 0]]])
    out = knn_gather(x, idx, lengths=torch.tensor([3, 1]))
    torch.testing.assert_close(out, torch.tensor([[[[4.0, 5], [0, 1]]], [[[8.0, 9], [0, 0]]]]))


@pytest.mark.parametrize(
    "args,kwargs,error,match",
    [
        ((torch.rand(2, 5, 3), torch.rand(3, 5, 3)), {}, ValueError, "same batch dimension"),
        ((torch.rand(2, 5, 3), torch.rand(2, 5, 2)), {}, ValueError, "same point dimension"),
        ((torch.rand(5, 3), torch.rand(2, 5, 3)), {}, ValueError, r"shape \(N, P, D\)"),
        (([1, 2], torch.rand(2, 5, 3)), {}, TypeError, "must be a tensor"),
        ((torch.rand(2, 5, 3), torch.rand(2, 5, 3)), {"K": 0}, ValueError, "K must be a positive int"),
        ((torch.rand(2, 5, 3), torch.rand(2, 5, 3)), {"norm": 3}, ValueError, "Support for 1 or 2 norm"),
        ((torch.rand(2, 5, 3), torch.rand(2, 5, 3)), {"lengths1": torch.tensor([5])}, ValueError, "shape"),
        ((torch.rand(2, 5, 3), torch.rand(2, 5, 3)), {"lengths2": torch.tensor([6, 1])}, ValueError, "lie in"),
        ((torch.rand(2, 5, 3), torch.rand(2, 5, 3)), {"lengths2": torch.tensor([1.0, 1.0])}, TypeError, "integers"),
        ((torch.randint(0, 3, (2, 5, 3)), torch.rand(2, 5, 3)), {}, TypeError, "floating point"),
        ((torch.rand(2, 5, 3, dtype=torch.float64), torch.rand(2, 5, 3)), {}, TypeError, "same dtype"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        knn_points(*args, **kwargs)
