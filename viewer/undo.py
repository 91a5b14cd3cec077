"""Undoable edits of the scene state: every parameter change and mesh load goes through here.

A *gesture* (a slider drag, an orbit of the viewport, a burst of wheel zooms) is one undo step:
commands pushed while the same gesture is open merge into one. Everything else (a typed value,
a preset, a checkbox) is one step per change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from .parameters import param
from .scene_mesh import SceneMesh
from .state import SceneState

_SET_VALUES_ID = 1
# Groups whose labels only make sense inside their panel: the light's and the material's
# colours share names ("Diffuse colour"), and the light's "Type" says nothing on its own.
_QUALIFIED_GROUPS = ("light", "material")


def edit_text(key: str) -> str:
    """The undo step's name for setting `key`, as the Edit menu shows it ("Undo Set …"): the
    label, with its panel where the label alone is ambiguous ("Set light diffuse colour")."""
    spec = param(key)
    if spec.group in _QUALIFIED_GROUPS:
        return f"Set {spec.group} {spec.label[:1].lower()}{spec.label[1:]}"
    return f"Set {spec.label}"


class Gesture:
    """A token for one continuous interaction; commands pushed with it merge until it closes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.open = True

    def __repr__(self) -> str:
        return f"Gesture({self.name!r}, open={self.open})"


class SetValuesCommand(QUndoCommand):
    """Set parameter values; undo restores the previous ones."""

    def __init__(self, state: SceneState, new: Mapping[str, Any], text: str, gesture: Gesture | None) -> None:
        super().__init__(text)
        self._state = state
        self._old = {key: state.value(key) for key in new}
        self._new = dict(new)
        self._gesture = gesture

    def id(self) -> int:
        return _SET_VALUES_ID

    def redo(self) -> None:
        self._state.set_values(self._new)

    def undo(self) -> None:
        self._state.set_values(self._old)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetValuesCommand) or self._gesture is None or other._gesture is not self._gesture:
            return False
        if not self._gesture.open:
            return False
        for key, value in other._old.items():
            self._old.setdefault(key, value)
        self._new.update(other._new)
        self.setObsolete(self._new == self._old)  # a drag that ended where it began is no step
        return True


class SetMeshCommand(QUndoCommand):
    """Replace the mesh on screen; undo brings the previous one back."""

    def __init__(self, state: SceneState, mesh: SceneMesh) -> None:
        super().__init__(f"Open {mesh.name}")
        self._state = state
        self._old = state.mesh
        self._new = mesh

    def redo(self) -> None:
        self._state.set_mesh(self._new)

    def undo(self) -> None:
        self._state.set_mesh(self._old)


class EditHistory(QObject):
    """The one way widgets change the state: validated, undoable edits on a QUndoStack.

    `rejected(message)` reports a value that `try_set_value` refused (e.g. typed out of range).
    """

    rejected = Signal(str)

    def __init__(self, state: SceneState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.stack = QUndoStack(self)

    def begin_gesture(self, name: str) -> Gesture:
        return Gesture(name)

    def end_gesture(self, gesture: Gesture | None) -> None:
        if gesture is not None:
            gesture.open = False

    def set_value(self, key: str, value: Any, gesture: Gesture | None = None) -> bool:
        """Set one parameter (one undo step, or part of `gesture`'s step); True if it changed."""
        return self.set_values({key: value}, edit_text(key), gesture)

    def try_set_value(self, key: str, value: Any, gesture: Gesture | None = None) -> bool:
        """Like `set_value`, but a bad value is reported through `rejected` instead of raised."""
        try:
            return self.set_value(key, value, gesture)
        except (TypeError, ValueError) as exc:
            self.rejected.emit(str(exc))
            return False

    def set_values(self, values: Mapping[str, Any], text: str, gesture: Gesture | None = None) -> bool:
        """Set several parameters as one undo step. Raises (KeyError, TypeError, ValueError)
        for a bad value without changing anything; returns False when nothing would change."""
        checked = {key: param(key).validate(value) for key, value in values.items()}
        changes = {key: value for key, value in checked.items() if self.state.value(key) != value}
        if not changes:
            return False
        self.stack.push(SetValuesCommand(self.state, changes, text, gesture))
        return True

    def set_mesh(self, mesh: SceneMesh) -> None:
        self.stack.push(SetMeshCommand(self.state, mesh))
