"""Presets: the shipped file is valid; a broken one is refused with the file named."""

from __future__ import annotations

import json

import pytest

from viewer.presets import load_presets


def test_shipped_presets() -> None:
    presets = {p.name: p for p in load_presets()}
    assert {"PyTorch3D tutorial silhouette", "crisp", "very soft"} <= set(presets)
    tutorial = presets["PyTorch3D tutorial silhouette"].values
    # The silhouette renderer of PyTorch3D's fitting tutorials.
    assert tutorial["pane.soft_shader"] == "Silhouette"
    assert (tutorial["blend.sigma"], tutorial["raster.faces_per_pixel"], tutorial["raster.image_size"]) == (1e-4, 50, 128)
    assert presets["crisp"].values["blend.sigma"] < presets["very soft"].values["blend.sigma"]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("not json", "cannot read presets"),
        (json.dumps({"presets": {"x": {"values": {"blend.sigma": -1}}}}), "preset 'x'.*blend.sigma"),
        (json.dumps({"presets": {"x": {"values": {"no.such": 1}}}}), "preset 'x'.*no.such"),
    ],
)
def test_broken_preset_files(tmp_path, content, match) -> None:
    path = tmp_path / "presets.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        load_presets(path)
