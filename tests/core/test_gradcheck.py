"""torch.autograd.gradcheck (float64) of the differentiable rasterizer, blending and shading.

Tiny scenes (1-4 triangles, 8x8 pixels). The hard path is checked where the selection of faces
cannot change under the finite-difference step (pixel centres well away from every edge, which
each test asserts); the soft path through SoftSilhouetteShader with sigma = 1e-2, where pixels
keep a margin from the blur-radius cut-off. Gradients also reach vertex colours, UV maps,
lights, materials and the camera extrinsics.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from core import renderer as R
from core.structures import Meshes

D = torch.float64
H = W = 8


def pixel_centres(h: int, w: int):
    s = min(h, w)
    return np.array([(w - 1 - 2 * c) / s for c in range(w)]), np.array([(h - 1 - 2 * r) / s for r in range(h)])


def min_edge_margin(tris_xy: np.ndarray, h: int = H, w: int = W) -> float:
    """Smallest distance from any pixel centre to any edge line of the given 2D triangles."""
    xs, ys = pixel_centres(h, w)
    p = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    best = np.inf
    for tri in tris_xy:
        for i in range(3):
            a, b = tri[i], tri[(i + 1) % 3]
            n = np.array([b[1] - a[1], a[0] - b[0]]) / np.linalg.norm(b - a)
            best = min(best, np.abs((p - a) @ n).min())
    return best


# NDC triangles (x, y, view z); two overlapping faces so that K = 2 slots are exercised
NDC_TRIS = np.array(
    [
        [[0.85, -0.696, 2.0], [-0.64, -0.506, 3.0], [0.11, 0.944, 2.5]],
        [[0.63, 0.594, 4.0], [-0.86, 0.224, 3.5], [-0.10, -0.776, 5.0]],
    ]
)


@pytest.mark.parametrize("persp", [False, True])
def test_hard_path_zbuf_and_bary_wrt_ndc_verts(persp):
    assert min_edge_margin(NDC_TRIS[..., :2]) > 1e-3
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    verts0 = torch.tensor(NDC_TRIS.reshape(-1, 3), dtype=D)
    ref = R.rasterize_meshes(Meshes([verts0], [faces]), image_size=H, faces_per_pixel=2, perspective_correct=persp)
    assert (ref[0][..., 1] >= 0).sum() > 3  # overlap present

    def fn(verts):
        p2f, zbuf, bary, dists = R.rasterize_meshes(
            Meshes([verts], [faces]), image_size=H, faces_per_pixel=2, perspective_correct=persp
        )
        assert torch.equal(p2f, ref[0])
        return zbuf, bary, dists

    assert gradcheck(fn, (verts0.clone().requires_grad_(True),), eps=1e-6, atol=1e-6, rtol=1e-4)


def _world_scene(dtype=D):
    verts = torch.tensor([[-1.65, -1.35, 0.45], [1.8, -1.2, -0.3], [0.15, 1.575, 0.15], [1.35, 1.35, 0.9]], dtype=dtype)
    faces = torch.tensor([[0, 2, 1], [1, 2, 3]])  # normals face the camera (and the light)
    a = 0.2
    rot = torch.tensor([[math.cos(a), 0.0, -math.sin(a)], [0.0, 1.0, 0.0], [math.sin(a), 0.0, math.cos(a)]], dtype=dtype)
    tvec = torch.tensor([0.05, -0.1, 2.5], dtype=dtype)
    return verts, faces, rot, tvec


def _camera(rot, tvec):
    return R.FoVPerspectiveCameras(
        fov=torch.tensor([60.0], dtype=D), znear=torch.tensor([1.0], dtype=D), zfar=torch.tensor([100.0], dtype=D),
        aspect_ratio=torch.tensor([1.0], dtype=D), R=rot[None], T=tvec[None],
    )


def _projected_margin(verts, faces, rot, tvec):
    view = (verts @ rot + tvec).detach().numpy()
    t = math.tan(math.radians(30.0))
    xy = view[:, :2] / (view[:, 2:] * t)
    return min_edge_margin(xy[faces.numpy()])


def test_hard_path_through_perspective_camera_wrt_world_verts():
    verts, faces, rot, tvec = _world_scene()
    assert _projected_margin(verts, faces, rot, tvec) > 1e-3
    cams = _camera(rot, tvec)
    rast = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=H, faces_per_pixel=1))
    p2f0 = rast(Meshes([verts], [faces])).pix_to_face

    def fn(v):
        frags = rast(Meshes([v], [faces]))
        assert torch.equal(frags.pix_to_face, p2f0)
        return frags.zbuf, frags.bary_coords

    assert gradcheck(fn, (verts.clone().requires_grad_(True),), eps=1e-6, atol=1e-6, rtol=1e-4)


def test_soft_silhouette_wrt_verts():
    sigma = 1e-2
    blur = math.log(1.0 / 1e-4 - 1.0) * sigma
    tris = np.array([[[0.64, -0.556, 2.0], [-0.47, -0.316, 2.5], [0.09, 0.724, 3.0]]])
    faces = torch.tensor([[0, 1, 2]])
    verts0 = torch.tensor(tris.reshape(-1, 3), dtype=D)
    # no pixel centre sits at the blur cut-off (squared distance == blur) or on an edge
    xs, ys = pixel_centres(H, W)
    for x in xs:
        for y in ys:
            p = np.array([x, y])
            d2 = min(_seg_d2(p, tris[0, i, :2], tris[0, (i + 1) % 3, :2]) for i in range(3))
            assert abs(d2 - blur) > 1e-4
    assert min_edge_margin(tris[..., :2]) > 1e-3
    settings = R.RasterizationSettings(image_size=H, blur_radius=blur, faces_per_pixel=2)
    shader = R.SoftSilhouetteShader(R.BlendParams(sigma=sigma))
    cams = R.FoVOrthographicCameras(R=torch.eye(3, dtype=D)[None], T=torch.zeros(1, 3, dtype=D))
    renderer = R.MeshRenderer(R.MeshRasterizer(cams, settings), shader)

    def fn(v):
        return renderer(Meshes([v], [faces]))[..., 3]

    alpha = fn(verts0)
    assert ((alpha > 0.01) & (alpha < 0.99)).sum() > 5  # many pixels in the soft band
    assert gradcheck(fn, (verts0.clone().requires_grad_(True),), eps=1e-6, atol=1e-6, rtol=1e-4)


def _seg_d2(p, a, b):
    ab = b - a
    t = min(1.0, max(0.0, float(np.dot(p - a, ab) / np.dot(ab, ab))))
    q = a + t * ab
    return float(np.dot(p - q, p - q))


# ----------------------------------------------------------------------------- shading inputs


def _phong_render(verts, faces, textures, cams, lights, materials, shader_cls=R.HardPhongShader, **shader_kw):
    settings = R.RasterizationSettings(image_size=H, faces_per_pixel=1)
    shader = shader_cls(cameras=cams, lights=lights, materials=materials, **shader_kw)
    return R.MeshRenderer(R.MeshRasterizer(cams, settings), shader)(Meshes([verts], [faces], textures=textures))


def _lights(location=None, ambient=None, diffuse=None, specular=None):
    return R.PointLights(
        location=location if location is not None else torch.tensor([[0.5, 1.0, -2.0]], dtype=D),
        ambient_color=ambient if ambient is not None else torch.tensor([[0.4, 0.3, 0.2]], dtype=D),
        diffuse_color=diffuse if diffuse is not None else torch.tensor([[0.5, 0.6, 0.3]], dtype=D),
        specular_color=specular if specular is not None else torch.tensor([[0.3, 0.2, 0.4]], dtype=D),
    )


def _materials(ambient=None, diffuse=None, specular=None):
    return R.Materials(
        ambient_color=ambient if ambient is not None else torch.tensor([[0.9, 0.8, 1.0]], dtype=D),
        diffuse_color=diffuse if diffuse is not None else torch.tensor([[1.0, 0.7, 0.9]], dtype=D),
        specular_color=specular if specular is not None else torch.tensor([[0.6, 0.8, 1.0]], dtype=D),
        shininess=torch.tensor([8.0], dtype=D),
    )


def _vertex_tex(verts):
    cols = torch.tensor([[0.9, 0.1, 0.2], [0.2, 0.8, 0.1], [0.1, 0.3, 0.9], [0.7, 0.7, 0.2]], dtype=D)
    return R.TexturesVertex([cols[: len(verts)]])


def test_grad_vertex_colours():
    verts, faces, rot, tvec = _world_scene()
    cams = _camera(rot, tvec)
    cols0 = torch.rand(4, 3, dtype=D, generator=torch.Generator().manual_seed(0))

    def fn(cols):
        return _phong_render(verts, faces, R.TexturesVertex([cols]), cams, _lights(), _materials())

    assert gradcheck(fn, (cols0.requires_grad_(True),), eps=1e-6, atol=1e-7)


def test_grad_uv_map():
    verts, faces, rot, tvec = _world_scene()
    cams = _camera(rot, tvec)
    uvs = torch.tensor([[0.05, 0.1], [0.9, 0.15], [0.2, 0.95], [0.85, 0.8]], dtype=D)
    map0 = torch.rand(4, 5, 3, dtype=D, generator=torch.Generator().manual_seed(1))

    def fn(tex_map, verts_uvs):
        tex = R.TexturesUV(maps=[tex_map], faces_uvs=[faces], verts_uvs=[verts_uvs])
        return _phong_render(verts, faces, tex, cams, _lights(), _materials())

    img = fn(map0, uvs)
    assert (img[..., 3] > 0).sum() > 20
    # the map and the uv coordinates (sampled per fragment by the packed Phong path)
    assert gradcheck(fn, (map0.requires_grad_(True), uvs.requires_grad_(True)), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("which", ["location", "ambient", "diffuse", "specular"])
def test_grad_light_parameters(which):
    verts, faces, rot, tvec = _world_scene()
    cams = _camera(rot, tvec)
    x0 = {
        "location": torch.tensor([[0.5, 1.0, -2.0]], dtype=D),
        "ambient": torch.tensor([[0.4, 0.3, 0.2]], dtype=D),
        "diffuse": torch.tensor([[0.5, 0.6, 0.3]], dtype=D),
        "specular": torch.tensor([[0.3, 0.2, 0.4]], dtype=D),
    }[which]

    def fn(x):
        return _phong_render(verts, faces, _vertex_tex(verts), cams, _lights(**{which: x}), _materials())

    x = x0.clone().requires_grad_(True)
    fn(x).sum().backward()
    assert x.grad.abs().sum() > 0
    assert gradcheck(fn, (x0.clone().requires_grad_(True),), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("which", ["ambient", "diffuse", "specular"])
def test_grad_material_colours(which):
    verts, faces, rot, tvec = _world_scene()
    cams = _camera(rot, tvec)
    x0 = {"ambient": [[0.9, 0.8, 1.0]], "diffuse": [[1.0, 0.7, 0.9]], "specular": [[0.6, 0.8, 1.0]]}[which]
    x0 = torch.tensor(x0, dtype=D)

    def fn(x):
        return _phong_render(verts, faces, _vertex_tex(verts), cams, _lights(), _materials(**{which: x}))

    x = x0.clone().requires_grad_(True)
    fn(x).sum().backward()
    assert x.grad.abs().sum() > 0
    assert gradcheck(fn, (x0.clone().requires_grad_(True),), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("shader_cls", [R.HardPhongShader, R.HardGouraudShader, R.HardFlatShader])
def test_grad_hard_shaders_wrt_verts_away_from_edges(shader_cls):
    verts, faces, rot, tvec = _world_scene()
    assert _projected_margin(verts, faces, rot, tvec) > 1e-3
    cams = _camera(rot, tvec)

    def fn(v):
        return _phong_render(v, faces, _vertex_tex(v), cams, _lights(), _materials(), shader_cls=shader_cls)

    assert gradcheck(fn, (verts.clone().requires_grad_(True),), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("which", ["R", "T"])
def test_grad_camera_extrinsics(which):
    verts, faces, rot, tvec = _world_scene()
    assert _projected_margin(verts, faces, rot, tvec) > 1e-3

    def fn(x):
        cams = _camera(x, tvec) if which == "R" else _camera(rot, x)
        return _phong_render(verts, faces, _vertex_tex(verts), cams, _lights(), _materials())

    x0 = (rot if which == "R" else tvec).clone()
    x = x0.clone().requires_grad_(True)
    fn(x).sum().backward()
    assert x.grad.abs().sum() > 0
    assert gradcheck(fn, (x0.requires_grad_(True),), eps=1e-6, atol=1e-6, rtol=1e-4)


def test_grad_soft_phong_camera_translation_matches_finite_differences():
    # the soft shader is smooth at the silhouette too: compare a directional derivative
    verts, faces, rot, tvec = _world_scene()
    sigma = 1e-2
    blur = math.log(1.0 / 1e-4 - 1.0) * sigma
    settings = R.RasterizationSettings(image_size=H, faces_per_pixel=2, blur_radius=blur, perspective_correct=False)
    params = R.BlendParams(sigma=sigma, gamma=1e-1)
    weights = torch.rand(1, H, W, 4, dtype=D, generator=torch.Generator().manual_seed(3))

    def loss(t):
        cams = _camera(rot, t)
        shader = R.SoftPhongShader(cameras=cams, lights=_lights(), materials=_materials(), blend_params=params)
        img = R.MeshRenderer(R.MeshRasterizer(cams, settings), shader)(Meshes([verts], [faces], textures=_vertex_tex(verts)))
        return (img * weights).sum()

    t = tvec.clone().requires_grad_(True)
    loss(t).backward()
    direction = torch.tensor([0.3, -0.5, 0.2], dtype=D)
    h = 1e-6
    fd = (loss(tvec + h * direction) - loss(tvec - h * direction)) / (2 * h)
    assert float(t.grad @ direction) == pytest.approx(float(fd), rel=1e-4, abs=1e-6)
