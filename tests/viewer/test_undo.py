"""EditHistory: every change undoable, a gesture is one step, bad values change nothing."""

from __future__ import annotations

import pytest

from viewer.default_scene import torus_mesh
from viewer.scene_mesh import make_scene_mesh
from viewer.state import SceneState
from viewer.undo import EditHistory


@pytest.fixture
def history(qapp):
    state = SceneState(make_scene_mesh(torus_mesh(ring_segments=8, tube_segments=4), "t"))
    return EditHistory(state)


def test_set_undo_redo(history) -> None:
    state, stack = history.state, history.stack
    changes = []
    state.settings_changed.connect(changes.append)
    assert history.set_value("blend.sigma", 2e-4)
    assert state.value("blend.sigma") == 2e-4 and changes == [{"blend.sigma"}]
    assert not history.set_value("blend.sigma", 2e-4)  # no change, no step
    assert stack.count() == 1
    stack.undo()
    assert state.value("blend.sigma") == 1e-4
    stack.redo()
    assert state.value("blend.sigma") == 2e-4
    assert state.revision == 3


def test_a_gesture_is_one_step(history) -> None:
    state, stack = history.state, history.stack
    drag = history.begin_gesture("blend.sigma")
    for value in (2e-4, 3e-4, 5e-4):
        history.set_value("blend.sigma", value, drag)
    history.end_gesture(drag)
    assert stack.count() == 1 and state.value("blend.sigma") == 5e-4
    history.set_value("blend.sigma", 6e-4, drag)  # the gesture is closed: a new step
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert state.value("blend.sigma") == 1e-4


def test_a_gesture_across_several_keys_restores_each(history) -> None:
    state = history.state
    orbit = history.begin_gesture("orbit")
    history.set_values({"camera.azimuth": 30.0}, "Orbit", orbit)
    history.set_values({"camera.azimuth": 40.0, "camera.elevation": 10.0}, "Orbit", orbit)
    history.end_gesture(orbit)
    assert history.stack.count() == 1
    history.stack.undo()
    assert (state.value("camera.azimuth"), state.value("camera.elevation")) == (20.0, 35.0)


def test_a_drag_back_to_the_start_leaves_no_step(history) -> None:
    drag = history.begin_gesture("blend.gamma")
    history.set_value("blend.gamma", 1e-3, drag)
    history.set_value("blend.gamma", 1e-4, drag)
    history.end_gesture(drag)
    assert history.stack.count() == 0


def test_bad_values_change_nothing(history) -> None:
    before = history.state.revision
    with pytest.raises(ValueError, match="blend.sigma"):
        history.set_values({"blend.gamma": 1e-3, "blend.sigma": -1.0}, "both")
    assert history.state.revision == before and history.stack.count() == 0
    messages = []
    history.rejected.connect(messages.append)
    assert not history.try_set_value("raster.faces_per_pixel", 1000)
    assert len(messages) == 1 and "raster.faces_per_pixel" in messages[0]


def test_mesh_changes_are_undoable(history) -> None:
    state = history.state
    first = state.mesh
    second = make_scene_mesh(torus_mesh(ring_segments=6, tube_segments=3), "second")
    history.set_mesh(second)
    assert state.mesh is second
    history.stack.undo()
    assert state.mesh is first
    history.stack.redo()
    assert state.mesh is second
    assert history.stack.undoText() == "Open second"
