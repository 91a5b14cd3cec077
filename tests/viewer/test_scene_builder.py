"""Settings -> core objects: which classes, which arguments, what the caches key on."""

from __future__ import annotations

import math

import pytest
import torch

from core.renderer import (
    AmbientLights,
    DirectionalLights,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    HardFlatShader,
    PointLights,
    SoftGouraudShader,
    SoftSilhouetteShader,
)
from viewer import scene_builder as sb
from viewer.parameters import Settings

CPU = torch.device("cpu")


def test_derived_blur_radius_matches_the_tutorial_formula() -> None:
    # PyTorch3D's tutorials: blur_radius = np.log(1. / 1e-4 - 1.) * sigma
    assert sb.derived_blur_radius(1e-4) == pytest.approx(9.21024036697585e-4, rel=1e-12)
    settings = Settings({"blend.sigma": 2e-5, "raster.blur_radius": 0.05})
    assert sb.effective_blur_radius(settings) == pytest.approx(math.log(9999.0) * 2e-5)
    assert sb.effective_blur_radius(settings.replace({"raster.derive_blur": False})) == 0.05


def test_hard_pane_rasterizes_hard_unless_asked() -> None:
    settings = Settings({"raster.faces_per_pixel": 7, "raster.image_size": 64, "raster.cull_backfaces": True})
    soft, hard = sb.raster_settings(settings, "soft"), sb.raster_settings(settings, "hard")
    assert (soft.faces_per_pixel, soft.blur_radius > 0) == (7, True)
    assert (hard.faces_per_pixel, hard.blur_radius) == (1, 0.0)
    assert hard.image_size == soft.image_size == 64 and hard.cull_backfaces and soft.cull_backfaces
    shared = sb.raster_settings(settings.replace({"raster.hard_uses_soft": True}), "hard")
    assert (shared.faces_per_pixel, shared.blur_radius) == (7, soft.blur_radius)


def test_memory_budget_and_perspective_correct_reach_core() -> None:
    settings = Settings({"raster.memory_budget_mb": 100, "raster.perspective_correct": "off"})
    rs = sb.raster_settings(settings, "soft")
    assert rs.max_memory_bytes == 100 * 1024 * 1024 and rs.perspective_correct is False
    assert sb.raster_settings(Settings(), "soft").perspective_correct is None


def test_cameras() -> None:
    settings = Settings({"camera.distance": 2.0, "camera.elevation": 0.0, "camera.azimuth": 90.0, "camera.fov": 40.0})
    cameras = sb.build_cameras(settings, CPU)
    assert isinstance(cameras, FoVPerspectiveCameras)
    # Azimuth 90° puts the camera on +X at the given distance.
    assert torch.allclose(cameras.get_camera_center(), torch.tensor([[2.0, 0.0, 0.0]]), atol=1e-6)
    ortho = sb.build_cameras(settings.replace({"camera.projection": "orthographic"}), CPU)
    assert isinstance(ortho, FoVOrthographicCameras)
    assert float(ortho.max_y) == pytest.approx(2.0 * math.tan(math.radians(20.0)))


def test_lights_by_type() -> None:
    settings = Settings({"light.location": (1.0, 2.0, 3.0), "light.ambient": (0.1, 0.2, 0.3)})
    point = sb.build_lights(settings, CPU)
    assert isinstance(point, PointLights) and point.location.tolist() == [[1.0, 2.0, 3.0]]
    assert torch.allclose(point.ambient_color, torch.tensor([[0.1, 0.2, 0.3]]))
    directional = sb.build_lights(settings.replace({"light.type": "directional", "light.direction": (0, 0, 1)}), CPU)
    assert isinstance(directional, DirectionalLights) and directional.direction.tolist() == [[0.0, 0.0, 1.0]]
    assert isinstance(sb.build_lights(settings.replace({"light.type": "ambient"}), CPU), AmbientLights)


def test_shaders_by_name() -> None:
    settings = Settings({"pane.soft_shader": "Soft Gouraud", "pane.hard_shader": "Hard Flat", "material.shininess": 3.0})
    soft = sb.build_shader(settings, "soft", CPU)
    assert isinstance(soft, SoftGouraudShader) and float(soft.materials.shininess) == 3.0
    assert isinstance(sb.build_shader(settings, "hard", CPU), HardFlatShader)
    cameras = sb.build_cameras(settings, CPU)
    assert sb.build_shader(settings, "hard", CPU, cameras).cameras is cameras  # built once per render
    silhouette = sb.build_shader(settings.replace({"pane.soft_shader": "Silhouette"}), "soft", CPU)
    assert isinstance(silhouette, SoftSilhouetteShader) and silhouette.blend_params.sigma == 1e-4
    with pytest.raises(ValueError, match="pane"):
        sb.shader_name(settings, "middle")


def test_cache_keys_follow_what_each_pane_reads() -> None:
    base = Settings()

    def moves(pane: str, key_fn, **updates) -> bool:
        return key_fn(base, pane) != key_fn(base.replace(updates), pane)

    # sigma with a derived blur: new soft fragments, the hard pane untouched.
    assert moves("soft", sb.fragments_key, **{"blend.sigma": 1e-3})
    assert not moves("hard", sb.image_key, **{"blend.sigma": 1e-3})
    # sigma with a fixed blur: the soft pane only re-shades.
    fixed = {"raster.derive_blur": False}
    base = base.replace(fixed)
    assert not moves("soft", sb.fragments_key, **{"blend.sigma": 1e-3})
    assert moves("soft", sb.image_key, **{"blend.sigma": 1e-3})
    # Lights and materials change both images, never the fragments.
    for pane in sb.PANES:
        assert moves(pane, sb.image_key, **{"material.shininess": 5.0})
        assert not moves(pane, sb.fragments_key, **{"material.shininess": 5.0})
    # The silhouette ignores lights; the camera moves everything.
    base = base.replace({"pane.soft_shader": "Silhouette"})
    assert not moves("soft", sb.image_key, **{"light.diffuse": (1.0, 0.0, 0.0)})
    assert moves("hard", sb.fragments_key, **{"camera.azimuth": 1.0})


def test_znear_and_zfar_reach_both_cameras_and_set_the_near_clip() -> None:
    settings = Settings({"camera.znear": 0.3, "camera.zfar": 40.0})
    for projection in ("perspective", "orthographic"):
        cameras = sb.build_cameras(settings.replace({"camera.projection": projection}), CPU)
        assert (float(cameras.znear), float(cameras.zfar)) == pytest.approx((0.3, 40.0))
    # core's rule: znear / 2 with perspective correction (auto: on for perspective cameras)
    assert sb.near_clip(Settings(), "soft") == pytest.approx(0.5)
    assert sb.near_clip(settings, "hard") == pytest.approx(0.15)
    assert sb.near_clip(settings.replace({"camera.projection": "orthographic"}), "soft") is None
    assert sb.near_clip(settings.replace({"raster.perspective_correct": "off"}), "soft") is None
