"""Persistence between runs (QSettings): parameter values, window layout, recent files.

Values are stored as JSON text so they come back with their types on every platform and
format (INI files return everything as strings). Anything unreadable or out of range is
skipped and reported, never fatal. Tests pass their own QSettings (an INI file in a temporary
folder) so they never touch the user's settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from .parameters import PARAMS, Settings

ORGANISATION = "RasterLab"
APPLICATION = "RasterLab"
MAX_RECENT = 10


def default_qsettings() -> QSettings:
    """The user's settings store (platform native location)."""
    return QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


class AppSettings:
    """Typed access to one QSettings store."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    @classmethod
    def at_path(cls, path: str | Path) -> AppSettings:
        """Settings kept in an INI file at `path` (used by tests and portable setups)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    # -- parameter values ------------------------------------------------------------------------
    def load_settings(self) -> tuple[Settings, list[str]]:
        """The saved parameter values over the defaults, and a message per value skipped."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for key, spec in PARAMS.items():
            raw = self.store.value(f"params/{key}")
            if raw is None:
                continue
            try:
                value = json.loads(str(raw))
                if spec.kind in ("colour", "vec3") and isinstance(value, list):
                    value = tuple(value)
                values[key] = spec.validate(value)
            except (ValueError, TypeError) as exc:
                problems.append(f"ignored saved {key}: {exc}")
        return Settings(values), problems

    def save_settings(self, settings: Settings) -> None:
        for key, value in settings.items():
            self.store.setValue(f"params/{key}", json.dumps(value))

    # -- window layout ---------------------------------------------------------------------------
    def save_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)

    def layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        """(geometry, dock state) as saved by `save_layout`, or None where absent."""
        return _bytes(self.store.value("window/geometry")), _bytes(self.store.value("window/state"))

    # -- files -------------------------------------------------------------------------------------
    def recent_files(self) -> list[Path]:
        raw = self.store.value("files/recent")
        try:
            names = json.loads(str(raw)) if raw is not None else []
        except ValueError:
            return []
        return [Path(n) for n in names if isinstance(n, str)][:MAX_RECENT]

    def add_recent_file(self, path: Path) -> list[Path]:
        """Put `path` first in the recent list (no duplicates, at most MAX_RECENT); return the list."""
        path = Path(path).resolve()
        recent = [path] + [p for p in self.recent_files() if p != path]
        recent = recent[:MAX_RECENT]
        self.store.setValue("files/recent", json.dumps([str(p) for p in recent]))
        return recent

    def last_directory(self) -> str:
        return str(self.store.value("files/last_directory", ""))

    def set_last_directory(self, directory: Path) -> None:
        self.store.setValue("files/last_directory", str(directory))

    def sync(self) -> None:
        self.store.sync()


def _bytes(value: Any) -> QByteArray | None:
    if isinstance(value, QByteArray):
        return value
    if isinstance(value, (bytes, bytearray)):
        return QByteArray(bytes(value))
    return None
