"""Parameter table and Settings: validation names the parameter, defaults are valid."""

from __future__ import annotations

import math

import pytest

from viewer.parameters import PARAMS, Settings, param, wrap_degrees


def test_every_default_validates_and_every_range_is_ordered() -> None:
    for key, spec in PARAMS.items():
        assert spec.validate(spec.default) == spec.default, key
        if spec.minimum is not None:
            assert spec.minimum < spec.maximum, key
        if spec.log:
            assert spec.minimum > 0, key
        if spec.kind == "choice":
            assert spec.default in spec.choices, key


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("blend.sigma", 0.5, ValueError),  # above 0.1
        ("blend.sigma", 0.0, ValueError),  # sigma has no zero
        ("blend.sigma", math.nan, ValueError),
        ("blend.sigma", "1e-4", TypeError),
        ("raster.faces_per_pixel", 2.0, TypeError),
        ("raster.faces_per_pixel", 0, ValueError),
        ("raster.derive_blur", 1, TypeError),
        ("light.type", "spot", ValueError),
        ("blend.background", (1.0, 0.5), ValueError),
        ("blend.background", (1.0, 0.5, 1.5), ValueError),
        ("light.location", (0.0, 0.0, math.inf), ValueError),
        ("light.location", "abc", TypeError),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(key, value, error) -> None:
    with pytest.raises(error, match=key.replace(".", r"\.")):
        param(key).validate(value)


def test_zero_is_allowed_only_where_declared() -> None:
    assert param("raster.blur_radius").validate(0) == 0.0
    assert param("raster.blur_radius").validate(1e-3) == 1e-3
    with pytest.raises(ValueError):
        param("raster.blur_radius").validate(-1e-3)


def test_canonical_forms() -> None:
    assert param("light.location").validate([1, 2, 3]) == (1.0, 2.0, 3.0)
    assert isinstance(param("camera.fov").validate(45), float)


def test_range_text_mentions_units_and_bounds() -> None:
    assert param("blend.sigma").range_text() == "1e-08 … 0.1 NDC²"
    assert param("raster.blur_radius").range_text() == "0 or 1e-08 … 0.1 NDC²"
    assert "perspective" in param("camera.projection").range_text()


def test_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="blend.sigma"):
        param("blend.sigmaa")


def test_settings_are_immutable_and_replace_validates() -> None:
    base = Settings()
    changed = base.replace({"blend.sigma": 1e-3})
    assert base["blend.sigma"] == 1e-4 and changed["blend.sigma"] == 1e-3
    assert changed.changed_keys(base) == {"blend.sigma"}
    with pytest.raises(ValueError, match="blend.sigma"):
        base.replace({"blend.sigma": 5.0})
    assert dict(changed.group("camera")) == {k: v for k, v in base.items() if k.startswith("camera.")}


@pytest.mark.parametrize(("angle", "wrapped"), [(0, 0), (190, -170), (-180, -180), (180, -180), (725, 5)])
def test_wrap_degrees(angle, wrapped) -> None:
    assert wrap_degrees(angle) == pytest.approx(wrapped)
