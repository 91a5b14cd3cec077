"""Tests for core.renderer.cameras against PyTorch3D reference numbers and analytic formulas."""
import glob
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from core.renderer.cameras import (
    CamerasBase,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    camera_position_from_spherical_angles,
    get_world_to_view_transform,
    look_at_rotation,
    look_at_view_transform,
)

# The shared reference data sits next to the repository: <repo>/../shared/reference/p3d
REF_DIR = str(Path(__file__).resolve().parents[3] / "shared" / "reference" / "p3d")
REF_FILES = sorted(glob.glob(os.path.join(REF_DIR, "*.npz")))


def _scene(name: str) -> dict:
    with open(os.path.join(REF_DIR, "scenes.json")) as f:
        scenes = json.load(f)["scenes"]
    return next(s for s in scenes if s["name"] == name)


def _camera_from_reference(path: str) -> tuple:
    ref = np.load(path)
    cam = _scene(os.path.basename(path)[:-4])["camera"]
    R, T = torch.from_numpy(ref["R"]), torch.from_numpy(ref["T"])
    znear, zfar = (float(v) for v in ref["cam_znear_zfar"])
    if cam["type"] == "FoVPerspectiveCameras":
        camera = FoVPerspectiveCameras(znear=znear, zfar=zfar, fov=float(ref["cam_fov_deg"][0]),
                                       aspect_ratio=cam["aspect_ratio"], degrees=True, R=R, T=T)
    else:
        assert cam["type"] == "FoVOrthographicCameras"
        camera = FoVOrthographicCameras(znear=znear, zfar=zfar, min_x=cam["min_x"], max_x=cam["max_x"],
                                        min_y=cam["min_y"], max_y=cam["max_y"],
                                        scale_xyz=torch.from_numpy(ref["cam_scale_xyz"]), R=R, T=T)
    return camera, ref, cam


# ------------------------------------------------------------------ reference (PyTorch3D 0.7.9)

@pytest.mark.skipif(not REF_FILES, reason="reference scenes not available")
@pytest.mark.parametrize("path", REF_FILES, ids=lambda p: os.path.basename(p)[:-4])
def test_reference_full_projection_and_center(path: str) -> None:
    camera, ref, _ = _camera_from_reference(path)
    full = camera.get_full_projection_transform().get_matrix()
    np.testing.assert_allclose(full.numpy(), ref["derived_full_projection_matrix"], atol=1e-5)
    np.testing.assert_allclose(camera.get_camera_center().numpy(), ref["derived_camera_center"], atol=1e-5)


@pytest.mark.skipif(not REF_FILES, reason="reference scenes not available")
@pytest.mark.parametrize("path", REF_FILES, ids=lambda p: os.path.basename(p)[:-4])
def test_reference_look_at_view_transform(path: str) -> None:
    _, ref, cam = _camera_from_reference(path)
    la = cam["look_at_view_transform"]
    R, T = look_at_view_transform(la["dist"], la["elev"], la["azim"], degrees=la["degrees"],
                                  at=(la["at"],), up=(la["up"],))
    np.testing.assert_allclose(R.numpy(), ref["R"], atol=1e-6)
    np.testing.assert_allclose(T.numpy(), ref["T"], atol=1e-6)


# ------------------------------------------------------------------ look-at helpers

def test_camera_position_from_spherical_angles() -> None:
    pos = camera_position_from_spherical_angles([2.0, 1.0, 3.0], [90.0, 0.0, 0.0], [0.0, 90.0, 0.0])
    expected = torch.tensor([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    assert torch.allclose(pos, expected, atol=1e-6)
    rad = camera_position_from_spherical_angles(1.0, 0.0, math.pi / 2, degrees=False)
    assert torch.allclose(rad, torch.tensor([[1.0, 0.0, 0.0]]), atol=1e-6)


def test_look_at_properties_and_broadcast() -> None:
    R, T = look_at_view_transform(dist=[2.0, 3.0, 4.0], elev=25.0, azim=[10.0, 100.0, -70.0], at=((0.5, -0.2, 0.1),))
    assert R.shape == (3, 3, 3) and T.shape == (3, 3)
    assert torch.allclose(R.transpose(1, 2) @ R, torch.eye(3).expand(3, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(R), torch.ones(3), atol=1e-5)
    C = camera_position_from_spherical_angles([2.0, 3.0, 4.0], 25.0, [10.0, 100.0, -70.0])
    C = C + torch.tensor([0.5, -0.2, 0.1])
    # T = -R^T C, i.e. the camera centre maps to the view-space origin
    assert torch.allclose((C[:, None, :] @ R)[:, 0] + T, torch.zeros(3, 3), atol=1e-5)
    cams = FoVPerspectiveCameras(R=R, T=T)
    assert torch.allclose(cams.get_camera_center(), C, atol=1e-5)
    # the third column of R (view +Z) points from the camera to `at`
    look_dir = torch.nn.functional.normalize(torch.tensor([0.5, -0.2, 0.1]) - C, dim=1)
    assert torch.allclose(R[:, :, 2], look_dir, atol=1e-5)
    with pytest.raises(ValueError):
        look_at_view_transform(dist=[1.0, 2.0], elev=[0.0, 1.0, 2.0])


def test_look_at_eye_and_degenerate_up() -> None:
    eye = torch.tensor([[1.0, 2.0, 3.0]])
    R, T = look_at_view_transform(eye=eye)
    assert torch.allclose(FoVPerspectiveCameras(R=R, T=T).get_camera_center(), eye, atol=1e-5)
    # camera (almost) straight above the target: up × z nearly vanishes and x is rebuilt as y × z
    R2 = look_at_rotation(((0.0, 5.0, 1e-7),))
    assert torch.isfinite(R2).all()
    assert torch.allclose(R2[0].T @ R2[0], torch.eye(3), atol=1e-4)
    assert torch.allclose(R2[0], torch.tensor([[-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, -1.0, 0.0]]), atol=1e-5)
    with pytest.raises(ValueError):
        look_at_rotation(((0.0, 5.0),))


# ------------------------------------------------------------------ analytic projections

def test_fov_perspective_analytic_and_optical_axis() -> None:
    cam = FoVPerspectiveCameras(znear=0.5, zfar=20.0, fov=50.0, aspect_ratio=1.5)
    p = torch.tensor([[0.3, -0.7, 4.0], [0.0, 0.0, 0.5], [0.0, 0.0, 20.0], [0.0, 0.0, 7.0]])
    out = cam.transform_points(p)
    t = math.tan(math.radians(25.0))
    assert torch.allclose(out[0, 0], torch.tensor(0.3 / (4.0 * t * 1.5)), atol=1e-6)
    assert torch.allclose(out[0, 1], torch.tensor(-0.7 / (4.0 * t)), atol=1e-6)
    assert torch.allclose(out[0, 2], torch.tensor(20.0 / 19.5 - 20.0 * 0.5 / (19.5 * 4.0)), atol=1e-6)
    assert torch.allclose(out[1:, 2], torch.tensor([0.0, 1.0, 20.0 / 19.5 - 10.0 / (19.5 * 7.0)]), atol=1e-6)
    assert torch.allclose(out[1:, :2], torch.zeros(3, 2), atol=1e-7)  # on the optical axis → NDC (0, 0)
    # radians give the same result
    cam_rad = FoVPerspectiveCameras(znear=0.5, zfar=20.0, fov=math.radians(50.0), degrees=False, aspect_ratio=1.5)
    assert torch.allclose(cam_rad.transform_points(p), out, atol=1e-6)


def test_look_at_target_projects_to_ndc_origin() -> None:
    at = ((0.3, -0.1, 0.2),)
    R, T = look_at_view_transform(dist=3.0, elev=35.0, azim=-120.0, at=at)
    target = torch.tensor(at)
    for cam in (
        FoVPerspectiveCameras(R=R, T=T),
        FoVOrthographicCameras(R=R, T=T),
        PerspectiveCameras(focal_length=2.0, R=R, T=T),
        OrthographicCameras(focal_length=0.5, R=R, T=T),
    ):
        out = cam.transform_points_ndc(target)
        assert torch.allclose(out[:, :2], torch.zeros(1, 2), atol=1e-6), type(cam).__name__


def test_plus_x_left_plus_y_up_and_pixel_centres() -> None:
    cam = FoVPerspectiveCameras(fov=90.0)  # tan(45°) = 1: x_ndc = x / z
    # a point to the view's +X is on the image's left: NDC x > 0, screen x < W/2
    out = cam.transform_points(torch.tensor([[1.0, 0.5, 2.0]]))
    assert out[0, 0] > 0 and out[0, 1] > 0
    H, W = 4, 6
    screen = cam.transform_points_screen(torch.tensor([[1.0, 0.5, 2.0]]), image_size=((H, W),))
    s = min(H, W) / 2.0
    assert torch.allclose(screen[0, :2], torch.tensor([W / 2 - s * 0.5, H / 2 - s * 0.25]), atol=1e-6)
    # pixel centres: NDC x = (W - 2c - 1)/min(H, W), y = (H - 2r - 1)/min(H, W) map to (c + 0.5, r + 0.5)
    # (the shorter side spans [-1, 1], the longer one extends further; no stretching)
    rows, cols = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32),
                                indexing="ij")
    x_ndc = (W - 2 * cols - 1) / min(H, W)
    y_ndc = (H - 2 * rows - 1) / min(H, W)
    z = 2.0  # view points (x·z, y·z, z) project to (x, y) with fov 90°
    pts = torch.stack([x_ndc * z, y_ndc * z, torch.full_like(x_ndc, z)], dim=-1).reshape(-1, 3)
    sc = cam.transform_points_screen(pts, image_size=(H, W))
    assert torch.allclose(sc[:, 0], cols.reshape(-1) + 0.5, atol=1e-5)
    assert torch.allclose(sc[:, 1], rows.reshape(-1) + 0.5, atol=1e-5)
    # square image: the conventions' x = 1 - (2c + 1)/W
    sq = cam.transform_points_screen(torch.tensor([[1.0 - 1.0 / 8, 1.0 - 3.0 / 8, 1.0]]), image_size=((8, 8),))
    assert torch.allclose(sq[0, :2], torch.tensor([0.5, 1.5]), atol=1e-5)
    with pytest.raises(ValueError):
        cam.transform_points_screen(pts)  # no image size anywhere


def test_fov_orthographic_min_max_mapping() -> None:
    cam = FoVOrthographicCameras(znear=2.0, zfar=12.0, min_x=-0.5, max_x=2.0, min_y=-3.0, max_y=1.0)
    corners = torch.tensor([[2.0, 1.0, 2.0], [-0.5, -3.0, 12.0], [0.75, -1.0, 7.0]])
    out = cam.transform_points(corners)
    expected = torch.tensor([[1.0, 1.0, 0.0], [-1.0, -1.0, 1.0], [0.0, 0.0, 0.5]])
    assert torch.allclose(out, expected, atol=1e-6)
    scaled = FoVOrthographicCameras(scale_xyz=((2.0, 3.0, 1.0),)).transform_points(torch.tensor([[0.25, 0.1, 5.0]]))
    assert torch.allclose(scaled[0, :2], torch.tensor([0.5, 0.3]), atol=1e-6)
    assert not cam.is_perspective()


def test_perspective_cameras_ndc_and_screen() -> None:
    p = torch.tensor([[0.4, -0.3, 2.0], [-1.0, 0.8, 5.0]])
    fx, fy, px, py = 1.7, 2.1, 0.1, -0.2
    ndc_cam = PerspectiveCameras(focal_length=((fx, fy),), principal_point=((px, py),))
    out = ndc_cam.transform_points(p)
    exp = torch.stack([fx * p[:, 0] / p[:, 2] + px, fy * p[:, 1] / p[:, 2] + py, 1.0 / p[:, 2]], dim=1)
    assert torch.allclose(out, exp, atol=1e-6)
    assert torch.allclose(ndc_cam.transform_points_ndc(p), exp, atol=1e-6)
    assert torch.equal(ndc_cam.get_ndc_camera_transform().get_matrix(), torch.eye(4)[None])

    H, W = 60, 80
    S = min(H, W)
    fxs, fys, pxs, pys = 70.0, 90.0, 35.0, 28.0
    scr = PerspectiveCameras(focal_length=((fxs, fys),), principal_point=((pxs, pys),), in_ndc=False,
                             image_size=((H, W),))
    assert not scr.in_ndc() and ndc_cam.in_ndc()
    raw = scr.transform_points(p)
    raw_expected = torch.stack([fxs * p[:, 0] / p[:, 2] + pxs, fys * p[:, 1] / p[:, 2] + pys], 1)
    assert torch.allclose(raw[:, :2], raw_expected, atol=1e-4)
    # screen: u = px − fx·X/Z, v = py − fy·Y/Z (+X left in view space, +X right on screen)
    screen = scr.transform_points_screen(p)
    assert torch.allclose(screen[:, 0], pxs - fxs * p[:, 0] / p[:, 2], atol=1e-4)
    assert torch.allclose(screen[:, 1], pys - fys * p[:, 1] / p[:, 2], atol=1e-4)
    assert torch.allclose(screen[:, 2], 1.0 / p[:, 2], atol=1e-6)
    # NDC: the documented screen→NDC conversion of the intrinsics gives the same points
    equiv = PerspectiveCameras(focal_length=((fxs * 2 / S, fys * 2 / S),),
                               principal_point=((-(pxs - W / 2) * 2 / S, -(pys - H / 2) * 2 / S),))
    assert torch.allclose(scr.transform_points_ndc(p), equiv.transform_points(p), atol=1e-5)
    # image_size as a per-call keyword
    scr2 = PerspectiveCameras(focal_length=((fxs, fys),), principal_point=((pxs, pys),), in_ndc=False)
    assert torch.allclose(scr2.transform_points_ndc(p, image_size=((H, W),)), equiv.transform_points(p), atol=1e-5)
    assert torch.allclose(scr.get_principal_point(), torch.tensor([[pxs, pys]]))


def test_orthographic_cameras_ndc_and_screen() -> None:
    p = torch.tensor([[0.4, -0.3, 2.0], [-1.0, 0.8, 5.0]])
    cam = OrthographicCameras(focal_length=((2.0, 3.0),), principal_point=((0.1, 0.2),))
    exp = torch.stack([2.0 * p[:, 0] + 0.1, 3.0 * p[:, 1] + 0.2, p[:, 2]], dim=1)
    assert torch.allclose(cam.transform_points(p), exp, atol=1e-6)
    H, W = 50, 40
    scr = OrthographicCameras(focal_length=10.0, principal_point=((20.0, 25.0),), in_ndc=False, image_size=((H, W),))
    screen = scr.transform_points_screen(p)
    assert torch.allclose(screen[:, :2], torch.stack([20.0 - 10.0 * p[:, 0], 25.0 - 10.0 * p[:, 1]], 1), atol=1e-4)
    assert torch.allclose(scr.get_principal_point(), torch.tensor([[20.0, 25.0]]))
    assert not cam.is_perspective()


@pytest.mark.parametrize("kind", ["fovp", "fovo", "persp", "ortho", "persp_screen", "ortho_screen"])
def test_unproject_round_trip(kind: str) -> None:
    R, T = look_at_view_transform(dist=4.0, elev=20.0, azim=40.0)
    cam = {
        "fovp": lambda: FoVPerspectiveCameras(R=R, T=T),
        "fovo": lambda: FoVOrthographicCameras(R=R, T=T),
        "persp": lambda: PerspectiveCameras(focal_length=1.5, R=R, T=T),
        "ortho": lambda: OrthographicCameras(focal_length=0.6, R=R, T=T),
        "persp_screen": lambda: PerspectiveCameras(focal_length=50.0, principal_point=((30.0, 20.0),), R=R, T=T,
                                                   in_ndc=False, image_size=((40, 64),)),
        "ortho_screen": lambda: OrthographicCameras(focal_length=10.0, principal_point=((30.0, 20.0),), R=R, T=T,
                                                    in_ndc=False, image_size=((40, 64),)),
    }[kind]()
    world = torch.tensor([[0.2, -0.4, 0.3], [-0.5, 0.1, 0.6], [0.0, 0.0, 0.0]])
    view = cam.get_world_to_view_transform().transform_points(world)
    xy_depth = torch.cat([cam.transform_points(world)[:, :2], view[:, 2:]], dim=1)
    assert torch.allclose(cam.unproject_points(xy_depth, world_coordinates=True), world, atol=1e-4)
    assert torch.allclose(cam.unproject_points(xy_depth, world_coordinates=False), view, atol=1e-4)
    if kind.endswith("screen"):
        xy_ndc = torch.cat([cam.transform_points_ndc(world)[:, :2], view[:, 2:]], dim=1)
        assert torch.allclose(cam.unproject_points(xy_ndc, from_ndc=True), world, atol=1e-4)
    if kind.startswith("fov"):
        back = cam.unproject_points(cam.transform_points(world), scaled_depth_input=True)
        assert torch.allclose(back, world, atol=1e-4)


# ------------------------------------------------------------------ batching, indexing, overrides

def test_batch_broadcasting_and_mismatch() -> None:
    R, T = look_at_view_transform(dist=2.5, azim=[0.0, 90.0, 180.0])
    cams = FoVPerspectiveCameras(fov=torch.tensor([40.0, 60.0, 80.0]), R=R[:1], T=T[:1])
    assert len(cams) == 3 and cams.R.shape == (3, 3, 3) and cams.T.shape == (3, 3)
    full = cams.get_full_projection_transform().get_matrix()
    assert full.shape == (3, 4, 4)
    for i, fov in enumerate((40.0, 60.0, 80.0)):
        ratio = math.tan(math.radians(20.0)) / math.tan(math.radians(fov / 2))
        assert torch.allclose(full[i, 0, 0] / full[0, 0, 0], torch.tensor(ratio), atol=1e-6)
    pts = torch.tensor([[0.1, 0.2, 0.3]])
    assert cams.transform_points(pts).shape == (3, 1, 3)
    with pytest.raises(ValueError):
        FoVPerspectiveCameras(R=R[:2], T=T)
    with pytest.raises(ValueError):
        FoVPerspectiveCameras(fov=[50.0, 60.0], R=R)
    with pytest.raises(ValueError):
        FoVPerspectiveCameras(R=torch.eye(3))
    with pytest.raises(ValueError):
        get_world_to_view_transform(R=R[:1], T=T)


def test_getitem_and_len() -> None:
    R, T = look_at_view_transform(dist=[1.0, 2.0, 3.0, 4.0], azim=[0.0, 30.0, 60.0, 90.0])
    fov = torch.tensor([30.0, 40.0, 50.0, 60.0])
    cams = FoVPerspectiveCameras(fov=fov, R=R, T=T, degrees=True)
    one = cams[2]
    assert isinstance(one, FoVPerspectiveCameras) and len(one) == 1
    assert torch.equal(one.R, R[2:3]) and torch.equal(one.fov, fov[2:3])
    full = cams.get_full_projection_transform().get_matrix()
    assert torch.allclose(one.get_full_projection_transform().get_matrix()[0], full[2])
    for index, rows in (([0, 3], [0, 3]), (torch.tensor([1, 2]), [1, 2]),
                        (torch.tensor([True, False, False, True]), [0, 3]), (slice(1, 3), [1, 2])):
        sub = cams[index]
        assert len(sub) == len(rows) and torch.equal(sub.T, T[rows])
    with pytest.raises(IndexError):
        cams[4]
    with pytest.raises(ValueError):
        cams["a"]
    with pytest.raises(ValueError):
        cams[torch.tensor([True, False])]
    screen = PerspectiveCameras(focal_length=torch.tensor([[10.0, 11.0], [12.0, 13.0]]), in_ndc=False,
                                image_size=((30, 40),))
    s1 = screen[1]
    assert isinstance(s1, PerspectiveCameras) and not s1.in_ndc()
    assert torch.equal(s1.focal_length, torch.tensor([[12.0, 13.0]]))
    assert torch.equal(s1.image_size, torch.tensor([[30.0, 40.0]]))
    o = FoVOrthographicCameras(max_x=torch.tensor([1.0, 2.0]))[1]
    assert isinstance(o, FoVOrthographicCameras) and o.max_x.item() == 2.0


def test_keyword_overrides() -> None:
    cam = FoVPerspectiveCameras()
    m90 = cam.get_projection_transform(fov=90.0).get_matrix()
    assert torch.allclose(m90[0, 0, 0], torch.tensor(1.0), atol=1e-6)
    m60 = cam.get_projection_transform().get_matrix()
    assert torch.allclose(m60[0, 0, 0], torch.tensor(1 / math.tan(math.radians(30.0))), atol=1e-6)
    R, T = look_at_view_transform(dist=2.0, azim=45.0)
    w2v = cam.get_world_to_view_transform(R=R, T=T).get_matrix()
    assert torch.allclose(w2v[0, :3, :3], R[0]) and torch.allclose(w2v[0, 3, :3], T[0])
    # like PyTorch3D, overriding R/T stores them (later shading steps see the same extrinsics)
    assert torch.equal(cam.R, R) and torch.equal(cam.T, T)
    R2, T2 = look_at_view_transform(dist=5.0, elev=30.0)
    C2 = camera_position_from_spherical_angles(5.0, 30.0, 0.0)
    assert torch.allclose(cam.get_camera_center(R=R2, T=T2), C2, atol=1e-5)
    at = cam.transform_points(torch.zeros(1, 3), R=R2, T=T2)
    assert torch.allclose(at[:, :2], torch.zeros(1, 2), atol=1e-6)
    ortho = FoVOrthographicCameras()
    shifted = ortho.transform_points(torch.tensor([[1.0, 0.0, 5.0]]), max_x=3.0, min_x=-1.0)
    assert torch.allclose(shifted[0, 0], torch.tensor(0.0), atol=1e-6)
    p = PerspectiveCameras()
    focal4 = p.transform_points(torch.tensor([[1.0, 1.0, 2.0]]), focal_length=4.0)
    assert torch.allclose(focal4[0, :2], torch.tensor([2.0, 2.0]))


def test_explicit_K_matches_computed() -> None:
    cam = FoVPerspectiveCameras(fov=45.0, znear=0.1, zfar=10.0)
    K = cam.compute_projection_matrix(0.1, 10.0, 45.0, 1.0, True)
    by_K = FoVPerspectiveCameras(K=K)
    assert torch.allclose(by_K.get_projection_transform().get_matrix(), cam.get_projection_transform().get_matrix())
    with pytest.raises(ValueError):
        FoVPerspectiveCameras(K=torch.eye(3)[None]).get_projection_transform()


def test_flags_clone_to() -> None:
    cam = FoVPerspectiveCameras(znear=0.3, fov=1.0, degrees=False, R=look_at_view_transform(2.0, azim=[0.0, 10.0])[0])
    assert cam.is_perspective() and cam.in_ndc() and torch.allclose(cam.get_znear(), torch.tensor([0.3, 0.3]))
    assert PerspectiveCameras().get_znear() is None
    c = cam.clone()
    assert isinstance(c, FoVPerspectiveCameras) and len(c) == 2 and c.degrees is False
    assert torch.allclose(c.get_full_projection_transform().get_matrix(),
                          cam.get_full_projection_transform().get_matrix())
    c.R.zero_()
    assert cam.R.abs().sum() > 0  # independent storage
    scr = PerspectiveCameras(in_ndc=False, image_size=((10, 20),)).clone()
    assert not scr.in_ndc() and torch.equal(scr.image_size, torch.tensor([[10.0, 20.0]]))
    moved = cam.to("cpu")
    assert moved.device == torch.device("cpu") and isinstance(moved, CamerasBase)


# ------------------------------------------------------------------ gradients

def test_gradcheck_projection_wrt_R_T() -> None:
    R0, T0 = look_at_view_transform(dist=3.0, elev=15.0, azim=25.0)
    R = R0.double().requires_grad_(True)
    T = T0.double().requires_grad_(True)
    pts = torch.tensor([[0.2, -0.3, 0.1], [-0.4, 0.5, -0.2]], dtype=torch.float64)
    fov = torch.tensor([60.0], dtype=torch.float64)

    def project(R, T):
        return FoVPerspectiveCameras(fov=fov, R=R, T=T).transform_points(pts)

    assert project(R, T).dtype == torch.float64
    assert torch.autograd.gradcheck(project, (R, T))

    def project_screen(R, T):
        cam = PerspectiveCameras(focal_length=torch.tensor([[40.0, 50.0]], dtype=torch.float64),
                                 principal_point=torch.tensor([[16.0, 12.0]], dtype=torch.float64),
                                 R=R, T=T, in_ndc=False, image_size=((24, 32),))
        return cam.transform_points_screen(pts)

    assert torch.autograd.gradcheck(project_screen, (R, T))


def test_gradients_reach_intrinsics() -> None:
    pts = torch.tensor([[0.2, -0.3, 3.0]], dtype=torch.float64)
    fov = torch.tensor([50.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f: FoVPerspectiveCameras(fov=f).transform_points(pts), (fov,))
    focal = torch.tensor([[1.2, 1.4]], dtype=torch.float64, requires_grad=True)
    pp = torch.tensor([[0.1, 0.0]], dtype=torch.float64, requires_grad=True)
    def persp(f, c):
        return PerspectiveCameras(focal_length=f, principal_point=c).transform_points(pts)

    assert torch.autograd.gradcheck(persp, (focal, pp))
    max_x = torch.tensor([1.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m: FoVOrthographicCameras(max_x=m).transform_points(pts), (max_x,))
    # float32 path with a leaf R (the usual optimisation set-up): non-zero, finite gradients
    R = look_at_view_transform(2.0, 10.0, 20.0)[0].requires_grad_(True)
    T = torch.tensor([[0.0, 0.0, 2.0]], requires_grad=True)
    FoVPerspectiveCameras(R=R, T=T).transform_points(pts.float()).sum().backward()
    assert torch.isfinite(R.grad).all() and R.grad.abs().sum() > 0 and T.grad.abs().sum() > 0
