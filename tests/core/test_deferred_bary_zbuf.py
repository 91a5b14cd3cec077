"""Deferred barycentrics and depths (`defer_bary_zbuf`): renders that read only the distances
(silhouettes) skip them in the selection pass; whatever is read must equal the eager path,
values and gradients, including the depths that rank the rows of overfull pixels."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core import renderer as R
from core.renderer.mesh import rasterize_meshes as RM
from core.structures import Meshes
from core.utils import ico_sphere
from tests.core.random_meshes import random_ndc_meshes


def _rasterize(meshes: Meshes, defer: bool, **settings):
    return R.rasterize_meshes(meshes, image_size=(18, 22), defer_bary_zbuf=defer, **settings)


CASES = [
    dict(faces_per_pixel=3, blur_radius=0.01, perspective_correct=False, clip_barycentric_coords=True),
    dict(faces_per_pixel=3, blur_radius=0.01, perspective_correct=True, clip_barycentric_coords=True),
    dict(faces_per_pixel=2, blur_radius=0.0, perspective_correct=True, clip_barycentric_coords=False),
    dict(faces_per_pixel=50, blur_radius=0.02, perspective_correct=True, clip_barycentric_coords=True),
    dict(faces_per_pixel=3, blur_radius=0.01, perspective_correct=True, clip_barycentric_coords=True, cull_backfaces=True),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("settings", CASES, ids=["clip", "clip-persp", "no-blur-persp", "k50", "cull"])
def test_deferred_fragments_equal_eager(settings, dtype):
    meshes = random_ndc_meshes(1, dtype=dtype)
    eager = _rasterize(meshes, False, **settings)
    deferred = _rasterize(meshes, True, **settings)
    k = settings["faces_per_pixel"]
    fullest = int((eager[0] >= 0).sum(-1).max())
    assert fullest == k if k < 50 else 0 < fullest < k  # overfull pixels ranked by depth, or none at all
    for name, a, b in zip(("pix_to_face", "zbuf", "bary_coords", "dists"), eager, deferred):
        assert torch.equal(a, b), name


def test_deferred_fragments_equal_eager_through_merges_and_chunks(monkeypatch):
    """Partial top-K merges during the selection (which then rank by computed depths) and a
    chunked recomputation of the barycentrics give the eager values too."""
    settings = dict(faces_per_pixel=2, blur_radius=0.01, perspective_correct=True, clip_barycentric_coords=True)
    meshes = random_ndc_meshes(2)
    monkeypatch.setattr(RM, "_MERGE_ENTRIES", 40)
    monkeypatch.setattr(RM, "_CHUNK_PAIRS", 17)
    eager = _rasterize(meshes, False, **settings)
    deferred = _rasterize(meshes, True, **settings)
    for a, b in zip(eager, deferred):
        assert torch.equal(a, b)


@pytest.mark.parametrize("settings", CASES[:3], ids=["clip", "clip-persp", "no-blur-persp"])
def test_deferred_gradients_equal_eager(settings):
    """Vertex gradients through bary, zbuf and dists (each weighted at random), float64."""
    meshes = random_ndc_meshes(3)
    grads = []
    for defer in (False, True):
        offset = torch.zeros_like(meshes.verts_packed(), requires_grad=True)
        _, zbuf, bary, dists = _rasterize(meshes.offset_verts(offset), defer, **settings)
        gen = torch.Generator().manual_seed(0)
        weights = [torch.randn(t.shape, generator=gen, dtype=t.dtype) for t in (zbuf, bary, dists)]
        grads.append(torch.autograd.grad((zbuf, bary, dists), offset, weights)[0])
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-10, atol=1e-12)


def test_deferral_needs_depths_that_cannot_be_negative():
    """Without clipping, a blurred fragment's extrapolated depth may be negative and must be
    tested: the hint is then ignored, and select_fragments refuses to leave depths out."""
    meshes = random_ndc_meshes(4)
    settings = dict(faces_per_pixel=3, blur_radius=0.05, perspective_correct=False, clip_barycentric_coords=False)
    for a, b in zip(_rasterize(meshes, False, **settings), _rasterize(meshes, True, **settings)):
        assert torch.equal(a, b)
    face_verts = meshes.verts_packed()[meshes.faces_packed()]
    with pytest.raises(ValueError, match="without depths"):
        RM.select_fragments(face_verts, meshes.faces_packed_to_mesh_idx(), (8, 8), 0.05, 3, False, False, False,
                            with_geometry=False)
    with pytest.raises(ValueError, match="without depths"):
        RM.select_fragments(face_verts, meshes.faces_packed_to_mesh_idx(), (8, 8), 0.01, 1, False, False, True,
                            with_geometry=False)


def _sphere_scene():
    mesh = ico_sphere(2).extend(2)
    Rm, T = R.look_at_view_transform(2.7, torch.tensor([10.0, -20.0]), torch.tensor([30.0, 150.0]))
    cameras = R.FoVPerspectiveCameras(R=Rm, T=T)
    blend = R.BlendParams(sigma=1e-4, gamma=1e-4)
    settings = R.RasterizationSettings(image_size=48, blur_radius=float(np.log(1 / 1e-4 - 1) * 1e-4), faces_per_pixel=20)
    return mesh, cameras, blend, settings


def test_silhouette_renderer_defers_and_matches_eager(monkeypatch):
    """MeshRenderer hints a silhouette shader's renders (and only those) to defer; images,
    vertex gradients and the fragments read afterwards equal the eager path's."""
    mesh, cameras, blend, settings = _sphere_scene()
    calls = []
    select = RM.select_fragments
    monkeypatch.setattr(RM, "select_fragments", lambda *a, **k: calls.append(k.get("with_geometry", True)) or select(*a, **k))
    rasterizer = R.MeshRasterizer(cameras, settings)
    silhouette = R.MeshRendererWithFragments(rasterizer, R.SoftSilhouetteShader(blend))

    results = []
    for render in (silhouette, lambda m: (silhouette.shader(f := rasterizer(m), m), f)):
        verts = mesh.verts_padded().detach().requires_grad_(True)
        images, fragments = render(mesh.update_padded(verts))
        (grad,) = torch.autograd.grad(images[..., 3].sum(), verts)
        results.append((images.detach(), grad, fragments))
    half = len(calls) // 2  # one call per group of images (see parallel_parts)
    assert half >= 1 and calls == [False] * half + [True] * half
    (img_d, grad_d, frag_d), (img_e, grad_e, frag_e) = results
    assert torch.equal(img_d, img_e)
    torch.testing.assert_close(grad_d, grad_e, rtol=1e-5, atol=1e-6)
    for name in ("pix_to_face", "zbuf", "bary_coords", "dists"):
        assert torch.equal(getattr(frag_d, name).detach(), getattr(frag_e, name).detach()), name

    calls.clear()
    textured = mesh.clone()
    textured.textures = R.TexturesVertex(verts_features=torch.ones_like(mesh.verts_padded()))
    R.MeshRenderer(rasterizer, R.SoftPhongShader(cameras=cameras, blend_params=blend))(textured)
    assert calls and all(calls)


def test_deferred_bary_zbuf_carry_gradients_when_read_and_detach():
    """Barycentrics and depths read after a deferred render still reach the vertices; detached
    fragments compute them without a graph."""
    mesh, cameras, _, settings = _sphere_scene()
    verts = mesh.verts_padded().detach().requires_grad_(True)
    fragments = R.MeshRasterizer(cameras, settings)(mesh.update_padded(verts), defer_bary_zbuf=True)
    eager = R.MeshRasterizer(cameras, settings)(mesh)
    detached = fragments.detach()
    (grad,) = torch.autograd.grad((fragments.zbuf * (fragments.zbuf >= 0)).sum(), verts)
    assert grad.abs().sum() > 0
    assert not detached.zbuf.requires_grad and not detached.bary_coords.requires_grad
    assert torch.equal(detached.zbuf, eager.zbuf) and torch.equal(detached.bary_coords, eager.bary_coords)


@pytest.mark.cuda
@pytest.mark.parametrize("settings", CASES, ids=["clip", "clip-persp", "no-blur-persp", "k50", "cull"])
def test_deferred_fragments_equal_eager_on_cuda(cuda_device, settings):
    """On CUDA too, deferral changes nothing: same values as the eager path on that device, and
    the same fragments as the CPU up to float32 rounding."""
    meshes = random_ndc_meshes(4, dtype=torch.float32).to(cuda_device)
    eager = _rasterize(meshes, False, **settings)
    deferred = _rasterize(meshes, True, **settings)
    for name, a, b in zip(("pix_to_face", "zbuf", "bary_coords", "dists"), eager, deferred):
        assert a.device.type == "cuda"
        assert torch.equal(a, b), name
    on_cpu = _rasterize(meshes.to("cpu"), True, **settings)
    same = on_cpu[0] == eager[0].cpu()
    assert same.float().mean() > 0.999
    hit = same & (on_cpu[0] >= 0)
    for a, b in zip(eager[1:], on_cpu[1:]):
        torch.testing.assert_close(a.cpu()[hit], b[hit], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("perspective_correct", [False, True])
def test_inside_from_signs_equals_inside_from_weights(dtype, perspective_correct):
    """The deferred selection's inside test (signs of the edge functions) decides as the weights
    do, for both windings, pixels exactly on edges and vertices, and tiny faces."""
    g = torch.Generator().manual_seed(5)
    m = 20000
    xy = (torch.rand(m, 3, 2, generator=g, dtype=torch.float64) * 2 - 1) * torch.rand(m, 1, 1, generator=g, dtype=torch.float64) ** 4
    z = torch.rand(m, 3, generator=g, dtype=torch.float64) * 4 + 0.5
    p = torch.rand(m, 2, generator=g, dtype=torch.float64) * 0.4 - 0.2
    p[:2000] = xy[:2000, 0]  # on a vertex
    p[2000:4000] = (xy[2000:4000, 0] + xy[2000:4000, 1]) / 2  # on an edge (up to rounding)
    xy, z, p = xy.to(dtype), z.to(dtype), p.to(dtype)
    v = tuple(t for i in range(3) for t in (xy[:, i, 0], xy[:, i, 1], z[:, i]))
    d = RM.pair_differences(p[:, 0], p[:, 1], v)
    expected = RM._corrected_weights(d, v, perspective_correct)[1]
    assert 0.05 < expected.double().mean() < 0.95
    assert torch.equal(RM._inside(d), expected)
