"""Finding the faces per pixel a view needs (core's `faces_per_pixel_needed`) off the GUI thread."""

from __future__ import annotations

import torch
from PySide6.QtCore import QObject, QRunnable, Signal

from core.renderer import MemoryBudgetError
from core.renderer.mesh.faces_per_pixel import faces_per_pixel_needed

from .parameters import PARAMS, Settings
from .scene_builder import build_cameras, over_budget_message, raster_settings
from .scene_mesh import SceneMesh

# The largest K the Rasterization panel offers: the search goes no further.
K_LIMIT = int(PARAMS["raster.faces_per_pixel"].maximum)


class _Signals(QObject):
    found = Signal(object, int)  # FacesPerPixelNeeded, the state revision it was found for
    failed = Signal(str, int)


class FindKJob(QRunnable):
    """Runs `faces_per_pixel_needed` for the soft pane's view on a QThreadPool thread."""

    def __init__(self, mesh: SceneMesh, settings: Settings, revision: int) -> None:
        super().__init__()
        self.mesh, self.settings, self.revision = mesh, settings, revision
        self.signals = _Signals()

    def run(self) -> None:
        try:
            needed = faces_per_pixel_needed(
                self.mesh.meshes, build_cameras(self.settings, torch.device("cpu")),
                raster_settings(self.settings, "soft"), limit=K_LIMIT,
            )
        except MemoryBudgetError as exc:  # K_LIMIT slots per pixel at this image size
            self.signals.failed.emit(over_budget_message(exc, k_is_setting=False), self.revision)
        except ValueError as exc:
            self.signals.failed.emit(str(exc), self.revision)
        except Exception as exc:  # a bug must not take the application down
            self.signals.failed.emit(f"unexpected {type(exc).__name__}: {exc}", self.revision)
        else:
            self.signals.found.emit(needed, self.revision)
