"""Blending against a dense, straightforward reimplementation of PyTorch3D's formulas.

The reference functions below work on the full (N, H, W, K) tensors with masks, exactly as
CONVENTIONS.md "Blending" states them; `core` works on the sparse filled slots with
log-sigmoid products. Values and gradients must agree. The shader-level tests check the
limits: soft Phong with tiny sigma/gamma equals hard Phong, and the silhouette alpha tends
to the coverage as sigma -> 0.
"""
from __future__ import annotations

import math

import pytest
import torch

from core import renderer as R
from core.renderer.blending import softmax_terms, sparse_fragments
from core.renderer.mesh.fragments import Fragments, SparseFragments
from core.structures import Meshes
from core.utils import ico_sphere

EPS = 1e-10


# ----------------------------------------------------------------------------- dense references


def ref_hard(colors, p2f, bg):
    covered = p2f[..., 0] >= 0
    rgb = torch.where(covered[..., None], colors[..., 0, :], bg.expand_as(colors[..., 0, :]))
    return torch.cat([rgb, covered[..., None].to(colors.dtype)], -1)


def ref_sigmoid(colors, p2f, dists, sigma):
    mask = (p2f >= 0).to(dists.dtype)
    prob = torch.sigmoid(-dists / sigma) * mask
    alpha = 1.0 - torch.prod(1.0 - prob, dim=-1)
    return torch.cat([colors[..., 0, :], alpha[..., None]], -1)


def ref_softmax(colors, p2f, zbuf, dists, sigma, gamma, bg, znear=1.0, zfar=100.0):
    n = p2f.shape[0]
    if torch.is_tensor(znear):
        znear = znear.reshape(-1).expand(n)[:, None, None, None]
    if torch.is_tensor(zfar):
        zfar = zfar.reshape(-1).expand(n)[:, None, None, None]
    mask = (p2f >= 0).to(dists.dtype)
    prob = torch.sigmoid(-dists / sigma) * mask
    alpha = 1.0 - torch.prod(1.0 - prob, dim=-1)
    z_inv = (zfar - zbuf) / (zfar - znear) * mask
    z_max = torch.max(z_inv, dim=-1, keepdim=True).values.clamp(min=EPS)
    w = prob * torch.exp((z_inv - z_max) / gamma)
    delta = torch.exp((EPS - z_max) / gamma).clamp(min=EPS)
    denom = w.sum(-1, keepdim=True) + delta
    rgb = ((w[..., None] * colors).sum(-2) + delta * bg) / denom
    return torch.cat([rgb, alpha[..., None]], -1)


def random_fragments(seed, n=2, h=5, w=6, k=4, sigma=1e-2, dtype=torch.float64, contiguous=True):
    """Random dense fragments with empty slots; when contiguous, filled slots come first in each pixel."""
    g = torch.Generator().manual_seed(seed)
    count = torch.randint(0, k + 1, (n, h, w), generator=g)  # 0..K filled slots per pixel
    slot = torch.arange(k)
    if contiguous:
        filled = slot < count[..., None]
    else:
        filled = torch.rand(n, h, w, k, generator=g) < 0.6
    p2f = torch.where(filled, torch.randint(0, 50, (n, h, w, k), generator=g), -1)
    zbuf = torch.rand(n, h, w, k, generator=g, dtype=dtype) * 12.0 + 0.5  # some beyond zfar=10 below
    zbuf, _ = torch.sort(zbuf, dim=-1)
    dists = torch.randn(n, h, w, k, generator=g, dtype=dtype) * 3 * sigma
    bary = torch.rand(n, h, w, k, 3, generator=g, dtype=dtype)
    zbuf = torch.where(filled, zbuf, -1.0)
    dists = torch.where(filled, dists, -1.0)
    bary = torch.where(filled[..., None], bary, -1.0)
    colors = torch.rand(n, h, w, k, 3, generator=g, dtype=dtype)
    assert (count == 0).any() and (count == k).any()
    return Fragments(pix_to_face=p2f, zbuf=zbuf, bary_coords=bary, dists=dists), colors


# ----------------------------------------------------------------------------- blend functions


@pytest.mark.parametrize("bg", [(1.0, 1.0, 1.0), (0.2, 0.4, 0.9)])
def test_hard_rgb_blend_matches_reference(bg):
    frags, colors = random_fragments(0)
    params = R.BlendParams(background_color=bg)
    got = R.hard_rgb_blend(colors, frags, params)
    want = ref_hard(colors, frags.pix_to_face, torch.tensor(bg, dtype=colors.dtype))
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert got.shape == (2, 5, 6, 4)


@pytest.mark.parametrize("sigma", [1e-4, 1e-2, 0.5])
@pytest.mark.parametrize("contiguous", [True, False])
def test_sigmoid_alpha_blend_matches_reference(sigma, contiguous):
    frags, colors = random_fragments(1, sigma=sigma, contiguous=contiguous)
    got = R.sigmoid_alpha_blend(colors, frags, R.BlendParams(sigma=sigma))
    want = ref_sigmoid(colors, frags.pix_to_face, frags.dists, sigma)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "znear,zfar",
    [
        (1.0, 100.0),
        (0.5, 10.0),
        (torch.tensor([0.5, 2.0], dtype=torch.float64), torch.tensor([10.0, 6.0], dtype=torch.float64)),
        (torch.tensor([1.0], dtype=torch.float64), torch.tensor(9.0, dtype=torch.float64)),
    ],
    ids=["default", "floats", "per-image", "single-tensors"],
)
@pytest.mark.parametrize("sigma,gamma", [(1e-4, 1e-4), (1e-2, 1e-1), (1e-3, 1.0)])
def test_softmax_rgb_blend_matches_reference(znear, zfar, sigma, gamma):
    frags, colors = random_fragments(2, sigma=sigma)
    bg = (0.3, 0.6, 0.1)
    params = R.BlendParams(sigma=sigma, gamma=gamma, background_color=bg)
    got = R.softmax_rgb_blend(colors, frags, params, znear=znear, zfar=zfar)
    want = ref_softmax(colors, frags.pix_to_face, frags.zbuf, frags.dists, sigma, gamma, torch.tensor(bg, dtype=torch.float64), znear, zfar)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
    # empty pixels are exactly the background with alpha 0
    empty = (frags.pix_to_face < 0).all(-1)
    torch.testing.assert_close(got[empty][:, :3], torch.tensor(bg, dtype=torch.float64).expand(int(empty.sum()), 3))
    assert (got[empty][:, 3] == 0).all()


def test_softmax_handles_non_contiguous_slots():
    frags, colors = random_fragments(3, contiguous=False, sigma=1e-2)
    params = R.BlendParams(sigma=1e-2, gamma=1e-1)
    got = R.softmax_rgb_blend(colors, frags, params, znear=0.5, zfar=10.0)
    want = ref_softmax(colors, frags.pix_to_face, frags.zbuf, frags.dists, 1e-2, 1e-1, torch.ones(3, dtype=torch.float64), 0.5, 10.0)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_softmax_takes_the_nearest_depth_when_slots_are_not_sorted_by_depth():
    """Hand-made fragments need not list a pixel's faces nearest first: the depth reference of
    the softmax is the pixel's largest z_inv (PyTorch3D's max over K), not slot 0's. Slot 0
    being farther than a later slot used to overflow exp() into NaN."""
    frags, colors = random_fragments(4, sigma=1e-2)
    filled = frags.pix_to_face >= 0  # filled slots come first: reversing their depths puts far before near
    count = filled.sum(-1, keepdim=True)
    reversed_depths = torch.gather(frags.zbuf, -1, (count - 1 - torch.arange(4)).clamp_min(0))
    zbuf = torch.where(filled, reversed_depths, -1.0).requires_grad_(True)
    assert ((zbuf[..., 0] > zbuf[..., 1]) & filled[..., 1]).any()
    unsorted = Fragments(pix_to_face=frags.pix_to_face, zbuf=zbuf, bary_coords=frags.bary_coords, dists=frags.dists)
    params = R.BlendParams(sigma=1e-2, gamma=1e-2)
    got = R.softmax_rgb_blend(colors, unsorted, params, znear=0.5, zfar=14.0)
    want = ref_softmax(colors, unsorted.pix_to_face, zbuf, frags.dists, 1e-2, 1e-2, torch.ones(3, dtype=torch.float64), 0.5, 14.0)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
    (grad,) = torch.autograd.grad((got * colors[..., 0, :1]).sum(), zbuf)
    (want_grad,) = torch.autograd.grad((want * colors[..., 0, :1]).sum(), zbuf)
    torch.testing.assert_close(grad, want_grad, rtol=1e-8, atol=1e-10)
    # the hard blend still shows slot 0, as PyTorch3D's does
    hard = R.hard_rgb_blend(colors, unsorted, params)
    torch.testing.assert_close(hard, ref_hard(colors, unsorted.pix_to_face, torch.tensor(params.background_color, dtype=colors.dtype)))


def test_blend_gradients_match_reference():
    sigma, gamma = 1e-2, 5e-2
    frags, colors = random_fragments(4, sigma=sigma, n=1, h=4, w=4, k=3)
    params = R.BlendParams(sigma=sigma, gamma=gamma, background_color=(0.1, 0.2, 0.3))
    bg = torch.tensor((0.1, 0.2, 0.3), dtype=torch.float64)
    weight = torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)

    def grads(fn):
        z = frags.zbuf.clone().requires_grad_(True)
        d = frags.dists.clone().requires_grad_(True)
        c = colors.clone().requires_grad_(True)
        f = Fragments(pix_to_face=frags.pix_to_face, zbuf=z, bary_coords=frags.bary_coords, dists=d)
        (fn(c, f) * weight).sum().backward()
        return z.grad, d.grad, c.grad

    got = grads(lambda c, f: R.softmax_rgb_blend(c, f, params, znear=0.5, zfar=10.0))
    want = grads(lambda c, f: ref_softmax(c, f.pix_to_face, f.zbuf, f.dists, sigma, gamma, bg, 0.5, 10.0))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
    got = grads(lambda c, f: R.sigmoid_alpha_blend(c, f, params))
    want = grads(lambda c, f: ref_sigmoid(c, f.pix_to_face, f.dists, sigma))
    for a, b in zip(got[1:], want[1:]):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_softmax_gradcheck_on_dists_and_zbuf():
    sigma, gamma = 1e-2, 5e-2
    frags, colors = random_fragments(5, sigma=sigma, n=1, h=3, w=3, k=3)

    def fn(z, d, c):
        f = Fragments(pix_to_face=frags.pix_to_face, zbuf=z, bary_coords=frags.bary_coords, dists=d)
        return R.softmax_rgb_blend(c, f, R.BlendParams(sigma=sigma, gamma=gamma), znear=0.5, zfar=10.0)

    inputs = (frags.zbuf.clone().requires_grad_(True), frags.dists.clone().requires_grad_(True), colors.clone().requires_grad_(True))
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6)


def test_saturated_probabilities_keep_finite_gradients():
    # deep inside (d << 0) sigmoid(-d/sigma) rounds to 1; the product must still give alpha 1 with
    # finite, zero-ish gradients rather than NaN
    p2f = torch.tensor([[[[0, 1]]]])
    dists = torch.tensor([[[[-1.0, -0.5]]]], dtype=torch.float64, requires_grad=True)
    zbuf = torch.tensor([[[[2.0, 3.0]]]], dtype=torch.float64)
    frags = Fragments(pix_to_face=p2f, zbuf=zbuf, bary_coords=torch.zeros(1, 1, 1, 2, 3, dtype=torch.float64), dists=dists)
    colors = torch.rand(1, 1, 1, 2, 3, dtype=torch.float64)
    out = R.softmax_rgb_blend(colors, frags, R.BlendParams(), znear=1.0, zfar=100.0)
    assert out[..., 3].item() == 1.0
    torch.testing.assert_close(out[0, 0, 0, :3], colors[0, 0, 0, 0])  # nearest dominates with gamma 1e-4
    out.sum().backward()
    assert torch.isfinite(dists.grad).all()


def test_sparse_and_dense_fragments_blend_identically():
    # Fragments from the rasterizer (lazy, sparse) vs the same tensors given densely
    mesh = ico_sphere(1)
    cams = R.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    settings = R.RasterizationSettings(image_size=12, faces_per_pixel=3, blur_radius=1e-3)
    frags = R.MeshRasterizer(cams, settings)(mesh)
    dense = Fragments(pix_to_face=frags.pix_to_face, zbuf=frags.zbuf, bary_coords=frags.bary_coords, dists=frags.dists)
    colors = torch.rand(1, 12, 12, 3, 3, generator=torch.Generator().manual_seed(0))
    params = R.BlendParams(sigma=1e-3, gamma=1e-2, background_color=(0.0, 0.5, 1.0))
    for fn in (
        lambda f: R.hard_rgb_blend(colors, f, params),
        lambda f: R.sigmoid_alpha_blend(colors, f, params),
        lambda f: R.softmax_rgb_blend(colors, f, params, znear=1.0, zfar=100.0),
    ):
        torch.testing.assert_close(fn(frags), fn(dense), rtol=1e-6, atol=1e-7)
    want = ref_softmax(colors.double(), frags.pix_to_face, frags.zbuf.double(), frags.dists.double(), 1e-3, 1e-2, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    torch.testing.assert_close(R.softmax_rgb_blend(colors, frags, params).double(), want, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- shader limits


def _sphere_scene(size=32):
    mesh = ico_sphere(2)
    verts = mesh.verts_packed()
    tex = R.TexturesVertex([0.5 + 0.5 * verts])
    meshes = Meshes([verts], [mesh.faces_packed()], textures=tex)
    cams = R.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    lights = R.PointLights(location=((1.0, 1.0, -3.0),))
    return meshes, cams, lights


def test_soft_phong_with_tiny_sigma_gamma_equals_hard_phong_away_from_edges():
    meshes, cams, lights = _sphere_scene()
    settings_hard = R.RasterizationSettings(image_size=32, faces_per_pixel=1)
    settings_soft = R.RasterizationSettings(image_size=32, faces_per_pixel=4)  # blur 0
    hard = R.MeshRenderer(R.MeshRasterizer(cams, settings_hard), R.HardPhongShader(cameras=cams, lights=lights))(meshes)
    frags = R.MeshRasterizer(cams, settings_soft)(meshes)
    params = R.BlendParams(sigma=1e-9, gamma=1e-9)
    soft = R.SoftPhongShader(cameras=cams, lights=lights, blend_params=params)(frags, meshes)
    covered = frags.pix_to_face[..., 0] >= 0
    assert covered.sum() > 100
    # away from edges: the nearest fragment lies more than ~1e-7 (squared NDC) inside its face
    interior = covered & (frags.dists[..., 0] < -1e-7)
    assert interior.sum() > 0.9 * covered.sum()
    torch.testing.assert_close(soft[interior], hard[interior], rtol=0, atol=1e-5)
    # background pixels: both give the background with alpha 0
    torch.testing.assert_close(soft[~covered], hard[~covered], rtol=0, atol=0)
    # with the default sigma (1e-4) the two differ near the silhouette
    soft_default = R.SoftPhongShader(cameras=cams, lights=lights)(frags, meshes)
    assert (soft_default - hard).abs().max() > 1e-2


def test_silhouette_alpha_tends_to_coverage_as_sigma_shrinks():
    meshes, cams, _ = _sphere_scene()
    errors = []
    for sigma in (1e-3, 1e-4, 1e-6, 1e-8):
        blur = math.log(1.0 / 1e-4 - 1.0) * sigma
        frags = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=32, faces_per_pixel=8, blur_radius=blur))(meshes)
        img = R.SoftSilhouetteShader(R.BlendParams(sigma=sigma))(frags, meshes)
        assert (img[..., :3] == 1).all()
        # independent coverage: an unblurred hard rasterization
        hard = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=32))(meshes)
        coverage = (hard.pix_to_face[..., 0] >= 0).to(img.dtype)
        errors.append((img[..., 3] - coverage).abs().mean().item())
        # outside pixels within the blur radius: every fragment is outside (d > 0, so each
        # sigmoid(-d/sigma) < 1/2) and the alpha is partial
        outside = (coverage == 0) & (frags.pix_to_face[..., 0] >= 0)
        if outside.any():
            valid = frags.pix_to_face[outside] >= 0
            assert (frags.dists[outside][valid] > 0).all()
            assert (img[..., 3][outside] < 1).all() and (img[..., 3][outside] > 0).all()
    assert errors[0] > errors[1] > errors[-1]
    assert errors[-1] < 1e-3


def test_silhouette_shader_equals_sigmoid_alpha_blend_on_ones():
    meshes, cams, _ = _sphere_scene()
    sigma = 1e-3
    frags = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=16, faces_per_pixel=5, blur_radius=0.01))(meshes)
    ones = torch.ones(*frags.pix_to_face.shape, 3)
    a = R.SoftSilhouetteShader(R.BlendParams(sigma=sigma))(frags, meshes)
    b = R.sigmoid_alpha_blend(ones, frags, R.BlendParams(sigma=sigma))
    c = ref_sigmoid(ones.double(), frags.pix_to_face, frags.dists.double(), sigma)
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(a.double(), c, rtol=1e-5, atol=1e-6)


def test_soft_phong_uses_camera_znear_zfar():
    # same fragments and colours: changing the camera's zfar must change the soft blend exactly as
    # the reference formula does with those znear/zfar
    meshes, _, lights = _sphere_scene()
    cams = R.FoVPerspectiveCameras(znear=0.5, zfar=4.0, T=torch.tensor([[0.0, 0.0, 3.0]]))
    frags = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=12, faces_per_pixel=4, blur_radius=1e-3))(meshes)
    params = R.BlendParams(sigma=1e-3, gamma=0.3)
    got = R.SoftPhongShader(cameras=cams, lights=lights, blend_params=params)(frags, meshes)
    from core.renderer.mesh.shading import phong_shading

    colors = phong_shading(meshes=meshes, fragments=frags, lights=lights, cameras=cams, materials=R.Materials(), texels=meshes.sample_textures(frags))
    want = ref_softmax(colors.double(), frags.pix_to_face, frags.zbuf.double(), frags.dists.double(), 1e-3, 0.3, torch.ones(3, dtype=torch.float64), 0.5, 4.0)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)
    default = ref_softmax(colors.double(), frags.pix_to_face, frags.zbuf.double(), frags.dists.double(), 1e-3, 0.3, torch.ones(3, dtype=torch.float64))
    assert (default - want).abs().max() > 1e-3


def test_nearest_depth_gradient_goes_to_the_first_of_equal_depths():
    """z_max is the nearest fragment's z_inv; on equal depths PyTorch3D's torch.max (and so its
    gradient) picks the first slot, the earlier row here, not a share of every tied one."""
    zbuf = torch.tensor([3.0, 2.0, 2.0, 2.5], requires_grad=True)
    sparse = SparseFragments((1, 1, 2, 4), torch.tensor([0, 0, 0, 1]), torch.tensor([0, 1, 2, 3]),
                             zbuf, torch.full((4, 3), 1 / 3), torch.full((4,), -1e-5))
    terms = softmax_terms(sparse, R.BlendParams(sigma=1e-4, gamma=1.0))
    (grad,) = torch.autograd.grad(terms.delta.sum(), zbuf)  # the background term depends on z_max only
    assert grad[1] != 0 and grad[3] != 0
    assert grad[0] == 0 and grad[2] == 0


def test_negligible_depth_weights_are_exact_zeros_and_change_nothing_representable():
    """A depth weight under NEGLIGIBLE_SHARE * 1e-10 (the background term's floor, so under every
    pixel's denominator) is set to 0 with a zero gradient, so that the backward pass can skip its
    fragment; the image and gradients still equal the unabridged formula (float64 reference)."""
    sigma, gamma = 1e-3, 1e-4
    frags, colors = random_fragments(11, sigma=sigma, n=2, h=6, w=7, k=6)
    sparse = sparse_fragments(frags)
    z_inv = (100.0 - sparse.zbuf) / 99.0
    z_max = torch.full((2 * 6 * 7,), -math.inf, dtype=torch.float64).scatter_reduce_(0, sparse.pix, z_inv, "amax")
    exponent = (z_inv - z_max[sparse.pix]) / gamma
    negligible = exponent < math.log(1e-20)
    assert 0 < negligible.sum() < negligible.numel()
    weights = softmax_terms(sparse, R.BlendParams(sigma=sigma, gamma=gamma)).weights
    assert torch.all(weights[negligible] == 0) and torch.all(weights[~negligible] > 0)

    weight = torch.randn(2, 6, 7, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    params = R.BlendParams(sigma=sigma, gamma=gamma)

    def image_and_grads(fn):
        z = frags.zbuf.clone().requires_grad_(True)
        d = frags.dists.clone().requires_grad_(True)
        f = Fragments(pix_to_face=frags.pix_to_face, zbuf=z, bary_coords=frags.bary_coords, dists=d)
        image = fn(f)
        z_grad, d_grad = torch.autograd.grad((image * weight).sum(), (z, d))
        return image.detach(), z_grad, d_grad

    got = image_and_grads(lambda f: R.softmax_rgb_blend(colors, f, params))
    want = image_and_grads(lambda f: ref_softmax(colors, f.pix_to_face, f.zbuf, f.dists, sigma, gamma, torch.ones(3, dtype=torch.float64)))
    torch.testing.assert_close(got[0], want[0], rtol=1e-12, atol=1e-15)
    for a, b in zip(got[1:], want[1:]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9 * float(b.abs().max()))
    flat = sparse.pix * 6 + sparse.rank  # the dense slot of each sparse entry
    assert torch.all(got[1].reshape(-1)[flat[negligible]] == 0)


# ----------------------------------------------------------------------------- coverage gradient


@pytest.mark.parametrize("sigma", [1e-4, 1e-2])
def test_silhouette_alpha_gradient_is_autograds_derivative_of_the_alpha(sigma):
    frags, colors = random_fragments(5, sigma=sigma, contiguous=False)
    dists = frags.dists.clone().requires_grad_(True)
    with_grad = Fragments(pix_to_face=frags.pix_to_face, zbuf=frags.zbuf, bary_coords=frags.bary_coords, dists=dists)
    alpha = R.sigmoid_alpha_blend(colors, with_grad, R.BlendParams(sigma=sigma))[..., 3]
    (want,) = torch.autograd.grad(alpha.sum(), dists)  # each pixel's alpha reads its own slots only
    got = R.silhouette_alpha_gradient(frags, sigma)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
    assert (got <= 0).all() and (got[frags.pix_to_face < 0] == 0).all()


def test_silhouette_alpha_gradient_of_one_face_is_the_sigmoids_slope():
    sigma, d = 1e-3, torch.tensor([-2e-3, 0.0, 5e-4], dtype=torch.float64)
    frags = Fragments(
        pix_to_face=torch.tensor([0, 1, 2]).view(1, 1, 3, 1),
        zbuf=torch.ones(1, 1, 3, 1, dtype=torch.float64),
        bary_coords=torch.full((1, 1, 3, 1, 3), 1 / 3, dtype=torch.float64),
        dists=d.view(1, 1, 3, 1),
    )
    p = torch.sigmoid(-d / sigma)
    torch.testing.assert_close(R.silhouette_alpha_gradient(frags, sigma).view(3), -p * (1 - p) / sigma)
    with pytest.raises(ValueError, match="sigma"):
        R.silhouette_alpha_gradient(frags, 0.0)
