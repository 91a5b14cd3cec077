"""The main window end to end: default scene, files, panes, inspector, undo, persistence."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from tests.viewer.conftest import (
    RENDER_TIMEOUT_MS,
    SMALL,
    pane_pixels,
    wait_inspected,
    wait_rendered,
    write_cube_obj,
)
from viewer import main_window

WHITE = np.array([255, 255, 255], dtype=np.uint8)


def _coverage(rgb: np.ndarray) -> float:
    return float(np.any(rgb != WHITE, axis=-1).mean())


def _drop(window, path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    actions = Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    try:
        enter = QDragEnterEvent(QPointF(50, 50), actions, mime, buttons, modifiers)
    except TypeError:  # PySide6 before 6.12 takes a QPoint here (6.12 deprecates it)
        enter = QDragEnterEvent(QPoint(50, 50), actions, mime, buttons, modifiers)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), actions, mime, buttons, modifiers)
    QApplication.sendEvent(window, drop)
    assert drop.isAccepted()


def _open_and_wait(qtbot, window, path) -> tuple[bool, str]:
    with qtbot.waitSignal(window.mesh_load_finished, timeout=60_000) as blocker:
        window.open_mesh(path)
    return blocker.args[0], blocker.args[1]


def test_opens_on_the_default_scene_with_both_panes_non_empty(window) -> None:
    assert window.windowTitle() == "Default scene (torus) — RasterLab"
    for pane in ("soft", "hard"):
        rgb = pane_pixels(window, pane)
        assert rgb.shape == (SMALL, SMALL, 3)
        assert 0.1 < _coverage(rgb) < 0.9  # the torus on a white background
        assert tuple(rgb[0, 0]) == (255, 255, 255)
        assert re.fullmatch(r"\d+ ms", window.panes[pane].time_label.text())
    # The soft edge differs from the hard one.
    assert not np.array_equal(pane_pixels(window, "soft"), pane_pixels(window, "hard"))
    assert window.panes["soft"].shader_combo.currentText() == "Soft Phong"


def test_dropping_an_obj_loads_it_and_undo_brings_the_torus_back(qtbot, window, tmp_path) -> None:
    torus = window.state.mesh
    before = pane_pixels(window, "hard")
    cube = write_cube_obj(tmp_path / "cube.obj")
    with qtbot.waitSignal(window.mesh_load_finished, timeout=60_000) as blocker:
        _drop(window, cube)
    assert blocker.args[0], blocker.args[1]
    assert window.state.mesh.name == "cube.obj" and window.state.mesh.num_faces == 12
    assert window.windowTitle() == "cube.obj — RasterLab"
    wait_rendered(qtbot, window)
    assert not np.array_equal(pane_pixels(window, "hard"), before)
    assert window.app_settings.recent_files()[0] == cube.resolve()
    window.history.stack.undo()
    assert window.state.mesh is torus
    wait_rendered(qtbot, window)
    assert np.array_equal(pane_pixels(window, "hard"), before)


def test_moving_sigma_changes_the_soft_pane_and_not_the_hard_one(qtbot, window) -> None:
    soft, hard = pane_pixels(window, "soft"), pane_pixels(window, "hard")
    control = window.panels["Blend"].controls["blend.sigma"]
    control.slider.setValue(control.to_slider(2e-3))
    assert window.state.value("blend.sigma") == pytest.approx(2e-3, rel=0.01)
    wait_rendered(qtbot, window)
    assert not np.array_equal(pane_pixels(window, "soft"), soft)
    assert np.array_equal(pane_pixels(window, "hard"), hard)
    assert window.last_result.images["hard"].reused


def test_faces_per_pixel_sets_the_inspectors_layer_count(qtbot, window) -> None:
    wait_inspected(qtbot, window)
    assert window.inspector.layer_count() == 10
    control = window.panels["Rasterization"].controls["raster.faces_per_pixel"]
    control.entry.setText("3")
    control.entry.editingFinished.emit()
    wait_inspected(qtbot, window)
    assert window.inspector.layer_count() == 3
    assert window.inspector.layer_spin.maximum() == 2
    assert window.inspector.layers_label.text() == "of 3 layers"
    window.inspector.pane_combo.setCurrentIndex(1)  # the hard pane keeps one face per pixel
    assert window.inspector.layer_count() == 1


def test_the_panes_say_what_faces_per_pixel_did(qtbot, window) -> None:
    wait_rendered(qtbot, window)
    soft, hard = window.panes["soft"].k_label, window.panes["hard"].k_label
    assert hard.isVisible() and hard.text() == "K = 1: the nearest face of each pixel"
    control = window.panels["Rasterization"].controls["raster.faces_per_pixel"]
    control.entry.setText("2")
    control.entry.editingFinished.emit()
    wait_inspected(qtbot, window)
    assert soft.isVisible() and soft.text().startswith("K = 2 too small") and "covered pixels" in soft.toolTip()
    assert soft.height() == hard.height()  # one line each: the two images stay level
    # the inspector's map of the soft pane marks those pixels red
    from viewer.views.image_view import rgb_from_qimage

    picture = rgb_from_qimage(window.inspector.views["dropped by K"].image())
    red = (picture == (220, 40, 40)).all(-1)
    lost = window.last_result.images["soft"].k_report.lost
    assert lost > 0 and red.sum() == lost and "(red)" in window.inspector.legends["dropped by K"].text()


def test_find_k_suggests_the_faces_per_pixel_that_loses_no_coverage(qtbot, window) -> None:
    wait_rendered(qtbot, window)
    assert "too small" in window.panes["soft"].k_label.text()  # the default K = 10 on the torus
    finder = window.panels["Rasterization"].k_finder
    finder.find_button.click()
    qtbot.waitUntil(lambda: finder.result.text().startswith("K ≥"), timeout=RENDER_TIMEOUT_MS)
    assert finder.use_button.isVisible() and finder.find_button.isEnabled()
    suggested = int(finder.use_button.text().split()[-1])
    assert suggested > 10
    finder.use_button.click()
    assert window.state.value("raster.faces_per_pixel") == suggested and finder.result.text() == ""
    wait_rendered(qtbot, window)
    report = window.last_result.images["soft"].k_report
    assert report.k == suggested and report.lost == 0 and "too small" not in window.panes["soft"].k_label.text()
    window.history.stack.undo()  # one undo step brings K back
    assert window.state.value("raster.faces_per_pixel") == 10


def test_find_k_drops_a_result_for_a_scene_since_changed(qtbot, window) -> None:
    finder = window.panels["Rasterization"].k_finder
    finder.find_button.click()
    window.history.set_value("blend.sigma", 2e-4)  # before the search can report (same thread)
    qtbot.waitUntil(finder.find_button.isEnabled, timeout=RENDER_TIMEOUT_MS)
    qtbot.wait(50)
    assert finder.result.text() == "" and not finder.use_button.isVisible()


def test_find_k_over_the_memory_budget_says_why(qtbot, window) -> None:
    window.history.set_values({"raster.image_size": 1024, "raster.memory_budget_mb": 64}, "big")
    finder = window.panels["Rasterization"].k_finder
    finder.find_button.click()
    qtbot.waitUntil(lambda: finder.result.text().startswith("Not found"), timeout=RENDER_TIMEOUT_MS)
    text = finder.result.text()
    assert "100 faces per pixel" in text and "raise Memory budget" in text and "lower Image size," in text
    assert not finder.use_button.isVisible()
    assert finder.find_button.isEnabled()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.obj", "this is not a mesh\n", "no geometry"),
        ("empty.obj", "", "no geometry"),
        ("nan.obj", "v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN"),
        ("points.xyz", "1 2 3\n", "unsupported"),
        ("flat.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n", "zero area"),  # nothing it could render
    ],
)
def test_a_bad_file_shows_an_error_and_keeps_the_mesh(qtbot, window, tmp_path, name, content, reason) -> None:
    mesh, shown = window.state.mesh, pane_pixels(window, "soft")
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    ok, message = _open_and_wait(qtbot, window, path)
    assert not ok
    assert name in message and reason in message and "current mesh stays loaded" in message
    assert str(path) not in message  # the file is named once, by its name
    assert window.error_banner.isVisible() and window.error_banner.text() == message
    assert window.state.mesh is mesh and window.history.stack.count() == 0
    assert np.array_equal(pane_pixels(window, "soft"), shown)
    window.clear_error()
    assert not window.error_banner.isVisible()


def test_a_mesh_loaded_without_its_texture_says_so(qtbot, window, tmp_path) -> None:
    (tmp_path / "tri.mtl").write_text("newmtl skin\nKd 0.8 0.2 0.2\nmap_Kd gone.png\n", encoding="utf-8")
    path = tmp_path / "tri.obj"
    path.write_text("mtllib tri.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl skin\nf 1/1 2/2 3/3\n",
                    encoding="utf-8")
    ok, message = _open_and_wait(qtbot, window, path)
    assert ok and window.state.mesh.name == "tri.obj"
    assert "Opened tri.obj" in message and "'gone.png'" in message and str(tmp_path) not in message
    assert window.error_banner.isVisible() and window.error_banner.text() == message
    assert "#fff1d6" in window.error_banner.styleSheet()  # amber: a notice, not a failure
    window.show_error("boom")
    assert "#fde2e2" in window.error_banner.styleSheet()


def test_a_missing_file_is_reported(qtbot, window, tmp_path) -> None:
    ok, message = _open_and_wait(qtbot, window, tmp_path / "gone.obj")
    assert not ok and "gone.obj" in message


def test_save_render_writes_the_pane_and_never_overwrites_silently(window, tmp_path) -> None:
    out = window.save_render("soft", tmp_path / "soft.png")
    with Image.open(out) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), pane_pixels(window, "soft"))
    both = window.save_render("both", tmp_path / "both.png")
    with Image.open(both) as png:
        rgb = np.asarray(png.convert("RGB"))
    assert rgb.shape == (SMALL, 2 * SMALL + 4, 3)
    assert np.array_equal(rgb[:, -SMALL:], pane_pixels(window, "hard"))
    before = out.read_bytes()
    with pytest.raises(FileExistsError):
        window.save_render("hard", out)
    assert out.read_bytes() == before
    with pytest.raises(ValueError, match="which"):
        window.render_image("left")


def test_save_render_as_npy_writes_the_rendered_values(qtbot, window, tmp_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    soft = window.save_render("soft", tmp_path / "soft.npy")
    assert np.array_equal(np.load(soft), window.panes["soft"].current.rgba)  # float32 RGBA as core returned it
    with pytest.raises(ValueError, match="one pane at a time"):
        window.save_render("both", tmp_path / "both.npy")
    with pytest.raises(FileExistsError):
        window.save_render("soft", soft)
    window.panes["hard"].shader_combo.setCurrentText("Hard Depth")
    wait_rendered(qtbot, window)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(tmp_path / "depth"), main_window.NPY_FILTER))
    window.save_render_dialog("hard")
    depth = np.load(tmp_path / "depth.npy")
    assert depth.shape == (SMALL, SMALL) and depth[0, 0] == pytest.approx(window.state.value("camera.zfar"))


def test_copy_image_puts_both_panes_on_the_clipboard(window) -> None:
    window.copy_image("both")
    image = QGuiApplication.clipboard().image()
    assert (image.width(), image.height()) == (2 * SMALL + 4, SMALL)


def test_undo_and_redo_restore_the_images(qtbot, window) -> None:
    first = pane_pixels(window, "soft")
    window.history.set_value("blend.gamma", 0.5)
    wait_rendered(qtbot, window)
    second = pane_pixels(window, "soft")
    assert not np.array_equal(first, second)
    window.history.stack.undo()
    assert window.state.value("blend.gamma") == 1e-4
    wait_rendered(qtbot, window)
    assert np.array_equal(pane_pixels(window, "soft"), first)
    window.history.stack.redo()
    wait_rendered(qtbot, window)
    assert np.array_equal(pane_pixels(window, "soft"), second)


def test_a_slider_drag_is_one_undo_step(qtbot, window) -> None:
    control = window.panels["Blend"].controls["blend.gamma"]
    slider = control.slider
    handle = slider.style().subControlRect(
        slider.style().ComplexControl.CC_Slider, _slider_option(slider), slider.style().SubControl.SC_SliderHandle, slider
    ).center()
    QTest.mousePress(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, handle)
    for dx in (10, 20, 30):
        QTest.mouseMove(slider, handle + QPoint(dx, 0))
    QTest.mouseRelease(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, handle + QPoint(30, 0))
    assert window.state.value("blend.gamma") > 1e-4
    assert window.history.stack.count() == 1
    window.history.stack.undo()
    assert window.state.value("blend.gamma") == 1e-4


def _slider_option(slider):
    from PySide6.QtWidgets import QStyleOptionSlider

    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    return option


def test_rapid_changes_coalesce_and_the_last_one_is_shown(qtbot, window) -> None:
    started = window.service.renders_started
    for i in range(1, 31):
        window.history.set_value("blend.sigma", 1e-5 * i)
    wait_rendered(qtbot, window)
    assert window.last_result.snapshot_id == window.state.revision
    assert window.service.renders_started - started <= 3
    window.history.set_value("blend.sigma", 1e-4)  # back to the start: the same picture as sigma = 1e-4
    wait_rendered(qtbot, window)


def test_settings_and_layout_persist_between_windows(qtbot, make_window) -> None:
    first = make_window()
    first.history.set_values({"blend.sigma": 3e-4, "light.type": "directional", "camera.azimuth": -40.0}, "test")
    first.docks["Lights"].setFloating(True)
    first.docks["Material"].hide()
    first.close()
    second = make_window()
    settings = second.state.settings
    assert (settings["blend.sigma"], settings["light.type"], settings["camera.azimuth"]) == (3e-4, "directional", -40.0)
    assert second.docks["Lights"].isFloating()
    assert second.docks["Material"].isHidden()
    assert second.panels["Camera"].controls["camera.azimuth"].entry.text() == "-40"


def test_settings_over_the_memory_budget_are_refused_and_the_old_image_stays(qtbot, window) -> None:
    shown = pane_pixels(window, "soft")
    window.history.set_values({"raster.memory_budget_mb": 64, "raster.faces_per_pixel": 100, "raster.image_size": 512}, "big")
    qtbot.waitUntil(lambda: window.panes["soft"].error_label.isVisible(), timeout=60_000)
    message = window.panes["soft"].error_label.text()
    assert "512×512 px at 100 faces per pixel" in message and "1.6 GiB" in message and "64.0 MiB" in message
    assert "lower Faces per pixel or Image size, or raise Memory budget" in message
    assert np.array_equal(pane_pixels(window, "soft"), shown)
    window.history.stack.undo()
    wait_rendered(qtbot, window)
    assert not window.panes["soft"].error_label.isVisible()


def test_a_preset_is_one_undo_step(window) -> None:
    crisp = next(p for p in window.presets if p.name == "crisp")
    window.apply_preset(crisp)
    assert all(window.state.value(k) == v for k, v in crisp.values.items())
    assert window.history.stack.count() == 1
    window.history.stack.undo()
    assert window.state.value("blend.sigma") == 1e-4 and window.state.value("raster.faces_per_pixel") == 10


def test_typed_values_out_of_range_are_refused_with_a_message(window) -> None:
    control = window.panels["Blend"].controls["blend.sigma"]
    control.entry.setText("5")
    control.entry.editingFinished.emit()
    assert window.state.value("blend.sigma") == 1e-4
    assert "blend.sigma" in window.error_banner.text()
    assert control.entry.text() == "0.0001"  # the control shows the state again


def test_light_controls_follow_the_light_type(window) -> None:
    panel = window.panels["Lights"]
    assert panel.controls["light.location"].isEnabled() and not panel.controls["light.direction"].isEnabled()
    panel.controls["light.type"].combo.setCurrentText("directional")
    assert not panel.controls["light.location"].isEnabled() and panel.controls["light.direction"].isEnabled()
    assert window.state.value("light.type") == "directional"


def test_hovering_the_inspector_reads_out_the_fragments(qtbot, window) -> None:
    wait_inspected(qtbot, window)
    view = window.inspector.views["pix_to_face"]
    centre_row = np.nonzero(window.inspector.fragments("soft").pix_to_face[:, :, 0] >= 0)
    y, x = int(centre_row[0][0]), int(centre_row[1][0])
    rect = view.target_rect()
    pos = QPointF(rect.left() + (x + 0.5) * rect.width() / SMALL, rect.top() + (y + 0.5) * rect.height() / SMALL)
    move = QMouseEvent(
        QEvent.Type.MouseMove, pos, view.mapToGlobal(pos), Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view, move)
    message = window.statusBar().currentMessage()
    assert message.startswith(f"soft: ({x}, {y})") and "α" in message and "bary" in message


def test_shader_choice_reaches_the_pane(qtbot, window) -> None:
    window.panes["soft"].shader_combo.setCurrentText("Silhouette")
    assert window.state.value("pane.soft_shader") == "Silhouette"
    wait_rendered(qtbot, window)
    rgb = pane_pixels(window, "soft")
    assert (rgb[..., 0] == rgb[..., 1]).all() and tuple(rgb[0, 0]) == (0, 0, 0)  # alpha as grey
    assert window.last_result.images["hard"].reused


def test_open_recent_lists_loaded_files_and_reopens_them(qtbot, window, tmp_path) -> None:
    cube = write_cube_obj(tmp_path / "cube.obj")
    ok, _ = _open_and_wait(qtbot, window, cube)
    assert ok
    window.history.stack.undo()  # back to the torus
    window.recent_menu.aboutToShow.emit()
    actions = window.recent_menu.actions()
    assert [a.text() for a in actions] == [str(cube.resolve())]
    with qtbot.waitSignal(window.mesh_load_finished, timeout=60_000) as blocker:
        actions[0].trigger()
    assert blocker.args[0] and window.state.mesh.name == "cube.obj"


def test_save_dialog_adds_png_and_asks_before_replacing(window, tmp_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(tmp_path / "render"), ""))
    window.save_render_dialog("hard")
    target = tmp_path / "render.png"
    with Image.open(target) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), pane_pixels(window, "hard"))
    # "render" again: the dialog approved "render", not "render.png", so the window asks itself.
    before = target.read_bytes()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args) or QMessageBox.StandardButton.No)
    window.save_render_dialog("both")
    assert len(asked) == 1 and target.read_bytes() == before


def test_the_window_fits_a_laptop_screen_with_the_fitting_docks(qtbot, window) -> None:
    """All docks shown, the window can still shrink to 1366×768 (its minimum size hint), starts
    no larger than the screen, and the viewport and both panes start equally wide."""
    from viewer.fitting import install_fitting

    controller = install_fitting(window, confirm_close=lambda: True)
    try:
        hint = window.minimumSizeHint()
        assert hint.width() <= 1366 and hint.height() <= 768, f"minimum size {hint.width()}×{hint.height()}"
        free = window.screen().availableGeometry()
        assert window.width() <= free.width() and window.height() <= free.height()
        widths = [window.viewport.width()] + [pane.width() for pane in window.panes.values()]
        assert max(widths) - min(widths) <= 0.1 * max(widths), f"viewport and panes: {widths}"
    finally:
        controller.shutdown()


def test_the_fitting_docks_keep_their_place_between_windows(qtbot, make_window) -> None:
    from viewer.fitting import install_fitting

    first = make_window()
    controller = install_fitting(first, confirm_close=lambda: True)
    controller.docks["Fit views"].setFloating(True)
    controller.docks["Fit losses"].hide()
    controller.shutdown()
    first.close()
    second = make_window()
    controller = install_fitting(second, confirm_close=lambda: True)
    try:
        assert controller.docks["Fit views"].isFloating()
        assert controller.docks["Fit losses"].isHidden()
    finally:
        controller.shutdown()


def test_a_saved_window_larger_than_the_screen_is_shrunk_to_fit(qtbot, make_window) -> None:
    """A geometry saved by a version whose window could not shrink below 2054 px, or on a larger
    screen, must not leave part of the window off this screen (Qt's restoreGeometry sees to it)."""
    first = make_window()
    free = first.screen().availableGeometry()
    first.resize(free.width() + 600, free.height() + 300)  # as saved by a version that could not shrink
    first.close()
    second = make_window()
    assert second.width() <= free.width() and second.height() <= free.height()


def test_rasterization_panel_shows_where_the_near_clip_is(qtbot, window) -> None:
    panel = window.panels["Rasterization"]

    def clip_text() -> str:
        (label,) = [w for w in panel.findChildren(QLabel) if w.text().startswith("Near clip")]
        return label.text()

    assert clip_text() == "Near clip at view depth 0.5"
    window.history.set_value("camera.znear", 0.2)
    assert clip_text() == "Near clip at view depth 0.1"
    window.history.set_value("camera.projection", "orthographic")
    assert clip_text() == "Near clip: none (no perspective correction)"
    window.history.stack.undo()
    window.history.stack.undo()
    assert clip_text() == "Near clip at view depth 0.5"


def test_a_pane_that_fails_leaves_no_stale_fragments_in_the_inspector(qtbot, window) -> None:
    """The soft pane failing (over the memory budget) must not leave the inspector showing the
    fragments of the previous settings (K = 10) as if they were the failed K = 100 render's."""
    wait_inspected(qtbot, window)
    assert window.inspector.layer_count() == 10
    window.history.set_values({"raster.memory_budget_mb": 64, "raster.faces_per_pixel": 100, "raster.image_size": 512}, "big")
    wait_inspected(qtbot, window)
    assert "soft" in window.last_result.errors
    inspector = window.inspector
    assert inspector.fragments("soft") is None and inspector.layer_count() == 0
    assert all(view.image() is None for view in inspector.views.values())
    assert all(legend.text() == "" for legend in inspector.legends.values())
    assert inspector.layers_label.text() == "of – layers"
    inspector.pane_combo.setCurrentIndex(1)  # the hard pane did render: its fragments are there
    assert inspector.layer_count() == 1 and inspector.views["zbuf"].image() is not None
    inspector.pane_combo.setCurrentIndex(0)
    window.history.stack.undo()
    wait_inspected(qtbot, window)
    assert inspector.layer_count() == 10 and inspector.views["zbuf"].image() is not None


def test_inspector_legends_cut_by_a_narrow_column_are_in_their_tooltips(qtbot, window) -> None:
    wait_inspected(qtbot, window)
    for name, legend in window.inspector.legends.items():
        assert legend.text() and legend.toolTip() == legend.text(), name


def test_a_narrow_pane_shortens_its_title_to_a_whole_word(qtbot, window) -> None:
    """Never "Soft rasterizati": the whole title where it fits, else its first word."""
    splitter = window._views_splitter
    pane_titles = [(pane.title_label, full) for pane, full in
                   ((window.panes["soft"], "Soft rasterization"), (window.panes["hard"], "Hard rasterization"))]

    def check(expected_full: bool) -> None:
        for title, full in pane_titles:
            text = title.text()
            assert text == (full if expected_full else full.split()[0]), text
            assert title.fontMetrics().horizontalAdvance(text) <= title.contentsRect().width()
            assert title.toolTip() == full

    total = sum(splitter.sizes())
    splitter.setSizes([total - 2 * 210, 210, 210])
    qtbot.waitUntil(lambda: window.panes["soft"].width() <= 220)
    check(expected_full=False)
    splitter.setSizes([200, (total - 200) // 2, (total - 200) // 2])
    qtbot.waitUntil(lambda: window.panes["soft"].width() >= 400)
    check(expected_full=True)


def test_sliders_stay_sliders_in_a_narrow_dock(qtbot, window) -> None:
    """Squeezed to its handle a slider looks like an empty tick box; a narrow dock scrolls instead."""
    from viewer.panels.controls import NumberControl

    window.resize(1280, 720)
    window.resizeDocks([window.docks["Blend"]], [main_window.DOCK_MIN_WIDTH], Qt.Orientation.Horizontal)
    qtbot.wait(50)
    sliders = [c.slider for c in window.panels["Blend"].controls.values() if isinstance(c, NumberControl)]
    assert sliders
    for slider in sliders:
        assert slider.width() >= 48, slider.width()


def test_undo_names_say_which_panel_a_setting_is_in(window) -> None:
    """The light's and the material's colours share labels; the Edit menu must tell them apart."""
    stack = window.history.stack
    window.history.set_value("light.diffuse", (0.1, 0.2, 0.3))
    assert stack.undoText() == "Set light diffuse colour"
    window.history.set_value("material.diffuse", (0.1, 0.2, 0.3))
    assert stack.undoText() == "Set material diffuse colour"
    window.history.set_value("light.type", "directional")
    assert stack.undoText() == "Set light type"
    window.history.set_value("blend.sigma", 1e-3)
    assert stack.undoText() == "Set σ (sigma)"


def test_a_window_made_narrower_keeps_room_for_its_views(qtbot, window) -> None:
    """Qt takes all of a window's lost width from its central views; the side columns must give
    way too, and a viewport squeezed beside the panes must get its share back."""
    from viewer.fitting import install_fitting

    controller = install_fitting(window, confirm_close=lambda: True)
    try:
        window.resize(1800, 1000)
        qtbot.wait(100)
        window.resize(1280, 720)

        def views() -> list[int]:
            return [window.viewport.width()] + [pane.width() for pane in window.panes.values()]

        qtbot.waitUntil(lambda: max(views()) - min(views()) <= 0.15 * max(views()), timeout=5_000)
        cap = max(main_window.DOCK_MIN_WIDTH, window.width() * 2 // 9)
        for title in ("Rasterization", "Camera"):
            assert window.docks[title].width() <= cap + 2, (title, window.docks[title].width())
        assert window.centralWidget().width() >= 0.45 * window.width()
    finally:
        controller.shutdown()


def test_help_about_names_the_versions_and_the_device(window) -> None:
    import torch

    titles = [action.text() for action in window.menuBar().actions()]
    assert titles[-1] == "&Help" and titles.index("&View") < titles.index("&Help")
    box = window.show_about()
    text = box.text()
    assert "RasterLab" in text and f"PyTorch {torch.__version__}" in text and "PySide6" in text
    assert ("CUDA" in text) if torch.cuda.is_available() else ("renders on the CPU" in text)
    box.close()
