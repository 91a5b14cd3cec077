"""Bad input raises ValueError/TypeError with a message that names the problem.

Covers mesh construction (indices, shapes, dtypes, NaN/Inf), vertices that become non-finite
after construction, batch-size mismatches between meshes, cameras, lights and materials,
rasterization settings (image size, faces per pixel, blur radius) and the memory budget,
which must refuse oversized requests quickly, before allocating anything.
"""
from __future__ import annotations

import time

import pytest
import torch

from core import renderer as R
from core.structures import Meshes

V = torch.tensor([[0.5, 0.5, 0.0], [-0.5, 0.5, 0.0], [0.0, -0.5, 0.0], [0.6, -0.4, 0.2]])
F = torch.tensor([[0, 1, 2], [1, 3, 2]])


def _cams(n=1):
    return R.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]] * n))


def _mesh(n=1, textured=True):
    tex = R.TexturesVertex([V.clone()] * n) if textured else None
    return Meshes([V.clone()] * n, [F.clone()] * n, textures=tex)


def _rasterizer(**settings):
    settings.setdefault("image_size", 8)
    return R.MeshRasterizer(_cams(), R.RasterizationSettings(**settings))


# ----------------------------------------------------------------------------- meshes


@pytest.mark.parametrize(
    "faces,match",
    [
        (torch.tensor([[0, 1, 4]]), r"outside \[0, 4\)"),
        (torch.tensor([[0, 1, 100]]), r"outside \[0, 4\)"),
        (torch.tensor([[0, -1, 2]]), r"outside \[0, 4\)"),
    ],
)
def test_face_indices_out_of_range(faces, match):
    with pytest.raises(ValueError, match=match):
        Meshes([V], [faces])


def test_face_indices_out_of_range_names_the_mesh():
    with pytest.raises(ValueError, match="mesh 1"):
        Meshes([V, V], [F, torch.tensor([[0, 1, 7]])])


@pytest.mark.parametrize("faces", [torch.tensor([[0, 1, 2, 3]]), torch.tensor([[0, 1]]), torch.tensor([0, 1, 2])])
def test_non_triangular_faces(faces):
    with pytest.raises(ValueError, match=r"\(F, 3\)|triangle"):
        Meshes([V], [faces])


def test_float_faces_are_a_type_error():
    with pytest.raises(TypeError, match="integer"):
        Meshes([V], [F.float()])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("form", ["list", "padded"])
def test_non_finite_verts_at_construction(bad, form):
    v = V.clone()
    v[2, 1] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        if form == "list":
            Meshes([V, v], [F, F])
        else:
            Meshes(torch.stack([V, v]), torch.stack([F, F]))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_verts_made_non_finite_by_offset_are_refused_before_rendering(bad):
    mesh = _mesh()
    offsets = torch.zeros(4, 3)
    offsets[1, 0] = bad
    moved = mesh.offset_verts(offsets)  # no validation at this point, as in PyTorch3D
    renderer = R.MeshRenderer(_rasterizer(), R.HardPhongShader(cameras=_cams()))
    with pytest.raises(ValueError, match="NaN or Inf"):
        renderer(moved)
    with pytest.raises(ValueError, match="NaN or Inf"):
        _rasterizer()(mesh.clone().offset_verts_(torch.tensor([0.0, bad, 0.0])))


def test_vertex_on_camera_plane_is_skipped_not_refused():
    # face 0 in front of the camera; face 1 has vertex 3 at world z = -3, i.e. view z = 0
    v = torch.tensor([[0.5, 0.5, 0.0], [-0.5, 0.5, 0.0], [0.0, -0.5, 0.0], [0.5, 0.5, -3.0], [0.9, 0.9, 0.0], [0.2, 0.9, 0.0]])
    f = torch.tensor([[0, 1, 2], [3, 4, 5]])
    frags = _rasterizer()(Meshes([v], [f]))
    assert set(torch.unique(frags.pix_to_face).tolist()) == {-1, 0}


def test_vertex_behind_camera_skips_its_face_without_clipping():
    """No z_clip_value (none resolves without perspective correction): PyTorch3D's rule, the
    face is dropped rather than projected through the camera. (Clipping: test_clipping.py.)"""
    v = torch.tensor([[0.5, 0.5, 0.0], [-0.5, 0.5, 0.0], [0.0, -0.5, 0.0], [0.5, 0.5, -4.0], [0.9, 0.9, 0.0], [0.2, 0.9, 0.0]])
    f = torch.tensor([[0, 1, 2], [3, 4, 5]])
    frags = _rasterizer(perspective_correct=False)(Meshes([v], [f]))
    assert set(torch.unique(frags.pix_to_face).tolist()) == {-1, 0}
    clipped = _rasterizer()(Meshes([v], [f]))
    assert set(torch.unique(clipped.pix_to_face).tolist()) == {-1, 0, 1}


# ----------------------------------------------------------------------------- batch sizes


def test_two_meshes_three_cameras():
    meshes = _mesh(2)
    with pytest.raises(ValueError, match="3 cameras for 2 meshes"):
        R.MeshRasterizer(_cams(3), R.RasterizationSettings(image_size=8))(meshes)
    renderer = R.MeshRenderer(R.MeshRasterizer(_cams(3), R.RasterizationSettings(image_size=8)), R.HardPhongShader(cameras=_cams(3)))
    with pytest.raises(ValueError, match="3 cameras for 2 meshes"):
        renderer(meshes)
    # the shader checks its own cameras too (rasterizer given 2, shader 3)
    renderer = R.MeshRenderer(R.MeshRasterizer(_cams(2), R.RasterizationSettings(image_size=8)), R.HardPhongShader(cameras=_cams(3)))
    with pytest.raises(ValueError, match="3 cameras for 2 meshes"):
        renderer(meshes)


@pytest.mark.parametrize("shader_cls", [R.HardPhongShader, R.SoftPhongShader, R.HardGouraudShader, R.SoftGouraudShader, R.HardFlatShader])
def test_two_meshes_three_lights_or_materials(shader_cls):
    meshes = _mesh(2)
    lights = R.PointLights(location=torch.rand(3, 3))
    with pytest.raises(ValueError, match="3 lights for 2 meshes"):
        R.MeshRenderer(_rasterizer(), shader_cls(cameras=_cams(), lights=lights))(meshes)
    materials = R.Materials(shininess=torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="3 materials for 2 meshes"):
        R.MeshRenderer(_rasterizer(), shader_cls(cameras=_cams(), materials=materials))(meshes)
    # overrides given at call time are checked as well
    with pytest.raises(ValueError, match="3 lights for 2 meshes"):
        R.MeshRenderer(_rasterizer(), shader_cls(cameras=_cams()))(meshes, lights=lights)


def test_softmax_znear_with_wrong_batch():
    frags = R.Fragments(
        pix_to_face=torch.zeros(2, 4, 4, 1, dtype=torch.int64), zbuf=torch.ones(2, 4, 4, 1),
        bary_coords=torch.full((2, 4, 4, 1, 3), 1 / 3), dists=-torch.ones(2, 4, 4, 1),
    )
    with pytest.raises(ValueError, match="znear"):
        R.softmax_rgb_blend(torch.rand(2, 4, 4, 1, 3), frags, R.BlendParams(), znear=torch.ones(3))


def test_missing_cameras_and_textures():
    with pytest.raises(ValueError, match="cameras"):
        R.MeshRasterizer(raster_settings=R.RasterizationSettings(image_size=8))(_mesh())
    with pytest.raises(ValueError, match="cameras"):
        R.MeshRenderer(_rasterizer(), R.HardPhongShader())(_mesh())
    with pytest.raises(ValueError, match="textures"):
        R.MeshRenderer(_rasterizer(), R.HardPhongShader(cameras=_cams()))(_mesh(textured=False))
    uv = R.TexturesUV(maps=[torch.rand(4, 4, 3)], faces_uvs=[F], verts_uvs=[torch.rand(4, 2)])
    with pytest.raises(ValueError, match="TexturesVertex"):
        R.MeshRenderer(_rasterizer(), R.HardGouraudShader(cameras=_cams()))(Meshes([V], [F], textures=uv))


def _fragments_of_face_1():
    # face 0 is degenerate (never drawn), so every hit is packed face 1
    frags = _rasterizer()(Meshes([V[:3]], [torch.tensor([[0, 0, 0], [0, 1, 2]])]))
    assert set(torch.unique(frags.pix_to_face).tolist()) == {-1, 1}
    return frags


@pytest.mark.parametrize(
    "shader_cls",
    [
        R.HardPhongShader,
        R.SoftPhongShader,
        R.HardFlatShader,
        R.HardGouraudShader,
    ],
)
def test_fragments_referring_to_missing_faces(shader_cls):
    frags = _fragments_of_face_1()
    one_face = Meshes([V[:3]], [torch.tensor([[0, 1, 2]])], textures=R.TexturesVertex([V[:3]]))
    with pytest.raises(ValueError, match="face"):
        shader_cls(cameras=_cams())(frags, one_face)


def test_fragments_batch_differs_from_meshes():
    frags = _rasterizer()(_mesh(1))
    with pytest.raises(ValueError, match="batch|fragments"):
        R.HardPhongShader(cameras=_cams())(frags, _mesh(2))


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize("size", [0, -4, (0, 8), (8, -1), (8, 8, 8), (8,)])
def test_bad_image_size(size):
    with pytest.raises(ValueError, match="image_size"):
        _rasterizer(image_size=size)(_mesh(textured=False))
    with pytest.raises(ValueError, match="image_size"):
        R.rasterize_meshes(_mesh(textured=False), image_size=size)


@pytest.mark.parametrize("size", [8.5, (8.5, 8.5), True, None, "big"])
def test_non_integer_image_size(size):
    with pytest.raises((ValueError, TypeError), match="image_size"):
        R.rasterize_meshes(_mesh(textured=False), image_size=size)


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "2"])
def test_bad_faces_per_pixel(k):
    with pytest.raises(ValueError, match="faces_per_pixel"):
        _rasterizer(faces_per_pixel=k)(_mesh(textured=False))


@pytest.mark.parametrize("k", [0, -1])
def test_rasterize_meshes_bad_faces_per_pixel(k):
    meshes = Meshes([V + torch.tensor([0.0, 0.0, 2.0])], [F])
    with pytest.raises(ValueError, match="faces_per_pixel"):
        R.rasterize_meshes(meshes, image_size=8, faces_per_pixel=k)


@pytest.mark.parametrize("blur", [-0.1, float("nan"), float("inf")])
def test_bad_blur_radius(blur):
    with pytest.raises(ValueError, match="blur_radius"):
        _rasterizer(blur_radius=blur)(_mesh(textured=False))


@pytest.mark.parametrize(
    "params,match",
    [(R.BlendParams(sigma=0.0), "sigma"), (R.BlendParams(gamma=-1.0), "gamma"), (R.BlendParams(background_color=(1.0, 1.0)), "background_color")],
)
def test_bad_blend_params(params, match):
    with pytest.raises(ValueError, match=match):
        R.MeshRenderer(_rasterizer(), R.SoftPhongShader(cameras=_cams(), blend_params=params))(_mesh())


def test_silhouette_bad_sigma():
    with pytest.raises(ValueError, match="sigma"):
        R.MeshRenderer(_rasterizer(), R.SoftSilhouetteShader(R.BlendParams(sigma=-1.0)))(_mesh())


# ----------------------------------------------------------------------------- memory budget


def test_huge_request_is_refused_quickly():
    settings = R.RasterizationSettings(image_size=(2160, 3840), faces_per_pixel=1000)
    rasterizer = R.MeshRasterizer(_cams(), settings)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="faces_per_pixel") as info:
        rasterizer(_mesh(textured=False))
    assert time.perf_counter() - start < 0.5  # refused before allocating (an attempt takes seconds)
    msg = str(info.value)
    assert "2160x3840" in msg and "max_memory_bytes" in msg
    # also through the renderer, before any shading
    renderer = R.MeshRenderer(rasterizer, R.HardPhongShader(cameras=_cams()))
    with pytest.raises(ValueError, match="faces_per_pixel"):
        renderer(_mesh())


def test_small_memory_budget_counts_batch_size():
    budget = 16 * 16 * 2 * 1000  # room for 1000 bytes per slot of one 16x16x2 image
    settings = R.RasterizationSettings(image_size=16, faces_per_pixel=2, max_memory_bytes=budget)
    frags = R.MeshRasterizer(_cams(), settings)(_mesh(1, textured=False))
    assert frags.pix_to_face.shape == (1, 16, 16, 2)
    with pytest.raises(ValueError, match="faces_per_pixel=2"):
        R.MeshRasterizer(_cams(), settings)(_mesh(100, textured=False))
    with pytest.raises(ValueError, match="max_memory_bytes"):
        R.MeshRasterizer(_cams(), R.RasterizationSettings(image_size=16, max_memory_bytes=1000))(_mesh(textured=False))


def test_budget_error_carries_the_request_for_callers_to_phrase():
    settings = R.RasterizationSettings(image_size=(24, 32), faces_per_pixel=3, max_memory_bytes=1000)
    with pytest.raises(R.MemoryBudgetError) as info:
        R.MeshRasterizer(_cams(), settings)(_mesh(2, textured=False))
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.batch_size, error.image_size, error.faces_per_pixel, error.budget_bytes) == (2, (24, 32), 3, 1000)
    assert error.need_bytes >= 2 * 24 * 32 * 3 * 36  # at least the four dense outputs of every slot


def test_small_budget_message_states_the_sizes():
    with pytest.raises(ValueError) as info:
        R.MeshRasterizer(_cams(), R.RasterizationSettings(image_size=16, max_memory_bytes=1000))(_mesh(textured=False))
    assert "0.0 GiB" not in str(info.value)


def test_rasterize_meshes_refuses_huge_request(monkeypatch):
    from core.renderer.mesh.fragments import SparseFragments

    real_dense = SparseFragments.dense

    def guarded_dense(self, values, fill):
        # keep the unfixed code from really trying to allocate tens of GB during the test run
        if self.shape[0] * self.shape[1] * self.shape[2] * self.shape[3] > 10**8:
            raise AssertionError(f"rasterize_meshes went on to allocate dense outputs of shape {self.shape}")
        return real_dense(self, values, fill)

    monkeypatch.setattr(SparseFragments, "dense", guarded_dense)
    meshes = Meshes([V + torch.tensor([0.0, 0.0, 2.0])], [F])
    start = time.perf_counter()
    with pytest.raises(ValueError, match="faces_per_pixel"):
        R.rasterize_meshes(meshes, image_size=(2160, 3840), faces_per_pixel=1000)
    assert time.perf_counter() - start < 0.5
