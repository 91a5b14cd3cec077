"""Atomic file replacement: a save either fully lands or leaves the destination as it was.

Each output is written to a hidden temporary file in the destination's own directory (so the
final `os.replace` is a rename within one file system), flushed and fsync'ed; only when every
output of the save has been written are they moved into place. Any exception removes the
temporary files and leaves existing files untouched.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO, Iterator, List, Mapping, Sequence

from .errors import MeshSaveError


def _check_directory(path: Path) -> None:
    directory = path.parent
    if not directory.exists():
        raise MeshSaveError(f"cannot save {path}: the folder {directory} does not exist")
    if not directory.is_dir():
        raise MeshSaveError(f"cannot save {path}: {directory} is not a folder")
    if path.is_dir():
        raise MeshSaveError(f"cannot save {path}: a folder with that name exists")


def _open_temporary(path: Path) -> tuple[Path, BinaryIO]:
    """A new, empty file beside `path` (created with the umask's default permissions)."""
    while True:
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        return temp, os.fdopen(fd, "wb")


def _fsync_directory(directory: Path) -> None:
    """Make the renames durable (POSIX only; Windows cannot open directories)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[Path]) -> Iterator[List[BinaryIO]]:
    """Yield one binary file handle per destination in `paths`; commit them all on success.

    Destinations are replaced in the given order, so list the file that refers to the others
    (an OBJ naming its MTL) last. OSErrors are re-raised as MeshSaveError naming the file.
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        try:
            _check_directory(path)
        except OSError as exc:  # e.g. no permission to look into the folder
            raise MeshSaveError(f"cannot save {path}: {exc.strerror or exc}") from exc
    temps: List[Path] = []
    handles: List[BinaryIO] = []
    current = paths[0]
    try:
        for path in paths:
            current = path
            temp, handle = _open_temporary(path)
            temps.append(temp)
            handles.append(handle)
        yield handles
        for path, temp, handle in zip(paths, temps, handles):
            current = path
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            if path.exists():
                shutil.copymode(path, temp)
        for path, temp in zip(paths, temps):
            current = path
            os.replace(temp, path)
        for directory in {path.parent for path in paths}:
            _fsync_directory(directory)
    except OSError as exc:
        raise MeshSaveError(f"cannot save {current}: {exc.strerror or exc}") from exc
    finally:
        for handle in handles:
            handle.close()
        for temp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)


def write_files_atomically(payloads: "Mapping[str | os.PathLike[str], bytes]") -> None:
    """Write each (path, bytes) pair through one `atomic_outputs`: all land, or none changes."""
    paths = [Path(p) for p in payloads]
    with atomic_outputs(paths) as handles:
        for handle, data in zip(handles, payloads.values()):
            handle.write(data)


def write_bytes_atomically(path: "str | os.PathLike[str]", data: bytes) -> None:
    """Write `data` to `path` atomically (see `write_files_atomically`)."""
    write_files_atomically({path: data})
