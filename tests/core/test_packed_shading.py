"""The packed Phong path (point/directional lights) equals PyTorch3D-layout `phong_shading`."""
from __future__ import annotations

import math

import pytest
import torch

from core import renderer as R
from core.renderer.mesh.packed_shading import (
    interpolate_face_values,
    supports_packed_phong,
)
from core.structures import Meshes
from core.utils import ico_sphere


class _SubclassedPointLights(R.PointLights):
    """Same lights, but not the exact class, so shaders take the generic `phong_shading` path."""


class _SubclassedDirectionalLights(R.DirectionalLights):
    pass


def _scene(textured_uv: bool):
    sphere = ico_sphere(2)
    verts = sphere.verts_packed()
    faces = sphere.faces_packed()
    if textured_uv:
        uv = (verts[:, :2] * 0.5 + 0.5).clamp(0, 1)
        tex = R.TexturesUV(maps=[torch.rand(16, 16, 3)] * 2, faces_uvs=[faces] * 2, verts_uvs=[uv] * 2)
    else:
        tex = R.TexturesVertex(verts_features=[(0.5 + 0.4 * verts).clamp(0, 1)] * 2)
    offsets = torch.tensor([[0.0, 0.0, 0.0], [0.2, -0.1, 0.3]])
    mesh_verts = [verts + offsets[0], verts * 0.8 + offsets[1]]
    cams_R, cams_T = R.look_at_view_transform(2.7, torch.tensor([10.0, 40.0]), torch.tensor([20.0, 150.0]))
    cameras = R.FoVPerspectiveCameras(R=cams_R, T=cams_T)
    return mesh_verts, [faces] * 2, tex, cameras


@pytest.mark.parametrize("light_kind", ["point", "directional"])
@pytest.mark.parametrize("textured_uv", [False, True])
@pytest.mark.parametrize("shader_cls", [R.HardPhongShader, R.SoftPhongShader])
def test_packed_phong_matches_generic(light_kind, textured_uv, shader_cls):
    mesh_verts, faces, tex, cameras = _scene(textured_uv)
    if light_kind == "point":
        kwargs = dict(location=((2.0, 2.0, -3.0), (-1.0, 3.0, 2.0)), diffuse_color=((0.3, 0.4, 0.5), (0.6, 0.2, 0.1)))
        fast, slow = R.PointLights(**kwargs), _SubclassedPointLights(**kwargs)
    else:
        kwargs = dict(direction=((0.0, 1.0, 1.0), (1.0, -0.5, 0.2)), specular_color=((0.5, 0.5, 0.5), (0.1, 0.9, 0.3)))
        fast, slow = R.DirectionalLights(**kwargs), _SubclassedDirectionalLights(**kwargs)
    assert supports_packed_phong(fast) and not supports_packed_phong(slow)
    materials = R.Materials(shininess=torch.tensor([64.0, 1.5]), specular_color=((1.0, 1.0, 1.0), (0.5, 0.7, 0.9)))
    sigma = 1e-4
    settings = R.RasterizationSettings(
        image_size=(40, 48),
        blur_radius=math.log(1 / 1e-4 - 1) * sigma if shader_cls is R.SoftPhongShader else 0.0,
        faces_per_pixel=8 if shader_cls is R.SoftPhongShader else 1,
    )
    results = []
    for lights in (fast, slow):
        verts = [v.clone().requires_grad_(True) for v in mesh_verts]
        meshes = Meshes(verts=verts, faces=faces, textures=tex)
        shader = shader_cls(cameras=cameras, lights=lights, materials=materials, blend_params=R.BlendParams(sigma=sigma))
        images = R.MeshRenderer(R.MeshRasterizer(cameras, settings), shader)(meshes)
        grads = torch.autograd.grad((images * torch.linspace(0, 1, images.numel()).view_as(images)).sum(), verts)
        results.append((images.detach(), grads))
    (img_fast, g_fast), (img_slow, g_slow) = results
    assert (img_slow[..., 3] > 0).any()
    torch.testing.assert_close(img_fast, img_slow, atol=2e-6, rtol=1e-5)
    for a, b in zip(g_fast, g_slow):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("shader_cls", [R.HardPhongShader, R.SoftPhongShader])
def test_packed_uv_sampling_matches_generic_with_texture_gradients(shader_cls):
    """UV maps are sampled at the interpolated uv of each fragment (no (N, H, W, K) grid): the same
    image and the same gradients for the map and the uv coordinates as the generic path."""
    mesh_verts, faces, _, cameras = _scene(textured_uv=True)
    uv = (mesh_verts[0][:, :2] * 0.5 + 0.5).clamp(0, 1)
    maps = [torch.rand(16, 16, 3, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    sigma = 1e-4
    settings = R.RasterizationSettings(
        image_size=(40, 48), blur_radius=math.log(1 / 1e-4 - 1) * sigma if shader_cls is R.SoftPhongShader else 0.0,
        faces_per_pixel=8 if shader_cls is R.SoftPhongShader else 1,
    )
    results = []
    for lights in (R.PointLights(), _SubclassedPointLights()):
        leaves = [m.clone().requires_grad_(True) for m in maps] + [uv.clone().requires_grad_(True)]
        tex = R.TexturesUV(maps=leaves[:2], faces_uvs=faces, verts_uvs=[leaves[2]] * 2)
        shader = shader_cls(cameras=cameras, lights=lights, blend_params=R.BlendParams(sigma=sigma))
        images = R.MeshRenderer(R.MeshRasterizer(cameras, settings), shader)(Meshes(verts=mesh_verts, faces=faces, textures=tex))
        grads = torch.autograd.grad((images * torch.linspace(0, 1, images.numel()).view_as(images)).sum(), leaves)
        results.append((images.detach(), grads))
    (img_fast, g_fast), (img_slow, g_slow) = results
    torch.testing.assert_close(img_fast, img_slow, atol=2e-6, rtol=1e-5)
    assert all(g.abs().sum() > 0 for g in g_slow)
    for a, b in zip(g_fast, g_slow):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("face_order", ["packed", "shuffled"])
def test_face_interpolation_values_and_gradients(face_order):
    """Sparse-product interpolation equals the gather-and-sum formula; float64 gradcheck for
    the table and the barycentrics, with fragments in packed-face order (the per-face run
    backward) and shuffled (the index_add fallback)."""
    g = torch.Generator().manual_seed(3)
    num_faces, m = 5, 17
    table = torch.randn(3 * num_faces, 4, generator=g, dtype=torch.float64, requires_grad=True)
    face = torch.sort(torch.randint(0, num_faces - 1, (m,), generator=g)).values  # face 4 has no fragment
    if face_order == "shuffled":
        face = face[torch.randperm(m, generator=g)]
    bary = torch.rand(m, 3, generator=g, dtype=torch.float64, requires_grad=True)
    expected = sum(table[3 * face + i] * bary[:, i : i + 1] for i in range(3))
    torch.testing.assert_close(interpolate_face_values(table, face, bary), expected.t())
    assert torch.autograd.gradcheck(lambda t, b: interpolate_face_values(t, face, b), (table, bary))
