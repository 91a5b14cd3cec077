"""Project-wide pytest fixtures and hooks.

- ``shared_dir`` / ``reference_scene``: data from ``<repo>/../shared`` (see tests/shared_data.py);
  skipped with a reason when absent, a failure under ``CI=true``.
- ``@pytest.mark.cuda`` and the ``cuda_device`` fixture: skip cleanly without CUDA.
- Without any display (e.g. ``-p no:xvfb`` on a headless machine) Qt is pointed at the
  ``offscreen`` platform so that widget tests run instead of aborting the process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import pytest

from tests.shared_data import ReferenceScene, require_shared
from tests.shared_data import reference_scene as _reference_scene


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def pytest_sessionstart(session: pytest.Session) -> None:
    # Runs after plugins are configured, so pytest-xvfb has already set DISPLAY if it started Xvfb.
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("cuda") is not None and not _cuda_available():
        pytest.skip("needs CUDA: torch.cuda.is_available() is False")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<repo>/../shared``; skips the test when absent (fails under CI=true)."""
    return require_shared()


@pytest.fixture(scope="session")
def reference_scene() -> Callable[[str], ReferenceScene]:
    """The loader ``reference_scene(name) -> ReferenceScene(arrays, meta)``."""
    return _reference_scene


@pytest.fixture
def cuda_device():
    """``torch.device("cuda")``; skips the test when CUDA is not available."""
    if not _cuda_available():
        pytest.skip("needs CUDA: torch.cuda.is_available() is False")
    import torch

    return torch.device("cuda")
