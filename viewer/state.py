"""The single source of truth for what is on screen: the mesh and every parameter value.

Widgets change it (through `viewer.undo.EditHistory`, so that every change can be undone);
views and services listen to its signals. Workers never touch it: they get a `Snapshot`, an
immutable copy tagged with the state's revision, so a result can be matched to what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from .parameters import Settings
from .scene_mesh import SceneMesh


@dataclass(frozen=True)
class Snapshot:
    """Everything a render needs, frozen. `id` is the state revision it was taken at."""

    id: int
    mesh: SceneMesh
    settings: Settings


class SceneState(QObject):
    """Mesh + settings; emits `settings_changed(set of keys)` and `mesh_changed(SceneMesh)`.

    Every effective change bumps `revision` (setting a value to what it already is does not).
    """

    settings_changed = Signal(object)  # set[str] of the keys whose value changed
    mesh_changed = Signal(object)  # SceneMesh

    def __init__(self, mesh: SceneMesh, settings: Settings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mesh = mesh
        self._settings = settings if settings is not None else Settings()
        self._revision = 0

    @property
    def mesh(self) -> SceneMesh:
        return self._mesh

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def revision(self) -> int:
        return self._revision

    def value(self, key: str) -> Any:
        return self._settings[key]

    def set_values(self, updates: Mapping[str, Any]) -> set[str]:
        """Validate and apply `updates` at once; emit one `settings_changed`; return changed keys.

        Raises (KeyError, TypeError, ValueError) before changing anything if any value is bad.
        """
        new = self._settings.replace(updates)
        changed = new.changed_keys(self._settings)
        if changed:
            self._settings = new
            self._revision += 1
            self.settings_changed.emit(changed)
        return changed

    def set_value(self, key: str, value: Any) -> bool:
        """Set one value; True if it changed."""
        return bool(self.set_values({key: value}))

    def set_mesh(self, mesh: SceneMesh) -> None:
        if not isinstance(mesh, SceneMesh):
            raise TypeError(f"expected a SceneMesh, got {type(mesh).__name__}")
        if mesh is self._mesh:
            return
        self._mesh = mesh
        self._revision += 1
        self.mesh_changed.emit(mesh)

    def snapshot(self) -> Snapshot:
        return Snapshot(id=self._revision, mesh=self._mesh, settings=self._settings)
