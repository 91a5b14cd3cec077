"""MeshRenderer: batches equal a loop of single renders, analytic Phong on a flat quad, overrides.

A batch of three different meshes (one empty) with three cameras, lights and materials must
give the same images and fragments (pix_to_face shifted by the packed face offsets) as
rendering each element alone. A flat quad seen by an orthographic camera has closed-form
shading: position, normal, view and light directions are all known per pixel.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core import renderer as R
from core.structures import Meshes
from core.utils import ico_sphere

# ----------------------------------------------------------------------------- batch = loop of singles


def _batch_inputs():
    sphere = ico_sphere(1)
    sv, sf = sphere.verts_packed(), sphere.faces_packed()
    tet_v = torch.tensor([[0.0, 0.8, 0.0], [-0.8, -0.5, 0.4], [0.8, -0.5, 0.4], [0.0, -0.3, -0.8]])
    tet_f = torch.tensor([[0, 2, 1], [0, 3, 2], [0, 1, 3], [1, 2, 3]])
    empty_v, empty_f = torch.zeros(0, 3), torch.zeros(0, 3, dtype=torch.int64)
    verts = [sv * 0.9, tet_v, empty_v]
    faces = [sf, tet_f, empty_f]
    colours = [0.5 + 0.5 * v if len(v) else torch.zeros(0, 3) for v in verts]
    # ordering variant: empty mesh in the middle
    r, t = R.look_at_view_transform(dist=torch.tensor([2.7, 3.0, 2.5]), elev=torch.tensor([10.0, -20.0, 30.0]), azim=torch.tensor([0.0, 45.0, -60.0]))
    cam_args = dict(fov=torch.tensor([60.0, 50.0, 70.0]), znear=torch.tensor([1.0, 0.5, 1.5]), zfar=torch.tensor([100.0, 10.0, 20.0]))
    light_args = dict(
        location=torch.tensor([[0.0, 1.0, -3.0], [2.0, 0.5, 1.0], [-1.0, -1.0, -2.0]]),
        diffuse_color=torch.tensor([[0.3, 0.3, 0.3], [0.6, 0.2, 0.1], [0.1, 0.5, 0.4]]),
    )
    mat_args = dict(
        ambient_color=torch.tensor([[1.0, 1.0, 1.0], [0.5, 0.9, 0.7], [0.2, 0.3, 0.4]]),
        specular_color=torch.tensor([[1.0, 1.0, 1.0], [0.2, 0.2, 0.9], [0.5, 0.5, 0.5]]),
        shininess=torch.tensor([64.0, 10.0, 30.0]),
    )
    return verts, faces, colours, r, t, cam_args, light_args, mat_args


def _pick(args, idx):
    return {k: v[idx] for k, v in args.items()}


def _render_all(meshes, cams, lights, materials, size=24):
    """{name: (images, fragments)} for several renderers sharing the inputs."""
    sigma = 1e-4
    blur = math.log(1.0 / 1e-4 - 1.0) * sigma
    hard = R.RasterizationSettings(image_size=size, faces_per_pixel=1)
    soft = R.RasterizationSettings(image_size=size, faces_per_pixel=4, blur_radius=blur)
    out = {}
    for name, settings, shader in (
        ("hard_phong", hard, R.HardPhongShader(cameras=cams, lights=lights, materials=materials)),
        ("hard_flat", hard, R.HardFlatShader(cameras=cams, lights=lights, materials=materials)),
        ("hard_gouraud", hard, R.HardGouraudShader(cameras=cams, lights=lights, materials=materials)),
        ("soft_phong", soft, R.SoftPhongShader(cameras=cams, lights=lights, materials=materials, blend_params=R.BlendParams(sigma=sigma, gamma=1e-2))),
        ("soft_gouraud", soft, R.SoftGouraudShader(cameras=cams, lights=lights, materials=materials)),
        ("silhouette", soft, R.SoftSilhouetteShader(R.BlendParams(sigma=sigma))),
    ):
        renderer = R.MeshRendererWithFragments(R.MeshRasterizer(cams, settings), shader)
        out[name] = renderer(meshes)
    return out


def test_batch_equals_loop_of_singles():
    verts, faces, colours, r, t, cam_args, light_args, mat_args = _batch_inputs()
    meshes = Meshes(verts, faces, textures=R.TexturesVertex(colours))
    cams = R.FoVPerspectiveCameras(R=r, T=t, **cam_args)
    lights = R.PointLights(**light_args)
    materials = R.Materials(**mat_args)
    batch = _render_all(meshes, cams, lights, materials)
    offsets = meshes.mesh_to_faces_packed_first_idx().tolist()
    assert offsets == [0, 80, 84]
    for i in range(2):  # element 2 is empty: see test_empty_meshes_render_as_background
        single_mesh = Meshes([verts[i]], [faces[i]], textures=R.TexturesVertex([colours[i]]))
        single = _render_all(
            single_mesh,
            R.FoVPerspectiveCameras(R=r[i : i + 1], T=t[i : i + 1], **_pick(cam_args, [i])),
            R.PointLights(**_pick(light_args, [i])),
            R.Materials(**_pick(mat_args, [i])),
        )
        for name in batch:
            img_b, frag_b = batch[name]
            img_s, frag_s = single[name]
            # float32 tolerance: SIMD exp/log round differently on a vector's body and tail, so a
            # batch and a single element can differ in the last bits (seen on AVX-512 machines).
            torch.testing.assert_close(img_b[i : i + 1], img_s, rtol=1e-5, atol=1e-5, msg=lambda m: f"{name} image {i}: {m}")
            p2f_b = frag_b.pix_to_face[i : i + 1]
            p2f_s = frag_s.pix_to_face
            shifted = torch.where(p2f_s >= 0, p2f_s + offsets[i], -1)
            assert torch.equal(p2f_b, shifted), f"{name} pix_to_face {i}"
            for field in ("zbuf", "bary_coords", "dists"):
                torch.testing.assert_close(getattr(frag_b, field)[i : i + 1], getattr(frag_s, field), rtol=1e-5, atol=1e-6)
    # the batch really varies: different meshes and cameras give different images
    img = batch["hard_phong"][0]
    assert not torch.allclose(img[0], img[1])
    # the empty element is pure background, with no fragments
    for name, (img, frags) in batch.items():
        assert (frags.pix_to_face[2] == -1).all(), name
        assert (img[2, ..., 3] == 0).all(), name
        if name != "silhouette":
            assert (img[2, ..., :3] == 1).all(), name


def test_empty_meshes_render_as_background():
    verts, faces, colours, r, t, cam_args, light_args, mat_args = _batch_inputs()
    meshes = Meshes(verts, faces, textures=R.TexturesVertex(colours))
    cams = R.FoVPerspectiveCameras(R=r, T=t, **cam_args)
    bg = (0.1, 0.2, 0.3)
    settings = R.RasterizationSettings(image_size=16, faces_per_pixel=3, blur_radius=1e-3)
    for shader in (
        R.HardPhongShader(cameras=cams, blend_params=R.BlendParams(background_color=bg)),
        R.SoftPhongShader(cameras=cams, blend_params=R.BlendParams(background_color=bg)),
    ):
        img, frags = R.MeshRendererWithFragments(R.MeshRasterizer(cams, settings), shader)(meshes)
        assert (frags.pix_to_face[2] == -1).all()
        torch.testing.assert_close(img[2, ..., :3], torch.tensor(bg).expand(16, 16, 3))
        assert (img[2, ..., 3] == 0).all()
        assert (img[0, ..., 3] > 0).any()
    # silhouettes of a batch made only of empty meshes
    empty = Meshes([torch.zeros(0, 3)] * 2, [torch.zeros(0, 3, dtype=torch.int64)] * 2)
    sil = R.MeshRenderer(R.MeshRasterizer(R.FoVPerspectiveCameras(), settings), R.SoftSilhouetteShader())(empty)
    assert sil.shape == (2, 16, 16, 4) and (sil[..., 3] == 0).all()


@pytest.mark.parametrize(
    "shader_cls",
    [
        R.HardPhongShader,
        R.SoftPhongShader,
        R.HardGouraudShader,
        R.SoftGouraudShader,
        R.HardFlatShader,
    ],
)
def test_batch_of_only_empty_meshes_renders_as_background(shader_cls):
    n = 2
    empty = Meshes([torch.zeros(0, 3)] * n, [torch.zeros(0, 3, dtype=torch.int64)] * n, textures=R.TexturesVertex([torch.zeros(0, 3)] * n))
    cams = R.FoVPerspectiveCameras()
    settings = R.RasterizationSettings(image_size=8, faces_per_pixel=2)
    img = R.MeshRenderer(R.MeshRasterizer(cams, settings), shader_cls(cameras=cams))(empty)
    assert img.shape == (n, 8, 8, 4)
    assert (img[..., :3] == 1).all() and (img[..., 3] == 0).all()


def test_single_camera_and_light_broadcast_to_batch():
    sphere = ico_sphere(1)
    v, f = sphere.verts_packed(), sphere.faces_packed()
    tex = R.TexturesVertex([0.5 + 0.5 * v] * 2)
    meshes = Meshes([v, v], [f, f], textures=tex)
    cams = R.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    renderer = R.MeshRenderer(R.MeshRasterizer(cams, R.RasterizationSettings(image_size=16)), R.HardPhongShader(cameras=cams))
    img = renderer(meshes)
    torch.testing.assert_close(img[0], img[1], rtol=0, atol=0)


def test_call_time_overrides_reach_rasterizer_and_shader():
    sphere = ico_sphere(1)
    meshes = Meshes([sphere.verts_packed()], [sphere.faces_packed()], textures=R.TexturesVertex([torch.full((42, 3), 0.7)]))
    cam_a = R.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    cam_b = R.FoVPerspectiveCameras(T=torch.tensor([[0.3, 0.0, 2.5]]))
    light_b = R.PointLights(location=((2.0, 2.0, -2.0),))
    settings = R.RasterizationSettings(image_size=16)
    base = R.MeshRenderer(R.MeshRasterizer(cam_a, settings), R.HardPhongShader(cameras=cam_a))
    built_b = R.MeshRenderer(R.MeshRasterizer(cam_b, settings), R.HardPhongShader(cameras=cam_b, lights=light_b))
    overridden = base(meshes, cameras=cam_b, lights=light_b)
    torch.testing.assert_close(overridden, built_b(meshes), rtol=0, atol=0)
    assert not torch.allclose(overridden, base(meshes))
    # raster_settings can be overridden at call time too
    big = base(meshes, raster_settings=R.RasterizationSettings(image_size=(10, 14)))
    assert big.shape == (1, 10, 14, 4)


def test_hard_shader_ignores_slots_beyond_the_first():
    sphere = ico_sphere(2)
    meshes = Meshes([sphere.verts_packed()], [sphere.faces_packed()], textures=R.TexturesVertex([0.5 + 0.5 * sphere.verts_packed()]))
    cams = R.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    shader = R.HardPhongShader(cameras=cams)
    one = R.MeshRenderer(R.MeshRasterizer(cams, R.RasterizationSettings(image_size=20, faces_per_pixel=1)), shader)(meshes)
    four = R.MeshRenderer(R.MeshRasterizer(cams, R.RasterizationSettings(image_size=20, faces_per_pixel=4)), shader)(meshes)
    torch.testing.assert_close(one, four, rtol=0, atol=1e-7)


def test_defaults_match_pytorch3d():
    s = R.RasterizationSettings()
    assert (s.image_size, s.blur_radius, s.faces_per_pixel, s.cull_backfaces) == (256, 0.0, 1, False)
    assert s.perspective_correct is None and s.clip_barycentric_coords is None and s.bin_size is None
    b = R.BlendParams()
    assert (b.sigma, b.gamma, tuple(b.background_color)) == (1e-4, 1e-4, (1.0, 1.0, 1.0))


# ----------------------------------------------------------------------------- analytic flat quad


def _quad(half=0.8, dtype=torch.float32):
    # y is shifted by 0.02 so that no pixel centre (odd multiples of 1/size) lies on an edge or
    # on the diagonal y = x + 0.02 shared by the two faces
    v = torch.tensor([[half, half + 0.02, 0.0], [-half, half + 0.02, 0.0], [-half, -half + 0.02, 0.0], [half, -half + 0.02, 0.0]], dtype=dtype)
    f = torch.tensor([[0, 2, 1], [0, 3, 2]])  # normals along -z, towards the camera at z = -2
    return v, f


def _colour_fn(p):
    """An affine colour field: bary interpolation over the quad reproduces it exactly."""
    x, y = p[..., 0], p[..., 1]
    return np.stack([0.5 + 0.3 * x, 0.4 - 0.2 * y, 0.3 + 0.1 * x + 0.2 * y], -1)


def _quad_scene(size):
    v, f = _quad()
    tex = R.TexturesVertex([torch.tensor(_colour_fn(v.numpy()), dtype=torch.float32)])
    meshes = Meshes([v], [f], textures=tex)
    cams = R.FoVOrthographicCameras(T=torch.tensor([[0.0, 0.0, 2.0]]))
    xs = np.array([(size - 1 - 2 * c) / size for c in range(size)])
    px, py = np.meshgrid(xs, xs)  # rows run over y, columns over x (same centres for a square)
    world = np.stack([px, py, np.zeros_like(px)], -1)
    inside = (np.abs(px) < 0.8) & (np.abs(py - 0.02) < 0.8)
    return meshes, cams, world, inside


def _normalize(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def test_phong_on_quad_matches_closed_form():
    size = 16
    meshes, cams, world, inside = _quad_scene(size)
    light_pos = np.array([0.4, -0.3, -1.5])
    lights = R.PointLights(location=(tuple(light_pos),), ambient_color=((0.2, 0.3, 0.1),), diffuse_color=((0.6, 0.5, 0.7),), specular_color=((0.3, 0.4, 0.2),))
    mats = R.Materials(ambient_color=((0.9, 0.8, 0.7),), diffuse_color=((0.6, 1.0, 0.8),), specular_color=((0.5, 0.7, 0.9),), shininess=5.0)
    img = R.MeshRenderer(R.MeshRasterizer(cams, R.RasterizationSettings(image_size=size)), R.HardPhongShader(cameras=cams, lights=lights, materials=mats))(meshes)[0].numpy()

    n = np.array([0.0, 0.0, -1.0])
    cam_centre = np.array([0.0, 0.0, -2.0])
    l = _normalize(light_pos - world)
    v = _normalize(cam_centre - world)
    nl = l @ n
    r = -l + 2 * nl[..., None] * n
    spec = (np.clip((v * r).sum(-1), 0, None) * (nl > 0)) ** 5.0
    texel = _colour_fn(world)
    want = (np.array([0.9, 0.8, 0.7]) * [0.2, 0.3, 0.1] + np.array([0.6, 1.0, 0.8]) * [0.6, 0.5, 0.7] * np.clip(nl, 0, None)[..., None]) * texel
    want = want + np.array([0.5, 0.7, 0.9]) * [0.3, 0.4, 0.2] * spec[..., None]
    assert inside.sum() == 13 * 12  # rows with |y - 0.02| < 0.8, columns with |x| < 0.8
    np.testing.assert_allclose(img[inside][:, :3], want[inside], atol=2e-6)
    assert (img[inside][:, 3] == 1).all()
    assert (img[~inside] == [1, 1, 1, 0]).all()


@pytest.mark.parametrize("shader_cls", [R.HardPhongShader, R.HardGouraudShader, R.HardFlatShader, R.SoftPhongShader, R.SoftGouraudShader])
def test_all_shaders_agree_on_quad_with_directional_light(shader_cls):
    # constant normal, directional light, no specular: lighting is one factor for the whole quad,
    # so Phong, Gouraud and flat shading all give (ka*La + kd*Ld*cos) * texel
    size = 12
    meshes, cams, world, inside = _quad_scene(size)
    d = np.array([0.3, 0.4, -1.0])
    lights = R.DirectionalLights(direction=(tuple(d),))
    mats = R.Materials(specular_color=((0.0, 0.0, 0.0),))
    shader = shader_cls(cameras=cams, lights=lights, materials=mats, blend_params=R.BlendParams(sigma=1e-8, gamma=1e-8))
    img = R.MeshRenderer(R.MeshRasterizer(cams, R.RasterizationSettings(image_size=size)), shader)(meshes)[0].numpy()
    cos = float(_normalize(d) @ np.array([0.0, 0.0, -1.0]))
    want = (0.5 + 0.3 * cos) * _colour_fn(world)
    np.testing.assert_allclose(img[inside][:, :3], want[inside], atol=2e-5)


def test_uv_texture_on_quad_samples_expected_texels():
    # uv = ((x + 0.8) / 1.6, (y + 0.78) / 1.6) over the quad; a 2x2 map with distinct corners makes
    # the bilinear texel an affine blend of the corners in (u, v), with v = 1 at the top row.
    size = 10
    v, f = _quad()
    uvs = torch.tensor([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
    tex_map = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]])
    tex = R.TexturesUV(maps=[tex_map], faces_uvs=[f], verts_uvs=[uvs])
    meshes = Meshes([v], [f], textures=tex)
    cams = R.FoVOrthographicCameras(T=torch.tensor([[0.0, 0.0, 2.0]]))
    img = R.MeshRenderer(R.MeshRasterizer(cams, R.RasterizationSettings(image_size=size)), R.HardPhongShader(cameras=cams, lights=R.AmbientLights()))(meshes)[0].numpy()
    xs = np.array([(size - 1 - 2 * c) / size for c in range(size)])
    px, py = np.meshgrid(xs, xs)
    inside = (np.abs(px) < 0.8) & (np.abs(py - 0.02) < 0.8)
    u = (px + 0.8) / 1.6
    vv = (py + 0.78) / 1.6
    # align_corners=True: u=0 -> column 0, u=1 -> column 1; v=1 -> row 0 (top), v=0 -> row 1
    top = (1 - u)[..., None] * tex_map[0, 0].numpy() + u[..., None] * tex_map[0, 1].numpy()
    bottom = (1 - u)[..., None] * tex_map[1, 0].numpy() + u[..., None] * tex_map[1, 1].numpy()
    want = vv[..., None] * top + (1 - vv)[..., None] * bottom
    np.testing.assert_allclose(img[inside][:, :3], want[inside], atol=2e-6)


def test_zbuf_of_perspective_render_is_view_depth():
    # A quad parallel to the image plane at world z = 0, camera at distance 3: depth is 3 everywhere
    v, f = _quad(half=1.5)
    meshes = Meshes([v], [f])
    cams = R.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    frags = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=8))(meshes)
    covered = frags.pix_to_face[..., 0] >= 0
    assert covered.sum() > 30
    torch.testing.assert_close(frags.zbuf[..., 0][covered], torch.full((int(covered.sum()),), 3.0))
