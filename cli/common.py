"""Pieces shared by the commands: one-line errors, option checks, images written atomically."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A problem to report as one line (no traceback) before exiting with ``EXIT_ERROR``."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad option as a single ``prog: error: ...`` line, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value:g}")
    return value


def non_negative_float(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def check_device(name: str) -> str:
    """The torch device name, or CliError when it does not exist on this machine."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise CliError(f"unknown device {name!r} (use cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CliError("--device cuda was asked for but this torch has no CUDA device; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise CliError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0")
    return name


def check_output(path: Path, suffixes: Sequence[str]) -> Path:
    """An output path whose folder exists and whose suffix is one of ``suffixes``."""
    if path.suffix.lower() not in suffixes:
        raise CliError(f"{path}: the output must end in {' or '.join(suffixes)}")
    if not path.parent.resolve().is_dir():
        raise CliError(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise CliError(f"{path} is a folder; give a file name")
    return path


def write_files(payloads: dict[Path, bytes]) -> None:
    """Write every (path, bytes) atomically: each file is complete or left as it was."""
    from core.io import write_files_atomically

    try:
        write_files_atomically(payloads)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from None


def load_mesh_or_fail(path: str, device: str):
    """core.io.load_mesh, with its errors turned into CliError lines and its warnings (a texture
    the file names but that is missing, say) printed as one "warning: ..." line each."""
    from core.io import load_mesh

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            mesh = load_mesh(path, device=device)
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
        return mesh
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from None
