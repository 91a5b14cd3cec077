"""``python main.py``: --help, --render-only, and the placeholder window with its off-thread render."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.shared_data import REPO_ROOT

SIZE = 64
WHITE = (255, 255, 255)
# Unit sphere seen from distance 2.7 with a 60° field of view: the silhouette is a disc of NDC
# radius tan(asin(1/2.7)) / tan(30°) ≈ 0.69, i.e. about 37.5 % of a square image.
EXPECTED_COVERAGE = math.pi * (math.tan(math.asin(1 / 2.7)) / math.tan(math.radians(30))) ** 2 / 4


def _run_main(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _check_sphere_image(rgb: np.ndarray) -> None:
    """The default scene: white background, a coloured disc of the expected size in the middle."""
    assert rgb.shape == (SIZE, SIZE, 3)
    for corner in (rgb[0, 0], rgb[0, -1], rgb[-1, 0], rgb[-1, -1]):
        assert tuple(corner) == WHITE
    centre = rgb[SIZE // 2, SIZE // 2]
    assert tuple(centre) != WHITE
    covered = np.any(rgb != 255, axis=-1)
    assert covered.mean() == pytest.approx(EXPECTED_COVERAGE, abs=0.03)
    rows, cols = np.nonzero(covered)
    assert rows.mean() == pytest.approx((SIZE - 1) / 2, abs=1.0)
    assert cols.mean() == pytest.approx((SIZE - 1) / 2, abs=1.0)
    # Vertex colours and shading vary across the sphere: not a flat silhouette.
    assert rgb[covered].std(axis=0).min() > 5


def test_help_prints_usage() -> None:
    proc = _run_main("--help", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:")
    assert "--render-only" in proc.stdout


def test_bad_size_is_rejected_with_a_message() -> None:
    proc = _run_main("--render-only", "unused.png", "--size", "0", timeout=60)
    assert proc.returncode == 2
    assert "--size" in proc.stderr


def test_render_default_scene_validates_size() -> None:
    from viewer.app import render_default_scene

    with pytest.raises(ValueError, match="image_size"):
        render_default_scene(2)
    with pytest.raises(TypeError, match="image_size"):
        render_default_scene(64.0)  # type: ignore[arg-type]


def test_render_only_writes_png_with_the_sphere_in_the_middle(tmp_path) -> None:
    from PIL import Image

    out = tmp_path / "sub" / "sphere.png"
    proc = _run_main("--render-only", str(out), "--size", str(SIZE))
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout
    with Image.open(out) as img:
        assert img.format == "PNG" and img.mode == "RGB"
        rgb = np.asarray(img)
    _check_sphere_image(rgb)


def test_window_shows_the_render_and_its_time(qtbot) -> None:
    from viewer.app import WINDOW_TITLE, MainWindow

    window = MainWindow(image_size=SIZE)
    qtbot.addWidget(window)
    outcome: list[str] = []
    window.render_finished.connect(lambda seconds: outcome.append("ok"))
    window.render_failed.connect(lambda message: outcome.append(message))
    window.show()
    qtbot.waitUntil(lambda: bool(outcome), timeout=120_000)

    assert outcome == ["ok"], f"render failed: {outcome}"
    assert window.windowTitle() == WINDOW_TITLE
    assert re.fullmatch(rf"Rendered {SIZE}×{SIZE} on cpu in \d+ ms", window.statusBar().currentMessage())
    image = window.image_label.pixmap().toImage()
    rgb = np.array(
        [[image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())] for y in range(image.height())],
        dtype=np.uint8,
    )
    _check_sphere_image(rgb)
