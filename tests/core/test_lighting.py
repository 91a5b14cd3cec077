"""Lights, materials and the diffuse/specular terms: analytic values, broadcasting, gradients."""
from __future__ import annotations

import math

import pytest
import torch

from core.renderer.lighting import (
    AmbientLights,
    DirectionalLights,
    PointLights,
    diffuse,
    specular,
)
from core.renderer.materials import Materials


def _unit(v):
    v = torch.as_tensor(v, dtype=torch.float64)
    return v / v.norm(dim=-1, keepdim=True)


def _ref_diffuse(n, color, l):
    n, l = _unit(n), _unit(l)
    return torch.as_tensor(color, dtype=torch.float64) * (n * l).sum(-1, keepdim=True).clamp(min=0)


def _ref_specular(p, n, l, color, cam, shin):
    n, l = _unit(n), _unit(l)
    v = _unit(torch.as_tensor(cam, dtype=torch.float64) - torch.as_tensor(p, dtype=torch.float64))
    nl = (n * l).sum(-1, keepdim=True)
    r = -l + 2 * nl * n
    a = (v * r).sum(-1, keepdim=True).clamp(min=0) * (nl > 0)
    return torch.as_tensor(color, dtype=torch.float64) * a**shin


# ---------------------------------------------------------------------------------------------
# diffuse / specular functions
# ---------------------------------------------------------------------------------------------
def test_diffuse_analytic_values():
    normals = torch.tensor([[[0.0, 0.0, 2.0], [0.0, 1.0, 1.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]])  # (1, 4, 3)
    color = torch.tensor([[0.3, 0.6, 0.9]])
    direction = torch.tensor([[0.0, 0.0, 5.0]])
    out = diffuse(normals, color, direction)
    expected = torch.tensor([[[0.3, 0.6, 0.9], [0.3, 0.6, 0.9], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    expected[0, 1] *= math.cos(math.pi / 4)
    torch.testing.assert_close(out, expected)


def test_diffuse_any_middle_dims_and_per_batch_properties():
    torch.manual_seed(0)
    N = 2
    color = torch.tensor([[1.0, 0.5, 0.25], [0.2, 0.4, 0.8]])
    direction = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    for middle in [(), (5,), (3, 4), (2, 3, 4, 2)]:
        normals = torch.randn(N, *middle, 3)
        out = diffuse(normals, color, direction)
        assert out.shape == normals.shape
        for b in range(N):
            ref = _ref_diffuse(normals[b].double(), color[b], direction[b])
            torch.testing.assert_close(out[b].double(), ref, atol=1e-6, rtol=1e-5)


def test_diffuse_packed_with_batch1_light():
    torch.manual_seed(1)
    normals = torch.randn(7, 3)
    out = diffuse(normals, ((0.3, 0.3, 0.3),), ((0.0, 1.0, 0.0),))
    ref = _ref_diffuse(normals.double(), (0.3,) * 3, (0, 1, 0))
    torch.testing.assert_close(out.double(), ref, atol=1e-6, rtol=1e-5)


def test_diffuse_batch_mismatch_raises():
    with pytest.raises(ValueError, match="batch"):
        diffuse(torch.randn(3, 4, 3), torch.ones(2, 3), torch.ones(2, 3))


def test_specular_head_on_and_off_axis():
    # Surface at the origin facing +z, light from +z: reflection points back along +z.
    n = torch.tensor([[0.0, 0.0, 1.0]])
    p = torch.zeros(1, 3)
    l = torch.tensor([[0.0, 0.0, 1.0]])
    color = torch.tensor([[0.2, 0.4, 0.6]])
    out = specular(p, n, l, color, torch.tensor([[0.0, 0.0, 5.0]]), torch.tensor([10.0]))
    torch.testing.assert_close(out, color)
    # Camera off axis at 30 degrees: (cos 30°)^shininess.
    cam = torch.tensor([[math.sin(math.pi / 6), 0.0, math.cos(math.pi / 6)]]) * 4
    out = specular(p, n, l, color, cam, torch.tensor([10.0]))
    torch.testing.assert_close(out, color * math.cos(math.pi / 6) ** 10)
    # Light at 45 degrees, camera on the mirror direction: full highlight.
    l45 = torch.tensor([[1.0, 0.0, 1.0]])
    cam = torch.tensor([[-3.0, 0.0, 3.0]])
    torch.testing.assert_close(specular(p, n, l45, color, cam, torch.tensor([64.0])), color)


def test_specular_zero_when_light_behind_surface():
    # n·l < 0: the reflection of l points at the camera (v·r = 1) but the mask must zero it.
    n = torch.tensor([[0.0, 0.0, 1.0]])
    p = torch.zeros(1, 3)
    l = torch.tensor([[0.0, 0.0, -1.0]])
    cam = torch.tensor([[0.0, 0.0, -5.0]])
    out = specular(p, n, l, torch.ones(1, 3), cam, torch.tensor([1.0]))
    torch.testing.assert_close(out, torch.zeros(1, 3))
    # n·l = 0 exactly is also zero.
    out = specular(p, n, torch.tensor([[1.0, 0.0, 0.0]]), torch.ones(1, 3), torch.tensor([[-1.0, 0.0, 0.0]]), 1.0)
    torch.testing.assert_close(out, torch.zeros(1, 3))


def test_specular_random_matches_reference_formula():
    torch.manual_seed(2)
    N, H, W, K = 2, 3, 4, 2
    points = torch.randn(N, H, W, K, 3)
    normals = torch.randn(N, H, W, K, 3)
    direction = torch.randn(N, 3)
    color = torch.rand(N, 3)
    cam = torch.randn(N, 3) * 5
    shin = torch.tensor([3.0, 7.0])
    out = specular(points, normals, direction, color, cam, shin)
    assert out.shape == (N, H, W, K, 3)
    assert (out > 0).any()
    for b in range(N):
        ref = _ref_specular(points[b].double(), normals[b].double(), direction[b], color[b], cam[b], shin[b].item())
        torch.testing.assert_close(out[b].double(), ref, atol=1e-6, rtol=1e-4)


def test_specular_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        specular(torch.randn(1, 4, 3), torch.randn(1, 5, 3), torch.ones(1, 3), torch.ones(1, 3), torch.ones(1, 3), 1.0)


def test_gradcheck_diffuse_and_specular_float64():
    torch.manual_seed(3)
    # Keep away from the relu/mask kinks: normals near +z, light and camera above the surface.
    normals = (torch.tensor([0.0, 0.0, 1.0]) + 0.2 * torch.randn(2, 3, 3)).double().requires_grad_()
    points = (0.1 * torch.randn(2, 3, 3)).double().requires_grad_()
    direction = torch.tensor([[0.3, 0.1, 1.0], [-0.2, 0.2, 1.0]], dtype=torch.float64, requires_grad=True)
    color = torch.tensor([[0.3, 0.5, 0.7], [1.0, 0.2, 0.1]], dtype=torch.float64, requires_grad=True)
    cam = torch.tensor([[-0.3, -0.1, 4.0], [0.2, -0.2, 4.0]], dtype=torch.float64, requires_grad=True)
    shin = torch.tensor([5.0, 9.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda n, c, d: diffuse(n, c, d), (normals, color, direction))
    assert torch.autograd.gradcheck(
        lambda p, n, d, c, e, s: specular(p, n, d, c, e, s), (points, normals, direction, color, cam, shin)
    )
    # The highlight really is non-zero there, so the specular gradient is not trivially zero.
    assert (specular(points, normals, direction, color, cam, shin) > 1e-3).all()


# ---------------------------------------------------------------------------------------------
# Light classes
# ---------------------------------------------------------------------------------------------
def test_light_defaults():
    for light in (DirectionalLights(), PointLights()):
        torch.testing.assert_close(light.ambient_color, torch.full((1, 3), 0.5))
        torch.testing.assert_close(light.diffuse_color, torch.full((1, 3), 0.3))
        torch.testing.assert_close(light.specular_color, torch.full((1, 3), 0.2))
        assert len(light) == 1
    torch.testing.assert_close(DirectionalLights().direction, torch.tensor([[0.0, 1.0, 0.0]]))
    torch.testing.assert_close(PointLights().location, torch.tensor([[0.0, 1.0, 0.0]]))
    amb = AmbientLights()
    torch.testing.assert_close(amb.ambient_color, torch.ones(1, 3))


def test_directional_light_methods_match_functions():
    torch.manual_seed(4)
    lights = DirectionalLights(
        diffuse_color=((0.1, 0.2, 0.3),), specular_color=((0.5, 0.6, 0.7),), direction=((1, 2, 3),)
    )
    normals, points = torch.randn(1, 4, 4, 2, 3), torch.randn(1, 4, 4, 2, 3)
    cam = torch.tensor([[0.0, 0.0, 3.0]])
    torch.testing.assert_close(lights.diffuse(normals), diffuse(normals, lights.diffuse_color, lights.direction))
    torch.testing.assert_close(
        lights.specular(normals, points, cam, torch.tensor([8.0])),
        specular(points, normals, lights.direction, lights.specular_color, cam, torch.tensor([8.0])),
    )


def test_point_light_uses_direction_to_location_without_falloff():
    points = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])  # (1, 2, 3)
    normals = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]])
    near = PointLights(diffuse_color=((1.0, 1.0, 1.0),), location=((0.0, 0.0, 1.0),))
    far = PointLights(diffuse_color=((1.0, 1.0, 1.0),), location=((0.0, 0.0, 100.0),))
    d_near, d_far = near.diffuse(normals, points), far.diffuse(normals, points)
    # Point right below the light: cos = 1 regardless of distance (no falloff).
    torch.testing.assert_close(d_near[0, 0], torch.ones(3))
    torch.testing.assert_close(d_far[0, 0], torch.ones(3))
    # Point at x = 1 with the light at height 1: 45 degrees.
    torch.testing.assert_close(d_near[0, 1], torch.full((3,), math.cos(math.pi / 4)))
    # Specular at x = 1 with the camera on the mirror ray: full highlight.
    spec = near.specular(normals, points, torch.tensor([[2.0, 0.0, 1.0]]), torch.tensor([64.0]))
    torch.testing.assert_close(spec[0, 1], torch.full((3,), 0.2))


def test_point_lights_batched_and_packed():
    torch.manual_seed(5)
    lights = PointLights(location=((0.0, 0.0, 3.0), (3.0, 0.0, 0.0)))
    points, normals = torch.randn(2, 3, 5, 3), torch.randn(2, 3, 5, 3)
    out = lights.diffuse(normals, points)
    for b in range(2):
        ref = _ref_diffuse(normals[b].double(), (0.3,) * 3, lights.location[b].double() - points[b].double())
        torch.testing.assert_close(out[b].double(), ref, atol=1e-6, rtol=1e-5)
    # Packed (P, 3) points with a single light.
    single = PointLights(location=((1.0, 2.0, 3.0),))
    p, n = torch.randn(6, 3), torch.randn(6, 3)
    ref = _ref_diffuse(n.double(), (0.3,) * 3, torch.tensor([1.0, 2.0, 3.0]).double() - p.double())
    torch.testing.assert_close(single.diffuse(n, p).double(), ref, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="points"):
        single.diffuse(n)


def test_ambient_lights_zero_diffuse_and_specular():
    amb = AmbientLights(ambient_color=((0.2, 0.4, 0.6),))
    n, p = torch.randn(2, 3, 4, 3), torch.randn(2, 3, 4, 3)
    assert torch.equal(amb.diffuse(n, p), torch.zeros(2, 3, 4, 3))
    assert torch.equal(amb.specular(n, p, torch.zeros(1, 3), torch.tensor([64.0])), torch.zeros(2, 3, 4, 3))
    torch.testing.assert_close(amb.ambient_color, torch.tensor([[0.2, 0.4, 0.6]]))


def test_light_validation_errors():
    with pytest.raises(ValueError, match="direction"):
        DirectionalLights(direction=((0.0, 1.0),))
    with pytest.raises(ValueError, match="location"):
        PointLights(location=((0.0, 1.0, 2.0, 3.0),))
    with pytest.raises(ValueError, match="diffuse_color"):
        PointLights(diffuse_color=((0.3, 0.3),))
    with pytest.raises(ValueError):
        PointLights(location=torch.zeros(2, 3), diffuse_color=torch.zeros(3, 3))


def test_light_batch_broadcast_clone_getitem_to():
    lights = PointLights(location=torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]]))
    assert len(lights) == 2
    torch.testing.assert_close(lights.ambient_color, torch.full((2, 3), 0.5))
    other = lights.clone()
    assert isinstance(other, PointLights) and len(other) == 2
    other.location[0, 0] = 7.0
    assert lights.location[0, 0] == 0.0
    item = lights[1]
    torch.testing.assert_close(item.location, torch.tensor([0.0, 0.0, 2.0]))
    assert lights[0:2].location.shape == (2, 3)
    moved = lights.to("cpu")
    assert moved.location.device.type == "cpu" and moved.device.type == "cpu"


# ---------------------------------------------------------------------------------------------
# Materials
# ---------------------------------------------------------------------------------------------
def test_materials_defaults_and_validation():
    m = Materials()
    for name in ("ambient_color", "diffuse_color", "specular_color"):
        torch.testing.assert_close(getattr(m, name), torch.ones(1, 3))
    torch.testing.assert_close(m.shininess, torch.tensor([64.0]))
    m2 = Materials(diffuse_color=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)), shininess=10)
    assert len(m2) == 2 and m2.shininess.shape == (2,) and torch.equal(m2.shininess, torch.tensor([10.0, 10.0]))
    torch.testing.assert_close(m2.ambient_color, torch.ones(2, 3))
    with pytest.raises(ValueError, match="specular_color"):
        Materials(specular_color=((1.0, 1.0),))
    with pytest.raises(ValueError, match="shininess"):
        Materials(shininess=torch.ones(1, 2))
    c = m2.clone()
    c.diffuse_color[0, 0] = 0.5
    assert m2.diffuse_color[0, 0] == 1.0


def test_indexing_gives_pytorch3d_accessors_that_read_and_write_one_element():
    lights = PointLights(location=[[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]], diffuse_color=[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    lights[1].location = [1.0, 2.0, 3.0]
    torch.testing.assert_close(lights.location, torch.tensor([[0.0, 0.0, 1.0], [1.0, 2.0, 3.0]]))
    lights[0].diffuse_color = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)  # converted to the tensor's dtype
    assert lights.diffuse_color.dtype == torch.float32
    torch.testing.assert_close(lights.diffuse_color[0], torch.ones(3))
    torch.testing.assert_close(lights.diffuse_color[1], torch.tensor([0.4, 0.5, 0.6]))
    assert lights[0].device == lights.device  # other attributes read as they are
    materials = Materials(shininess=[10.0, 20.0])
    assert float(materials[1].shininess) == 20.0
    for bad in ([0], torch.tensor([0]), True):
        with pytest.raises(ValueError, match="int or slice"):
            lights[bad]
    with pytest.raises(AttributeError, match="nothing"):
        lights[0].nothing
    with pytest.raises(AttributeError, match="tensor attributes"):
        lights[0].device = "cpu"
    with pytest.raises(ValueError, match="rows of shape"):
        lights[0:2].location = torch.zeros(2, 4)
