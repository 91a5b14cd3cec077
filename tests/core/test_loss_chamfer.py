"""chamfer_distance against a brute-force numpy computation (all pairwise distances), covering
heterogeneous lengths, every reduction, weights, normals (abs and signed cosine), both norms,
single_directional, Pointclouds-like inputs, gradients and bad input."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from core.loss import chamfer_distance

D = torch.float64


def random_clouds(seed: int, n: int = 3, p1: int = 9, p2: int = 7, dtype=D):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, p1, 3, generator=g, dtype=dtype)
    y = torch.rand(n, p2, 3, generator=g, dtype=dtype)
    xn = torch.nn.functional.normalize(torch.randn(n, p1, 3, generator=g, dtype=dtype), dim=2)
    yn = torch.nn.functional.normalize(torch.randn(n, p2, 3, generator=g, dtype=dtype), dim=2)
    return x, y, xn, yn


def brute_force_terms(x, y, xl, yl, xn, yn, norm, abs_cosine):
    """Per-point distance and normal terms of x towards y, numpy; padding and empty partners 0 / 1."""
    n, p1 = x.shape[:2]
    dist = np.zeros((n, p1))
    normal = np.zeros((n, p1))
    for b in range(n):
        for i in range(xl[b]):
            if yl[b] == 0:
                normal[b, i] = 1.0  # cosine with a zero normal (PyTorch3D's padding)
                continue
            diff = x[b, i] - y[b, : yl[b]]
            d = (diff**2).sum(1) if norm == 2 else np.abs(diff).sum(1)
            j = int(np.argmin(d))
            dist[b, i] = d[j]
            if xn is not None:
                cos = xn[b, i] @ yn[b, j] / (np.linalg.norm(xn[b, i]) * np.linalg.norm(yn[b, j]))
                normal[b, i] = 1 - (abs(cos) if abs_cosine else cos)
    return dist, normal


def reference(x, y, xl, yl, xn=None, yn=None, weights=None, batch_reduction="mean", point_reduction="mean",
              norm=2, single_directional=False, abs_cosine=True):
    x, y = x.detach().numpy(), y.detach().numpy()
    xn = None if xn is None else xn.detach().numpy()
    yn = None if yn is None else yn.detach().numpy()
    n = x.shape[0]
    w = np.ones(n) if weights is None else weights.numpy()
    dirs = [(x, y, xl, yl, xn, yn)]
    if not single_directional:
        dirs.append((y, x, yl, xl, yn, xn))
    losses, normals = [], []
    for a, b, al, bl, an, bn in dirs:
        dist, normal = brute_force_terms(a, b, al, bl, an, bn, norm, abs_cosine)
        dist, normal = dist * w[:, None], normal * w[:, None]
        if point_reduction == "max":
            dist, normal = dist.max(1), None
        elif point_reduction in ("sum", "mean"):
            dist, normal = dist.sum(1), normal.sum(1)
            if point_reduction == "mean":
                dist, normal = dist / np.maximum(al, 1), normal / np.maximum(al, 1)
        losses.append(dist)
        normals.append(normal)
    if point_reduction is None:
        return losses[0] if single_directional else tuple(losses), normals[0] if single_directional else tuple(normals)
    loss = np.maximum.reduce(losses) if point_reduction == "max" else sum(losses)
    normal = None if point_reduction == "max" else sum(normals)
    if batch_reduction is not None:
        loss, normal = loss.sum(), (None if normal is None else normal.sum())
        if batch_reduction == "mean":
            div = n if weights is None else (w.sum() if w.sum() > 0 else 1.0)
            loss, normal = loss / div, (None if normal is None else normal / div)
    return loss, normal


def assert_matches(ours, expected):
    if isinstance(expected, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(expected)
        for o, e in zip(ours, expected, strict=True):
            np.testing.assert_allclose(o.detach().numpy(), e, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


LENGTHS = ([9, 4, 1], [7, 7, 3])  # heterogeneous x and y lengths


@pytest.mark.parametrize(
    "point_reduction,batch_reduction",
    [("mean", "mean"), ("sum", "mean"), ("mean", "sum"), ("sum", "sum"), ("mean", None), ("sum", None),
     ("max", "mean"), ("max", None), (None, None)],
)
@pytest.mark.parametrize("single_directional", [False, True])
def test_reductions_against_brute_force(point_reduction, batch_reduction, single_directional):
    x, y, xn, yn = random_clouds(1)
    xl, yl = LENGTHS
    use_normals = point_reduction != "max"
    kwargs = dict(x_lengths=torch.tensor(xl), y_lengths=torch.tensor(yl), batch_reduction=batch_reduction,
                  point_reduction=point_reduction, single_directional=single_directional)
    if use_normals:
        kwargs.update(x_normals=xn, y_normals=yn)
    loss, loss_normals = chamfer_distance(x, y, **kwargs)
    exp_loss, exp_normals = reference(x, y, xl, yl, xn if use_normals else None, yn if use_normals else None,
                                      batch_reduction=batch_reduction, point_reduction=point_reduction,
                                      single_directional=single_directional)
    assert_matches(loss, exp_loss)
    if use_normals:
        assert_matches(loss_normals, exp_normals)
    else:
        assert loss_normals is None


@pytest.mark.parametrize("norm,abs_cosine", list(itertools.product([1, 2], [True, False])))
def test_norms_weights_and_signed_cosine(norm, abs_cosine):
    x, y, xn, yn = random_clouds(2)
    xl, yl = LENGTHS
    weights = torch.tensor([0.5, 2.0, 0.0], dtype=D)
    for batch_reduction in ("mean", "sum", None):
        loss, loss_normals = chamfer_distance(
            x, y, torch.tensor(xl), torch.tensor(yl), xn, yn, weights=weights, batch_reduction=batch_reduction,
            norm=norm, abs_cosine=abs_cosine,
        )
        exp_loss, exp_normals = reference(x, y, xl, yl, xn, yn, weights=weights, batch_reduction=batch_reduction,
                                          norm=norm, abs_cosine=abs_cosine)
        assert_matches(loss, exp_loss)
        assert_matches(loss_normals, exp_normals)


def test_defaults_are_mean_mean_squared_bidirectional():
    x, y, _, _ = random_clouds(3, n=2, p1=5, p2=6)
    loss, loss_normals = chamfer_distance(x, y)
    assert loss_normals is None and loss.dim() == 0
    assert_matches(loss, reference(x, y, [5, 5], [6, 6])[0])


def test_single_point_clouds_by_hand():
    x = torch.tensor([[[0.0, 0, 0], [2, 0, 0]]])
    y = torch.tensor([[[0.0, 1, 0]]])
    # x -> y: 1 and 5 (mean 3); y -> x: 1. Sum 4; L1: x -> y 1 and 3 (mean 2), y -> x 1.
    assert chamfer_distance(x, y)[0].item() == pytest.approx(4.0)
    assert chamfer_distance(x, y, norm=1)[0].item() == pytest.approx(3.0)
    assert chamfer_distance(x, y, single_directional=True)[0].item() == pytest.approx(3.0)
    assert chamfer_distance(x, y, point_reduction="max")[0].item() == pytest.approx(5.0)


def test_empty_clouds_do_not_divide_by_zero():
    # PyTorch3D's own check: an empty cloud against 40 points gives 0, ten zeros vs ones give 3 + 3.
    x = torch.zeros(2, 10, 3)
    y = torch.ones(2, 40, 3)
    loss, _ = chamfer_distance(x, y, x_lengths=torch.tensor([0, 10]), batch_reduction=None)
    torch.testing.assert_close(loss, torch.tensor([0.0, 6.0]))


def test_zero_weights_give_zero():
    x, y, _, _ = random_clouds(4)
    loss, _ = chamfer_distance(x, y, weights=torch.zeros(3, dtype=D))
    assert loss.item() == 0.0


class CloudBatch:
    """Minimal Pointclouds-like object (padded points, lengths, normals)."""

    def __init__(self, points, lengths, normals):
        self._p, self._l, self._n = points, lengths, normals

    def points_padded(self):
        return self._p

    def num_points_per_cloud(self):
        return self._l

    def normals_padded(self):
        return self._n


def test_pointclouds_like_input_uses_its_lengths_and_normals():
    x, y, xn, yn = random_clouds(5)
    xl, yl = torch.tensor(LENGTHS[0]), torch.tensor(LENGTHS[1])
    from_tensors = chamfer_distance(x, y, xl, yl, xn, yn)
    from_clouds = chamfer_distance(CloudBatch(x, xl, xn), CloudBatch(y, yl, yn))
    torch.testing.assert_close(from_clouds[0], from_tensors[0])
    torch.testing.assert_close(from_clouds[1], from_tensors[1])


def test_gradcheck_points_and_normals():
    x, y, xn, yn = random_clouds(6, n=2, p1=5, p2=4)
    xl, yl = torch.tensor([5, 3]), torch.tensor([4, 2])
    for t in (x, y, xn, yn):
        t.requires_grad_(True)

    def f(x, y, xn, yn):
        loss, normals = chamfer_distance(x, y, xl, yl, xn, yn, abs_cosine=False)
        return loss + normals

    assert gradcheck(f, (x, y, xn, yn), fast_mode=True)
    assert gradcheck(lambda x, y: chamfer_distance(x, y, xl, yl, norm=1, point_reduction="sum")[0], (x, y))


def test_padding_gets_no_gradient():
    x, y, _, _ = random_clouds(7, n=2, p1=6, p2=5)
    x.requires_grad_(True)
    y.requires_grad_(True)
    loss, _ = chamfer_distance(x, y, torch.tensor([6, 2]), torch.tensor([5, 3]))
    loss.backward()
    assert (x.grad[1, 2:] == 0).all() and (y.grad[1, 3:] == 0).all()
    assert (x.grad[1, :2] != 0).any() and (y.grad[1, :3] != 0).any()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(batch_reduction="max"), "batch_reduction must be one of"),
        (dict(point_reduction="min"), "point_reduction must be one of"),
        (dict(point_reduction=None), "Batch reduction must be None"),
        (dict(norm=3), "Support for 1 or 2 norm"),
        (dict(norm=0), "Support for 1 or 2 norm"),
        (dict(weights=torch.ones(2, dtype=D)), "weights must be of shape"),
        (dict(weights=-torch.ones(3, dtype=D)), "weights cannot be negative"),
        (dict(x_lengths=torch.tensor([1, 2])), "Expected lengths to be of shape"),
        (dict(x_lengths=torch.tensor([1, 2, 10])), r"values must lie in \[0, 9\]"),
        (dict(x_normals=torch.ones(3, 9)), "Expected normals to be of shape"),
        (
            dict(x_normals=torch.ones(3, 9, 3), y_normals=torch.ones(3, 7, 3), point_reduction="max"),
            "Normals must be None",
        ),
    ],
)
def test_bad_input(kwargs, match):
    x, y, _, _ = random_clouds(8)
    with pytest.raises(ValueError, match=match):
        chamfer_distance(x, y, **kwargs)


def test_bad_point_shapes():
    x, y, _, _ = random_clouds(9)
    with pytest.raises(ValueError, match="Expected points to be of shape"):
        chamfer_distance(x[None], y)
    with pytest.raises(ValueError, match="Pointclouds objects or torch.Tensor"):
        chamfer_distance([1, 2, 3], y)
    with pytest.raises(ValueError, match="same point dimension"):
        chamfer_distance(x, y[..., :2])
    with pytest.raises(ValueError, match="same batch dimension"):
        chamfer_distance(x, y[:2])
