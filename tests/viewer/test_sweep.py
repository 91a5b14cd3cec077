"""Parameter sweeps: the values, the renders off the GUI thread, using one, saving the grid."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.viewer.conftest import RENDER_TIMEOUT_MS, wait_rendered
from viewer.parameters import Settings
from viewer.scene_builder import effective_blur_radius
from viewer.sweep import (
    MAX_RENDERS,
    default_range,
    sweep_points,
    sweep_values,
    swept_values,
)


def test_log_settings_sweep_geometrically_and_integers_without_repeats() -> None:
    assert sweep_values("blend.sigma", 1e-5, 1e-3, 3) == pytest.approx([1e-5, 1e-4, 1e-3])
    assert sweep_values("blend.gamma", 1e-2, 1.0, 5) == pytest.approx([1e-2, 10**-1.5, 1e-1, 10**-0.5, 1.0], rel=1e-5)
    assert sweep_values("raster.faces_per_pixel", 1, 3, 5) == [1, 2, 3]  # 1, 1.5, 2, 2.5, 3 rounded, once each
    assert sweep_values("raster.faces_per_pixel", 10, 40, 4) == [10, 20, 30, 40]


@pytest.mark.parametrize(
    ("key", "first", "last", "steps", "message"),
    [
        ("blend.sigma", 1e-4, 5.0, 3, "blend.sigma"),  # past the slider's maximum
        ("blend.sigma", 1e-4, 1e-3, 1, "steps"),
        ("blend.sigma", 1e-4, 1e-3, 13, "steps"),
        ("camera.azimuth", 0.0, 90.0, 3, "cannot sweep"),
    ],
)
def test_bad_sweeps_are_refused(key, first, last, steps, message) -> None:
    with pytest.raises(ValueError, match=message):
        sweep_values(key, first, last, steps)


def test_a_grid_varies_the_first_setting_along_rows_and_refuses_twins_and_crowds() -> None:
    points = sweep_points(("blend.sigma", [1e-5, 1e-4]), ("raster.blur_radius", [1e-4, 2e-4, 3e-4]))
    assert [p.changes["blend.sigma"] for p in points] == [1e-5, 1e-4] * 3
    assert [p.changes["raster.blur_radius"] for p in points] == [1e-4, 1e-4, 2e-4, 2e-4, 3e-4, 3e-4]
    assert all(p.changes["raster.derive_blur"] is False for p in points)  # the blur is used as typed
    assert points[1].label == "σ = 0.0001 NDC², blur radius = 0.0001 NDC²"
    with pytest.raises(ValueError, match="twice"):
        sweep_points(("blend.gamma", [1e-3, 1e-2]), ("blend.gamma", [1e-3, 1e-2]))
    with pytest.raises(ValueError, match=str(MAX_RENDERS)):
        sweep_points(("blend.sigma", list(range(1, 8))), ("blend.gamma", list(range(1, 7))))


def test_the_default_range_surrounds_the_value_in_use() -> None:
    settings = Settings({"blend.sigma": 1e-4, "raster.faces_per_pixel": 10})
    assert default_range("blend.sigma", settings) == pytest.approx((1e-5, 1e-3))
    assert default_range("raster.faces_per_pixel", settings) == (2, 40)
    derived = effective_blur_radius(settings)  # the blur radius follows σ by default
    assert default_range("raster.blur_radius", settings) == pytest.approx((derived / 10, derived * 10))
    typed = settings.replace(swept_values("raster.blur_radius", 2e-3))
    assert typed["raster.derive_blur"] is False and effective_blur_radius(typed) == 2e-3


def _rendered_sweep(qtbot, window, key, first, last, steps, across=None):
    dialog = window.show_sweep()
    dialog.set_sweep(key, first, last, steps, across)
    dialog.render_sweep()
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled(), timeout=RENDER_TIMEOUT_MS)
    return dialog


def test_a_sigma_sweep_renders_each_value_and_a_click_uses_one(qtbot, window) -> None:
    dialog = _rendered_sweep(qtbot, window, "blend.sigma", 1e-5, 1e-2, 3)
    assert [tile.icon().isNull() for tile in dialog.tiles] == [False, False, False]
    assert "0.01" in dialog.tiles[2].text() and " ms" in dialog.tiles[2].text()
    crisp, blurry = (dialog.tiles[i].icon().pixmap(64, 64).toImage() for i in (0, 2))
    assert crisp != blurry  # σ = 1e-2 blurs the edges that 1e-5 leaves sharp
    before = window.state.settings["blend.sigma"]
    dialog.tiles[2].click()
    assert window.state.settings["blend.sigma"] == pytest.approx(1e-2)
    assert window.history.stack.undoText() == "Use σ = 0.01 NDC² from the sweep"
    wait_rendered(qtbot, window)
    assert "changed since" in dialog.status.text()  # the sweep no longer shows the scene as it is
    window.history.stack.undo()
    assert window.state.settings["blend.sigma"] == before


def test_a_grid_over_sigma_and_gamma_uses_both_in_one_step(qtbot, window) -> None:
    dialog = _rendered_sweep(qtbot, window, "blend.sigma", 1e-5, 1e-3, 2, across=("blend.gamma", 1e-3, 1e-1, 2))
    assert len(dialog.tiles) == 4 and not any(tile.icon().isNull() for tile in dialog.tiles)
    positions = [dialog.grid.getItemPosition(dialog.grid.indexOf(tile))[:2] for tile in dialog.tiles]
    assert positions == [(0, 0), (0, 1), (1, 0), (1, 1)]  # σ along a row, γ down the column
    assert "γ = 0.1" in dialog.tiles[3].text() and "σ = 0.001" in dialog.tiles[3].text()
    dialog.tiles[3].click()
    settings = window.state.settings
    assert settings["blend.sigma"] == pytest.approx(1e-3) and settings["blend.gamma"] == pytest.approx(0.1)
    window.history.stack.undo()
    assert window.state.settings["blend.gamma"] == pytest.approx(1e-4)  # both back in one step


def test_a_blur_sweep_value_is_used_as_typed_in_one_step(qtbot, window) -> None:
    dialog = _rendered_sweep(qtbot, window, "raster.blur_radius", 1e-5, 1e-3, 2)
    dialog.use(1)
    settings = window.state.settings
    assert settings["raster.derive_blur"] is False and settings["raster.blur_radius"] == pytest.approx(1e-3)
    window.history.stack.undo()
    assert window.state.settings["raster.derive_blur"] is True


def test_a_sweep_over_the_memory_budget_says_so_per_render(qtbot, window) -> None:
    window.history.set_value("raster.memory_budget_mb", 64)
    window.history.set_value("raster.image_size", 256)  # K = 10 takes about 40 MiB, K = 100 about 400
    dialog = _rendered_sweep(qtbot, window, "raster.faces_per_pixel", 10, 100, 2)
    assert "not rendered" in dialog.tiles[1].text() and "Memory budget" in dialog.tiles[1].toolTip()
    assert not dialog.tiles[0].icon().isNull()  # K = 10 fits the budget


def test_typed_bounds_are_checked(qtbot, window) -> None:
    dialog = window.show_sweep()
    for first, last, message in (("ten", "20", "Cannot sweep"), ("2.5", "20", "whole numbers"), ("1", "1000", "must be in")):
        dialog.set_sweep("raster.faces_per_pixel", 1, 2, 2)
        dialog.first_axis.first_edit.setText(first)
        dialog.first_axis.last_edit.setText(last)
        dialog.render_sweep()
        assert message in dialog.status.text() and not dialog.tiles, dialog.status.text()


def test_save_writes_the_grid_and_never_overwrites_silently(qtbot, window, tmp_path) -> None:
    dialog = _rendered_sweep(qtbot, window, "blend.gamma", 1e-3, 1e-1, 2)
    out = dialog.save(tmp_path / "sweep.png")
    with Image.open(out) as png:
        saved = np.asarray(png.convert("RGB"))
    assert saved.shape == dialog.grid_image().shape
    before = out.read_bytes()
    with pytest.raises(FileExistsError):
        dialog.save(out)
    assert out.read_bytes() == before


def test_save_dialog_adds_png_and_asks_before_replacing(qtbot, window, tmp_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    dialog = _rendered_sweep(qtbot, window, "blend.gamma", 1e-3, 1e-1, 2)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(tmp_path / "grid"), ""))
    dialog.save_dialog()
    target = tmp_path / "grid.png"
    before = target.read_bytes()
    assert "Saved" in dialog.status.text()
    # "grid" again: the file dialog approved "grid", not "grid.png", so the sweep asks itself.
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args) or QMessageBox.StandardButton.No)
    dialog.save_dialog()
    assert len(asked) == 1 and target.read_bytes() == before


def test_closing_the_window_stops_a_sweep_in_flight(qtbot, window) -> None:
    dialog = window.show_sweep()
    dialog.set_sweep("blend.sigma", 1e-5, 1e-3, 12)
    dialog.render_sweep()
    job = dialog.job
    window.close()
    assert job.cancelled and not dialog.isVisible()
