"""Where the files of the repository's resources/ folder are at run time.

A wheel ships them inside the package as viewer/resources/ (pyproject's package-dir); a source
checkout, run in place or installed with `pip install -e .`, has them at <repo>/resources/.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_file(name: str) -> Path:
    """The path of resources/<name>: the installed copy if there is one, else the checkout's."""
    installed = _PACKAGE / "resources" / name
    return installed if installed.exists() else _PACKAGE.parent / "resources" / name
