"""HardDepthShader and SoftDepthShader (PyTorch3D's depth maps).

Truth: depths of rays cast through the pixel centres (tests/core/ray_casting.py), the soft
formula evaluated pixel by pixel in plain Python, the sigma -> 0 limit, batch = singles and
float64 gradcheck.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from core import renderer as R
from core.structures import Meshes
from core.utils import ico_sphere
from tests.core.ray_casting import pixel_rays, ray_hits

# A triangle tilted away from a 90° camera at the origin (view = world): depth varies per pixel.
TILTED = np.array([[[-1.2, -1.0, 1.5], [2.0, -1.2, 2.5], [0.2, 2.4, 3.5]]])


def _origin_camera(dtype=torch.float32, **kw) -> R.FoVPerspectiveCameras:
    return R.FoVPerspectiveCameras(fov=90.0, R=torch.eye(3, dtype=dtype)[None], T=torch.zeros(1, 3, dtype=dtype), **kw)


def _triangle_mesh(dtype=torch.float32) -> Meshes:
    verts = torch.tensor(TILTED.reshape(-1, 3), dtype=dtype)
    return Meshes([verts], [torch.arange(3).reshape(1, 3)])


def _sphere_scene(batch: int = 1, size: int = 32, k: int = 8, sigma: float = 1e-4):
    """An ico-sphere seen by `batch` cameras: fragments with several layers per pixel."""
    sphere = ico_sphere(2)
    meshes = sphere.extend(batch)
    rot, trans = R.look_at_view_transform(dist=torch.linspace(2.5, 3.0, batch), elev=20.0, azim=torch.linspace(0, 90, batch))
    cameras = R.FoVPerspectiveCameras(R=rot, T=trans, zfar=torch.linspace(10.0, 20.0, batch))
    settings = R.RasterizationSettings(image_size=size, faces_per_pixel=k, blur_radius=math.log(1 / 1e-4 - 1) * sigma)
    return meshes, cameras, R.MeshRasterizer(cameras, settings)(meshes)


def test_hard_depth_is_the_ray_depth_and_zfar_elsewhere():
    size = 48
    cameras = _origin_camera(zfar=40.0)
    frags = R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=size))(_triangle_mesh())
    depth = R.HardDepthShader(cameras=cameras)(frags, _triangle_mesh())
    assert depth.shape == (1, size, size, 1)
    t, bary = ray_hits(pixel_rays(size, 90.0), TILTED[0])
    inside = bary.min(-1) > 1e-6
    outside = bary.min(-1) < -1e-6
    got = depth[0, ..., 0].double().numpy()
    assert inside.sum() > 300 and outside.sum() > 300
    np.testing.assert_allclose(got[inside], t[inside], rtol=1e-5)
    assert np.all(got[outside] == 40.0)


def _soft_depth_by_loops(frags, sigma: float, zfar: torch.Tensor) -> torch.Tensor:
    """The SoftRas depth blend written out pixel by pixel: each face, nearest first, takes
    min(its coverage, what is left of 1); zfar takes the rest."""
    faces, dists, zbuf = frags.pix_to_face.tolist(), frags.dists.tolist(), frags.zbuf.tolist()
    n, h, w, k = frags.pix_to_face.shape
    out = torch.empty(n, h, w, 1, dtype=torch.float64)
    for b in range(n):
        for y in range(h):
            for x in range(w):
                left, total = 1.0, 0.0
                for j in range(k):
                    if faces[b][y][x][j] < 0:
                        continue
                    p = 1.0 / (1.0 + math.exp(dists[b][y][x][j] / sigma))
                    share = min(p, left)
                    total += share * zbuf[b][y][x][j]
                    left -= share
                out[b, y, x, 0] = total + left * float(zfar[b])
    return out


def test_soft_depth_matches_the_blend_written_pixel_by_pixel():
    sigma = 1e-4
    meshes, cameras, frags = _sphere_scene(batch=2, size=24, sigma=sigma)
    depth = R.SoftDepthShader(cameras=cameras, blend_params=R.BlendParams(sigma=sigma))(frags, meshes)
    expected = _soft_depth_by_loops(frags, sigma, cameras.zfar)
    torch.testing.assert_close(depth.double(), expected, rtol=1e-5, atol=1e-5)
    # the scene exercises the blend: several layers, pixels that are neither inside nor empty
    assert int((frags.pix_to_face >= 0).sum(-1).max()) >= 3
    partly = (expected > frags.zbuf[..., :1].double() + 1e-3) & (expected < cameras.zfar.view(-1, 1, 1, 1) - 1e-3)
    assert int(partly.sum()) > 20


@pytest.mark.parametrize("shader_cls", [R.HardDepthShader, R.SoftDepthShader])
def test_hand_made_dense_fragments_give_the_same_map(shader_cls):
    """Fragments built from dense tensors (slots already in depth order) and the rasterizer's
    own (rows in face order, ordered by the shader) must give one map."""
    meshes, cameras, frags = _sphere_scene(batch=2)
    dense = R.Fragments(pix_to_face=frags.pix_to_face, zbuf=frags.zbuf, bary_coords=frags.bary_coords, dists=frags.dists)
    shader = shader_cls(cameras=cameras)
    torch.testing.assert_close(shader(dense, meshes), shader(frags, meshes), rtol=0, atol=1e-6)


def test_soft_depth_tends_to_hard_depth_as_sigma_vanishes():
    """Against the hard map of a blur-0 rasterization (PyTorch3D's hard set-up): where no face
    edge passes within 1e-8 of the pixel centre, every coverage is 0 or 1 to float precision."""
    meshes, cameras, soft_frags = _sphere_scene(batch=2, size=32, k=4, sigma=1e-7)
    hard_frags = R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=32))(meshes)
    hard = R.HardDepthShader(cameras=cameras)(hard_frags, meshes)
    soft = R.SoftDepthShader(cameras=cameras, blend_params=R.BlendParams(sigma=1e-10))(soft_frags, meshes)
    clear = ((soft_frags.dists.abs() > 1e-8) | (soft_frags.pix_to_face < 0)).all(-1, keepdim=True)
    assert clear.float().mean() > 0.95 and (hard[clear] < 10.0).sum() > 300
    torch.testing.assert_close(soft[clear], hard[clear])


@pytest.mark.parametrize("shader_cls", [R.HardDepthShader, R.SoftDepthShader])
def test_batch_equals_singles_with_per_camera_zfar(shader_cls):
    meshes, cameras, frags = _sphere_scene(batch=3)
    batch = shader_cls(cameras=cameras)(frags, meshes)
    for i in range(3):
        single_frags = R.MeshRasterizer(cameras[i], R.RasterizationSettings(
            image_size=32, faces_per_pixel=8, blur_radius=math.log(1 / 1e-4 - 1) * 1e-4))(meshes[i])
        single = shader_cls(cameras=cameras[i])(single_frags, meshes[i])
        torch.testing.assert_close(batch[i : i + 1], single)
        assert float(batch[i, 0, 0, 0]) == pytest.approx(float(cameras.zfar[i]))  # a corner: background


def test_zfar_override_and_cameras_without_zfar():
    meshes, cameras, frags = _sphere_scene()
    shader = R.HardDepthShader(cameras=cameras)
    assert float(shader(frags, meshes, zfar=7.0)[0, 0, 0, 0]) == 7.0
    no_zfar = R.PerspectiveCameras(R=cameras.R, T=cameras.T)
    assert float(shader(frags, meshes, cameras=no_zfar)[0, 0, 0, 0]) == 100.0  # PyTorch3D's fallback
    with pytest.raises(ValueError, match="zfar has 2 values"):
        shader(frags, meshes, zfar=torch.tensor([5.0, 6.0]))


def test_depth_shaders_refuse_missing_cameras_and_zero_sigma():
    meshes, _, frags = _sphere_scene()
    with pytest.raises(ValueError, match="needs cameras"):
        R.HardDepthShader()(frags, meshes)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        R.SoftDepthShader(cameras=_origin_camera(), blend_params=R.BlendParams(sigma=0.0))(frags, meshes)


def test_renderer_returns_one_depth_channel():
    cameras = _origin_camera()
    renderer = R.MeshRenderer(R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=16)), R.SoftDepthShader(cameras=cameras))
    assert renderer(_triangle_mesh()).shape == (1, 16, 16, 1)


@pytest.mark.parametrize("shader_cls", [R.HardDepthShader, R.SoftDepthShader])
def test_gradcheck_wrt_vertices(shader_cls):
    """float64, 8×8 pixels. The hard map is differentiated through zbuf, the soft one through
    zbuf and the distances (sigma large enough that every covered pixel's weight moves)."""
    cameras = _origin_camera(torch.float64, zfar=6.0)
    sigma = 2e-2
    settings = R.RasterizationSettings(image_size=8, faces_per_pixel=2, blur_radius=0.05)
    shader = shader_cls(cameras=cameras, blend_params=R.BlendParams(sigma=sigma))
    base = torch.tensor(TILTED.reshape(-1, 3), dtype=torch.float64)
    second = base + torch.tensor([0.3, 0.1, 0.6], dtype=torch.float64)
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])

    def render(verts: torch.Tensor) -> torch.Tensor:
        meshes = Meshes([verts], [faces])
        return shader(R.MeshRasterizer(cameras, settings)(meshes), meshes)

    verts = torch.cat((base, second)).requires_grad_(True)
    assert gradcheck(render, (verts,), eps=1e-6, atol=1e-5)


def test_depth_grey_picture():
    from core.io import depth_grey

    depth = np.array([[2.0, 4.0], [100.0, 1e6]])
    grey = depth_grey(depth, zfar=100.0)
    assert grey.dtype == np.uint8 and grey[0, 0] == 255 and grey[1, 0] == 0 and grey[1, 1] == 0
    assert 0 < grey[0, 1] < 255  # disparity: 1/4 lies (1/4 - 1/100) / (1/2 - 1/100) = 49 % of the way
    assert grey[0, 1] == round(255 * (0.25 - 0.01) / (0.5 - 0.01))
    assert not depth_grey(np.full((3, 3), 100.0), zfar=100.0).any()  # only background
    with pytest.raises(ValueError, match="zfar"):
        depth_grey(depth, zfar=0.0)
