"""Interactive fitting in the application: a worker-thread service around core.fitting.Fitter,
its dock, a live loss plot, target/current comparison, exports and a gradient view.

`install_fitting(main_window)` adds all of it to a running `viewer.main_window.MainWindow`.
"""

from __future__ import annotations

from typing import Callable

from .controller import FittingController
from .fit_service import FitJob, FitProgress, FitService


def install_fitting(main_window, confirm_close: Callable[[], bool] | None = None,
                    service: FitService | None = None) -> FittingController:
    """Add the fitting docks and wiring to `main_window`; returns the controller (owned by the window)."""
    return FittingController(main_window, service=service, confirm_close=confirm_close)


__all__ = ["FitJob", "FitProgress", "FitService", "FittingController", "install_fitting"]
