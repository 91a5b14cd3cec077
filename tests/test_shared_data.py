"""The helpers that reach ``<repo>/../shared``: skip outside CI, fail under CI, load scenes."""

from __future__ import annotations

import pytest

from tests import shared_data
from tests.shared_data import SHARED_DIR, require_shared


@pytest.mark.parametrize("value, expected", [("true", True), ("1", True), ("", False), ("false", False)])
def test_in_ci_reads_the_ci_variable(monkeypatch, value, expected) -> None:
    monkeypatch.setenv("CI", value)
    assert shared_data.in_ci() is expected


def test_missing_shared_path_skips_outside_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no_such_file.npz"):
        require_shared("no_such_file.npz")


def test_missing_shared_path_fails_under_ci(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_shared("no_such_file.npz")


@pytest.mark.parametrize("bad", ["../main", "/etc"])
def test_paths_outside_shared_are_rejected(bad) -> None:
    with pytest.raises(ValueError, match="relative to shared"):
        require_shared(bad)


def test_shared_dir_fixture_is_the_sibling_folder(shared_dir) -> None:
    assert shared_dir == SHARED_DIR
    assert shared_dir.parent == shared_data.REPO_ROOT.parent


def test_reference_scene_loads_arrays_and_matching_metadata(reference_scene) -> None:
    scene = reference_scene("s01_sphere2_hardphong_point_64")
    assert scene.meta["name"] == "s01_sphere2_hardphong_point_64"
    assert scene.meta["shader"] == "HardPhongShader"
    assert scene.arrays["verts"].shape == (scene.meta["num_verts"], 3)
    assert scene.arrays["faces"].shape == (scene.meta["num_faces"], 3)
    assert scene.arrays["images"].shape == (1, 64, 64, 4)


def test_reference_scene_rejects_unknown_names(shared_dir) -> None:
    with pytest.raises(ValueError, match="s01_sphere2_hardphong_point_64"):
        shared_data.reference_scene("s99_no_such_scene")
    with pytest.raises(TypeError):
        shared_data.reference_scene("")
