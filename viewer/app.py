"""RasterLab start-up: the command line, `--render-only`, and the main window.

`python main.py [MESH] [--size N] [--device D] [--render-only OUT.png]`: without
--render-only it opens the window (on MESH, or on the built-in default scene); with it, it
renders the hard pane of the default settings to a PNG without any window (what CI uses).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .parameters import PARAMS, Settings
from .resource_files import resource_file

WINDOW_TITLE = "RasterLab"
ICON_FILE = resource_file("rasterlab.svg")
_SIZE = PARAMS["raster.image_size"]
DEFAULT_IMAGE_SIZE = _SIZE.default
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = int(_SIZE.minimum), int(_SIZE.maximum)


def render_still(
    mesh_path: str | Path | None = None, image_size: int = DEFAULT_IMAGE_SIZE, device: str = "cpu", pane: str = "hard"
) -> tuple[np.ndarray, float]:
    """Render one pane with the default settings; return (RGB uint8 image (H, W, 3), seconds).

    The mesh is `mesh_path` (read with core.io, centred and scaled to the unit sphere) or the
    built-in default scene. The seconds cover core's rasterize + shade only.
    """
    settings = Settings({"raster.image_size": image_size})  # TypeError / ValueError naming image_size
    from .default_scene import DEFAULT_SCENE_NAME, torus_mesh
    from .pane_renderer import PaneRenderer
    from .scene_mesh import load_scene_mesh, make_scene_mesh

    mesh = load_scene_mesh(mesh_path) if mesh_path is not None else make_scene_mesh(torus_mesh(), DEFAULT_SCENE_NAME)
    start = time.perf_counter()
    image = PaneRenderer(pane, device).render(mesh, settings)
    return image.display, time.perf_counter() - start


def render_default_scene(image_size: int = DEFAULT_IMAGE_SIZE, device: str = "cpu") -> tuple[np.ndarray, float]:
    """The built-in default scene's hard pane (Hard Phong, default settings): (RGB image, seconds)."""
    return render_still(None, image_size, device)


def _image_size_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not MIN_IMAGE_SIZE <= value <= MAX_IMAGE_SIZE:
        raise argparse.ArgumentTypeError(f"must be in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}], got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python main.py`` / ``rasterlab``."""
    parser = argparse.ArgumentParser(
        description=(
            "RasterLab: a differentiable mesh renderer in pure PyTorch. Opens the viewer window on "
            "MESH (OBJ, PLY, STL, OFF, GLB/GLTF) or on the built-in default scene."
        ),
        epilog="Headless commands: `main.py render MESH --out IMG.png` and `main.py fit TARGET --out FITTED.obj` "
        "(add --help to either for its options).",
    )
    parser.add_argument("mesh", nargs="?", metavar="MESH", type=Path, help="mesh file to open")
    parser.add_argument(
        "--render-only",
        metavar="OUT.png",
        type=Path,
        help="render the hard pane (default settings) to this PNG file and exit, without opening a window",
    )
    parser.add_argument(
        "--size",
        metavar="N",
        type=_image_size_arg,
        default=None,
        help=f"image width and height in pixels (default {DEFAULT_IMAGE_SIZE}, or the saved setting in the window)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="with --render-only: replace OUT.png if it already exists"
    )
    parser.add_argument(
        "--device", default="cpu", help='torch device to render on, e.g. "cpu" or "cuda" (default "cpu")'
    )
    return parser


def _has_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# Threads that render while the window is up: the soft and the hard pane's workers, and the GUI.
_BUSY_THREADS = 3


def leave_cores_to_rendering(environ: dict | None = None, cpu_count: int | None = None) -> None:
    """Cap Mesa's software rasterizer (llvmpipe: machines without a GPU, Xvfb) at the cores that
    the render workers and the GUI leave free, unless LP_NUM_THREADS is already set.

    The vispy views draw offscreen (views.offscreen_canvas) on the GUI thread; under llvmpipe
    that is CPU work which, spread over all cores, slows the pane renders running beside it
    (bench_app). With LP_NUM_THREADS=0 llvmpipe works on the GUI thread alone. Hardware GL
    drivers ignore the variable. Call before the first GL context exists (before QApplication).
    """
    environ = os.environ if environ is None else environ
    cpus = cpu_count or os.cpu_count() or 1
    environ.setdefault("LP_NUM_THREADS", str(max(0, cpus - _BUSY_THREADS)))


def prepare_rendering_process() -> None:
    """What `python main.py` sets up for its render workers before the window opens: llvmpipe's
    threads (leave_cores_to_rendering) and glibc's reuse of freed memory (core's
    keep_freed_memory). Benchmarks of the window call it too, to measure what users run."""
    from core.utils import keep_freed_memory

    leave_cores_to_rendering()
    keep_freed_memory()


def known_qt_problem() -> str | None:
    """A warning when the installed PySide6 is known to crash this application, else None.

    PySide6 6.12.0 drops a reference to None/True/False on every signal delivered to a Python
    slot; before Python 3.12 (where those objects became immortal) that aborts the process
    ("deallocating None") after a few thousand signals, i.e. minutes into a session.
    """
    import PySide6

    if PySide6.__version__ == "6.12.0" and sys.version_info < (3, 12):
        return (
            "rasterlab: warning: PySide6 6.12.0 on Python < 3.12 has a reference-counting bug that "
            "crashes long sessions; install PySide6-Essentials<6.12 (6.11.3 works)"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python main.py``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.render_only is not None:
        from .image_files import write_png

        size = args.size or DEFAULT_IMAGE_SIZE
        try:
            image, seconds = render_still(args.mesh, size, args.device)
            out = write_png(image, args.render_only, overwrite=args.overwrite)
        except FileExistsError as exc:
            parser.exit(1, f"rasterlab: {exc} (pass --overwrite to replace it)\n")
        except (OSError, ValueError) as exc:
            parser.exit(1, f"rasterlab: {exc}\n")
        print(f"wrote {out} ({size}×{size}, rendered on {args.device} in {seconds * 1000:.0f} ms)")
        return 0

    if not _has_display():
        parser.exit(
            2,
            "rasterlab: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run it in a desktop "
            "session, under `xvfb-run -a python main.py`, or use --render-only OUT.png.\n",
        )

    from PySide6.QtCore import QThreadPool, QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .fitting import install_fitting
    from .main_window import MainWindow
    from .settings import APPLICATION, ORGANISATION, AppSettings, default_qsettings

    problem = known_qt_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
    prepare_rendering_process()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setWindowIcon(QIcon(str(ICON_FILE)))
    window = MainWindow(AppSettings(default_qsettings()), device=args.device, image_size=args.size)
    install_fitting(window)
    window.show()
    if args.mesh is not None:
        window.open_mesh(args.mesh)
    # Ctrl+C in the terminal closes the window (saving settings) instead of being ignored while
    # Qt's event loop runs: a periodic no-op timer lets Python's signal handler run.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    heartbeat = QTimer(interval=250)
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start()
    code = app.exec()
    QThreadPool.globalInstance().waitForDone()
    return code
