"""AppSettings: values come back typed, bad entries are skipped with a message, recent files."""

from __future__ import annotations

from pathlib import Path

from viewer.parameters import Settings
from viewer.settings import MAX_RECENT, AppSettings


def test_values_round_trip_with_their_types(tmp_path) -> None:
    path = tmp_path / "s.ini"
    saved = Settings({"blend.sigma": 3e-5, "raster.faces_per_pixel": 7, "raster.cull_backfaces": True,
                      "light.location": (1.5, -2.0, 0.25), "camera.projection": "orthographic"})
    first = AppSettings.at_path(path)
    first.save_settings(saved)
    first.sync()
    loaded, problems = AppSettings.at_path(path).load_settings()
    assert problems == []
    assert dict(loaded) == dict(saved)


def test_unreadable_or_out_of_range_entries_are_skipped(tmp_path) -> None:
    path = tmp_path / "s.ini"
    path.write_text('[params]\nblend.sigma="[1, 2"\nraster.faces_per_pixel=5000\nblend.gamma=0.001\n', encoding="utf-8")
    loaded, problems = AppSettings.at_path(path).load_settings()
    assert loaded["blend.gamma"] == 1e-3
    assert loaded["blend.sigma"] == 1e-4 and loaded["raster.faces_per_pixel"] == 10  # defaults kept
    assert len(problems) == 2 and any("raster.faces_per_pixel" in p for p in problems)


def test_recent_files_most_recent_first_without_duplicates(tmp_path) -> None:
    settings = AppSettings.at_path(tmp_path / "s.ini")
    assert settings.recent_files() == []
    for i in range(MAX_RECENT + 3):
        settings.add_recent_file(tmp_path / f"m{i}.obj")
    recent = settings.add_recent_file(tmp_path / "m5.obj")
    assert recent[0] == (tmp_path / "m5.obj").resolve()
    assert len(recent) == MAX_RECENT and len(set(recent)) == MAX_RECENT
    assert AppSettings.at_path(tmp_path / "s.ini").recent_files() == recent
    assert all(isinstance(p, Path) for p in recent)
