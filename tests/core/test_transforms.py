"""Tests for core.transforms: row-vector 4x4 transforms, composition, inverses and gradients."""
import math

import pytest
import torch

from core.transforms import Rotate, RotateAxisAngle, Scale, Transform3d, Translate


def _rot_z(angle: float, dtype=torch.float32) -> torch.Tensor:
    """Row-vector rotation by `angle` about +Z: p @ R rotates p counter-clockwise."""
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]], dtype=dtype)


def test_identity_default() -> None:
    t = Transform3d()
    assert torch.equal(t.get_matrix(), torch.eye(4)[None])
    pts = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(t.transform_points(pts), pts)
    assert len(t) == 1


def test_translate_rotate_scale_matrices() -> None:
    m = Translate(1.0, 2.0, 3.0).get_matrix()
    assert torch.equal(m[0, 3, :3], torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(m[0, :3, :3], torch.eye(3))
    assert torch.equal(Scale(2.0).get_matrix()[0], torch.diag(torch.tensor([2.0, 2.0, 2.0, 1.0])))
    assert torch.equal(Scale(1.0, 2.0, 3.0).get_matrix()[0], torch.diag(torch.tensor([1.0, 2.0, 3.0, 1.0])))
    R = _rot_z(0.3)
    assert torch.allclose(Rotate(R).get_matrix()[0, :3, :3], R)
    # (N, 3) tensor input and broadcasting of per-axis values
    xyz = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert torch.equal(Translate(xyz).get_matrix()[:, 3, :3], xyz)
    m = Translate(torch.tensor([1.0, 2.0]), 0.0, 5.0).get_matrix()
    assert torch.equal(m[:, 3, :3], torch.tensor([[1.0, 0.0, 5.0], [2.0, 0.0, 5.0]]))


def test_points_rotate_then_translate() -> None:
    # (1, 0, 0) rotated by 90 degrees about Z is (0, 1, 0); then translated by (1, 2, 3).
    t = Rotate(_rot_z(math.pi / 2)).compose(Translate(1.0, 2.0, 3.0))
    out = t.transform_points(torch.tensor([[1.0, 0.0, 0.0]]))
    assert torch.allclose(out, torch.tensor([[1.0, 3.0, 3.0]]), atol=1e-6)
    # the other order translates first: (2, 2, 3) rotated → (-2, 2, 3)
    t2 = Translate(1.0, 2.0, 3.0).compose(Rotate(_rot_z(math.pi / 2)))
    out2 = t2.transform_points(torch.tensor([[1.0, 0.0, 0.0]]))
    assert torch.allclose(out2, torch.tensor([[-2.0, 2.0, 3.0]]), atol=1e-6)
    # composed matrix is the product in application order
    product = Rotate(_rot_z(math.pi / 2)).get_matrix() @ Translate(1.0, 2.0, 3.0).get_matrix()
    assert torch.allclose(t.get_matrix(), product)


def test_convenience_methods_compose() -> None:
    t = Transform3d().translate(1.0, 0.0, 0.0).scale(2.0)
    out = t.transform_points(torch.tensor([[1.0, 1.0, 1.0]]))
    assert torch.allclose(out, torch.tensor([[4.0, 2.0, 2.0]]))
    t2 = Transform3d().rotate(_rot_z(math.pi))
    out2 = t2.transform_points(torch.tensor([[1.0, 0.0, 0.0]]))
    assert torch.allclose(out2, torch.tensor([[-1.0, 0.0, 0.0]]), atol=1e-6)


def test_transform_points_shapes_and_batch_broadcast() -> None:
    t = Translate(torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    pts = torch.zeros(4, 3)
    out = t.transform_points(pts)  # (P, 3) with N = 2 → (2, P, 3)
    assert out.shape == (2, 4, 3)
    assert torch.allclose(out[0], torch.tensor([1.0, 0.0, 0.0]).expand(4, 3))
    assert torch.allclose(out[1], torch.tensor([0.0, 2.0, 0.0]).expand(4, 3))
    single = Translate(1.0, 1.0, 1.0)
    assert single.transform_points(pts).shape == (4, 3)
    assert single.transform_points(torch.zeros(3, 4, 3)).shape == (3, 4, 3)
    with pytest.raises(ValueError):
        t.transform_points(torch.zeros(3, 4, 3))  # batch 3 vs 2
    with pytest.raises(ValueError):
        t.transform_points(torch.zeros(4, 2))
    with pytest.raises(TypeError):
        t.transform_points([[0.0, 0.0, 0.0]])


def test_homogeneous_divide_and_eps_clamp() -> None:
    # w = z: a perspective-like matrix (x, y, z, 1) → (x, y, 1, z) → (x/z, y/z, 1/z)
    m = torch.zeros(1, 4, 4)
    m[0, 0, 0] = m[0, 1, 1] = 1.0
    m[0, 3, 2] = 1.0
    m[0, 2, 3] = 1.0
    t = Transform3d(matrix=m)
    pts = torch.tensor([[2.0, 4.0, 2.0], [1.0, 1.0, 1e-4], [1.0, 1.0, -1e-4], [1.0, 1.0, 0.0]])
    out = t.transform_points(pts)
    assert torch.allclose(out[0], torch.tensor([1.0, 2.0, 0.5]))
    clamped = t.transform_points(pts, eps=0.1)
    assert torch.allclose(clamped[0], out[0])  # |w| = 2 ≥ eps: unchanged
    assert torch.allclose(clamped[1], torch.tensor([10.0, 10.0, 10.0]))  # w → +0.1
    assert torch.allclose(clamped[2], torch.tensor([-10.0, -10.0, -10.0]))  # sign kept: w → -0.1
    assert torch.allclose(clamped[3], torch.tensor([10.0, 10.0, 10.0]))  # w = 0 counts as positive


def test_transform_normals_stay_perpendicular() -> None:
    t = Scale(1.0, 3.0, 0.5).compose(Rotate(_rot_z(0.4)))
    tangent = torch.tensor([[1.0, -1.0, 0.0]])
    normal = torch.tensor([[1.0, 1.0, 0.0]])  # perpendicular to tangent
    # tangents transform like point differences
    t_tan = t.transform_points(tangent) - t.transform_points(torch.zeros(1, 3))
    t_nrm = t.transform_normals(normal)
    assert t_nrm.shape == (1, 3)
    assert abs(float((t_tan * t_nrm).sum())) < 1e-6
    # a pure rotation rotates normals like points
    r = Rotate(_rot_z(0.7))
    assert torch.allclose(r.transform_normals(normal), normal @ _rot_z(0.7), atol=1e-6)


def test_inverse_all_forms() -> None:
    R = _rot_z(0.9)
    t = Rotate(R).compose(Translate(1.0, -2.0, 0.5), Scale(2.0, 3.0, 4.0))
    eye = torch.eye(4)[None]
    for inv in (t.inverse(), t.inverse(invert_composed=True)):
        assert torch.allclose(t.get_matrix() @ inv.get_matrix(), eye, atol=1e-6)
    assert torch.allclose(Rotate(R).inverse().get_matrix()[0, :3, :3], R.T)
    assert torch.allclose(Translate(1.0, 2.0, 3.0).inverse().get_matrix()[0, 3, :3], torch.tensor([-1.0, -2.0, -3.0]))
    s_inv = Scale(2.0, 4.0, 8.0).inverse().get_matrix()[0].diagonal()
    assert torch.allclose(s_inv, torch.tensor([0.5, 0.25, 0.125, 1.0]))
    general = Transform3d(matrix=torch.tensor([[2.0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 2, 3, 1]]))
    pts = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(general.inverse().transform_points(general.transform_points(pts)), pts, atol=1e-5)


def test_len_getitem_clone_to() -> None:
    xyz = torch.arange(12, dtype=torch.float32).view(4, 3)
    t = Translate(xyz)
    assert len(t) == 4
    assert torch.equal(t[1].get_matrix()[:, 3, :3], xyz[1:2])
    assert torch.equal(t[[0, 3]].get_matrix()[:, 3, :3], xyz[[0, 3]])
    assert torch.equal(t[torch.tensor([True, False, True, False])].get_matrix()[:, 3, :3], xyz[[0, 2]])
    assert len(t[1:3]) == 2
    c = t.compose(Scale(2.0)).clone()
    assert torch.equal(c.get_matrix(), t.compose(Scale(2.0)).get_matrix())
    c._matrix.zero_()
    assert t.get_matrix()[1, 3, 0] == 3.0  # the clone does not share storage
    d = t.compose(Scale(2.0)).to("cpu", dtype=torch.float64)
    assert d.get_matrix().dtype == torch.float64 and d.dtype == torch.float64
    assert t.to("cpu") is t
    assert t.to("cpu", copy=True) is not t


def test_bad_inputs() -> None:
    with pytest.raises(ValueError):
        Transform3d(matrix=torch.eye(3))
    with pytest.raises(TypeError):
        Transform3d(matrix=[[1.0]])
    with pytest.raises(ValueError):
        Transform3d().compose("not a transform")
    with pytest.raises(ValueError):
        Rotate(torch.eye(4))
    with pytest.raises(ValueError):
        Translate(torch.zeros(2, 2))
    with pytest.raises(ValueError):
        Translate(torch.zeros(2), torch.zeros(3), 0.0)
    with pytest.raises(ValueError):
        Translate(torch.zeros(2, 4, 4)).compose(Translate(torch.zeros(3, 3))).get_matrix()


def test_float64_and_gradients() -> None:
    R = _rot_z(0.3, torch.float64).requires_grad_(True)
    T = torch.tensor([[0.1, -0.2, 3.0]], dtype=torch.float64, requires_grad=True)
    pts = torch.rand(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))  # z + 3 > 0

    def fn(R, T):
        # a perspective divide so the function is non-linear in T
        m = torch.zeros(1, 4, 4, dtype=torch.float64)
        m[0, 0, 0] = m[0, 1, 1] = m[0, 3, 2] = m[0, 2, 3] = 1.0
        return Rotate(R).compose(Translate(T), Transform3d(matrix=m)).transform_points(pts)

    assert fn(R, T).dtype == torch.float64
    assert torch.autograd.gradcheck(fn, (R, T))
    s = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: Scale(s).inverse().transform_points(pts), (s,))


def test_stack_concatenates_batches() -> None:
    """PyTorch3D's stack: transforming the concatenated points with the stacked transform
    equals transforming each part with its own transform."""
    gen = torch.Generator().manual_seed(3)
    a = Transform3d().scale(0.5).translate(1.0, 2.0, 3.0)  # one transform
    b = Translate(torch.randn(2, 3, generator=gen)).compose(Rotate(_rot_z(0.7)))  # two
    stacked = a.stack(b, a)
    assert len(stacked) == 4
    xa, xb = torch.randn(1, 5, 3, generator=gen), torch.randn(2, 5, 3, generator=gen)
    xc = torch.randn(1, 5, 3, generator=gen)
    expected = torch.cat([a.transform_points(xa), b.transform_points(xb), a.transform_points(xc)])
    assert torch.allclose(stacked.transform_points(torch.cat([xa, xb, xc])), expected, atol=1e-6)
    # the inverse of the stack undoes it
    back = stacked.inverse().transform_points(stacked.transform_points(torch.cat([xa, xb, xc])))
    assert torch.allclose(back, torch.cat([xa, xb, xc]), atol=1e-5)
    with pytest.raises(ValueError):
        a.stack("not a transform")


@pytest.mark.parametrize(
    "axis, point, expected",
    [
        ("X", (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),  # right-handed: y turns into z about +X
        ("Y", (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)),  # z turns into x about +Y
        ("Z", (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),  # x turns into y about +Z
    ],
)
def test_rotate_axis_angle_turns_counter_clockwise(axis, point, expected) -> None:
    pts = torch.tensor([point])
    out = RotateAxisAngle(90.0, axis=axis).transform_points(pts)
    assert torch.allclose(out, torch.tensor([expected]), atol=1e-6)
    # radians, lower-case axis, and the convenience method composing after other transforms
    out_rad = RotateAxisAngle(math.pi / 2, axis=axis.lower(), degrees=False).transform_points(pts)
    assert torch.allclose(out_rad, torch.tensor([expected]), atol=1e-6)
    moved = Transform3d().translate(1.0, 1.0, 1.0).rotate_axis_angle(90.0, axis).transform_points(pts - 1.0)
    assert torch.allclose(moved, torch.tensor([expected]), atol=1e-6)


def test_rotate_axis_angle_batches_and_checks() -> None:
    angles = torch.tensor([0.0, 90.0, 180.0])
    t = RotateAxisAngle(angles, axis="Z")
    assert len(t) == 3
    out = t.transform_points(torch.tensor([[1.0, 0.0, 0.0]]))  # (P, 3) broadcast over the batch
    expected = torch.tensor([[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], [[-1.0, 0.0, 0.0]]])
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.allclose(t.get_matrix()[:, :3, :3] @ t.get_matrix()[:, :3, :3].transpose(1, 2),
                          torch.eye(3).expand(3, 3, 3), atol=1e-6)
    with pytest.raises(ValueError):
        RotateAxisAngle(30.0, axis="W")
    with pytest.raises(ValueError):
        RotateAxisAngle(torch.zeros(2, 2))
    angle = torch.tensor([0.4], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a: RotateAxisAngle(a, axis="Y", degrees=False).transform_points(torch.ones(2, 3, dtype=torch.float64)),
        (angle,),
    )


def test_rotate_accepts_orthogonal_tol(monkeypatch) -> None:
    """PyTorch3D's keyword; the check (a warning) runs only with PYTORCH3D_CHECK_ROTATION_MATRICES=1."""
    skew = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert torch.equal(Rotate(_rot_z(0.3), orthogonal_tol=1e-3).get_matrix()[0, :3, :3], _rot_z(0.3))
    monkeypatch.setenv("PYTORCH3D_CHECK_ROTATION_MATRICES", "1")
    with pytest.warns(UserWarning, match="not a valid rotation"):
        Rotate(skew, orthogonal_tol=1e-5)
