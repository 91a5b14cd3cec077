"""core.fitting: settings, targets, the step-wise Fitter (convergence, determinism, exact resume)."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch

from core.fitting import (
    FIXED_DURING_RUN,
    FitConfig,
    Fitter,
    Targets,
    blur_radius_from_sigma,
    denormalize_mesh,
    load_image_targets,
    make_targets,
    normalize_mesh,
    psnr,
    render_views,
    ring_cameras,
    save_image_targets,
    silhouette_iou,
    sphere_cameras,
)
from core.fitting.fitter import _default_workers
from core.renderer import PerspectiveCameras, TexturesVertex
from core.structures import Meshes
from core.utils import ico_sphere

SMALL = dict(num_views=6, image_size=48, faces_per_pixel=12, sphere_level=2, views_per_iteration=2,
             iterations=40, sigma=1e-4)


def _ellipsoid(colored: bool = True) -> Meshes:
    """A coloured, off-centre ellipsoid: something a sphere must visibly deform to match."""
    sphere = ico_sphere(2)
    verts = sphere.verts_packed() * torch.tensor([1.6, 0.8, 1.0]) + torch.tensor([3.0, -1.0, 2.0])
    textures = TexturesVertex([(0.5 + 0.4 * sphere.verts_packed()).clamp(0, 1)]) if colored else None
    return Meshes([verts], sphere.faces_list(), textures=textures)


@pytest.fixture(scope="module")
def small_targets() -> Targets:
    torch.set_num_threads(1)
    return make_targets(_ellipsoid(), FitConfig(**SMALL))


def _silhouette_error(fitter: Fitter) -> float:
    """Silhouette MSE of the current mesh over every target view (not just a random pair)."""
    renderer = fitter._renderer
    with torch.no_grad():
        mesh = fitter._current().extend(fitter.targets.num_views)
        images = renderer(mesh, cameras=fitter.targets.cameras)
    return float(((images[..., 3] - fitter.targets.silhouettes) ** 2).mean())


# --- settings ---------------------------------------------------------------------------------
def test_config_defaults_are_the_tutorials():
    c = FitConfig()
    assert (c.num_views, c.image_size, c.sigma, c.faces_per_pixel, c.views_per_iteration) == (20, 128, 1e-4, 50, 2)
    assert (c.optimizer, c.lr, c.momentum, c.sphere_level) == ("sgd", 1.0, 0.9, 4)
    assert c.weights == {"silhouette": 1.0, "rgb": 1.0, "edge": 1.0, "normal": 0.01, "laplacian": 1.0}
    assert c.blur_radius == pytest.approx(math.log(1 / 1e-4 - 1) * 1e-4)
    assert blur_radius_from_sigma(2e-4) == pytest.approx(2 * c.blur_radius)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"num_views": 0}, "num_views"),
        ({"image_size": -4}, "image_size"),
        ({"sigma": 0.0}, "sigma"),
        ({"lr": float("nan")}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"weights": {"colour": 1.0}}, "unknown loss weight"),
        ({"weights": {"rgb": -1.0}}, "rgb"),
        ({"views_per_iteration": 30}, "views_per_iteration"),
        ({"sphere_level": 9}, "sphere_level"),
        ({"iterations": 1.5}, "iterations"),
    ],
)
def test_config_rejects_bad_values(change, message):
    with pytest.raises(ValueError, match=message):
        FitConfig(**change)


def test_config_dict_round_trip_is_json_and_strict():
    c = FitConfig(lr=0.5, weights={"rgb": 0.0})
    data = json.loads(json.dumps(c.to_dict()))
    assert FitConfig.from_dict(data) == c
    with pytest.raises(ValueError, match="unknown FitConfig field"):
        FitConfig.from_dict({**data, "learning_rate": 1})


# --- cameras, normalisation, targets ----------------------------------------------------------
def test_ring_and_sphere_cameras_look_at_the_origin_and_held_out_views_are_new():
    train, held = ring_cameras(20), sphere_cameras(20)
    origin = torch.zeros(20, 1, 3)
    for cams in (train, held):
        assert len(cams) == 20
        ndc = cams.transform_points(origin)
        assert torch.allclose(ndc[..., :2], torch.zeros(20, 1, 2), atol=1e-5)
        assert torch.allclose(cams.get_camera_center().norm(dim=1), torch.full((20,), 2.7), atol=1e-5)
    centers = held.get_camera_center()
    assert torch.cdist(train.get_camera_center(), centers).min() > 0.1  # no held-out view is a training view
    spread = torch.cdist(centers, centers) + torch.eye(20) * 10
    assert spread.min() > 1.0  # evenly spread: every pair of held-out views well apart
    assert centers[:, 1].max() > 2.0 and centers[:, 1].min() < -2.0  # from above and from below


def test_normalize_mesh_and_targets_undo_it():
    mesh = _ellipsoid()
    normalized, center, scale = normalize_mesh(mesh)
    verts = normalized.verts_packed()
    assert torch.allclose(verts.mean(0), torch.zeros(3), atol=1e-6)
    assert verts.abs().max() == pytest.approx(1.0)
    targets = Targets(torch.zeros(1, 4, 4, 3), torch.zeros(1, 4, 4), ring_cameras(1), None, center, scale)
    restored = targets.to_source_frame(normalized)
    assert torch.allclose(restored.verts_packed(), mesh.verts_packed(), atol=1e-5)
    as_list = denormalize_mesh(normalized, center.tolist(), scale)  # a plain sequence works too
    assert torch.allclose(as_list.verts_packed(), mesh.verts_packed(), atol=1e-5)
    assert torch.allclose(normalized.verts_packed(), verts)  # a new mesh: the input is left alone


def test_make_targets_renders_every_view(small_targets):
    t = small_targets
    assert t.images.shape == (6, 48, 48, 3) and t.silhouettes.shape == (6, 48, 48)
    assert 0.0 <= float(t.silhouettes.min()) and float(t.silhouettes.max()) <= 1.0
    coverage = (t.silhouettes > 0.5).float().mean((1, 2))
    assert bool((coverage > 0.05).all()) and bool((coverage < 0.9).all())  # object framed in every view
    background = t.silhouettes == 0
    assert torch.allclose(t.images[background], torch.ones(1, 3))  # white where nothing is
    assert not torch.allclose(t.images[0], t.images[3])  # different views, different pictures


def test_make_targets_accepts_an_untextured_mesh():
    t = make_targets(_ellipsoid(colored=False), FitConfig(**{**SMALL, "num_views": 2}))
    covered = t.silhouettes > 0.99
    assert covered.any() and (t.images[covered] < 1.0).all()  # shaded grey, not background


# --- the fit itself ---------------------------------------------------------------------------
def test_short_fit_reduces_silhouette_error_and_deforms_the_sphere(small_targets):
    fitter = Fitter(small_targets, FitConfig(**SMALL))
    before = _silhouette_error(fitter)
    records = fitter.run()
    after = _silhouette_error(fitter)
    assert len(records) == 40 and records[-1]["iteration"] == 40 == fitter.iteration
    assert after < 0.5 * before, (before, after)
    assert set(records[0]) == {"iteration", "total", "silhouette", "rgb", "edge", "normal", "laplacian", "seconds"}
    moved = (fitter.current_mesh().verts_packed() - ico_sphere(2).verts_packed()).norm(dim=1)
    assert moved.max() > 0.05
    colors = fitter.current_mesh().textures.verts_features_packed()
    assert not torch.allclose(colors, torch.full_like(colors, 0.5))  # colours were fitted too


def test_total_is_the_weighted_sum_of_terms(small_targets):
    weights = {"silhouette": 2.0, "rgb": 0.5, "edge": 3.0, "normal": 0.1, "laplacian": 0.7}
    r = Fitter(small_targets, FitConfig(**{**SMALL, "weights": weights})).step()
    assert r["total"] == pytest.approx(sum(w * r[k] for k, w in weights.items()), rel=1e-5)


def test_silhouette_only_fit_reports_no_rgb_and_keeps_grey(small_targets):
    fitter = Fitter(small_targets, FitConfig(**{**SMALL, "fit_colors": False}))
    r = fitter.step()
    assert math.isnan(r["rgb"])
    assert torch.equal(fitter.current_mesh().textures.verts_features_packed(), torch.full((162, 3), 0.5))


def test_same_seed_same_run_other_seed_other_views(small_targets):
    runs = [Fitter(small_targets, FitConfig(**{**SMALL, "seed": s})).run(5) for s in (3, 3, 4)]
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(runs[0]) == strip(runs[1])
    assert strip(runs[0]) != strip(runs[2])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_state_dict_resume_equals_uninterrupted_run(small_targets, optimizer):
    config = dict(SMALL, optimizer=optimizer, lr=1.0 if optimizer == "sgd" else 0.01)
    straight = Fitter(small_targets, FitConfig(**config))
    straight.run(4)
    state = straight.state_dict()
    json.dumps(state["config"])
    expected = [dict(r, seconds=0) for r in straight.run(4)]

    resumed = Fitter(small_targets, FitConfig(**config))
    resumed.step()  # diverge first, so that loading really has to restore everything
    resumed.load_state_dict(state)
    assert resumed.iteration == 4 and len(resumed.history) == 4
    got = [dict(r, seconds=0) for r in resumed.run(4)]
    assert got == expected
    assert torch.equal(resumed.deform, straight.deform) and torch.equal(resumed.colors, straight.colors)


@pytest.mark.parametrize("views,workers", [(2, 2), (3, 2), (3, 3)])
def test_view_workers_split_the_views_and_agree_with_one_batch(small_targets, views, workers):
    """View workers each render a consecutive group of the views; the losses are the same mean
    over all views, so the run follows the one-batch run to float rounding, and it is
    deterministic: the same seed and worker count give the same run. (On threads here; worker
    processes give the same runs bit for bit, see test_fit_processes.py.)"""
    config = FitConfig(**{**SMALL, "views_per_iteration": views})
    batched, split, again = (Fitter(small_targets, config, workers=w, parallel="threads") for w in (1, workers, workers))
    assert [len(g) for g in split._view_groups(list(range(views)))] == {2: [1, 1], 3: [1, 1, 1] if workers == 3 else [2, 1]}[views]
    assert batched._view_groups(list(range(views))) == [list(range(views))]
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    for _ in range(3):
        a, b = batched.step(), split.step()
        torch.testing.assert_close(batched.last_vertex_grad, split.last_vertex_grad, rtol=1e-4, atol=1e-7)
        for name in ("total", "silhouette", "rgb", "edge", "normal", "laplacian"):
            assert b[name] == pytest.approx(a[name], rel=1e-5), name
    assert strip(again.run(3)) == strip(split.history)


def test_default_view_workers_only_for_fits_large_enough(small_targets):
    assert Fitter(small_targets, FitConfig(**SMALL)).workers == 1  # 2 views of 48²: overhead-bound
    assert _default_workers(2, (128, 128)) == min(2, os.cpu_count() or 1)
    assert _default_workers(4, (96, 96)) == min(4, os.cpu_count() or 1)
    assert _default_workers(2, (96, 96)) == 1


def test_view_workers_resume_exactly_and_reject_bad_counts(small_targets):
    straight = Fitter(small_targets, FitConfig(**SMALL), workers=2, parallel="threads")
    straight.run(2)
    state = straight.state_dict()
    expected = [dict(r, seconds=0) for r in straight.run(3)]
    resumed = Fitter(small_targets, FitConfig(**SMALL), workers=2, parallel="threads")
    resumed.load_state_dict(state)
    assert [dict(r, seconds=0) for r in resumed.run(3)] == expected
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers"):
            Fitter(small_targets, FitConfig(**SMALL), workers=bad)
    with pytest.raises(ValueError, match="parallel"):
        Fitter(small_targets, FitConfig(**SMALL), workers=2, parallel="fork")


def test_state_dict_is_a_copy(small_targets):
    fitter = Fitter(small_targets, FitConfig(**SMALL))
    fitter.step()
    state = fitter.state_dict()
    saved = state["deform"].clone()
    fitter.step()
    assert torch.equal(state["deform"], saved)


def test_load_state_dict_rejects_other_sources(small_targets):
    state = Fitter(small_targets, FitConfig(**SMALL)).state_dict()
    other = Fitter(small_targets, FitConfig(**{**SMALL, "sphere_level": 1}))
    with pytest.raises(ValueError, match="different source mesh"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="version"):
        other.load_state_dict({**state, "version": 99})


def test_settings_change_between_steps(small_targets):
    fitter = Fitter(small_targets, FitConfig(**SMALL))
    fitter.step()
    fitter.set_learning_rate(0.25)
    assert all(g["lr"] == 0.25 for g in fitter.optimizer.param_groups)
    fitter.set_weights(silhouette=0.0, rgb=0.0, normal=0.0, laplacian=0.0, edge=1.0)
    r = fitter.step()
    assert r["total"] == pytest.approx(r["edge"], rel=1e-6)
    fitter.update_config(sigma=3e-4, faces_per_pixel=8)
    assert fitter.config.faces_per_pixel == 8 and fitter._renderer.rasterizer.raster_settings.faces_per_pixel == 8
    fitter.step()
    for name in FIXED_DURING_RUN:
        with pytest.raises(ValueError, match="cannot change during a run"):
            fitter.update_config(**{name: getattr(fitter.config, name)})
    with pytest.raises(ValueError, match="lr"):
        fitter.set_learning_rate(-1.0)
    assert fitter.config.lr == 0.25  # a rejected change leaves the settings as they were


def test_fitter_rejects_bad_sources_and_view_counts(small_targets):
    with pytest.raises(ValueError, match="views_per_iteration"):
        Fitter(small_targets, FitConfig(**{**SMALL, "num_views": 20, "views_per_iteration": 10}))
    empty = Meshes([torch.zeros(0, 3)], [torch.zeros(0, 3, dtype=torch.int64)])
    with pytest.raises(ValueError, match="single non-empty mesh"):
        Fitter(small_targets, FitConfig(**SMALL), source=empty)


def test_custom_source_mesh(small_targets):
    source = ico_sphere(1)
    fitter = Fitter(small_targets, FitConfig(**SMALL), source=source)
    fitter.run(3)
    assert fitter.current_mesh().verts_packed().shape == (42, 3)


# --- metrics ----------------------------------------------------------------------------------
def test_silhouette_iou_and_psnr_by_hand():
    a = torch.zeros(2, 4, 4)
    b = torch.zeros(2, 4, 4)
    a[0, :2] = 1  # 8 pixels
    b[0, 1:3] = 1  # 8 pixels, 4 shared -> IoU 4 / 12
    iou = silhouette_iou(a, b)
    assert iou[0].item() == pytest.approx(1 / 3) and iou[1].item() == 1.0  # both empty counts as a match
    x = torch.zeros(1, 2, 2, 3)
    y = torch.full((1, 2, 2, 3), 0.1)
    assert psnr(x, y).item() == pytest.approx(20.0)  # MSE 0.01 -> 20 dB
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(x, y[:, :1])


# --- targets from image files -----------------------------------------------------------------
def test_image_targets_round_trip(tmp_path, small_targets):
    paths = save_image_targets(small_targets, tmp_path)
    assert len(paths) == 7 and (tmp_path / "cameras.json").exists()
    loaded = load_image_targets(tmp_path)
    assert torch.allclose(loaded.cameras.R, small_targets.cameras.R) and torch.allclose(loaded.cameras.T, small_targets.cameras.T)
    assert torch.allclose(loaded.silhouettes, small_targets.silhouettes, atol=0.5 / 255 + 1e-6)
    solid = (small_targets.silhouettes > 0.999) | (small_targets.silhouettes == 0)
    assert torch.allclose(loaded.images[solid], small_targets.images[solid], atol=1 / 255)
    # the loaded targets drive a fit like the rendered ones
    Fitter(loaded, FitConfig(**SMALL)).run(2)


def test_image_targets_accept_look_at_views(tmp_path, small_targets):
    save_image_targets(small_targets, tmp_path)
    spec = json.loads((tmp_path / "cameras.json").read_text())
    spec["views"][0] = {"image": "view_000.png", "dist": 2.7, "elev": 0.0, "azim": -180.0}
    del spec["camera"], spec["light"]
    (tmp_path / "cameras.json").write_text(json.dumps(spec))
    loaded = load_image_targets(tmp_path)
    assert torch.allclose(loaded.cameras.R[0], small_targets.cameras.R[0], atol=1e-6)  # view 0 is at elev 0, azim -180
    assert len(loaded.cameras) == 6


def _as_opencv_folder(folder, targets: Targets) -> None:
    """Rewrite a saved folder's views as OpenCV calibrations derived by hand from the FoV cameras
    (_square_opencv)."""
    spec = json.loads((folder / "cameras.json").read_text())
    rot, tvec, K = _square_opencv(targets)
    for i, view in enumerate(spec["views"]):
        view.pop("R"), view.pop("T")
        view["opencv"] = {"K": K[i].tolist(), "R": rot[i].tolist(), "t": tvec[i].tolist()}
    del spec["camera"]
    (folder / "cameras.json").write_text(json.dumps(spec))


def test_image_targets_from_opencv_calibrations(tmp_path, small_targets):
    save_image_targets(small_targets, tmp_path)
    _as_opencv_folder(tmp_path, small_targets)
    loaded = load_image_targets(tmp_path)
    assert isinstance(loaded.cameras, PerspectiveCameras)
    # the calibrations see the target where the original cameras did
    size = small_targets.image_size
    target, _, _ = normalize_mesh(_ellipsoid())  # as make_targets renders it
    _, seen = render_views(target, loaded.cameras, small_targets.lights, size)
    _, expected = render_views(target, small_targets.cameras, small_targets.lights, size)
    assert expected.sum() > 1000 and (seen != expected).float().mean() < 2e-3
    Fitter(loaded, FitConfig(**SMALL)).run(2)
    # saved again, they are written as calibrations and read back the same
    again = tmp_path / "again"
    save_image_targets(loaded, again)
    spec = json.loads((again / "cameras.json").read_text())
    assert "camera" not in spec and all("opencv" in view for view in spec["views"])
    reloaded = load_image_targets(again).cameras
    for name in ("R", "T", "focal_length", "principal_point"):
        torch.testing.assert_close(getattr(reloaded, name), getattr(loaded.cameras, name), rtol=1e-5, atol=1e-5)


def test_fit_on_non_square_calibrated_photos(tmp_path, small_targets):
    """Photos are rarely square: 4:3-ish calibrated views render, save, load and fit."""
    from core.utils import cameras_from_opencv_projection, opencv_from_cameras_projection

    views = small_targets.num_views
    square = cameras_from_opencv_projection(
        *_square_opencv(small_targets), torch.tensor([small_targets.image_size] * views)
    )
    rot, tvec, K = opencv_from_cameras_projection(square, torch.tensor([small_targets.image_size] * views))
    h, w = 40, 56
    K[:, :2] *= h / small_targets.image_size[0]  # the square view's framing, as tall as before
    K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = w / 2, h / 2, 1.0
    cameras = cameras_from_opencv_projection(rot, tvec, K, torch.tensor([[h, w]] * views))
    target, _, _ = normalize_mesh(_ellipsoid())  # as make_targets renders it
    images, silhouettes = render_views(target, cameras, small_targets.lights, (h, w))
    assert silhouettes[:, :, : w // 8].sum() == 0 < silhouettes.sum()  # the object sits inside the wide frame
    save_image_targets(Targets(images, silhouettes.float(), cameras, small_targets.lights), tmp_path)
    loaded = load_image_targets(tmp_path)
    assert loaded.image_size == (h, w)
    fitter = Fitter(loaded, FitConfig(**SMALL))
    first = fitter.step()["silhouette"]
    assert min(fitter.step()["silhouette"] for _ in range(8)) < first


def _square_opencv(targets: Targets):
    """(R, t, K) of the targets' square FoV views, derived by hand: OpenCV's camera frame is
    PyTorch3D's view frame with x and y negated (R transposed for column vectors), and a field
    of view over S pixels is a focal length of S / (2 tan(fov / 2)) at the image centre."""
    size = targets.image_size[0]
    focal = size / (2 * math.tan(math.radians(float(targets.cameras.fov[0])) / 2))
    K = torch.tensor([[focal, 0.0, size / 2], [0.0, focal, size / 2], [0.0, 0.0, 1.0]]).expand(targets.num_views, 3, 3)
    flip = torch.tensor([-1.0, -1.0, 1.0])
    return flip[:, None] * targets.cameras.R.transpose(1, 2), flip * targets.cameras.T, K


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: _edit_view(d, 0, {"dist": 2.7, "elev": 0.0, "azim": 0.0}), "every view or none"),
        (lambda d: _edit_spec(d, camera={"fov": 50.0}), "do not apply"),
        (lambda d: _edit_view(d, 1, {"opencv": {"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "R": [[2, 0, 0], [0, 1, 0], [0, 0, 1]], "t": [0, 0, 3]}}), "rotation"),
        (lambda d: _edit_view(d, 1, {"opencv": {"K": [[-5, 0, 0], [0, 5, 0], [0, 0, 1]], "R": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "t": [0, 0, 3]}}), "focal lengths"),
        (lambda d: _edit_view(d, 1, {"opencv": {"K": [[5, 0, 0], [0, 5, 0], [0, 0, 1]], "t": [0, 0, 3]}}), "missing 'R'"),
        (lambda d: _edit_view(d, 1, {"opencv": [1, 2, 3]}), "must be an object"),
    ],
)
def test_opencv_image_targets_bad_calibrations(tmp_path, small_targets, damage, message):
    save_image_targets(small_targets, tmp_path)
    _as_opencv_folder(tmp_path, small_targets)
    damage(tmp_path)
    with pytest.raises(ValueError, match=message):
        load_image_targets(tmp_path)


def _drop_alpha(path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    rgb.save(path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "cameras.json").unlink(), "no cameras.json"),
        (lambda d: (d / "cameras.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "cameras.json").write_text('{"views": []}'), "non-empty 'views'"),
        (lambda d: (d / "view_002.png").unlink(), "does not exist"),
        (lambda d: (d / "view_001.png").write_bytes(b"garbage"), "not a readable image"),
        (lambda d: _drop_alpha(d / "view_001.png"), "view_001.png has no alpha channel"),
        (lambda d: _edit_view(d, 1, {"R": [[1, 0], [0, 1]], "T": [0, 0, 1]}), "3x3"),
        (lambda d: _edit_view(d, 1, {"dist": 2.0}), "missing"),
        (lambda d: _edit_view(d, 1, {"dist": -1, "elev": 0, "azim": 0}), "dist must be > 0"),
        (lambda d: _edit_spec(d, camera={"type": "OrthographicCameras"}), "not supported"),
    ],
)
def test_image_targets_bad_folders(tmp_path, small_targets, damage, message):
    save_image_targets(small_targets, tmp_path)
    damage(tmp_path)
    with pytest.raises(ValueError, match=message):
        load_image_targets(tmp_path)


def test_image_targets_size_mismatch(tmp_path, small_targets):
    from PIL import Image

    save_image_targets(small_targets, tmp_path)
    Image.new("RGBA", (20, 20)).save(tmp_path / "view_004.png")
    with pytest.raises(ValueError, match="all views must have one size"):
        load_image_targets(tmp_path)


def _edit_view(folder, index, view):
    spec = json.loads((folder / "cameras.json").read_text())
    spec["views"][index] = {"image": spec["views"][index]["image"], **view}
    (folder / "cameras.json").write_text(json.dumps(spec))


def _edit_spec(folder, **entries):
    spec = json.loads((folder / "cameras.json").read_text())
    spec.update(entries)
    (folder / "cameras.json").write_text(json.dumps(spec))
