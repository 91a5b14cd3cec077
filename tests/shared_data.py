"""Access to the read-only ``shared/`` folder that lies beside the repository.

Developers and CI have ``<repo>/../shared`` (reference renders from PyTorch3D, the cow mesh).
A test that needs it calls :func:`require_shared`: outside CI a missing folder *skips* the test
with a reason, under ``CI=true`` it *fails*, so CI can never go green by skipping everything.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
P3D_REFERENCE_DIR = SHARED_DIR / "reference" / "p3d"


def in_ci() -> bool:
    """True when running under CI (the environment variable CI is "true" or "1")."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_shared(relative: str | os.PathLike[str] = "") -> Path:
    """Return ``<repo>/../shared/<relative>``; skip the test if it is absent (fail under CI).

    ``relative`` must stay inside the shared folder (no absolute paths, no ``..``).
    """
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"require_shared: expected a path relative to shared/, got {relative!r}")
    path = SHARED_DIR / rel
    if not path.exists():
        reason = (
            f"needs {path} (the read-only shared/ folder beside the repository, "
            "present for developers and CI)"
        )
        if in_ci():
            pytest.fail(f"{reason}; CI=true, so a missing shared file is an error", pytrace=False)
        pytest.skip(reason)
    return path


class ReferenceScene(NamedTuple):
    """One PyTorch3D reference render: the arrays of its ``.npz`` and its ``scenes.json`` entry."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


@functools.lru_cache(maxsize=None)
def _scenes_index(scenes_json: Path) -> dict[str, dict[str, Any]]:
    with open(scenes_json, encoding="utf-8") as fh:
        scenes = json.load(fh)["scenes"]
    return {scene["name"]: scene for scene in scenes}


def reference_scene_names() -> list[str]:
    """Names of the reference scenes that have an ``.npz`` on disk (sorted)."""
    ref_dir = require_shared(P3D_REFERENCE_DIR.relative_to(SHARED_DIR))
    return sorted(p.stem for p in ref_dir.glob("*.npz"))


def reference_scene(name: str) -> ReferenceScene:
    """Load ``shared/reference/p3d/<name>.npz`` and the matching entry of ``scenes.json``.

    Skips (fails under CI) when the shared files are absent; raises ``ValueError`` for a
    name that the reference folder does not describe, listing the names that exist.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"reference_scene: name must be a non-empty str, got {name!r}")
    ref_rel = P3D_REFERENCE_DIR.relative_to(SHARED_DIR)
    index = _scenes_index(require_shared(ref_rel / "scenes.json"))
    npz_path = P3D_REFERENCE_DIR / f"{name}.npz"
    if name not in index or not npz_path.exists():
        raise ValueError(
            f"reference_scene: unknown scene {name!r}; available: {', '.join(reference_scene_names())}"
        )
    with np.load(npz_path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return ReferenceScene(arrays=arrays, meta=index[name])
