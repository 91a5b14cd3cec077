"""Fitting inside the main window: start from the panel, watch, pause, resume, stop, export, close."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.io import load_mesh
from tests.viewer.fitting_cases import SMALL_SETTINGS
from viewer.fitting import install_fitting
from viewer.fitting.heat import heat_colors

TIMEOUT_MS = 60_000


@pytest.fixture
def fitting(qtbot, make_window):
    window = make_window()
    controller = install_fitting(window, confirm_close=lambda: True)
    for key, value in SMALL_SETTINGS.items():
        if key == "sphere_level":
            controller.panel.level_spin.setValue(value)
        else:
            controller.panel.set_value(key, value)
    controller.panel.set_value("iterations", 100_000)
    yield controller
    controller.shutdown()
    assert not controller.service.is_alive()


def _click(qtbot, controller, name: str) -> None:
    button = controller.panel.buttons[name]
    assert button.isEnabled(), f"{name} is disabled in phase {controller.service.phase}"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _wait_iterations(qtbot, controller, count: int) -> None:
    qtbot.waitUntil(lambda: len(controller.history) >= count, timeout=TIMEOUT_MS)


def _wait_phase(qtbot, controller, phase: str) -> None:
    qtbot.waitUntil(lambda: controller.service.phase == phase and controller.service.latest is not None
                    and controller.service.latest.phase == phase, timeout=TIMEOUT_MS)


def test_fit_from_the_panel_pause_resume_stop_and_export(qtbot, fitting, tmp_path) -> None:
    controller, window = fitting, fitting.window
    first = []
    controller.service.progress.connect(lambda p: first.append(p) if not first else None)
    _click(qtbot, controller, "start")
    _wait_iterations(qtbot, controller, 25)

    # The loss dropped and the viewport draws a mesh that is no longer the starting sphere.
    totals = [r["total"] for r in controller.history]
    assert np.mean(totals[-5:]) < 0.8 * np.mean(totals[:3])
    qtbot.waitUntil(lambda: controller.mesh is not None and controller.mesh is not first[0].mesh, timeout=TIMEOUT_MS)
    drawn = controller.live.drawn_vertices()
    sphere = first[0].mesh.verts
    assert first[0].iteration == 0 and drawn.shape == sphere.shape
    assert np.abs(drawn - sphere).max() > 1e-2
    assert controller.live.shown and not window.viewport.mesh_visual.visible
    assert len(controller.plot.series("total")) >= 2
    assert controller.compare.shown is not None and controller.compare.shown.target.shape == (48, 48, 3)
    assert "it/s" in controller.status_label.text()

    _click(qtbot, controller, "pause")
    _wait_phase(qtbot, controller, "paused")
    frozen = controller.service.latest.iteration
    assert len(controller.history) == frozen
    qtbot.wait(300)
    assert controller.service.latest.iteration == frozen and len(controller.history) == frozen
    _click(qtbot, controller, "step")
    qtbot.waitUntil(lambda: controller.service.latest.iteration == frozen + 1, timeout=TIMEOUT_MS)
    _click(qtbot, controller, "resume")
    _wait_iterations(qtbot, controller, frozen + 5)
    _click(qtbot, controller, "stop")
    _wait_phase(qtbot, controller, "stopped")
    done = controller.service.latest.iteration
    assert [r["iteration"] for r in controller.history] == list(range(1, done + 1))
    assert controller.mesh is controller.service.latest.mesh  # the mesh the run rests in

    # Written in the scene mesh's own coordinates (the generated torus's), not the viewer's
    # centred and scaled frame.
    scene = window.state.mesh
    assert scene.radius != pytest.approx(1.0)
    in_scene_frame = controller.mesh.verts * scene.radius + np.asarray(scene.centre, dtype=np.float32)
    for name in ("fit.ply", "fit.obj"):
        path = controller.export_mesh(tmp_path / name)
        loaded = load_mesh(path)
        np.testing.assert_allclose(loaded.verts_packed().numpy(), in_scene_frame, atol=1e-5)
        assert np.array_equal(loaded.faces_packed().numpy(), controller.mesh.faces.astype(np.int64))
        colors = loaded.textures.verts_features_packed().numpy()
        np.testing.assert_allclose(colors, controller.mesh.colors, atol=1 / 255 + 1e-6)
    rows = list(csv.reader(open(controller.export_losses(tmp_path / "losses.csv"), encoding="utf-8")))
    assert rows[0][:2] == ["iteration", "total"] and len(rows) == done + 1
    assert float(rows[-1][1]) == pytest.approx(controller.history[-1]["total"])
    with qtbot.waitSignal(controller.export_finished, timeout=TIMEOUT_MS) as blocker:
        controller.export_turntable(tmp_path / "turn.gif", frames=4, image_size=32)
    assert blocker.args == ["turntable", str(tmp_path / "turn.gif")]
    import imageio.v3 as iio

    frames = iio.imread(tmp_path / "turn.gif", index=None)
    assert frames.shape[:3] == (4, 32, 32)
    assert len({frame.tobytes() for frame in frames}) > 1  # the mesh turns

    _click(qtbot, controller, "reset")
    qtbot.waitUntil(lambda: controller.service.phase == "idle", timeout=TIMEOUT_MS)
    assert not controller.live.shown and window.viewport.mesh_visual.visible
    assert controller.history == [] and controller.panel.buttons["start"].isEnabled()


def test_live_settings_gradient_view_and_errors(qtbot, fitting) -> None:
    controller = fitting
    assert not controller.panel.export_buttons["mesh"].isEnabled()
    with pytest.raises(ValueError, match="no fitted mesh"):
        controller.export_mesh("unused.ply")
    controller.panel.set_value("views_per_iteration", 50)  # more than the 8 views
    assert not controller.start()
    assert "views_per_iteration" in controller.window.error_banner.text()
    controller.panel.set_value("views_per_iteration", 2)

    _click(qtbot, controller, "start")
    _wait_iterations(qtbot, controller, 3)
    assert not controller.panel.editors["num_views"].isEnabled()  # fixed for the run
    controller.panel.set_value("lr", 0.125)
    controller.panel.set_value("edge", 3.0)
    qtbot.waitUntil(lambda: controller.service.latest.settings["lr"] == 0.125
                    and controller.service.latest.settings["weights"]["edge"] == 3.0, timeout=TIMEOUT_MS)

    controller.panel.gradient_box.setChecked(True)
    qtbot.waitUntil(lambda: controller.mesh is not None and controller.mesh.grad_norm is not None, timeout=TIMEOUT_MS)
    snapshot = controller.mesh
    drawn = np.asarray(controller.live.visual.mesh_data.get_vertex_colors())[:, :3]
    expected = heat_colors(snapshot.grad_norm, float(np.percentile(snapshot.grad_norm, 99)))
    np.testing.assert_allclose(drawn, expected, atol=1e-6)
    assert np.ptp(drawn) > 0.1  # not a flat colour


def test_closing_mid_fit_asks_and_stops_the_worker(qtbot, fitting) -> None:
    controller, window = fitting, fitting.window
    answers = [False, True]
    controller.confirm_close = lambda: answers.pop(0)
    _click(qtbot, controller, "start")
    _wait_iterations(qtbot, controller, 3)
    assert not window.close()  # refused: the fit goes on
    assert window.isVisible() and controller.service.is_alive()
    before = len(controller.history)
    _wait_iterations(qtbot, controller, before + 2)
    assert window.close()
    assert answers == [] and not controller.service.is_alive()


def test_closing_mid_fit_uses_a_message_box_by_default(qtbot, make_window, monkeypatch) -> None:
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[1:3])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    window = make_window()
    controller = install_fitting(window)
    controller.panel.level_spin.setValue(1)
    for key, value in SMALL_SETTINGS.items():
        if key != "sphere_level":
            controller.panel.set_value(key, value)
    assert controller.start()
    qtbot.waitUntil(lambda: controller.service.phase == "running", timeout=TIMEOUT_MS)
    assert window.close()
    assert asked and asked[0][0] == "Fit in progress"
    assert not controller.service.is_alive()
