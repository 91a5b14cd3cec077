"""Named sets of Rasterization/Blend values, read from resources/presets.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .parameters import param
from .resource_files import resource_file

PRESETS_FILE = resource_file("presets.json")


@dataclass(frozen=True)
class Preset:
    name: str
    about: str
    values: Mapping[str, Any]


def load_presets(path: Path = PRESETS_FILE) -> list[Preset]:
    """The presets in `path`, values validated. Raises ValueError naming the file and the problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = data["presets"].items()
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise ValueError(f"cannot read presets from {path}: {exc}") from exc
    presets = []
    for name, entry in entries:
        try:
            values = {
                key: param(key).validate(tuple(v) if isinstance(v, list) else v) for key, v in entry["values"].items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"preset {name!r} in {path}: {exc}") from exc
        presets.append(Preset(name=name, about=str(entry.get("about", "")), values=values))
    return presets
