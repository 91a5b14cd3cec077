"""Help › About: what RasterLab is and the versions and devices it runs with (what a bug report
needs). No rendering here."""

from __future__ import annotations

import platform
from importlib import metadata

import PySide6
import torch
import vispy


def app_version() -> str:
    """The installed rasterlab package's version, or "source checkout" when it is not installed."""
    try:
        return metadata.version("rasterlab")
    except metadata.PackageNotFoundError:
        return "source checkout"


def about_text() -> str:
    """Rich text for the About box: one line each for RasterLab, the libraries and the devices."""
    cuda = (f"CUDA {torch.version.cuda}: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available()
            else "no CUDA device (renders on the CPU)")
    return (
        f"<b>RasterLab {app_version()}</b><br>"
        "See and steer differentiable mesh rendering: soft and hard rasterization side by side, "
        "the rasterizer's buffers, mesh fitting live. The renderer (<code>core</code>) is pure "
        "PyTorch with PyTorch3D's API.<br><br>"
        f"Python {platform.python_version()} · PyTorch {torch.__version__} · PySide6 {PySide6.__version__} · "
        f"vispy {vispy.__version__}<br>"
        f"{cuda} · {torch.get_num_threads()} CPU threads for torch"
    )
