"""Fixtures for the viewer tests: a window on temporary settings, and waiting for renders.

Every window here reads and writes an INI file in the test's temporary folder, never the
user's settings. Images are small (48 px) so that renders take milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SMALL = 48
RENDER_TIMEOUT_MS = 60_000


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "rasterlab-settings.ini"


@pytest.fixture
def make_window(qtbot, settings_path):
    """make_window(**kwargs) -> a shown MainWindow on temporary settings, first render done."""
    from viewer.main_window import MainWindow
    from viewer.settings import AppSettings

    def make(**kwargs):
        kwargs.setdefault("image_size", SMALL)
        window = MainWindow(AppSettings.at_path(settings_path), **kwargs)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        wait_rendered(qtbot, window)
        return window

    return make


@pytest.fixture
def window(make_window):
    return make_window()


def wait_rendered(qtbot, window) -> None:
    """Wait until the panes show a result of the state's current revision, nothing in flight."""

    def done() -> None:
        result = window.last_result
        assert result is not None and result.snapshot_id == window.state.revision
        assert not window.service.busy
        assert all(pane.current is not None for pane in window.panes.values())

    qtbot.waitUntil(done, timeout=RENDER_TIMEOUT_MS)


def wait_inspected(qtbot, window) -> None:
    """Wait until the panes and the fragment inspector show the state's current revision."""
    wait_rendered(qtbot, window)
    qtbot.waitUntil(lambda: window.inspector.snapshot_id == window.state.revision, timeout=RENDER_TIMEOUT_MS)


def pane_pixels(window, pane: str) -> np.ndarray:
    """What the pane widget has been given to show, as an RGB array (from its QImage)."""
    from viewer.views.image_view import rgb_from_qimage

    return rgb_from_qimage(window.panes[pane].view.image())


def write_cube_obj(path: Path, size: float = 1.0) -> Path:
    """A closed cube (8 vertices, 12 triangles) as a plain OBJ."""
    s = size / 2
    corners = [(x, y, z) for x in (-s, s) for y in (-s, s) for z in (-s, s)]
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    lines = [f"v {x} {y} {z}" for x, y, z in corners]
    for a, b, c, d in quads:
        lines += [f"f {a + 1} {b + 1} {c + 1}", f"f {a + 1} {c + 1} {d + 1}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
