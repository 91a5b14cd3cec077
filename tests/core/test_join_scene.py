"""join_meshes_as_scene and TexturesUV/TexturesVertex.join_scene.

Truth: each object rendered on its own and composited by depth (the nearer covered pixel wins)
is what one hard-shaded render of the joined scene must show, texel for texel, and the
gradients reaching each object's texture map must be the same too.
"""
from __future__ import annotations

import pytest
import torch

from core import renderer as R
from core.structures import Meshes, join_meshes_as_batch, join_meshes_as_scene
from core.utils import ico_sphere

SIZE = 48


def _sphere(shift, scale: float, map_hw, seed: int, **uv_options) -> Meshes:
    sphere = ico_sphere(2)
    verts = sphere.verts_packed() * scale + torch.tensor(shift)
    faces = sphere.faces_packed()
    gen = torch.Generator().manual_seed(seed)
    uvs = (sphere.verts_packed()[:, :2] + 1) / 2  # planar projection, in [0, 1]
    texture_map = torch.rand(*map_hw, 3, generator=gen).requires_grad_(True)
    textures = R.TexturesUV(maps=[texture_map], faces_uvs=[faces], verts_uvs=[uvs], **uv_options)
    return Meshes([verts], [faces], textures=textures)


def _renderer():
    rot, trans = R.look_at_view_transform(dist=3.0, elev=10.0, azim=15.0)
    cams = R.FoVPerspectiveCameras(R=rot, T=trans)
    lights = R.PointLights(location=[[1.0, 2.0, -2.0]])
    return R.MeshRendererWithFragments(
        R.MeshRasterizer(cams, R.RasterizationSettings(image_size=SIZE)), R.HardPhongShader(cameras=cams, lights=lights)
    )


@pytest.mark.parametrize(
    "uv_options",
    [
        {},
        {"align_corners": False},
        {"sampling_mode": "nearest"},
        {"align_corners": False, "sampling_mode": "nearest"},
    ],
    ids=["corners", "no-corners", "nearest", "no-corners-nearest"],
)
def test_scene_render_equals_depth_composite_of_the_parts(uv_options):
    parts = [_sphere([0.5, 0.0, 0.0], 0.8, (16, 24), 0, **uv_options), _sphere([-0.6, 0.2, 0.5], 0.6, (10, 7), 1, **uv_options)]
    renderer = _renderer()
    alone = [renderer(part) for part in parts]
    depth = torch.stack([torch.where(f.pix_to_face[0, ..., 0] >= 0, f.zbuf[0, ..., 0], torch.inf) for _, f in alone])
    nearest = depth.argmin(0)
    composite = torch.where((nearest == 0)[..., None], alone[0][0][0], alone[1][0][0])
    covered = torch.isfinite(depth).sum(0)
    assert (covered == 2).sum() > 10 and (covered == 1).sum() > 200  # the spheres overlap on screen

    scene = join_meshes_as_scene(parts)
    assert len(scene) == 1 and scene.verts_packed().shape[0] == sum(p.verts_packed().shape[0] for p in parts)
    assert scene.textures.maps_padded().shape[0] == 1
    image, _ = renderer(scene)
    torch.testing.assert_close(image[0], composite, atol=1e-5, rtol=0)

    weights = torch.rand(image.shape, generator=torch.Generator().manual_seed(2))
    maps = [p.textures.maps_list()[0] for p in parts]
    scene_grads = torch.autograd.grad((image * weights).sum(), maps)
    composite_grads = torch.autograd.grad((composite[None] * weights).sum(), maps)
    assert all(g.abs().sum() > 0 for g in scene_grads)
    for got, want in zip(scene_grads, composite_grads):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_border_padding_is_kept_one_texel_beyond_the_map():
    """Border padding repeats the edge texel beyond [0, 1]; within one texel of the edge the
    atlas's repeated border reads the same, not the neighbouring map."""
    mesh = _sphere([0.0, 0.0, 0.0], 1.0, (6, 5), 3)
    tex = mesh.textures
    wide = R.TexturesUV(maps=tex.maps_list(), faces_uvs=tex.faces_uvs_list(), verts_uvs=[tex.verts_uvs_list()[0] * 1.1 - 0.05])
    parts = [Meshes(mesh.verts_list(), mesh.faces_list(), textures=wide), _sphere([0.0, 0.0, -40.0], 0.01, (6, 5), 4)]
    renderer = _renderer()
    alone, _ = renderer(parts[0])
    scene, _ = renderer(join_meshes_as_scene(join_meshes_as_batch(parts)))  # a Meshes batch is accepted as it is
    torch.testing.assert_close(scene, alone, atol=1e-5, rtol=0)  # the second sphere is a speck far behind


def test_vertex_colours_and_no_textures():
    a = ico_sphere(1)
    b = ico_sphere(0)
    colours = [torch.rand(a.verts_packed().shape[0], 3), torch.rand(b.verts_packed().shape[0], 3)]
    textured = [
        Meshes(a.verts_list(), a.faces_list(), textures=R.TexturesVertex([colours[0]])),
        Meshes([b.verts_packed() + 2.0], b.faces_list(), textures=R.TexturesVertex([colours[1]])),
    ]
    scene = join_meshes_as_scene(textured)
    n_a = a.verts_packed().shape[0]
    torch.testing.assert_close(scene.textures.verts_features_packed(), torch.cat(colours))
    torch.testing.assert_close(scene.faces_packed(), torch.cat([a.faces_packed(), b.faces_packed() + n_a]))
    assert join_meshes_as_scene(textured, include_textures=False).textures is None
    assert join_meshes_as_scene([a, b]).textures is None


def test_two_meshes_as_two_arguments_are_refused():
    """join_meshes_as_scene(a, b) would bind b to include_textures and silently drop it;
    PyTorch3D raises a ValueError, and so does core. The list form joins both."""
    a, b = ico_sphere(1), ico_sphere(0)
    with pytest.raises(ValueError, match="include_textures"):
        join_meshes_as_scene(a, b)
    scene = join_meshes_as_scene([a, b])
    assert scene.verts_packed().shape[0] == a.verts_packed().shape[0] + b.verts_packed().shape[0]
    assert len(join_meshes_as_scene(a, 0)) == 1  # an int is a valid flag, as in PyTorch3D
