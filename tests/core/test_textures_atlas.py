"""TexturesAtlas (per-face texel grids) and atlases built from OBJ files.

Truth: which small triangle of the face a barycentric point lies in, decided geometrically;
UV-texture sampling of the same image (an atlas approximates it to within the image's change
over one small triangle); batch = singles; gradcheck.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from core import renderer as R
from core.io import load_objs_as_meshes
from core.io.texture_atlas import sample_face_atlas, texel_barycentrics
from core.renderer.mesh.fragments import Fragments
from core.structures import Meshes, join_meshes_as_batch, join_meshes_as_scene
from tests.core.test_io_load import write_textured_obj
from tests.shared_data import require_shared


def _fragments_at(bary: torch.Tensor, face: int = 0) -> Fragments:
    """Fragments of one image, one row, one slot per barycentric point (M, 3)."""
    m = bary.shape[0]
    return Fragments(
        pix_to_face=torch.full((1, 1, m, 1), face), zbuf=torch.ones(1, 1, m, 1),
        bary_coords=bary.reshape(1, 1, m, 1, 3), dists=torch.zeros(1, 1, m, 1),
    )


def _small_triangles(size: int):
    """Each small triangle of the (w0, w1) plane with the texel (y, x) that holds it."""
    for y in range(size):
        for x in range(size - y):
            corners = np.array([[x, y], [x + 1, y], [x, y + 1]]) / size
            yield corners, (y, x)
            if x + y < size - 1:  # the cell also has an upper triangle inside the face
                yield np.array([[x + 1, y + 1], [x + 1, y], [x, y + 1]]) / size, (size - 1 - y, size - 1 - x)


@pytest.mark.parametrize("size", [1, 3, 5])
def test_sampling_reads_the_texel_of_the_small_triangle_under_the_point(size):
    atlas = torch.arange(size * size, dtype=torch.float32).reshape(1, size, size, 1)
    textures = R.TexturesAtlas([atlas])
    rng = np.random.default_rng(size)
    points, expected = [], []
    for corners, (y, x) in _small_triangles(size):
        weights = rng.dirichlet(np.full(3, 2.0), size=20)  # points well inside the small triangle
        w01 = weights @ corners
        points.append(np.column_stack((w01, 1.0 - w01.sum(1))))
        expected += [y * size + x] * 20
    sampled = textures.sample_textures(_fragments_at(torch.tensor(np.concatenate(points), dtype=torch.float32)))
    assert sampled.reshape(-1).tolist() == expected
    assert len(set(expected)) == size * size  # every texel holds one small triangle


def test_the_atlas_maker_and_the_sampler_agree_on_every_texel():
    size = 6
    centroids = texel_barycentrics(size).reshape(-1, 3)
    atlas = torch.arange(size * size, dtype=torch.float32).reshape(1, size, size, 1)
    sampled = R.TexturesAtlas([atlas]).sample_textures(_fragments_at(centroids))
    assert sampled.reshape(-1).tolist() == list(range(size * size))
    assert torch.allclose(centroids.sum(-1), torch.ones(size * size)) and bool((centroids > 0).all())


def test_barycentrics_of_one_read_the_corner_texels():
    atlas = torch.rand(1, 4, 4, 3)
    textures = R.TexturesAtlas([atlas])
    corners = textures.sample_textures(_fragments_at(torch.eye(3)))  # v0, v1, v2 exactly
    torch.testing.assert_close(corners.reshape(3, 3), textures.faces_verts_textures_packed()[0])
    empty = Fragments(pix_to_face=torch.full((1, 1, 1, 1), -1), zbuf=-torch.ones(1, 1, 1, 1),
                      bary_coords=-torch.ones(1, 1, 1, 1, 3), dists=-torch.ones(1, 1, 1, 1))
    assert textures.sample_textures(empty).abs().sum() == 0


def _quad(textures) -> Meshes:
    verts = torch.tensor([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]])
    return Meshes([verts], [torch.tensor([[0, 1, 2], [0, 2, 3]])], textures=textures)


def _flat_render(meshes: Meshes, size: int = 48) -> torch.Tensor:
    """Texels as they are: ambient light 1, no diffuse or specular."""
    cameras = R.FoVPerspectiveCameras(R=torch.eye(3)[None] * torch.tensor([-1.0, 1.0, -1.0]), T=torch.tensor([[0.0, 0.0, 2.6]]))
    lights = R.AmbientLights(ambient_color=((1.0, 1.0, 1.0),))
    materials = R.Materials(ambient_color=((1.0, 1.0, 1.0),), diffuse_color=((0.0, 0.0, 0.0),),
                            specular_color=((0.0, 0.0, 0.0),))
    renderer = R.MeshRenderer(R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=size)),
                              R.HardPhongShader(cameras=cameras, lights=lights, materials=materials))
    return renderer(meshes)[..., :3]


def test_an_atlas_approximates_the_uv_texture_it_was_made_from():
    """A smooth image: the atlas texel is the image at its small triangle's centroid, so the
    two renders differ by at most the image's change across one small triangle."""
    h = w = 64
    v, u = torch.meshgrid(torch.linspace(1, 0, h), torch.linspace(0, 1, w), indexing="ij")
    image = torch.stack((u, v, 0.5 + 0.5 * torch.sin(3 * u) * v), dim=-1)  # slope at most ~1.5 per uv unit
    verts_uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    faces_uvs = torch.tensor([[0, 1, 2], [0, 2, 3]])
    uv_render = _flat_render(_quad(R.TexturesUV([image], [faces_uvs], [verts_uvs])))
    for size in (4, 16):
        atlas = sample_face_atlas(image, verts_uvs[faces_uvs], size)
        diff = (_flat_render(_quad(R.TexturesAtlas([atlas]))) - uv_render).abs()
        covered = uv_render.sum(-1) > 0
        assert diff[covered].max() < 1.5 * math.sqrt(2) / size + 1e-3
    assert diff[covered].mean() < 0.02


def test_one_texel_per_face_is_flat_colour():
    colours = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.2, 0.8]])
    image = _flat_render(_quad(R.TexturesAtlas([colours[:, None, None, :]])))[0]
    found = {tuple(np.round(c, 4)) for c in image.reshape(-1, 3).numpy().tolist()}
    assert found == {(1.0, 1.0, 1.0), *(tuple(np.round(c, 4)) for c in colours.tolist())}  # + the white background


def test_batches_render_like_their_elements():
    big, small = R.TexturesAtlas([torch.rand(2, 3, 3, 3)]), R.TexturesAtlas([torch.rand(2, 3, 3, 3)])
    a, b = _quad(big), Meshes([_quad(None).verts_packed() * 0.5], [_quad(None).faces_packed()], textures=small)
    batch = join_meshes_as_batch([a, b])
    images = _flat_render(batch)
    torch.testing.assert_close(images[0:1], _flat_render(a))
    torch.testing.assert_close(images[1:2], _flat_render(b))
    torch.testing.assert_close(_flat_render(batch[1]), _flat_render(b))
    torch.testing.assert_close(_flat_render(a.extend(2))[1:2], _flat_render(a))
    scene = join_meshes_as_scene([a, b])  # b's quad lies inside a's at the same depth: a's faces come first
    assert len(scene) == 1 and scene.textures.atlas_packed().shape == (4, 3, 3, 3)
    padded = R.TexturesAtlas(batch.textures.atlas_padded())
    assert torch.equal(Meshes(batch.verts_list(), batch.faces_list(), textures=padded).textures.atlas_packed(),
                       batch.textures.atlas_packed())
    assert torch.equal(batch.textures.clone().atlas_packed(), batch.textures.atlas_packed())


def test_atlas_padded_pads_the_face_dimension_of_unequal_meshes():
    """Meshes with different face counts: atlas_padded is (N, max F, R, R, C), each mesh's
    atlas first and zeros after it (PyTorch3D's list_to_padded), and it round-trips."""
    first, second = torch.rand(2, 4, 4, 3), torch.rand(3, 4, 4, 3)
    tex = R.TexturesAtlas([first, second])
    padded = tex.atlas_padded()
    assert padded.shape == (2, 3, 4, 4, 3)
    assert torch.equal(padded[0, :2], first) and torch.equal(padded[1], second)
    assert torch.count_nonzero(padded[0, 2]) == 0
    assert tex.check_shapes(2, 0, 3)
    assert tex.extend(2).atlas_padded().shape == (4, 3, 4, 4, 3)
    assert tex.join_batch([tex[1]]).atlas_padded().shape == (3, 3, 4, 4, 3)
    again = R.TexturesAtlas(padded)
    again._num_faces_per_mesh = [2, 3]
    assert torch.equal(again.atlas_packed(), torch.cat([first, second]))


def test_gradients_reach_the_atlas():
    atlas = torch.rand(2, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    bary = torch.tensor([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=torch.float64)

    def sample(a: torch.Tensor) -> torch.Tensor:
        frags = Fragments(pix_to_face=torch.tensor([0, 1, 1]).reshape(1, 1, 3, 1), zbuf=torch.ones(1, 1, 3, 1),
                          bary_coords=bary.reshape(1, 1, 3, 1, 3), dists=torch.zeros(1, 1, 3, 1))
        return R.TexturesAtlas([a]).sample_textures(frags)

    assert gradcheck(sample, (atlas,))


def test_bad_atlases_are_refused():
    with pytest.raises(ValueError, match=r"\(F, R, R, C\)"):
        R.TexturesAtlas([torch.rand(2, 3, 4, 3)])
    with pytest.raises(ValueError, match=r"\(N, F, R, R, C\)"):
        R.TexturesAtlas(torch.rand(2, 3, 3, 3))
    with pytest.raises(TypeError):
        R.TexturesAtlas("atlas")


@pytest.mark.parametrize("wrap, expected", [("repeat", [0.25, 0.75]), ("clamp", [1.0, 0.0]), (None, [0.0, 0.0])])
def test_texture_wrap_of_uvs_outside_the_image(wrap, expected):
    """A horizontal ramp image (value = u); a face whose uvs all sit at u = 1.25 (or -0.25)."""
    image = torch.linspace(0, 1, 5)[None, :, None].expand(3, 5, 1).contiguous()
    uvs = torch.tensor([[[1.25, 0.5]] * 3, [[-0.25, 0.5]] * 3])
    atlas = sample_face_atlas(image, uvs, 2, wrap)
    assert atlas[:, 0, 0, 0].tolist() == pytest.approx(expected)


def test_obj_files_load_as_atlases(tmp_path):
    quad = load_objs_as_meshes([write_textured_obj(tmp_path)], create_texture_atlas=True, texture_atlas_size=2)
    assert isinstance(quad.textures, R.TexturesAtlas) and quad.textures.atlas_packed().shape == (2, 2, 2, 3)
    plain = tmp_path / "plain.obj"
    (tmp_path / "plain.mtl").write_text("newmtl red\nKd 0.8 0.1 0.1\n")
    plain.write_text("mtllib plain.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl red\nf 1 2 3\n")
    atlas = load_objs_as_meshes([plain], create_texture_atlas=True).textures.atlas_packed()
    assert atlas.shape == (1, 4, 4, 3) and torch.allclose(atlas, torch.tensor([0.8, 0.1, 0.1]).expand(1, 4, 4, 3), atol=1 / 255)
    bare = tmp_path / "bare.obj"
    bare.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    assert bool((load_objs_as_meshes([bare], create_texture_atlas=True).textures.atlas_packed() == 1).all())  # white


def test_the_cow_as_an_atlas_looks_like_the_cow():
    cow = require_shared("data/cow_mesh/cow.obj")
    uv = load_objs_as_meshes([cow])
    atlas = load_objs_as_meshes([cow], create_texture_atlas=True, texture_atlas_size=8)
    assert atlas.textures.atlas_packed().shape == (5856, 8, 8, 3)
    rot, trans = R.look_at_view_transform(2.7, 10.0, 150.0)
    cameras = R.FoVPerspectiveCameras(R=rot, T=trans)
    renderer = R.MeshRenderer(R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=128)),
                              R.HardPhongShader(cameras=cameras, lights=R.PointLights(location=[[0.0, 2.0, -3.0]])))
    a, b = renderer(uv)[0, ..., :3], renderer(atlas)[0, ..., :3]
    diff = (a - b).abs()
    assert diff.mean() < 0.01 and (diff > 0.1).float().mean() < 0.01


def test_cuda_atlas_renders_like_the_cpu(cuda_device):
    atlas = torch.rand(2, 3, 3, 3)
    cpu = _flat_render(_quad(R.TexturesAtlas([atlas])))
    cameras = R.FoVPerspectiveCameras(R=torch.eye(3)[None] * torch.tensor([-1.0, 1.0, -1.0]), T=torch.tensor([[0.0, 0.0, 2.6]]), device=cuda_device)
    lights = R.AmbientLights(ambient_color=((1.0, 1.0, 1.0),), device=cuda_device)
    materials = R.Materials(ambient_color=((1.0, 1.0, 1.0),), diffuse_color=((0.0, 0.0, 0.0),),
                            specular_color=((0.0, 0.0, 0.0),), device=cuda_device)
    renderer = R.MeshRenderer(R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=48)),
                              R.HardPhongShader(device=cuda_device, cameras=cameras, lights=lights, materials=materials))
    gpu = renderer(_quad(R.TexturesAtlas([atlas])).to(cuda_device))[..., :3].cpu()
    assert (gpu - cpu).abs().max() < 1e-5 or (gpu != cpu).any(-1).float().mean() < 0.01
