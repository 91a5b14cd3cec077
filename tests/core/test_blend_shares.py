"""softmax_blend_shares: each slot's share of the SoftRas softmax colour, and the background's.

Truth: SoftRas's weights written out per pixel in float64 (w_k = sigmoid(-d_k / sigma)
exp((z_inv_k - z_max) / gamma), background exp((eps - z_max) / gamma), z_inv = (zfar - z) /
(zfar - znear), z_max = max(max_k z_inv_k, eps)), and the blend itself: shares times colours
give softmax_rgb_blend's RGB.
"""
from __future__ import annotations

import math

import pytest
import torch

from core import renderer as R
from core.renderer.blending import softmax_blend_shares
from core.utils import ico_sphere

EPS = 1e-10


def _scene(dtype=torch.float64, k: int = 6):
    meshes = ico_sphere(2).extend(2)
    meshes = meshes.update_padded(meshes.verts_padded().to(dtype))
    rot, trans = R.look_at_view_transform(dist=torch.tensor([2.5, 3.0]), elev=20.0, azim=torch.tensor([0.0, 70.0]))
    cameras = R.FoVPerspectiveCameras(R=rot.to(dtype), T=trans.to(dtype))
    settings = R.RasterizationSettings(image_size=20, faces_per_pixel=k, blur_radius=math.log(1 / 1e-4 - 1) * 1e-3)
    return meshes, cameras, R.MeshRasterizer(cameras, settings)(meshes)


def _shares_by_hand(frags, sigma, gamma, znear=1.0, zfar=100.0):
    faces, dists, zbuf = frags.pix_to_face.tolist(), frags.dists.tolist(), frags.zbuf.tolist()
    n, h, w, k = frags.pix_to_face.shape
    shares, background = torch.zeros(n, h, w, k, dtype=torch.float64), torch.zeros(n, h, w, dtype=torch.float64)
    for b in range(n):
        for y in range(h):
            for x in range(w):
                slots = [j for j in range(k) if faces[b][y][x][j] >= 0]
                z_inv = {j: (zfar - zbuf[b][y][x][j]) / (zfar - znear) for j in slots}
                z_max = max([EPS, *z_inv.values()])
                weight = {j: 1 / (1 + math.exp(dists[b][y][x][j] / sigma)) * math.exp((z_inv[j] - z_max) / gamma) for j in slots}
                delta = max(math.exp((EPS - z_max) / gamma), EPS)
                total = sum(weight.values()) + delta
                for j in slots:
                    shares[b, y, x, j] = weight[j] / total
                background[b, y, x] = delta / total
    return shares, background


@pytest.mark.parametrize("gamma", [1e-4, 1e-2, 1.0])
def test_shares_match_softras_written_out(gamma):
    _, _, frags = _scene()
    blend = R.BlendParams(sigma=1e-3, gamma=gamma)
    shares, background = softmax_blend_shares(frags, blend)
    expected, expected_background = _shares_by_hand(frags, 1e-3, gamma)
    torch.testing.assert_close(shares, expected, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(background, expected_background, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(shares.sum(-1) + background, torch.ones_like(background))


def test_shares_times_colours_are_the_blend():
    meshes, cameras, frags = _scene()
    blend = R.BlendParams(sigma=1e-3, gamma=1e-2, background_color=(0.2, 0.3, 0.4))
    colors = torch.rand(*frags.pix_to_face.shape, 3, dtype=torch.float64)
    shares, background = softmax_blend_shares(frags, blend)
    rgb = (shares[..., None] * colors).sum(-2) + background[..., None] * torch.tensor([0.2, 0.3, 0.4], dtype=torch.float64)
    torch.testing.assert_close(rgb, R.softmax_rgb_blend(colors, frags, blend)[..., :3])


def test_gamma_moves_the_colour_from_the_nearest_surface_to_the_one_behind():
    _, _, frags = _scene(k=30)
    behind = (frags.pix_to_face >= 0) & (frags.zbuf > frags.zbuf[..., :1] + 0.3)  # the sphere's far side
    pixels = ((frags.dists < 0) & (frags.pix_to_face >= 0) & ~behind).any(-1) & behind.any(-1)  # inside the near side
    def far_share(gamma: float) -> torch.Tensor:
        shares = softmax_blend_shares(frags, R.BlendParams(sigma=1e-3, gamma=gamma))[0]
        return (shares * behind).sum(-1)[pixels]
    assert pixels.sum() >= 50
    assert far_share(1e-4).max() < 1e-6 and far_share(1.0).mean() > 0.2


def test_cuda_shares_equal_the_cpu(cuda_device):
    meshes, cameras, frags = _scene(torch.float32)
    blend = R.BlendParams(sigma=1e-3, gamma=1e-2)
    cpu = softmax_blend_shares(frags, blend)
    cams = R.FoVPerspectiveCameras(R=cameras.R, T=cameras.T, device=cuda_device)
    settings = R.RasterizationSettings(image_size=20, faces_per_pixel=6, blur_radius=math.log(1 / 1e-4 - 1) * 1e-3)
    gpu_frags = R.MeshRasterizer(cams, settings)(meshes.to(cuda_device))
    gpu = softmax_blend_shares(gpu_frags, blend)
    same = (gpu_frags.pix_to_face.cpu() == frags.pix_to_face).all(-1)  # pixels whose slots agree
    assert same.float().mean() > 0.99
    torch.testing.assert_close(gpu[0].cpu()[same], cpu[0][same], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gpu[1].cpu()[same], cpu[1][same], rtol=1e-4, atol=1e-5)
