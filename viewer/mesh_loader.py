"""Loading a mesh file off the GUI thread (`load_scene_mesh` on a QThreadPool thread)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal

from .scene_mesh import load_scene_mesh, without_path


class _LoadSignals(QObject):
    loaded = Signal(object)  # SceneMesh
    failed = Signal(str, str)  # path, message


class MeshLoadJob(QRunnable):
    """Runs `load_scene_mesh` on a QThreadPool thread; reports by signal (queued to the GUI)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.signals = _LoadSignals()

    def run(self) -> None:
        try:
            mesh = load_scene_mesh(self.path)
        except (OSError, ValueError, TypeError) as exc:
            self.signals.failed.emit(str(self.path), without_path(_message(exc), self.path))
        except Exception as exc:  # a parser bug must not take the application down
            self.signals.failed.emit(str(self.path), f"unexpected {type(exc).__name__}: {exc}")
        else:
            self.signals.loaded.emit(mesh)


def _message(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename or exc}"
    return str(exc)
