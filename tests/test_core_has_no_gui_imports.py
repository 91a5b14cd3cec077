"""``core`` is a plain library: importing any of it must not pull in Qt or vispy, and only
``core.io`` (file parsing) may load trimesh. The command line (``cli``) never loads Qt either.

Two independent checks: a runtime one (import modules in a fresh interpreter and look at
``sys.modules``) and a static one (import-linter's contracts in pyproject.toml).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.shared_data import REPO_ROOT, in_ci

FORBIDDEN_TOP_LEVEL = ("PySide6", "shiboken6", "vispy", "viewer")
# Everything in core but core.io must also stay free of trimesh.
FORBIDDEN_OUTSIDE_IO = FORBIDDEN_TOP_LEVEL + ("trimesh",)

# Runs in a fresh interpreter so that nothing the test session imported can hide a leak.
# Modules are found from the file tree (pkgutil.walk_packages would import skipped packages).
_IMPORT_ALL = r"""
import importlib, json, pathlib, sys
package, skip, forbidden = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
names = []
for path in sorted(pathlib.Path(package).rglob("*.py")):
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    names.append(".".join(parts))
failed, imported = {}, []
for name in names:
    if any(name == s or name.startswith(s + ".") for s in skip):
        continue
    try:
        importlib.import_module(name)
        imported.append(name)
    except Exception as exc:
        failed[name] = repr(exc)
leaked = sorted({m.split(".")[0] for m in sys.modules} & set(forbidden))
print(json.dumps({"imported": imported, "failed": failed, "leaked": leaked}))
"""


def _import_all(package: str, skip: tuple, forbidden: tuple) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, package, json.dumps(skip), json.dumps(forbidden)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"importing {package} failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "package, skip, forbidden",
    [
        ("core", ("core.io",), FORBIDDEN_OUTSIDE_IO),  # everything but file I/O: no trimesh either
        ("core", (), FORBIDDEN_TOP_LEVEL),  # all of core, file I/O included: no GUI
        ("cli", (), FORBIDDEN_TOP_LEVEL),  # the command line runs headless
    ],
    ids=["core-without-io", "core", "cli"],
)
def test_importing_modules_loads_no_forbidden_modules(package, skip, forbidden) -> None:
    result = _import_all(package, skip, forbidden)
    assert len(result["imported"]) > 1, f"found no modules under {package}/"
    assert not result["leaked"], f"importing {package} pulled in forbidden modules: {result['leaked']}"
    assert not result["failed"], f"modules that fail to import: {result['failed']}"


def test_import_linter_contract_lists_the_forbidden_modules() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    with open(REPO_ROOT / "pyproject.toml", "rb") as fh:
        config = tomllib.load(fh)["tool"]["importlinter"]
    contracts = [c for c in config["contracts"] if c["type"] == "forbidden" and "core" in c["source_modules"]]
    assert contracts, "pyproject.toml has no forbidden contract for core"
    forbidden = set().union(*(c["forbidden_modules"] for c in contracts))
    assert set(FORBIDDEN_TOP_LEVEL) <= forbidden


def test_lint_imports_contracts_are_kept() -> None:
    if importlib.util.find_spec("importlinter") is None:
        reason = 'import-linter is not installed (pip install -e ".[test]")'
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"lint-imports reports broken contracts:\n{proc.stdout}\n{proc.stderr}"


def test_the_application_starts_without_trimesh() -> None:
    """trimesh takes most of a second to import; core.io loads it on the first file read or
    mesh save (its readers and save_mesh are lazy attributes), so the window, its docks and
    `--render-only` come up without it."""
    check = (
        "import sys, viewer.app, viewer.main_window, viewer.fitting, viewer.pane_renderer, core.io;"
        "assert 'trimesh' not in sys.modules, 'trimesh loaded at start';"
        "from core.io import load_mesh, save_mesh;"
        "assert 'trimesh' in sys.modules and callable(load_mesh) and callable(save_mesh)"
    )
    proc = subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
