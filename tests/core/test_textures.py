"""TexturesVertex and TexturesUV: representations, sampling values, batching, gradients, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.renderer.mesh.fragments import Fragments
from core.renderer.mesh.textures import TexturesUV, TexturesVertex
from core.structures import Meshes


def _fragments(pix_to_face, bary):
    pix_to_face = torch.as_tensor(pix_to_face, dtype=torch.int64)
    bary = torch.as_tensor(bary, dtype=torch.float32)
    empty = pix_to_face < 0
    zeros = torch.zeros(pix_to_face.shape)
    return Fragments(pix_to_face=pix_to_face, zbuf=zeros.masked_fill(empty, -1), bary_coords=bary, dists=zeros)


def _bilinear(img, u, v):
    """Hand-written bilinear lookup with align_corners=True and border clamping; img (H, W, C)."""
    H, W, _ = img.shape
    x = min(max(u * (W - 1), 0.0), W - 1)
    y = min(max((1.0 - v) * (H - 1), 0.0), H - 1)
    x0, y0 = int(x), int(y)
    x1, y1 = min(x0 + 1, W - 1), min(y0 + 1, H - 1)
    fx, fy = x - x0, y - y0
    return (
        img[y0, x0] * (1 - fx) * (1 - fy)
        + img[y0, x1] * fx * (1 - fy)
        + img[y1, x0] * (1 - fx) * fy
        + img[y1, x1] * fx * fy
    )


# ---------------------------------------------------------------------------------------------
# TexturesVertex
# ---------------------------------------------------------------------------------------------
def test_vertex_list_padded_packed():
    a = torch.arange(6.0).reshape(2, 3)
    b = torch.arange(12.0).reshape(4, 3) + 100
    tex = TexturesVertex([a, b])
    assert tex._N == 2 and tex._num_verts_per_mesh == [2, 4]
    padded = tex.verts_features_padded()
    assert padded.shape == (2, 4, 3)
    assert torch.equal(padded[0, :2], a) and torch.equal(padded[0, 2:], torch.zeros(2, 3))
    assert torch.equal(tex.verts_features_packed(), torch.cat([a, b]))
    # From padded: the list splits by the per-mesh counts.
    tex2 = TexturesVertex(padded)
    tex2._num_verts_per_mesh = [2, 4]  # what Meshes sets
    assert torch.equal(tex2.verts_features_packed(), torch.cat([a, b]))
    assert [t.shape[0] for t in tex2.verts_features_list()] == [2, 4]


def test_vertex_sample_textures_interpolates():
    feats = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [4.0, 8.0]])  # (V=4, C=2)
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    tex = TexturesVertex([feats])
    bary = torch.tensor([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]]).reshape(1, 1, 3, 1, 3)
    frags = _fragments(torch.tensor([0, 1, -1]).reshape(1, 1, 3, 1), bary)
    out = tex.sample_textures(frags, faces_packed=faces)
    assert out.shape == (1, 1, 3, 1, 2)
    torch.testing.assert_close(out[0, 0, 0, 0], 0.2 * feats[0] + 0.3 * feats[1] + 0.5 * feats[2])
    torch.testing.assert_close(out[0, 0, 1, 0], 0.1 * feats[1] + 0.6 * feats[3] + 0.3 * feats[2])
    torch.testing.assert_close(out[0, 0, 2, 0], torch.zeros(2))  # empty fragment
    with pytest.raises(ValueError, match="faces_packed"):
        tex.sample_textures(frags)


def test_vertex_gradients_flow_to_features():
    feats = torch.rand(3, 3, requires_grad=True)
    tex = TexturesVertex([feats])
    frags = _fragments(torch.zeros(1, 1, 1, 1), torch.tensor([0.2, 0.3, 0.5]).reshape(1, 1, 1, 1, 3))
    tex.sample_textures(frags, faces_packed=torch.tensor([[0, 1, 2]])).sum().backward()
    torch.testing.assert_close(feats.grad, torch.tensor([[0.2] * 3, [0.3] * 3, [0.5] * 3]))


def test_vertex_extend_getitem_join_clone_detach():
    a, b = torch.zeros(2, 3), torch.ones(3, 3)
    tex = TexturesVertex([a, b])
    ext = tex.extend(2)
    assert ext._N == 4 and ext._num_verts_per_mesh == [2, 2, 3, 3]
    got = ext.verts_features_list()
    for t, ref in zip(got, [a, a, b, b]):
        assert torch.equal(t, ref)
    with pytest.raises(ValueError):
        tex.extend(0)
    one = tex[1]
    assert one._N == 1 and torch.equal(one.verts_features_packed(), b)
    sub = tex[[1, 0]]
    assert torch.equal(sub.verts_features_packed(), torch.cat([b, a]))
    assert torch.equal(tex[torch.tensor([False, True])].verts_features_packed(), b)
    joined = tex.join_batch([TexturesVertex([torch.full((1, 3), 5.0)])])
    assert joined._N == 3 and joined._num_verts_per_mesh == [2, 3, 1]
    assert torch.equal(joined.verts_features_packed()[-1], torch.full((3,), 5.0))
    with pytest.raises(ValueError, match="TexturesVertex"):
        tex.join_batch([object()])
    src = torch.rand(2, 3, requires_grad=True)
    t = TexturesVertex([src])
    c = t.clone()
    c.verts_features_list()[0].data.fill_(9.0)
    assert not torch.equal(src, torch.full((2, 3), 9.0))
    assert c.verts_features_packed().requires_grad and not t.detach().verts_features_packed().requires_grad
    assert t.to("cpu").device.type == "cpu" and not t.isempty()
    assert TexturesVertex([]).isempty()


def test_vertex_validation():
    with pytest.raises(ValueError, match=r"\(V, C\)"):
        TexturesVertex([torch.zeros(3)])
    with pytest.raises(ValueError, match=r"\(N, V, C\)"):
        TexturesVertex(torch.zeros(3, 3))
    with pytest.raises(TypeError):
        TexturesVertex("rgb")
    with pytest.raises(ValueError, match="channel"):
        TexturesVertex([torch.zeros(3, 3), torch.zeros(3, 4)])


# ---------------------------------------------------------------------------------------------
# TexturesUV
# ---------------------------------------------------------------------------------------------
def _map(H=3, W=4, C=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(H, W, C, generator=g)


def test_uv_accessors_and_defaults():
    m = _map()
    faces_uvs = torch.tensor([[0, 1, 2], [2, 1, 3]])
    verts_uvs = torch.rand(4, 2)
    tex = TexturesUV([m], [faces_uvs], [verts_uvs])
    assert tex.padding_mode == "border" and tex.align_corners is True and tex.sampling_mode == "bilinear"
    assert tex._N == 1 and tex._num_faces_per_mesh == [2]
    assert torch.equal(tex.maps_padded(), m[None]) and torch.equal(tex.maps_list()[0], m)
    assert torch.equal(tex.faces_uvs_padded(), faces_uvs[None]) and torch.equal(tex.faces_uvs_list()[0], faces_uvs)
    assert torch.equal(tex.verts_uvs_padded(), verts_uvs[None]) and torch.equal(tex.verts_uvs_list()[0], verts_uvs)
    assert tex.faces_uvs_padded().dtype == torch.int64


def test_uv_sampling_matches_hand_bilinear():
    m = _map(3, 4)
    verts_uvs = torch.tensor([[0.1, 0.2], [0.9, 0.3], [0.4, 0.95]])
    tex = TexturesUV([m], [torch.tensor([[0, 1, 2]])], [verts_uvs])
    barys = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.0, 0.0, 1.0]])
    frags = _fragments(torch.zeros(1, 2, 2, 1), barys.reshape(1, 2, 2, 1, 3))
    out = tex.sample_textures(frags)
    assert out.shape == (1, 2, 2, 1, 3)
    for i, b in enumerate(barys):
        u, v = (b[:, None] * verts_uvs).sum(0).tolist()
        torch.testing.assert_close(out.reshape(4, 3)[i], _bilinear(m, u, v), atol=1e-6, rtol=1e-5)
    # A pure corner: uv (0, 1) is the top-left texel, (1, 0) the bottom-right one.
    corner = TexturesUV([m], [torch.tensor([[0, 1, 2]])], [torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])])
    frags = _fragments(torch.zeros(1, 1, 2, 1), torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).reshape(1, 1, 2, 1, 3))
    out = corner.sample_textures(frags)
    torch.testing.assert_close(out[0, 0, 0, 0], m[0, 0])
    torch.testing.assert_close(out[0, 0, 1, 0], m[-1, -1])


def test_uv_border_padding_clamps_outside_uvs():
    m = _map(3, 4)
    verts_uvs = torch.tensor([[1.5, -0.5], [-0.7, 2.0], [0.5, -3.0]])
    tex = TexturesUV([m], [torch.tensor([[0, 1, 2]])], [verts_uvs])
    frags = _fragments(torch.zeros(1, 1, 3, 1), torch.eye(3).reshape(1, 1, 3, 1, 3))
    out = tex.sample_textures(frags)[0, 0, :, 0]
    torch.testing.assert_close(out[0], m[-1, -1])  # beyond bottom-right
    torch.testing.assert_close(out[1], m[0, 0])  # beyond top-left
    torch.testing.assert_close(out[2], 0.5 * (m[-1, 1] + m[-1, 2]))  # below the bottom edge, half-way


def test_uv_each_mesh_samples_its_own_map_with_packed_faces():
    # Mesh 0 has 2 faces and a red map, mesh 1 has 1 face and a green map.
    red = torch.zeros(2, 2, 3)
    red[..., 0] = 1.0
    green = torch.zeros(2, 2, 3)
    green[..., 1] = 1.0
    green[0, 0] = torch.tensor([0.0, 0.0, 1.0])  # top-left texel of mesh 1 is blue
    tex = TexturesUV(
        [red, green],
        [torch.tensor([[0, 1, 2], [0, 2, 1]]), torch.tensor([[1, 0, 2]])],
        [
            torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]),
            torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [9.0, 9.0]]),
        ],
    )
    # Batch element 1's fragment hits packed face 2 = face 0 of mesh 1; bary (1,0,0) → uv index 1 → uv (0, 1).
    pix_to_face = torch.tensor([[[[1]]], [[[2]]]])
    bary = torch.tensor([1.0, 0.0, 0.0]).expand(2, 1, 1, 1, 3)
    out = tex.sample_textures(_fragments(pix_to_face, bary))
    assert out.shape == (2, 1, 1, 1, 3)
    torch.testing.assert_close(out[0, 0, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(out[1, 0, 0, 0], torch.tensor([0.0, 0.0, 1.0]))


def test_uv_multiple_faces_per_pixel_and_empty():
    m = _map(4, 4)
    verts_uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    tex = TexturesUV([m], [torch.tensor([[0, 1, 2], [3, 2, 1]])], [verts_uvs])
    pix_to_face = torch.tensor([0, 1, -1]).reshape(1, 1, 1, 3)
    bary = torch.tensor([[1.0, 0, 0], [1.0, 0, 0], [0.0, 0.0, 0.0]]).reshape(1, 1, 1, 3, 3)
    out = tex.sample_textures(_fragments(pix_to_face, bary))
    torch.testing.assert_close(out[0, 0, 0, 0], m[-1, 0])  # uv (0, 0): bottom-left
    torch.testing.assert_close(out[0, 0, 0, 1], m[0, -1])  # uv (1, 1): top-right
    torch.testing.assert_close(out[0, 0, 0, 2], m[-1, 0])  # empty → uv (0, 0), as PyTorch3D


def test_uv_gradcheck_wrt_map_and_grad_to_uvs():
    m = _map(3, 4, seed=1).double().requires_grad_()
    verts_uvs = torch.tensor([[0.1, 0.2], [0.9, 0.3], [0.4, 0.95]], dtype=torch.float64, requires_grad=True)
    faces_uvs = torch.tensor([[0, 1, 2]])
    bary = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], dtype=torch.float64).reshape(1, 1, 2, 1, 3)
    zeros = torch.zeros(1, 1, 2, 1)
    frags = Fragments(torch.zeros(1, 1, 2, 1, dtype=torch.int64), zeros, bary, zeros)

    def f(map_, uvs):
        return TexturesUV([map_], [faces_uvs], [uvs]).sample_textures(frags)

    assert torch.autograd.gradcheck(lambda mp: f(mp, verts_uvs.detach()), (m,))
    assert torch.autograd.gradcheck(lambda uv: f(m.detach(), uv), (verts_uvs,))
    f(m, verts_uvs).sum().backward()
    assert m.grad.abs().sum() > 0 and verts_uvs.grad.abs().sum() > 0


def test_uv_maps_of_different_sizes_are_resized():
    small, big = _map(2, 2, seed=2), _map(4, 6, seed=3)
    faces = [torch.tensor([[0, 1, 2]])] * 2
    uvs = [torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])] * 2
    tex = TexturesUV([small, big], faces, uvs)
    assert tex.maps_padded().shape == (2, 4, 6, 3)
    assert tex.maps_list()[0] is small
    # align_corners=True resizing keeps the corner texels.
    torch.testing.assert_close(tex.maps_padded()[0, 0, 0], small[0, 0])
    torch.testing.assert_close(tex.maps_padded()[0, -1, -1], small[-1, -1])


def test_uv_extend_getitem_join_clone_detach_to():
    m0, m1 = _map(seed=4), _map(seed=5)
    f0, f1 = torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 2], [1, 2, 3]])
    v0, v1 = torch.rand(3, 2), torch.rand(4, 2)
    tex = TexturesUV([m0, m1], [f0, f1], [v0, v1])
    ext = tex.extend(3)
    assert ext._N == 6 and ext._num_faces_per_mesh == [1, 1, 1, 2, 2, 2]
    for i, ref in enumerate([m0, m0, m0, m1, m1, m1]):
        assert torch.equal(ext.maps_padded()[i], ref)
    assert torch.equal(ext.faces_uvs_list()[4], f1) and torch.equal(ext.faces_uvs_list()[0], f0)
    assert torch.equal(ext.verts_uvs_list()[5][:4], v1)
    one = tex[1]
    assert one._N == 1 and torch.equal(one.maps_padded()[0], m1) and torch.equal(one.faces_uvs_list()[0], f1)
    sub = tex[[1, 0]]
    assert torch.equal(sub.maps_padded()[1], m0) and sub._num_faces_per_mesh == [2, 1]
    joined = tex.join_batch([TexturesUV([m0], [f0], [v0])])
    assert joined._N == 3 and joined._num_faces_per_mesh == [1, 2, 1]
    assert torch.equal(joined.maps_padded()[2], m0)
    with pytest.raises(ValueError, match="padding_mode"):
        tex.join_batch([TexturesUV([m0], [f0], [v0], padding_mode="zeros")])
    with pytest.raises(ValueError, match="TexturesUV"):
        tex.join_batch([TexturesVertex([torch.zeros(3, 3)])])
    mp = m0.clone().requires_grad_()
    t = TexturesUV([mp], [f0], [v0])
    c = t.clone()
    c.maps_padded().data.fill_(3.0)
    assert not torch.equal(mp, torch.full_like(mp, 3.0))
    assert c.maps_padded().requires_grad and not t.detach().maps_padded().requires_grad
    assert t.to("cpu") is t and t.device.type == "cpu"
    assert c.sampling_mode == t.sampling_mode and c.padding_mode == t.padding_mode


def test_uv_sample_after_extend_matches_per_element():
    m0, m1 = _map(seed=6), _map(seed=7)
    f0, f1 = torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 2], [1, 2, 3]])
    v0, v1 = torch.rand(3, 2), torch.rand(4, 2)
    tex = TexturesUV([m0, m1], [f0, f1], [v0, v1]).extend(2)  # [0, 0, 1, 1]; faces packed 1, 1, 2, 2
    # Element 3 (second copy of mesh 1) hits its face 1: packed index 1 + 1 + 2 + 1 = 5.
    pix_to_face = torch.tensor([0, 1, 3, 5]).reshape(4, 1, 1, 1)
    bary = torch.tensor([0.2, 0.3, 0.5]).expand(4, 1, 1, 1, 3)
    out = tex.sample_textures(_fragments(pix_to_face, bary))
    uv1 = 0.2 * v1[1] + 0.3 * v1[2] + 0.5 * v1[3]
    torch.testing.assert_close(out[3, 0, 0, 0], _bilinear(m1, *uv1.tolist()), atol=1e-6, rtol=1e-5)
    uv0 = 0.2 * v0[0] + 0.3 * v0[1] + 0.5 * v0[2]
    torch.testing.assert_close(out[1, 0, 0, 0], _bilinear(m0, *uv0.tolist()), atol=1e-6, rtol=1e-5)


def test_uv_validation():
    m, f, v = _map(), torch.tensor([[0, 1, 2]]), torch.rand(3, 2)
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        TexturesUV([torch.rand(4, 4)], [f], [v])
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        TexturesUV(torch.rand(4, 4, 3), [f], [v])
    with pytest.raises(ValueError, match="one texture map per mesh"):
        TexturesUV([m, m], [f], [v])
    with pytest.raises(ValueError, match="batch"):
        TexturesUV([m], [f], [v, v])
    with pytest.raises(ValueError, match=r"\(F, 3\)"):
        TexturesUV([m], [torch.tensor([0, 1, 2])], [v])
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        TexturesUV([m], [f], [torch.rand(3, 3)])
    with pytest.raises(ValueError, match="only 3 uvs"):
        TexturesUV([m], [torch.tensor([[0, 1, 3]])], [v])
    with pytest.raises(ValueError, match="indices"):
        TexturesUV([m], [torch.tensor([[0, -1, 2]])], [v])
    with pytest.raises(TypeError, match="integer"):
        TexturesUV([m], [f.float()], [v])
    with pytest.raises(TypeError, match="floating"):
        TexturesUV([(m * 255).to(torch.uint8)], [f], [v])
    with pytest.raises(ValueError, match="padding_mode"):
        TexturesUV([m], [f], [v], padding_mode="wrap")
    with pytest.raises(ValueError, match="batch size"):
        TexturesUV([m], [f], [v]).sample_textures(_fragments(torch.zeros(2, 1, 1, 1), torch.zeros(2, 1, 1, 1, 3)))


def test_uv_batched_multi_k_matches_hand_bilinear():
    g = torch.Generator().manual_seed(8)
    maps = [torch.rand(5, 4, 3, generator=g), torch.rand(5, 4, 3, generator=g)]
    faces = [torch.tensor([[0, 1, 2], [2, 3, 0]]), torch.tensor([[1, 2, 0]])]
    uvs = [torch.rand(4, 2, generator=g), torch.rand(3, 2, generator=g)]
    tex = TexturesUV(maps, faces, uvs)
    N, H, W, K = 2, 2, 3, 2
    pix_to_face = torch.tensor([[[[0, 1], [1, -1], [0, 0]], [[1, 0], [0, 1], [-1, -1]]],
                                [[[2, -1], [2, 2], [-1, -1]], [[2, 2], [-1, -1], [2, -1]]]])
    bary = torch.rand(N, H, W, K, 3, generator=g)
    bary = bary / bary.sum(-1, keepdim=True)
    out = tex.sample_textures(_fragments(pix_to_face, bary))
    assert out.shape == (N, H, W, K, 3)
    offsets = [0, 2]
    for idx in np.ndindex(N, H, W, K):
        n, f = idx[0], int(pix_to_face[idx])
        if f < 0:
            continue
        corner_uvs = uvs[n][faces[n][f - offsets[n]]]
        u, v = (bary[idx][:, None] * corner_uvs).sum(0).tolist()
        torch.testing.assert_close(out[idx], _bilinear(maps[n], u, v), atol=1e-6, rtol=1e-5)


def test_padded_textures_follow_the_meshes_sizes():
    """As in PyTorch3D, Meshes tells padded textures its per-mesh sizes: packed features and
    uvs then line up with packed vertices and faces of meshes of different sizes."""
    from core.utils import ico_sphere

    small, large = ico_sphere(0), ico_sphere(1)
    verts, faces = [small.verts_packed(), large.verts_packed()], [small.faces_packed(), large.faces_packed()]
    colours = [torch.rand(12, 3), torch.rand(42, 3)]
    padded = torch.zeros(2, 42, 3)
    padded[0, :12], padded[1] = colours
    meshes = Meshes(verts, faces, textures=TexturesVertex(padded))
    assert torch.equal(meshes.textures.verts_features_packed(), torch.cat(colours))
    uvs = [torch.rand(12, 2), torch.rand(42, 2)]
    uv_padded = torch.zeros(2, 42, 2)
    uv_padded[0, :12], uv_padded[1] = uvs
    faces_uvs = torch.zeros(2, 80, 3, dtype=torch.int64)
    faces_uvs[0, :20], faces_uvs[1] = faces
    meshes = Meshes(verts, faces, textures=TexturesUV(torch.rand(2, 8, 8, 3), faces_uvs, uv_padded))
    corners = meshes.textures.faces_verts_textures_packed()
    assert corners.shape[0] == 100  # 20 + 80 faces, no padding rows
