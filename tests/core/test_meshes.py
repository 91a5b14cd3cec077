"""Tests for core.structures.Meshes: representations, normals, gradients, batching, validation."""
from __future__ import annotations

import math

import pytest
import torch

from core.structures import Meshes, join_meshes_as_batch


# ---------------------------------------------------------------------------- fixtures
def _mixed_batch() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Four meshes: a quad (4 v, 2 f), an empty mesh, a triangle, and verts without faces."""
    quad_v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    quad_f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    tri_v = torch.tensor([[0.0, 0, 1], [2, 0, 1], [0, 3, 1]])
    tri_f = torch.tensor([[0, 1, 2]])
    lone_v = torch.tensor([[5.0, 5, 5], [6, 6, 6]])
    verts = [quad_v, torch.zeros((0, 3)), tri_v, lone_v]
    faces = [quad_f, torch.zeros((0, 3), dtype=torch.int64), tri_f, torch.zeros((0, 3), dtype=torch.int64)]
    return verts, faces


def _cube_with_centres() -> tuple[torch.Tensor, torch.Tensor]:
    """Unit cube [0, 1]^3, each side split into 4 triangles around its centre, outward facing.

    Every corner is in exactly two triangles of each of its three sides, so its area-weighted
    normal is exactly (+-1, +-1, +-1) / sqrt(3); each centre vertex has its side's normal.
    """
    corners = torch.tensor([[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)])
    verts = [corners]
    faces = []
    for axis in range(3):
        for side in (0.0, 1.0):
            centre = torch.full((3,), 0.5)
            centre[axis] = side
            c_idx = 8 + len(verts) - 1
            verts.append(centre[None])
            ring = [i for i in range(8) if corners[i, axis] == side]
            # Order the 4 corners of this side counter-clockwise seen from outside.
            normal = torch.zeros(3)
            normal[axis] = 1.0 if side == 1.0 else -1.0
            u, w = [a for a in range(3) if a != axis]
            ang = [math.atan2(corners[i, w] - 0.5, corners[i, u] - 0.5) for i in ring]
            ring = [r for _, r in sorted(zip(ang, ring))]
            eu, ew = torch.zeros(3), torch.zeros(3)
            eu[u], ew[w] = 1.0, 1.0
            if torch.dot(torch.linalg.cross(eu, ew), normal) < 0:
                ring = ring[::-1]
            for k in range(4):
                faces.append([c_idx, ring[k], ring[(k + 1) % 4]])
    return torch.cat(verts, 0), torch.tensor(faces)


class DummyTextures:
    """Minimal duck-typed textures: a per-mesh tag list; records sample_textures calls."""

    def __init__(self, tags: list) -> None:
        self.tags = list(tags)
        self._N = len(tags)
        self.calls: list = []

    def extend(self, N: int) -> "DummyTextures":
        return DummyTextures([t for t in self.tags for _ in range(N)])

    def __getitem__(self, index):
        if isinstance(index, int):
            return DummyTextures([self.tags[index]])
        if isinstance(index, slice):
            return DummyTextures(self.tags[index])
        return DummyTextures([self.tags[i] for i in index])

    def clone(self) -> "DummyTextures":
        return DummyTextures(self.tags + [])

    def detach(self) -> "DummyTextures":
        return DummyTextures(self.tags)

    def to(self, device) -> "DummyTextures":
        return self

    def join_batch(self, others: list) -> "DummyTextures":
        return DummyTextures(self.tags + [t for o in others for t in o.tags])

    def sample_textures(self, fragments, faces_packed=None):
        self.calls.append((fragments, faces_packed))
        return "texels"


# ---------------------------------------------------------------------------- representations
def test_mixed_batch_list_packed_padded_consistency():
    verts, faces = _mixed_batch()
    m = Meshes(verts=verts, faces=faces)
    assert len(m) == 4 and not m.equisized and not m.isempty()
    assert m.valid.tolist() == [True, False, True, False]
    assert m.num_verts_per_mesh().tolist() == [4, 0, 3, 2]
    assert m.num_faces_per_mesh().tolist() == [2, 0, 1, 0]
    assert m.mesh_to_verts_packed_first_idx().tolist() == [0, 4, 4, 7]
    assert m.mesh_to_faces_packed_first_idx().tolist() == [0, 2, 2, 3]
    assert m.verts_packed_to_mesh_idx().tolist() == [0, 0, 0, 0, 2, 2, 2, 3, 3]
    assert m.faces_packed_to_mesh_idx().tolist() == [0, 0, 2]

    assert torch.equal(m.verts_packed(), torch.cat(verts))
    assert m.faces_packed().tolist() == [[0, 1, 2], [0, 2, 3], [4, 5, 6]]

    vp = m.verts_padded()
    assert vp.shape == (4, 4, 3)
    for i, v in enumerate(verts):
        assert torch.equal(vp[i, : len(v)], v)
        assert torch.all(vp[i, len(v):] == 0)
    fp = m.faces_padded()
    assert fp.shape == (4, 2, 3)
    for i, f in enumerate(faces):
        assert torch.equal(fp[i, : len(f)], f)
        assert torch.all(fp[i, len(f):] == -1)

    idx = m.verts_padded_to_packed_idx()
    assert idx.tolist() == [0, 1, 2, 3, 8, 9, 10, 12, 13]
    assert torch.equal(vp.reshape(-1, 3)[idx], m.verts_packed())

    for got, want in zip(m.verts_list(), verts):
        assert torch.equal(got, want)
    for got, want in zip(m.faces_list(), faces):
        assert torch.equal(got, want)
    v2, f2 = m.get_mesh_verts_faces(2)
    assert torch.equal(v2, verts[2]) and torch.equal(f2, faces[2])


def test_padded_input_with_face_padding():
    verts = torch.rand(2, 4, 3)
    faces = torch.tensor([[[0, 1, 2], [0, 2, 3]], [[1, 2, 3], [-1, -1, -1]]])
    m = Meshes(verts=verts, faces=faces)
    assert m.verts_padded() is verts
    assert m.num_verts_per_mesh().tolist() == [4, 4]  # padded verts all count, as in PyTorch3D
    assert m.num_faces_per_mesh().tolist() == [2, 1]
    assert not m.equisized
    assert m.faces_packed().tolist() == [[0, 1, 2], [0, 2, 3], [5, 6, 7]]
    assert [f.tolist() for f in m.faces_list()] == [[[0, 1, 2], [0, 2, 3]], [[1, 2, 3]]]
    assert torch.equal(m.verts_packed(), verts.reshape(-1, 3))
    assert torch.equal(m.verts_list()[1], verts[1])
    # The list view of the same data gives identical packed tensors.
    m2 = Meshes(verts=list(verts), faces=m.faces_list())
    assert torch.equal(m2.faces_packed(), m.faces_packed())
    assert torch.equal(m2.faces_padded(), faces)


def test_equisized_and_empty_batches():
    v = torch.rand(3, 3)
    f = torch.tensor([[0, 1, 2]])
    assert Meshes([v, v.clone()], [f, f]).equisized
    empty = Meshes(verts=[], faces=[])
    assert len(empty) == 0 and empty.isempty()
    assert empty.verts_packed().shape == (0, 3) and empty.faces_packed().shape == (0, 3)
    assert empty.verts_padded().shape == (0, 0, 3)
    only_empty = Meshes(verts=[torch.zeros((0, 3))], faces=[torch.zeros((0, 3), dtype=torch.int64)])
    assert only_empty.isempty()
    assert only_empty.verts_normals_packed().shape == (0, 3)
    assert only_empty.edges_packed().shape == (0, 2)
    assert only_empty.verts_padded().shape == (1, 0, 3)
    assert only_empty.faces_padded().shape == (1, 0, 3)


# ---------------------------------------------------------------------------- normals / areas
def test_single_triangle_normals_and_area():
    v = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 2, 0]])
    m = Meshes([v], [torch.tensor([[0, 1, 2]])])
    expected = torch.tensor([[0.0, 0, 1]])
    assert torch.allclose(m.faces_normals_packed(), expected)
    assert torch.allclose(m.faces_areas_packed(), torch.tensor([2.0]))
    assert torch.allclose(m.verts_normals_packed(), expected.expand(3, 3))
    # Reversed winding flips both normals.
    r = Meshes([v], [torch.tensor([[0, 2, 1]])])
    assert torch.allclose(r.faces_normals_packed(), -expected)
    assert torch.allclose(r.verts_normals_packed(), -expected.expand(3, 3))


def test_cube_normals_analytic():
    v, f = _cube_with_centres()
    m = Meshes([v], [f])
    corners = v[:8]
    expected_corner = (corners * 2 - 1) / math.sqrt(3.0)
    vn = m.verts_normals_packed()
    assert torch.allclose(vn[:8], expected_corner, atol=1e-6)
    expected_centre = torch.zeros(6, 3)
    for k in range(6):
        expected_centre[k, k // 2] = 1.0 if k % 2 else -1.0
    assert torch.allclose(vn[8:], expected_centre, atol=1e-6)
    fn = m.faces_normals_packed()
    centres_of_faces = v[f[:, 0]]  # first vertex of every face is its side's centre
    assert torch.allclose(fn, (centres_of_faces - 0.5) * 2, atol=1e-6)
    assert torch.allclose(m.faces_areas_packed(), torch.full((24,), 0.25))
    # list / padded views of normals agree with packed for a batch that contains an empty mesh.
    b = Meshes([v, torch.zeros((0, 3)), v * 2], [f, torch.zeros((0, 3), dtype=torch.int64), f])
    assert torch.allclose(b.verts_normals_list()[2], vn, atol=1e-6)
    assert b.verts_normals_list()[1].shape == (0, 3)
    pad = b.verts_normals_padded()
    assert pad.shape == (3, 14, 3) and torch.all(pad[1] == 0)
    assert torch.allclose(pad[2], vn, atol=1e-6)
    fpad = b.faces_normals_padded()
    assert fpad.shape == (3, 24, 3) and torch.allclose(fpad[0], fn) and torch.all(fpad[1] == 0)
    assert torch.allclose(b.faces_normals_list()[2], fn)


def test_vertex_normals_are_area_weighted():
    # Two triangles sharing vertex 0 with different areas and normals.
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 3]])
    f = torch.tensor([[0, 1, 2], [0, 3, 1]])  # normals +z (area .5) and +y (area 1.5)
    m = Meshes([v], [f])
    want = torch.nn.functional.normalize(torch.tensor([0.0, 3.0, 1.0]), dim=0)
    assert torch.allclose(m.verts_normals_packed()[0], want, atol=1e-6)
    assert torch.allclose(m.verts_normals_packed()[2], torch.tensor([0.0, 0, 1]))
    assert torch.allclose(m.verts_normals_packed()[3], torch.tensor([0.0, 1, 0]))


def test_degenerate_face_has_zero_normal_and_finite_gradient():
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]], requires_grad=True)
    m = Meshes([v], [torch.tensor([[0, 1, 2]])])
    assert torch.all(m.faces_normals_packed() == 0) and torch.all(m.verts_normals_packed() == 0)
    loss = m.faces_areas_packed().sum() + m.verts_normals_packed().sum() + m.faces_normals_packed().sum()
    loss.backward()
    assert torch.isfinite(v.grad).all()


# ---------------------------------------------------------------------------- gradients
def test_gradients_flow_through_every_view():
    verts, faces = _mixed_batch()
    leaves = [v.clone().double().requires_grad_(True) for v in verts]
    m = Meshes(leaves, faces)
    w = torch.rand_like(m.verts_padded())
    (m.verts_padded() * w).sum().backward()
    for i, leaf in enumerate(leaves):
        assert torch.equal(leaf.grad, w[i, : len(leaf)])

    # Area gradient of a right triangle (0,0,0), (a,0,0), (0,b,0): dA/d(v1.x) = b/2, dA/d(v2.y) = a/2.
    v = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 3, 0]], requires_grad=True)
    Meshes([v], [torch.tensor([[0, 1, 2]])]).faces_areas_packed().sum().backward()
    assert torch.allclose(v.grad[1, 0], torch.tensor(1.5)) and torch.allclose(v.grad[2, 1], torch.tensor(1.0))

    # Numerical check of the normals' gradients (double precision).
    cube_v, cube_f = _cube_with_centres()
    x = (cube_v.double() + 0.05 * torch.randn(14, 3, dtype=torch.float64)).requires_grad_(True)
    for fn in ("verts_normals_packed", "faces_normals_packed", "faces_areas_packed"):
        assert torch.autograd.gradcheck(lambda t: getattr(Meshes([t], [cube_f]), fn)(), (x,))
    # Padded input: gradients reach the padded tensor through packed and normals.
    vp = cube_v[None].repeat(2, 1, 1).requires_grad_(True)
    mp = Meshes(vp, cube_f[None].repeat(2, 1, 1))
    (mp.verts_normals_packed().sum() + mp.verts_packed().sum()).backward()
    assert vp.grad is not None and torch.isfinite(vp.grad).all() and vp.grad.abs().sum() > 0


# ---------------------------------------------------------------------------- edges
def test_edges_packed():
    v, f = _cube_with_centres()
    tri = Meshes([torch.rand(3, 3)], [torch.tensor([[2, 0, 1]])])
    assert tri.edges_packed().tolist() == [[0, 1], [0, 2], [1, 2]]
    # Face (2, 0, 1): opposite v0=2 is (0, 1) -> 0; opposite 0 is (1, 2) -> 2; opposite 1 is (0, 2) -> 1.
    assert tri.faces_packed_to_edges_packed().tolist() == [[0, 2, 1]]

    b = Meshes([torch.rand(3, 3), v], [torch.tensor([[0, 1, 2]]), f])
    e = b.edges_packed()
    # Cube with centres: 12 cube edges + 6 * 4 spokes = 36 edges.
    assert b.num_edges_per_mesh().tolist() == [3, 36]
    assert b.mesh_to_edges_packed_first_idx().tolist() == [0, 3]
    assert b.edges_packed_to_mesh_idx().tolist() == [0] * 3 + [1] * 36
    assert torch.all(e[:, 0] < e[:, 1])
    keys = e[:, 0] * 100 + e[:, 1]
    assert torch.all(keys[1:] > keys[:-1])  # sorted and unique
    fp, f2e = b.faces_packed(), b.faces_packed_to_edges_packed()
    for k, (a, c) in enumerate([(1, 2), (2, 0), (0, 1)]):
        want = torch.sort(fp[:, [a, c]], dim=1).values
        assert torch.equal(e[f2e[:, k]], want)


# ---------------------------------------------------------------------------- modifying verts
def test_offset_verts_and_cache_invalidation():
    v, f = _cube_with_centres()
    m = Meshes([v], [f])
    n0 = m.verts_normals_packed().clone()
    a0 = m.faces_areas_packed().clone()
    off = torch.zeros_like(v)
    off[7] = torch.tensor([0.5, 0.2, 0.0])  # pull one corner away: normals and areas change
    m2 = m.offset_verts(off)
    assert torch.equal(m.verts_packed(), v)  # original untouched
    assert torch.allclose(m2.verts_packed(), v + off)
    assert torch.allclose(m2.verts_padded()[0], v + off)
    assert torch.allclose(m2.verts_list()[0], v + off)
    assert not torch.allclose(m2.faces_areas_packed(), a0)
    fresh = Meshes([v + off], [f])
    assert torch.allclose(m2.verts_normals_packed(), fresh.verts_normals_packed())
    assert torch.allclose(m2.faces_normals_packed(), fresh.faces_normals_packed())

    # In place, after caches were filled.
    m.verts_padded()
    m.verts_list()
    ret = m.offset_verts_(off)
    assert ret is m
    assert torch.allclose(m.verts_padded()[0], v + off) and torch.allclose(m.verts_list()[0], v + off)
    assert torch.allclose(m.verts_normals_packed(), fresh.verts_normals_packed())
    assert not torch.allclose(m.verts_normals_packed(), n0)
    assert torch.allclose(m.faces_areas_packed(), fresh.faces_areas_packed())

    # Uniform translation.
    t = m.offset_verts(torch.tensor([1.0, 2.0, 3.0]))
    assert torch.allclose(t.verts_packed(), v + off + torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="offsets"):
        m.offset_verts(torch.zeros(5, 3))


def test_offset_verts_is_differentiable():
    v = torch.rand(3, 3)
    off = torch.zeros(3, 3, requires_grad=True)
    m = Meshes([v], [torch.tensor([[0, 1, 2]])]).offset_verts(off)
    m.verts_packed().sum().backward()
    assert torch.equal(off.grad, torch.ones(3, 3))


def test_update_padded():
    verts, faces = _mixed_batch()
    m = Meshes(verts, faces)
    m.verts_normals_packed()
    m.edges_packed()
    new = m.verts_padded() * 2 + 1
    new.requires_grad_(True)
    u = m.update_padded(new)
    assert u.verts_padded() is new
    assert u.num_verts_per_mesh().tolist() == [4, 0, 3, 2]
    assert torch.equal(u.faces_packed(), m.faces_packed())
    for got, old in zip(u.verts_list(), m.verts_list()):
        assert torch.allclose(got, old * 2 + 1)
    assert torch.allclose(u.verts_packed(), m.verts_packed() * 2 + 1)
    fresh = Meshes([x * 2 + 1 for x in verts], faces)
    assert torch.allclose(u.faces_areas_packed(), fresh.faces_areas_packed())
    u.faces_areas_packed().sum().backward()
    assert new.grad is not None and new.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="shape"):
        m.update_padded(torch.zeros(4, 3, 3))


def test_scale_verts():
    v = torch.rand(3, 3)
    f = torch.tensor([[0, 1, 2]])
    m = Meshes([v, v], [f, f])
    s = m.scale_verts(torch.tensor([2.0, 3.0]))
    assert torch.allclose(s.verts_list()[1], v * 3)
    assert torch.allclose(s.faces_areas_packed(), m.faces_areas_packed() * torch.tensor([4.0, 9.0]))


# ---------------------------------------------------------------------------- copies / devices
def test_clone_detach_to():
    verts, faces = _mixed_batch()
    leaves = [x.clone().requires_grad_(True) for x in verts]
    tex = DummyTextures(list("abcd"))
    m = Meshes(leaves, faces, textures=tex)
    m.verts_normals_packed()
    c = m.clone()
    assert c.textures is not tex and c.textures.tags == tex.tags
    assert torch.equal(c.verts_padded(), m.verts_padded())
    assert c.verts_packed().data_ptr() != m.verts_packed().data_ptr()
    c.verts_packed().sum().backward()  # clone stays in the graph
    assert all(torch.equal(x.grad, torch.ones_like(x)) for x in leaves)
    d = m.detach()
    assert not d.verts_packed().requires_grad and not any(x.requires_grad for x in d.verts_list())
    assert not d.verts_normals_packed().requires_grad
    assert m.to("cpu") is m
    assert m.to("cpu", copy=True) is not m
    assert m.cpu() is m and m.device == torch.device("cpu")


def test_cuda_roundtrip(cuda_device):
    verts, faces = _mixed_batch()
    m = Meshes(verts, faces)
    g = m.cuda()
    assert g.device.type == "cuda" and g.verts_packed().is_cuda and g.faces_packed().is_cuda
    assert torch.equal(g.verts_padded().cpu(), m.verts_padded())
    assert torch.allclose(g.verts_normals_packed().cpu(), m.verts_normals_packed(), atol=1e-6)
    assert torch.equal(g.edges_packed().cpu(), m.edges_packed())
    back = g.cpu()
    assert back.device == torch.device("cpu") and torch.equal(back.faces_packed(), m.faces_packed())
    direct = Meshes([x.to(cuda_device) for x in verts], [x.to(cuda_device) for x in faces])
    assert torch.equal(direct.faces_padded().cpu(), m.faces_padded())


# ---------------------------------------------------------------------------- batching
def test_extend_getitem_and_textures():
    verts, faces = _mixed_batch()
    m = Meshes(verts, faces, textures=DummyTextures(list("abcd")))
    e = m.extend(2)
    assert len(e) == 8
    assert e.num_verts_per_mesh().tolist() == [4, 4, 0, 0, 3, 3, 2, 2]
    assert e.textures.tags == list("aabbccdd")
    assert torch.equal(e.verts_list()[5], verts[2]) and e.verts_list()[5] is not verts[2]
    with pytest.raises(ValueError):
        m.extend(0)
    with pytest.raises(ValueError):
        m.extend(1.5)

    one = m[2]
    assert len(one) == 1 and torch.equal(one.verts_packed(), verts[2]) and one.textures.tags == ["c"]
    assert m[-1].num_verts_per_mesh().tolist() == [2]
    sl = m[1:3]
    assert sl.num_faces_per_mesh().tolist() == [0, 1] and sl.textures.tags == ["b", "c"]
    lst = m[[3, 0]]
    assert lst.num_verts_per_mesh().tolist() == [2, 4] and lst.textures.tags == ["d", "a"]
    boolean = m[torch.tensor([True, False, True, False])]
    assert boolean.num_verts_per_mesh().tolist() == [4, 3] and boolean.textures.tags == ["a", "c"]
    long = m[torch.tensor([2, 2])]
    assert long.num_verts_per_mesh().tolist() == [3, 3]
    assert torch.equal(long.faces_packed(), torch.tensor([[0, 1, 2], [3, 4, 5]]))
    assert m[0].verts_list()[0] is verts[0]  # not cloned, as in PyTorch3D
    for bad in (torch.tensor([0.0]), torch.tensor([[0]]), "0", 1.0):
        with pytest.raises(IndexError):
            m[bad]
    with pytest.raises(IndexError):
        m[4]
    with pytest.raises(ValueError):
        m.get_mesh_verts_faces(4)


def test_join_meshes_as_batch():
    verts, faces = _mixed_batch()
    a = Meshes(verts[:2], faces[:2], textures=DummyTextures(["a", "b"]))
    b = Meshes(verts[2:], faces[2:], textures=DummyTextures(["c", "d"]))
    j = join_meshes_as_batch([a, b])
    ref = Meshes(verts, faces)
    assert len(j) == 4 and j.textures.tags == list("abcd")
    assert torch.equal(j.verts_padded(), ref.verts_padded())
    assert torch.equal(j.faces_packed(), ref.faces_packed())
    assert join_meshes_as_batch([a, b], include_textures=False).textures is None
    with pytest.raises(ValueError, match="textures"):
        join_meshes_as_batch([a, Meshes(verts[2:], faces[2:])])
    with pytest.raises(ValueError):
        join_meshes_as_batch(a)


def test_sample_textures_delegates_with_packed_faces():
    verts, faces = _mixed_batch()
    tex = DummyTextures(list("abcd"))
    m = Meshes(verts, faces, textures=tex)
    assert m.sample_textures("frags") == "texels"
    frag, fp = tex.calls[0]
    assert frag == "frags" and torch.equal(fp, m.faces_packed())
    with pytest.raises(ValueError, match="textures"):
        Meshes(verts, faces).sample_textures("frags")


def test_verts_normals_argument():
    v, f = _cube_with_centres()
    given = torch.nn.functional.normalize(torch.rand(14, 3), dim=1)
    m = Meshes([v], [f], verts_normals=[given])
    assert m.has_verts_normals() and torch.equal(m.verts_normals_packed(), given)
    assert torch.equal(Meshes(v[None], f[None], verts_normals=given[None]).verts_normals_packed(), given)
    moved = m.offset_verts(torch.tensor([1.0, 0, 0]))  # translation keeps given normals
    assert torch.equal(moved.verts_normals_packed(), given)
    bent = m.offset_verts(torch.rand(14, 3))  # per-vertex offsets recompute them
    assert not torch.allclose(bent.verts_normals_packed(), given)
    with pytest.raises(ValueError):
        Meshes([v], [f], verts_normals=[given[:3]])


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "verts, faces, exc, match",
    [
        ([torch.rand(3, 3)], [torch.tensor([[0, 1, 2, 0]])], ValueError, "faces must be triangles"),
        ([torch.rand(3, 3)], [torch.tensor([0, 1, 2])], ValueError, "faces must be triangles"),
        ([torch.rand(3, 2)], [torch.tensor([[0, 1, 2]])], ValueError, r"verts of mesh 0 must have shape \(V, 3\)"),
        ([torch.rand(3, 3), torch.rand(3, 3)], [torch.tensor([[0, 1, 2]])], ValueError, "same length"),
        ([torch.rand(3, 3)], [torch.tensor([[0.0, 1, 2]])], TypeError, "integer"),
        ([torch.rand(3, 3).long()], [torch.tensor([[0, 1, 2]])], TypeError, "floating point"),
        ([torch.rand(3, 3), torch.rand(3, 3)], [torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 3]])],
         ValueError, r"faces of mesh 1 index vertices outside \[0, 3\)"),
        ([torch.rand(3, 3)], [torch.tensor([[0, -1, 2]])], ValueError, "faces of mesh 0 index vertices outside"),
        ([torch.rand(3, 3)], [torch.tensor([[-1, -1, -1]])], ValueError, "faces of mesh 0 index vertices outside"),
        ([torch.rand(3, 3), torch.tensor([[0.0, 0, 0], [1, float("nan"), 0], [0, 1, 0]])],
         [torch.tensor([[0, 1, 2]])] * 2, ValueError, "verts of mesh 1 contain NaN or Inf"),
        ([torch.tensor([[0.0, 0, 0], [1, float("inf"), 0], [0, 1, 0]])], [torch.tensor([[0, 1, 2]])],
         ValueError, "verts of mesh 0 contain NaN or Inf"),
        ([torch.rand(3, 3)], torch.tensor([[[0, 1, 2]]]), ValueError, "both be lists"),
        ([torch.rand(3, 3)], ["x"], TypeError, "must be tensors"),
        (torch.rand(1, 3, 3), torch.tensor([[[0, 1, 3]]]), ValueError, "faces of mesh 0 index vertices outside"),
        (torch.rand(1, 3, 3), torch.tensor([[[0, -1, 2]]]), ValueError, "outside"),
        (torch.rand(2, 3, 3), torch.tensor([[[-1, -1, -1], [0, 1, 2]]] * 2), ValueError, "padding rows"),
        (torch.rand(2, 3, 3), torch.tensor([[[0, 1, 2]]]), ValueError, "same batch size"),
        (torch.rand(2, 3, 3), torch.tensor([[[0, 1]], [[0, 1]]]), ValueError, "faces must be triangles"),
        (torch.rand(2, 3), torch.tensor([[[0, 1, 2]]]), ValueError, r"\(N, V, 3\)"),
        (torch.rand(1, 3, 3), torch.tensor([[[0.0, 1, 2]]]), TypeError, "integer"),
        (torch.full((1, 3, 3), float("nan")), torch.tensor([[[0, 1, 2]]]), ValueError, "NaN or Inf"),
    ],
)
def test_validation_errors(verts, faces, exc, match):
    with pytest.raises(exc, match=match):
        Meshes(verts=verts, faces=faces)


def test_textures_validation():
    v, f = torch.rand(3, 3), torch.tensor([[0, 1, 2]])
    with pytest.raises(ValueError, match="sample_textures"):
        Meshes([v], [f], textures=object())
    with pytest.raises(ValueError, match="batch size"):
        Meshes([v], [f], textures=DummyTextures(["a", "b"]))


def test_submeshes_keep_the_chosen_faces_and_only_their_vertices():
    """PyTorch3D's Meshes.submeshes: one submesh per index tensor, vertices the faces use kept
    in ascending order of their old index, faces renumbered; vertex textures follow."""
    from core.renderer import TexturesUV, TexturesVertex

    verts, faces = _mixed_batch()
    quad_v, quad_f, tri_v = verts[0], faces[0], verts[2]
    meshes = Meshes(verts[:3], faces[:3], textures=TexturesVertex([v * 10.0 for v in verts[:3]]))
    subs = meshes.submeshes([[torch.tensor([1]), torch.tensor([0, 1])], [], [torch.tensor([0])]])
    assert len(subs) == 3
    # quad face 1 is (0, 2, 3): vertices 0, 2, 3 kept, renumbered 0, 1, 2
    assert torch.equal(subs.verts_list()[0], quad_v[[0, 2, 3]])
    assert subs.faces_list()[0].tolist() == [[0, 1, 2]]
    # both quad faces: the whole quad again
    assert torch.equal(subs.verts_list()[1], quad_v) and torch.equal(subs.faces_list()[1], quad_f)
    assert torch.equal(subs.verts_list()[2], tri_v)
    # every submesh face is the same triangle in space as the face it came from
    for sub, (src_v, src_f, ids) in zip(subs, [(quad_v, quad_f, [1]), (quad_v, quad_f, [0, 1]), (tri_v, faces[2], [0])]):
        assert torch.equal(sub.verts_packed()[sub.faces_packed()], src_v[src_f[ids]])
    assert torch.equal(subs.textures.verts_features_list()[0], quad_v[[0, 2, 3]] * 10.0)
    # the tensor forms: (S, F) per mesh and (N, S, F)
    assert len(meshes[0].submeshes(torch.tensor([[[0], [1]]]))) == 2
    assert len(meshes.submeshes([torch.tensor([[0]]), torch.zeros((0, 1), dtype=torch.int64), torch.tensor([[0]])])) == 2
    with pytest.raises(ValueError, match="one set of submeshes"):
        meshes.submeshes([[torch.tensor([0])]])
    uv = TexturesUV(torch.rand(1, 4, 4, 3), [quad_f], [quad_v[:, :2]])
    with pytest.raises(ValueError, match="TexturesVertex"):
        Meshes([quad_v], [quad_f], textures=uv).submeshes([[torch.tensor([0])]])
