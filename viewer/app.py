"""RasterLab start-up: command line, the placeholder window, and the built-in default scene.

The interactive viewer is a later piece of work. For now the window says so and shows one image
rendered by ``core`` (off the GUI thread), and ``--render-only OUT.png`` renders the same image
without any window, which is what CI and the tests use.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QVBoxLayout, QWidget

WINDOW_TITLE = "RasterLab"
DEFAULT_IMAGE_SIZE = 256
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 8, 4096


def render_default_scene(image_size: int = DEFAULT_IMAGE_SIZE, device: str = "cpu") -> tuple[np.ndarray, float]:
    """Render the built-in scene with ``core``; return (RGB uint8 image (H, W, 3), render seconds).

    The scene: ``ico_sphere(3)`` coloured per vertex by its position, a perspective camera at
    distance 2.7 (elev 20°, azim 30°), one point light, ``HardPhongShader`` on a white
    background. The seconds cover the renderer call only, not imports or scene set-up.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise TypeError(f"image_size must be an int, got {type(image_size).__name__}")
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(f"image_size must be in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}], got {image_size}")

    import torch

    from core.renderer import (
        FoVPerspectiveCameras,
        HardPhongShader,
        MeshRasterizer,
        MeshRenderer,
        PointLights,
        RasterizationSettings,
        TexturesVertex,
        look_at_view_transform,
    )
    from core.structures import Meshes
    from core.utils import ico_sphere

    dev = torch.device(device)
    sphere = ico_sphere(3, dev)
    verts = sphere.verts_list()[0]
    colours = (0.5 + 0.4 * verts).clamp(0.0, 1.0)
    mesh = Meshes(
        verts=[verts],
        faces=sphere.faces_list(),
        textures=TexturesVertex(verts_features=[colours]),
    )
    R, T = look_at_view_transform(dist=2.7, elev=20.0, azim=30.0, device=dev)
    cameras = FoVPerspectiveCameras(device=dev, R=R, T=T)
    renderer = MeshRenderer(
        rasterizer=MeshRasterizer(
            cameras=cameras,
            raster_settings=RasterizationSettings(image_size=image_size, blur_radius=0.0, faces_per_pixel=1),
        ),
        shader=HardPhongShader(
            device=dev, cameras=cameras, lights=PointLights(device=dev, location=[[2.0, 2.0, 3.0]])
        ),
    )

    start = time.perf_counter()
    with torch.no_grad():
        images = renderer(mesh)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - start

    rgb = images[0, ..., :3].clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    return np.ascontiguousarray(rgb.cpu().numpy()), seconds


def save_png(image: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write an RGB uint8 image (H, W, 3) to ``path`` as PNG, creating parent folders."""
    from PIL import Image

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(out, format="PNG")
    return out


class _RenderSignals(QObject):
    """Signals of a render job; created on the GUI thread, so slots run there (queued)."""

    finished = Signal(object, float)  # RGB uint8 image (H, W, 3), render seconds
    failed = Signal(str)


class RenderJob(QRunnable):
    """Renders the default scene on a QThreadPool thread and reports back by signal."""

    def __init__(self, image_size: int, device: str) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the window keeps the Python object alive
        self.signals = _RenderSignals()
        self._image_size = image_size
        self._device = device

    def run(self) -> None:
        try:
            image, seconds = render_default_scene(self._image_size, self._device)
        except Exception as exc:  # reported in the window, never raised into Qt's thread
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.signals.finished.emit(image, seconds)


class MainWindow(QMainWindow):
    """Placeholder main window: a note that the viewer is coming, and one image from core."""

    render_finished = Signal(float)  # seconds, once the image is on screen
    render_failed = Signal(str)

    def __init__(self, image_size: int = DEFAULT_IMAGE_SIZE, device: str = "cpu") -> None:
        super().__init__()
        self.setWindowTitle(WINDOW_TITLE)
        self._image_size = image_size
        self._device = device

        note = QLabel(
            "<h2>RasterLab</h2>"
            "<p>The interactive viewer is coming in a later release.</p>"
            "<p>Below: the built-in default scene (an icosphere with vertex colours, "
            "Hard Phong shading, one point light) rendered by <b>core</b>, "
            "RasterLab's differentiable renderer in pure PyTorch.</p>"
        )
        note.setWordWrap(True)
        self.image_label = QLabel("Rendering…")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setFixedSize(image_size, image_size)

        layout = QVBoxLayout()
        layout.addWidget(note)
        layout.addWidget(self.image_label, alignment=Qt.AlignmentFlag.AlignHCenter)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.setMinimumWidth(max(image_size + 40, 360))

        self.statusBar().showMessage(f"Rendering {image_size}×{image_size} on {device}…")
        self._job = RenderJob(image_size, device)
        self._job.signals.finished.connect(self._on_rendered)
        self._job.signals.failed.connect(self._on_failed)
        QThreadPool.globalInstance().start(self._job)

    @Slot(object, float)
    def _on_rendered(self, image: np.ndarray, seconds: float) -> None:
        height, width, _ = image.shape
        qimage = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_RGB888).copy()
        self.image_label.setPixmap(QPixmap.fromImage(qimage))
        self.statusBar().showMessage(
            f"Rendered {width}×{height} on {self._device} in {seconds * 1000:.0f} ms"
        )
        self.render_finished.emit(seconds)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.image_label.setText("Rendering failed")
        self.statusBar().showMessage(f"Rendering failed: {message}")
        self.render_failed.emit(message)


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
            "RasterLab: a differentiable mesh renderer in pure PyTorch. Without options, opens "
            "the (placeholder) viewer window showing the default scene rendered by core."
        ),
    )
    parser.add_argument(
        "--render-only",
        metavar="OUT.png",
        type=Path,
        help="render the default scene to this PNG file and exit, without opening a window",
    )
    parser.add_argument(
        "--size",
        metavar="N",
        type=_image_size_arg,
        default=DEFAULT_IMAGE_SIZE,
        help=f"image width and height in pixels (default {DEFAULT_IMAGE_SIZE})",
    )
    parser.add_argument(
        "--device", default="cpu", help='torch device to render on, e.g. "cpu" or "cuda" (default "cpu")'
    )
    return parser


def _has_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python main.py``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.render_only is not None:
        image, seconds = render_default_scene(args.size, args.device)
        out = save_png(image, args.render_only)
        print(f"wrote {out} ({args.size}×{args.size}, rendered on {args.device} in {seconds * 1000:.0f} ms)")
        return 0

    if not _has_display():
        parser.exit(
            2,
            "rasterlab: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run it in a desktop "
            "session, under `xvfb-run -a python main.py`, or use --render-only OUT.png.\n",
        )

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow(args.size, args.device)
    window.show()
    code = app.exec()
    QThreadPool.globalInstance().waitForDone()
    return code
