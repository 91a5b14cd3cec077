"""The fitting feature's parts on their own: exports, loss plot data, heat colours, compare view."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.fitting import history_csv
from tests.viewer.fitting_cases import ellipsoid
from viewer.fitting import exports
from viewer.fitting.heat import heat_colors, heat_image
from viewer.fitting.loss_plot import LossPlot, _nice_ceiling
from viewer.fitting.snapshots import CompareImages
from viewer.fitting.view_compare import ViewCompare


def _record(i: int, total: float, rgb: float = math.nan) -> dict:
    return {"iteration": i, "total": total, "silhouette": total / 2, "rgb": rgb, "edge": 0.1, "normal": 0.0,
            "laplacian": 0.2, "seconds": 0.01}


def test_loss_csv_has_one_row_per_iteration_and_blanks_for_unused_terms(tmp_path) -> None:
    path = exports.save_loss_csv(tmp_path / "l.csv", [_record(1, 0.5), _record(2, 0.25, rgb=0.125)])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == [
        "iteration,total,silhouette,rgb,edge,normal,laplacian,seconds",
        "1,0.5,0.25,,0.1,0,0.2,0.01",
        "2,0.25,0.125,0.125,0.1,0,0.2,0.01",
    ]
    with pytest.raises(ValueError, match="record 0 lacks"):
        history_csv([{"total": 1.0}])


def test_turntable_turns_and_checks_its_arguments(tmp_path) -> None:
    frames = exports.turntable_frames(ellipsoid(), frames=4, image_size=32)
    assert frames.shape == (4, 32, 32, 3) and frames.dtype == np.uint8
    # The ellipsoid is longest along x: seen from the front (azimuth 0) it is wider than from the side (90°).
    width = [(np.any(f != 255, axis=-1).any(axis=0)).sum() for f in frames]
    assert width[0] > width[1] and width[2] > width[3]
    with pytest.raises(ValueError, match="frames"):
        exports.turntable_frames(ellipsoid(), frames=0)
    with pytest.raises(ValueError, match="turntable format"):
        exports.save_turntable(tmp_path / "t.png", ellipsoid())
    assert not (tmp_path / "t.png").exists()


def test_heat_colours_run_from_black_to_white() -> None:
    colors = heat_colors(np.array([0.0, 2.0, 4.0, 8.0]), vmax=4.0)
    assert np.allclose(colors[0], 0.0) and np.allclose(colors[2], 1.0) and np.allclose(colors[3], 1.0)
    assert 0.0 < colors[1].mean() < 1.0
    assert heat_image(np.zeros((3, 5))).shape == (3, 5, 3) and heat_image(np.zeros((3, 5))).max() == 0


def test_loss_plot_series_log_scale_and_nan_terms(qtbot) -> None:
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.add_records([_record(1, 100.0), _record(2, 10.0), _record(3, 1.0)])
    assert np.allclose(plot.series("total"), [[1, 2], [2, 1], [3, 0]])  # log10
    assert plot.series("rgb").shape == (0, 2)  # never computed: no line
    plot.set_log_scale(False)
    assert np.allclose(plot.series("total")[:, 1], [100.0, 10.0, 1.0])
    plot.redraw()
    assert plot.shown_range()[:2] == (0.0, 5.0)
    assert plot.lines["total"].visible and not plot.lines["rgb"].visible
    plot.clear()
    assert plot.series("total").shape == (0, 2)
    with pytest.raises(ValueError, match="unknown curve"):
        plot.series("bogus")
    assert [_nice_ceiling(v) for v in (1, 3, 11, 2000, 2001)] == [1, 5, 20, 2000, 5000]


def test_view_compare_shows_the_difference_on_a_fixed_scale(qtbot) -> None:
    widget = ViewCompare()
    qtbot.addWidget(widget)
    target = np.full((4, 4, 3), 255, np.uint8)
    current = target.copy()
    current[0, 0] = 0
    difference = (np.abs(current.astype(np.float32) - target) / 255.0).mean(-1)
    widget.show_images(CompareImages(2, target, current, difference))
    assert "view 2" in widget.summary.text() and "0.0625" in widget.summary.text()
    widget.set_view_count(5)
    with qtbot.waitSignal(widget.view_changed) as blocker:
        widget.view_spin.setValue(4)
    assert blocker.args == [4]
    widget.clear()
    assert widget.shown is None


def test_a_cleared_loss_plot_forgets_the_last_fits_axes(qtbot) -> None:
    """After Reset the axes do not keep the old fit's iterations and losses."""
    plot = LossPlot()
    qtbot.addWidget(plot)
    empty = plot.view.camera.rect
    assert (empty.left, empty.right, empty.bottom, empty.top) == (0.0, 1.0, 0.0, 1.0)
    plot.add_records([_record(i, 10.0 ** -i) for i in range(1, 150)])
    plot.redraw()
    assert plot.view.camera.rect.right == pytest.approx(200.0, abs=1.0)
    plot.clear()
    rect = plot.view.camera.rect
    assert (rect.left, rect.right, rect.bottom, rect.top) == pytest.approx((empty.left, empty.right, empty.bottom, empty.top))
