"""PaneRenderer: the same pixels as calling core directly, and reuse of unchanged work."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.renderer import (
    BlendParams,
    FoVPerspectiveCameras,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    PointLights,
    RasterizationSettings,
    SoftPhongShader,
    look_at_view_transform,
)
from viewer import pane_renderer
from viewer.default_scene import torus_mesh
from viewer.pane_renderer import PaneRenderer, display_rgb
from viewer.parameters import Settings
from viewer.scene_mesh import make_scene_mesh

SIZE = 32


@pytest.fixture(scope="module")
def mesh():
    return make_scene_mesh(torus_mesh(ring_segments=24, tube_segments=12), "torus")


@pytest.fixture
def settings():
    return Settings({"raster.image_size": SIZE})


def _direct_core_render(mesh, pane: str) -> tuple[torch.Tensor, object]:
    """The default settings written out by hand against core's API (not via scene_builder)."""
    R, T = look_at_view_transform(dist=3.0, elev=35.0, azim=20.0)
    cameras = FoVPerspectiveCameras(R=R, T=T, fov=60.0)
    lights = PointLights(location=((2.0, 2.0, 3.0),))  # PyTorch3D's default colours
    soft = pane == "soft"
    raster = RasterizationSettings(
        image_size=SIZE, blur_radius=math.log(1 / 1e-4 - 1) * 1e-4 if soft else 0.0, faces_per_pixel=10 if soft else 1
    )
    shader_class = SoftPhongShader if soft else HardPhongShader
    shader = shader_class(cameras=cameras, lights=lights, materials=Materials(), blend_params=BlendParams(1e-4, 1e-4))
    with torch.no_grad():
        fragments = MeshRasterizer(cameras, raster)(mesh.meshes)
        return shader(fragments, mesh.meshes)[0], fragments


@pytest.mark.parametrize("pane", ["soft", "hard"])
def test_same_pixels_and_fragments_as_core_called_directly(mesh, settings, pane) -> None:
    image = PaneRenderer(pane).render(mesh, settings, with_fragments=True)
    expected, fragments = _direct_core_render(mesh, pane)
    assert np.allclose(image.rgba, expected.numpy(), atol=1e-6)
    assert image.display.shape == (SIZE, SIZE, 3) and image.display.dtype == np.uint8
    maps = image.fragments
    assert maps.layers == (10 if pane == "soft" else 1)
    assert np.array_equal(maps.pix_to_face, fragments.pix_to_face[0].numpy())
    assert np.allclose(maps.zbuf, fragments.zbuf[0].numpy())
    assert np.allclose(maps.dists, fragments.dists[0].numpy())
    assert np.array_equal(maps.alpha, image.rgba[..., 3]) and maps.shaded is image.rgba
    assert image.milliseconds > 0 and not image.reused


class _CountingRasterizer(MeshRasterizer):
    calls = 0

    def forward(self, meshes_world, **kwargs):
        type(self).calls += 1
        return super().forward(meshes_world, **kwargs)


def test_reuses_fragments_and_images_that_did_not_change(mesh, settings, monkeypatch) -> None:
    monkeypatch.setattr(pane_renderer, "MeshRasterizer", _CountingRasterizer)
    soft, hard = PaneRenderer("soft"), PaneRenderer("hard")
    fixed_blur = settings.replace({"raster.derive_blur": False, "raster.blur_radius": 1e-4})
    first_soft, first_hard = soft.render(mesh, fixed_blur), hard.render(mesh, fixed_blur)
    assert _CountingRasterizer.calls == 2

    moved = fixed_blur.replace({"blend.sigma": 1e-3})
    second_soft, second_hard = soft.render(mesh, moved), hard.render(mesh, moved)
    assert _CountingRasterizer.calls == 2  # sigma with a fixed blur: no new rasterization
    assert not second_soft.reused and not np.array_equal(second_soft.rgba, first_soft.rgba)
    assert second_hard.reused and second_hard.rgba is first_hard.rgba

    soft.render(mesh, moved.replace({"camera.azimuth": 50.0}))
    assert _CountingRasterizer.calls == 3
    other = make_scene_mesh(torus_mesh(ring_segments=24, tube_segments=12), "another torus")
    hard.render(other, moved)
    assert _CountingRasterizer.calls == 4  # a new mesh is never served from the cache


def test_fragments_can_be_asked_for_after_the_fact(mesh, settings) -> None:
    renderer = PaneRenderer("soft")
    plain = renderer.render(mesh, settings)
    assert plain.fragments is None
    again = renderer.render(mesh, settings, with_fragments=True)
    assert again.reused and again.fragments is not None and again.fragments.layers == 10


def test_refused_settings_raise_and_the_cache_survives(mesh, settings) -> None:
    renderer = PaneRenderer("soft")
    good = renderer.render(mesh, settings)
    too_big = settings.replace({"raster.image_size": 4096, "raster.faces_per_pixel": 100, "raster.memory_budget_mb": 64})
    with pytest.raises(ValueError, match="faces_per_pixel"):
        renderer.render(mesh, too_big)
    assert renderer.render(mesh, settings).rgba is good.rgba


def test_silhouette_pane_shows_alpha_as_grey() -> None:
    rgba = np.zeros((2, 2, 4), dtype=np.float32)
    rgba[..., :3] = 1.0
    rgba[0, 0, 3], rgba[1, 1, 3] = 1.0, 0.5
    grey = display_rgb(rgba, "Silhouette")
    assert grey[0, 0].tolist() == [255, 255, 255] and grey[1, 1].tolist() == [128, 128, 128]
    assert grey[0, 1].tolist() == [0, 0, 0]
    assert display_rgb(rgba, "Soft Phong")[0, 1].tolist() == [255, 255, 255]


def test_readout_reports_the_values_at_a_pixel(mesh, settings) -> None:
    maps = PaneRenderer("hard").render(mesh, settings, with_fragments=True).fragments
    ys, xs = np.nonzero(maps.pix_to_face[..., 0] >= 0)
    y, x = int(ys[0]), int(xs[0])
    text = maps.readout(x, y, 0)
    face = int(maps.pix_to_face[y, x, 0])
    assert f"face {face}" in text and f"z {maps.zbuf[y, x, 0]:.4f}" in text and "α 1.0000" in text
    assert maps.readout(0, 0, 0).endswith("k=0: empty")  # the corner is background
    with pytest.raises(ValueError, match="outside"):
        maps.readout(SIZE, 0, 0)
    with pytest.raises(ValueError, match="layer"):
        maps.readout(0, 0, 1)


@pytest.mark.cuda
@pytest.mark.parametrize("pane", ["soft", "hard"])
def test_cuda_renders_match_the_cpu(mesh, settings, pane, cuda_device) -> None:
    gpu = PaneRenderer(pane, cuda_device).render(mesh, settings, with_fragments=True)
    # The shared SceneMesh stays on the CPU (core moves textures in place: a copy went over).
    assert mesh.meshes.textures.verts_features_packed().device.type == "cpu"
    cpu = PaneRenderer(pane).render(mesh, settings, with_fragments=True)
    assert gpu.rgba.shape == cpu.rgba.shape
    # Float round-off may flip a pixel exactly on an edge or swap near-equal depths.
    assert (np.abs(gpu.rgba - cpu.rgba).max(-1) > 2e-3).mean() < 0.005
    assert (gpu.fragments.pix_to_face == cpu.fragments.pix_to_face).mean() > 0.995


def test_silhouette_fragments_serve_the_inspector_and_a_later_shader(mesh, settings, monkeypatch) -> None:
    """A silhouette pane rasterizes without depths and barycentrics (they are computed when
    read): its fragment maps, and a switch to Soft Phong that reuses its fragments, equal a
    pane that rasterized for Soft Phong from the start."""
    from core.renderer.mesh import rasterize_meshes

    selections = []
    select = rasterize_meshes.select_fragments
    monkeypatch.setattr(rasterize_meshes, "select_fragments",
                        lambda *a, **k: selections.append(k.get("with_geometry", True)) or select(*a, **k))
    silhouette = settings.replace({"pane.soft_shader": "Silhouette"})
    phong = settings.replace({"pane.soft_shader": "Soft Phong"})
    reused = PaneRenderer("soft")
    maps = reused.render(mesh, silhouette, with_fragments=True).fragments
    switched = reused.render(mesh, phong)
    fresh = PaneRenderer("soft").render(mesh, phong, with_fragments=True)
    assert selections == [False, True]  # deferred for the silhouette; the switch reused its fragments
    assert np.array_equal(switched.rgba, fresh.rgba)
    for name in ("pix_to_face", "zbuf", "bary_coords", "dists"):
        assert np.array_equal(getattr(maps, name), getattr(fresh.fragments, name)), name


def test_znear_moves_the_near_clip_and_zfar_the_soft_depth_scale(mesh, settings) -> None:
    """Level with the torus, 0.3 from its ring, znear 1 clips at 0.5 and znear 0.1 at
    0.05: the hard pane changes. At the default distance nothing is clipped, and zfar changes
    the soft blend's depth normalisation only: the soft pane changes, the hard one does not."""
    close = settings.replace({"camera.distance": 1.3, "camera.elevation": 0.0})
    renderer = PaneRenderer("hard")
    clipped = renderer.render(mesh, close).rgba.copy()
    nearer = renderer.render(mesh, close.replace({"camera.znear": 0.1})).rgba
    assert not np.array_equal(clipped, nearer)
    for pane, changes in (("soft", True), ("hard", False)):
        renderer = PaneRenderer(pane)
        base = renderer.render(mesh, settings).rgba.copy()
        other = renderer.render(mesh, settings.replace({"camera.zfar": 20.0})).rgba
        assert (not np.array_equal(base, other)) == changes, pane


@pytest.mark.parametrize("pane, shader", [("hard", "Hard Depth"), ("soft", "Soft Depth")])
def test_depth_panes_show_disparity_and_read_out_depth(mesh, settings, pane, shader) -> None:
    chosen = settings.replace({f"pane.{pane}_shader": shader, "camera.zfar": 30.0})
    renderer = PaneRenderer(pane)
    image = renderer.render(mesh, chosen, with_fragments=True)
    depth = image.rgba[..., 0]
    assert image.rgba.shape == (SIZE, SIZE, 1) and image.fragments.alpha is None
    assert depth[0, 0] == pytest.approx(30.0)  # background: the camera's zfar
    grey = image.display
    assert grey.shape == (SIZE, SIZE, 3) and (grey[..., 0] == grey[..., 2]).all()
    assert grey[0, 0].tolist() == [0, 0, 0] and grey.max() == 255 and grey[depth == depth.min()].min() == 255
    ys, xs = np.nonzero(image.fragments.pix_to_face[..., 0] >= 0)
    y, x = int(ys[0]), int(xs[0])
    assert f"depth {depth[y, x]:.4f}" in image.fragments.readout(x, y, 0)
    # a depth map reads no light: moving the light reuses it; zfar re-renders it
    assert renderer.render(mesh, chosen.replace({"light.location": (0.0, 5.0, 0.0)})).reused
    farther = renderer.render(mesh, chosen.replace({"camera.zfar": 60.0}))
    assert not farther.reused and farther.rgba[0, 0, 0] == pytest.approx(60.0)


def test_soft_depth_pane_follows_sigma(mesh, settings) -> None:
    chosen = settings.replace({"pane.soft_shader": "Soft Depth", "raster.derive_blur": False, "raster.blur_radius": 1e-3})
    renderer = PaneRenderer("soft")
    crisp = renderer.render(mesh, chosen.replace({"blend.sigma": 1e-6})).rgba
    soft = renderer.render(mesh, chosen.replace({"blend.sigma": 1e-3})).rgba
    assert np.abs(crisp - soft).max() > 1.0  # edges blend towards zfar


def test_k_report_says_where_faces_per_pixel_dropped_faces(mesh, settings) -> None:
    renderer = PaneRenderer("soft")
    blurry = settings.replace({"raster.derive_blur": False, "raster.blur_radius": 5e-3})
    small = renderer.render(mesh, blurry.replace({"raster.faces_per_pixel": 2}), with_fragments=True)
    report = small.k_report
    assert report.k == 2 and report.covered > 100 and report.crowded > report.lost > 0
    assert "too small" in report.summary() and f"{report.lost} the face" in report.details()
    state = small.fragments.k_state
    assert (state == pane_renderer.LOST).sum() == report.lost and (state > 0).sum() == report.crowded
    y, x = map(int, np.argwhere(state == pane_renderer.LOST)[0])
    assert "the face under the pixel was dropped" in small.fragments.readout(x, y, 0)
    roomy = renderer.render(mesh, blurry.replace({"raster.faces_per_pixel": 100})).k_report
    assert roomy.crowded == roomy.lost == 0 and roomy.summary() == "K = 100 holds every face within reach"
    hard = PaneRenderer("hard").render(mesh, settings).k_report
    assert hard.k == 1 and hard.lost == 0 and hard.summary() == "K = 1: the nearest face of each pixel"


def test_soft_panes_carry_each_layers_share_of_the_colour(mesh, settings) -> None:
    soft = PaneRenderer("soft").render(mesh, settings, with_fragments=True).fragments
    assert soft.shares.shape == soft.pix_to_face.shape and soft.background_share.shape == soft.shape
    np.testing.assert_allclose(soft.shares.sum(-1) + soft.background_share, 1.0, atol=1e-5)
    assert (soft.shares[soft.pix_to_face < 0] == 0).all()
    ys, xs = np.nonzero(soft.pix_to_face[..., 0] >= 0)
    assert f"share {soft.shares[ys[0], xs[0], 0]:.3f}" in soft.readout(int(xs[0]), int(ys[0]), 0)
    sharper = settings.replace({"blend.gamma": 1e-6})  # gamma → 0: the nearest layer takes the colour
    assert PaneRenderer("soft").render(mesh, sharper, with_fragments=True).fragments.shares[..., 0].max() > 0.99
    assert PaneRenderer("hard").render(mesh, settings, with_fragments=True).fragments.shares is None
    silhouette = settings.replace({"pane.soft_shader": "Silhouette"})
    assert PaneRenderer("soft").render(mesh, silhouette, with_fragments=True).fragments.shares is None


def test_soft_coverage_panes_carry_its_gradient_and_sigma_widens_its_band(mesh, settings) -> None:
    from viewer.views.colour_maps import alpha_gradient_image

    soft = PaneRenderer("soft").render(mesh, settings, with_fragments=True).fragments
    grad = soft.alpha_gradient
    assert grad.shape == soft.pix_to_face.shape and (grad <= 0).all() and (grad[soft.pix_to_face < 0] == 0).all()
    y, x = map(int, np.argwhere(np.abs(grad[..., 0]) > 0)[0])
    assert f"∂α/∂dist {grad[y, x, 0]:.3e}" in soft.readout(x, y, 0)
    # a wider σ lets coverage respond farther from the silhouette: more pixels in the band
    wide = PaneRenderer("soft").render(mesh, settings.replace({"blend.sigma": 1e-3}), with_fragments=True).fragments
    band = [int((np.abs(maps.alpha_gradient).sum(-1) > 1.0).sum()) for maps in (soft, wide)]
    assert band[1] > band[0] > 0, band
    silhouette = settings.replace({"pane.soft_shader": "Silhouette"})
    assert PaneRenderer("soft").render(mesh, silhouette, with_fragments=True).fragments.alpha_gradient is not None
    hard = PaneRenderer("hard").render(mesh, settings, with_fragments=True).fragments
    assert hard.alpha_gradient is None and "no soft coverage" in alpha_gradient_image(None, hard.pix_to_face[..., 0])[1]
    picture, legend = alpha_gradient_image(grad, soft.pix_to_face[..., 0])
    assert picture.shape == (*soft.shape, 3) and "responds at" in legend
    assert (picture[np.abs(grad).sum(-1) == 0] == 0).all()  # no response: black


def test_gouraud_shows_a_textured_mesh_with_its_texture_averaged_onto_the_vertices() -> None:
    """PyTorch3D's Gouraud shading reads vertex colours only; the pane gives a UV-textured mesh
    the per-vertex colours the 3D view shows, and says so, instead of failing."""
    from core.renderer import TexturesUV
    from core.structures import Meshes
    from core.utils import ico_sphere
    from viewer.scene_mesh import make_scene_mesh

    sphere = ico_sphere(2)
    verts = sphere.verts_packed()
    uv = (verts[:, :2] * 0.5 + 0.5).clamp(0, 1)
    red = torch.zeros(8, 8, 3)
    red[..., 0] = 1.0
    textured = make_scene_mesh(Meshes([verts], [sphere.faces_packed()],
                                      TexturesUV(maps=[red], faces_uvs=[sphere.faces_packed()], verts_uvs=[uv])), "red")
    settings = Settings({"raster.image_size": 32, "light.type": "ambient", "light.ambient": (1.0, 1.0, 1.0)})
    for pane, shader in (("soft", "Soft Gouraud"), ("hard", "Hard Gouraud")):
        image = PaneRenderer(pane).render(textured, settings.replace({f"pane.{pane}_shader": shader}))
        covered = image.rgba[..., 3] > 0.99
        assert covered.any() and image.note is not None and "vertex colours" in image.note
        np.testing.assert_allclose(image.rgba[covered][:, :3], np.tile([1.0, 0.0, 0.0], (int(covered.sum()), 1)), atol=1e-5)
    phong = PaneRenderer("soft").render(textured, settings)
    assert phong.note is None
