"""The rasterizer's hand-written gradients equal autograd on plain reference formulas (PyTorch3D's
barycentrics, depth and nearest-edge distance, written out here without in-place updates), and
the rasterizer's own forward functions, which update their temporaries in place, give those
formulas' values bit for bit."""

from __future__ import annotations

import pytest
import torch

from core.renderer.mesh.rasterize_meshes import (
    distance_backward,
    geometry_backward,
    nearest_edge_distance2,
    pair_differences,
    pair_geometry,
)


def _reference_geometry(px, py, v, perspective_correct: bool, clip: bool):
    """((w0, w1, w2), z): PyTorch3D's barycentrics and depth, one operation per step."""
    x0, y0, z0, x1, y1, z1, x2, y2, z2 = v
    area = (x2 - x0) * (y1 - y0) - (y2 - y0) * (x1 - x0) + 1e-8
    w0 = ((px - x1) * (y2 - y1) - (py - y1) * (x2 - x1)) / area
    w1 = ((py - y2) * (x2 - x0) - (px - x2) * (y2 - y0)) / area
    w2 = ((px - x0) * (y1 - y0) - (py - y0) * (x1 - x0)) / area
    if perspective_correct:
        t0, t1, t2 = w0 * z1 * z2, w1 * z0 * z2, w2 * z0 * z1
        denom = (t0 + t1 + t2).clamp_min(1e-8)
        w0, w1, w2 = t0 / denom, t1 / denom, t2 / denom
    if clip:
        w0, w1, w2 = w0.clamp_min(0.0), w1.clamp_min(0.0), w2.clamp_min(0.0)
        total = (w0 + w1 + w2).clamp_min(1e-5)
        w0, w1, w2 = w0 / total, w1 / total, w2 / total
    return (w0, w1, w2), w0 * z0 + w1 * z1 + w2 * z2


def _reference_distance2(px, py, v):
    """Squared distance from the pixel to the nearest of the edges v0v1, v0v2, v1v2."""
    x0, y0, _, x1, y1, _, x2, y2, _ = v

    def to_segment(ax, ay, bx, by):
        abx, aby, apx, apy = bx - ax, by - ay, px - ax, py - ay
        t = ((abx * apx + aby * apy) / (abx * abx + aby * aby).clamp_min(1e-12)).clamp(0.0, 1.0)
        rx, ry = apx - t * abx, apy - t * aby
        return rx * rx + ry * ry

    return torch.minimum(torch.minimum(to_segment(x0, y0, x1, y1), to_segment(x0, y0, x2, y2)), to_segment(x1, y1, x2, y2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("perspective_correct", [False, True])
@pytest.mark.parametrize("clip", [False, True])
def test_forward_functions_equal_the_reference_formulas_bit_for_bit(dtype, perspective_correct, clip):
    px, py, v, _ = _pairs(5000, seed=21)
    px, py, v = px.to(dtype), py.to(dtype), tuple(c.to(dtype) for c in v)
    (w0, w1, w2), z, inside = pair_geometry(px, py, v, perspective_correct, clip)
    (r0, r1, r2), rz = _reference_geometry(px, py, v, perspective_correct, clip)
    for got, expected in zip((w0, w1, w2, z), (r0, r1, r2, rz)):
        assert torch.equal(got, expected)
    (u0, u1, u2), _ = _reference_geometry(px, py, v, perspective_correct, False)
    assert torch.equal(inside, torch.minimum(torch.minimum(u0, u1), u2) > 0)
    assert torch.equal(nearest_edge_distance2(pair_differences(px, py, v))[0], _reference_distance2(px, py, v))


def _pairs(m: int, seed: int):
    """Random (pixel, triangle) pairs in float64: pixels inside, on edges' outside, near-degenerate."""
    g = torch.Generator().manual_seed(seed)
    px, py = torch.rand(m, generator=g, dtype=torch.float64) * 2 - 1, torch.rand(m, generator=g, dtype=torch.float64) * 2 - 1
    xy = torch.rand(m, 3, 2, generator=g, dtype=torch.float64) * 2 - 1
    z = torch.rand(m, 3, generator=g, dtype=torch.float64) * 4 + 0.5
    v = tuple(t for i in range(3) for t in (xy[:, i, 0], xy[:, i, 1], z[:, i]))
    return px, py, v, g


@pytest.mark.parametrize("perspective_correct", [False, True])
@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("which", ["bary", "z", "both"])
def test_matches_autograd(perspective_correct, clip, which):
    px, py, v, g = _pairs(4000, seed=int(perspective_correct) * 4 + int(clip) * 2)
    grad_w = torch.randn(4000, 3, generator=g, dtype=torch.float64) if which != "z" else None
    grad_z = torch.randn(4000, generator=g, dtype=torch.float64) if which != "bary" else None
    leaves = tuple(c.clone().requires_grad_(True) for c in v)
    (w0, w1, w2), z = _reference_geometry(px, py, leaves, perspective_correct, clip)
    outputs, grads = [], []
    if grad_w is not None:
        outputs.append(torch.stack((w0, w1, w2), dim=1))
        grads.append(grad_w)
    if grad_z is not None:
        outputs.append(z)
        grads.append(grad_z)
    expected = torch.autograd.grad(outputs, leaves, grads, allow_unused=True)
    expected = [torch.zeros_like(px) if e is None else e for e in expected]
    got = geometry_backward(px, py, v, perspective_correct, clip, grad_w, grad_z)
    for i, (e, a) in enumerate(zip(expected, got.unbind(1))):
        # Same maths, different rounding order: near-degenerate pairs have huge, cancelling terms,
        # so compare relative to each coordinate's largest gradient.
        torch.testing.assert_close(a, e, rtol=1e-6, atol=1e-10 * float(e.abs().max()), msg=lambda m: f"coordinate {i}: {m}")
    # the clipped cases really exercise the clamps: some pairs lie outside their triangle
    inside = torch.minimum(torch.minimum(w0, w1), w2) > 0
    assert 0.05 < inside.double().mean() < 0.95


def test_clamped_perspective_denominator_gets_the_true_derivative():
    """Where sum_i b_i z_j z_k < 1e-8 the forward clamps it, and the clipped barycentrics no
    longer depend on its scale: the gradient must be the finite-difference one, not PyTorch3D's
    1/denominator^2 term (which turns float32 rounding into values up to ~1e5; see s03)."""
    px, py, v, g = _pairs(20000, seed=11)
    x0, y0, z0, x1, y1, z1, x2, y2, z2 = v
    area = (x2 - x0) * (y1 - y0) - (y2 - y0) * (x1 - x0)
    b0 = ((px - x1) * (y2 - y1) - (py - y1) * (x2 - x1)) / area
    b1 = ((px - x2) * (y0 - y2) - (py - y2) * (x0 - x2)) / area
    b2 = ((px - x0) * (y1 - y0) - (py - y0) * (x1 - x0)) / area
    denominator = b0 * z1 * z2 + b1 * z0 * z2 + b2 * z0 * z1
    (w0, w1, w2), _, _ = pair_geometry(px, py, v, True, True)
    pick = (denominator < -1e-2) & (area.abs() > 1e-2) & (torch.stack((w0, w1, w2)).amax(0) < 1 - 1e-6)
    assert pick.sum() >= 100, "not enough clamped pairs with two unclipped weights"
    px, py, v = px[pick], py[pick], tuple(c[pick] for c in v)
    grad_w = torch.randn(px.numel(), 3, generator=g, dtype=torch.float64)
    grad_z = torch.randn(px.numel(), generator=g, dtype=torch.float64)

    def objective(coords):
        (a, b, c), z, _ = pair_geometry(px, py, coords, True, True)
        return (torch.stack((a, b, c), dim=1) * grad_w).sum(1) + z * grad_z

    got = geometry_backward(px, py, v, True, True, grad_w, grad_z)
    step = 1e-6
    for i in range(9):
        up = tuple(c + step if j == i else c for j, c in enumerate(v))
        down = tuple(c - step if j == i else c for j, c in enumerate(v))
        numeric = (objective(up) - objective(down)) / (2 * step)
        torch.testing.assert_close(got[:, i], numeric, rtol=1e-4, atol=1e-6)


def test_distance_backward_matches_autograd():
    """Every edge is the nearest one for some pairs, on its interior and at its clamped ends."""
    px, py, v, g = _pairs(6000, seed=5)
    grad_d2 = torch.randn(6000, generator=g, dtype=torch.float64)
    leaves = tuple(c.clone().requires_grad_(True) for c in v)
    d2 = _reference_distance2(px, py, leaves)
    expected = torch.autograd.grad(d2, leaves, grad_d2, allow_unused=True)
    d = pair_differences(px, py, v)
    edge = nearest_edge_distance2(d)[1]
    assert sorted(torch.unique(edge).tolist()) == [0, 1, 2]
    got = distance_backward(d, grad_d2, edge)  # (M, vertex, x/y)
    for vertex in range(3):
        for axis in range(2):
            torch.testing.assert_close(got[:, vertex, axis], expected[3 * vertex + axis], rtol=1e-9, atol=1e-12)
    assert all(e is None or not e.abs().sum() for e in expected[2::3])  # no depth dependence


def test_nearest_edge_ties_go_to_the_first_edge_in_pytorch3d_order():
    """Triangle (0, 0), (2, 0), (0, 2): pixels equally far from two edges (exactly, at a shared
    vertex) get the earlier edge of v0v1, v0v2, v1v2; the others their unique nearest one."""
    tri = [0.0, 0.0, 1.0, 2.0, 0.0, 1.0, 0.0, 2.0, 1.0]
    px = torch.tensor([-1.0, 3.0, -1.0, 1.0, -0.5, 2.0], dtype=torch.float64)
    py = torch.tensor([-1.0, -1.0, 3.0, -1.0, 1.0, 2.0], dtype=torch.float64)
    v = tuple(torch.full_like(px, c) for c in tri)
    d2, edge = nearest_edge_distance2(pair_differences(px, py, v))
    assert edge.tolist() == [0, 0, 1, 0, 1, 2]
    torch.testing.assert_close(d2, torch.tensor([2.0, 2.0, 2.0, 1.0, 0.25, 2.0], dtype=torch.float64))
