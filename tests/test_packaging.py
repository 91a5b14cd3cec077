"""The wheel's contents as pyproject declares them: every package, and resources/ inside it."""

from __future__ import annotations

import pytest
from setuptools import find_packages

from tests.shared_data import REPO_ROOT

tomllib = pytest.importorskip("tomllib")


def _setuptools_table() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_is_listed() -> None:
    listed = set(_setuptools_table()["packages"])
    found = set(find_packages(where=str(REPO_ROOT), include=["core*", "viewer*", "cli*"]))
    assert found - listed == set(), f"packages missing from pyproject: {sorted(found - listed)}"
    assert listed - found == {"viewer.resources"}, f"listed but not found: {sorted(listed - found)}"


def test_resources_ship_inside_the_viewer_package() -> None:
    table = _setuptools_table()
    assert table["package-dir"]["viewer.resources"] == "resources"
    patterns = table["package-data"]["viewer.resources"]
    folder = REPO_ROOT / "resources"
    shipped = {p.name for pattern in patterns for p in folder.glob(pattern)}
    assert {"presets.json", "rasterlab.svg"} <= shipped, f"package-data {patterns} ships only {sorted(shipped)}"


def test_the_viewer_finds_its_resources_in_a_checkout() -> None:
    from viewer.app import ICON_FILE
    from viewer.presets import PRESETS_FILE, load_presets

    assert ICON_FILE.is_file() and PRESETS_FILE.is_file()
    assert len(load_presets()) >= 3
