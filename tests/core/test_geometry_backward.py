"""The rasterizer's hand-written barycentric/depth gradient equals autograd through pair_geometry."""

from __future__ import annotations

import pytest
import torch

from core.renderer.mesh.rasterize_meshes import geometry_backward, pair_geometry


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
    (w0, w1, w2), z, _ = pair_geometry(px, py, leaves, perspective_correct, clip)
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
    for i, (e, a) in enumerate(zip(expected, got)):
        # Same maths, different rounding order: near-degenerate pairs have huge, cancelling terms,
        # so compare relative to each coordinate's largest gradient.
        torch.testing.assert_close(a, e, rtol=1e-6, atol=1e-10 * float(e.abs().max()), msg=lambda m: f"coordinate {i}: {m}")
    # the clipped cases really exercise the clamps: some pairs lie outside their triangle
    inside = torch.minimum(torch.minimum(w0, w1), w2) > 0
    assert 0.05 < inside.double().mean() < 0.95
