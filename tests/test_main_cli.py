"""``python main.py``: --help, --render-only (default scene or a mesh file), errors, no display."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.shared_data import REPO_ROOT

SIZE = 64
WHITE = (255, 255, 255)


def _run_main(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _torus_silhouette(size: int) -> np.ndarray:
    """Where the default scene covers a size² image, worked out without core.

    The default torus (ring radius 0.7, tube 0.25) is scaled by 1/0.95 to the unit sphere. Dense
    surface points are projected with PyTorch3D's conventions written out here: a look-at camera at
    distance 3, elevation 35°, azimuth 20°, vertical field of view 60°; image column 0 is +X_ndc.
    """
    scale = 1 / 0.95
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 800), np.linspace(0, 2 * np.pi, 300), indexing="ij")
    ring = 0.7 + 0.25 * np.cos(v)
    points = scale * np.stack((ring * np.cos(u), 0.25 * np.sin(v), ring * np.sin(u)), -1).reshape(-1, 3)
    elev, azim, dist = math.radians(35), math.radians(20), 3.0
    eye = dist * np.array((math.cos(elev) * math.sin(azim), math.sin(elev), math.cos(elev) * math.cos(azim)))
    z_axis = -eye / np.linalg.norm(eye)
    x_axis = np.cross((0.0, 1.0, 0.0), z_axis)
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.cross(z_axis, x_axis)
    rel = points - eye
    x, y, z = rel @ x_axis, rel @ y_axis, rel @ z_axis
    focal = 1 / math.tan(math.radians(30))
    x_ndc, y_ndc = focal * x / z, focal * y / z
    cols = np.round((size - 1 - x_ndc * size) / 2).astype(int)
    rows = np.round((size - 1 - y_ndc * size) / 2).astype(int)
    mask = np.zeros((size, size), dtype=bool)
    inside = (cols >= 0) & (cols < size) & (rows >= 0) & (rows < size)
    mask[rows[inside], cols[inside]] = True
    return mask


def _check_torus_image(rgb: np.ndarray) -> None:
    assert rgb.shape == (SIZE, SIZE, 3)
    for corner in (rgb[0, 0], rgb[0, -1], rgb[-1, 0], rgb[-1, -1]):
        assert tuple(corner) == WHITE
    covered = np.any(rgb != 255, axis=-1)
    # Projected points mark every pixel within half a pixel of the silhouette: the rendered
    # coverage must lie inside that mask and contain the mask shrunk by one pixel.
    expected = _torus_silhouette(SIZE)
    padded = np.pad(expected, 1)
    shrunk = expected & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    assert not (covered & ~expected).any()
    assert not (shrunk & ~covered).any()
    assert covered.sum() > 0.85 * expected.sum()
    assert not covered[SIZE // 2 - 2, SIZE // 2]  # the hole is seen through
    # Vertex colours and shading vary across the torus: not a flat silhouette.
    assert rgb[covered].std(axis=0).min() > 5


def test_help_prints_usage() -> None:
    proc = _run_main("--help", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:")
    for option in ("MESH", "--render-only", "--size", "--device", "--overwrite"):
        assert option in proc.stdout


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


def test_render_only_writes_the_default_scene(tmp_path) -> None:
    from PIL import Image

    out = tmp_path / "sub" / "torus.png"
    proc = _run_main("--render-only", str(out), "--size", str(SIZE))
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout
    with Image.open(out) as img:
        assert img.format == "PNG" and img.mode == "RGB"
        rgb = np.asarray(img)
    _check_torus_image(rgb)


def test_render_only_never_overwrites_without_being_asked(tmp_path) -> None:
    from viewer.app import main

    out = tmp_path / "x.png"
    out.write_bytes(b"keep me")
    with pytest.raises(SystemExit) as exit_info:
        main(["--render-only", str(out), "--size", "16"])
    assert exit_info.value.code == 1 and out.read_bytes() == b"keep me"
    assert main(["--render-only", str(out), "--size", "16", "--overwrite"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


def test_render_only_a_mesh_file(tmp_path, capsys) -> None:
    from PIL import Image

    from tests.viewer.conftest import write_cube_obj
    from viewer.app import main

    cube = write_cube_obj(tmp_path / "cube.obj")
    out = tmp_path / "cube.png"
    assert main([str(cube), "--render-only", str(out), "--size", "32"]) == 0
    with Image.open(out) as img:
        covered = np.any(np.asarray(img) != 255, axis=-1)
    assert 0.1 < covered.mean() < 0.9
    bad = tmp_path / "bad.obj"
    bad.write_text("nothing here", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main([str(bad), "--render-only", str(tmp_path / "bad.png")])
    assert exit_info.value.code == 1
    assert "bad.obj" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is for X11/Wayland")
def test_without_a_display_the_window_explains_itself() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = _run_main(timeout=120, env=env)
    assert proc.returncode == 2
    assert "no display" in proc.stderr and "--render-only" in proc.stderr


def test_the_known_pyside6_crash_is_warned_about(monkeypatch) -> None:
    import PySide6

    from viewer.app import known_qt_problem

    monkeypatch.setattr(PySide6, "__version__", "6.12.0")
    monkeypatch.setattr(sys, "version_info", (3, 11, 7))
    assert "PySide6-Essentials<6.12" in known_qt_problem()
    monkeypatch.setattr(sys, "version_info", (3, 12, 0))
    assert known_qt_problem() is None
    monkeypatch.setattr(PySide6, "__version__", "6.11.3")
    monkeypatch.setattr(sys, "version_info", (3, 11, 7))
    assert known_qt_problem() is None


def test_render_only_needs_no_qt(tmp_path) -> None:
    code = (
        "import sys; from viewer.app import main; "
        f"assert main(['--render-only', {str(tmp_path / 'x.png')!r}, '--size', '16']) == 0; "
        "assert not [m for m in sys.modules if m.startswith(('PySide6', 'vispy'))], 'Qt was imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr


def test_software_gl_is_left_the_cores_the_renders_do_not_use() -> None:
    from viewer.app import leave_cores_to_rendering

    for cpus, expected in ((1, "0"), (2, "0"), (4, "1"), (16, "13")):
        environ: dict = {}
        leave_cores_to_rendering(environ, cpu_count=cpus)
        assert environ == {"LP_NUM_THREADS": expected}, cpus
    chosen = {"LP_NUM_THREADS": "6"}
    leave_cores_to_rendering(chosen, cpu_count=2)
    assert chosen == {"LP_NUM_THREADS": "6"}  # the user's own setting wins


def test_the_window_keeps_freed_memory(monkeypatch) -> None:
    """`python main.py` applies core.utils.keep_freed_memory (and the llvmpipe rule) before it
    renders; the benchmarks of the window call the same function."""
    import core.utils
    from viewer.app import prepare_rendering_process

    calls = []
    monkeypatch.setattr(core.utils, "keep_freed_memory", lambda: calls.append("kept") or True)
    monkeypatch.setenv("LP_NUM_THREADS", "3")
    prepare_rendering_process()
    assert calls == ["kept"]
