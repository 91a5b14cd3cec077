"""``core`` is a plain library: importing any of it must not pull in Qt, vispy or trimesh.

Two independent checks: a runtime one (import every module of ``core`` in a fresh interpreter
and look at ``sys.modules``) and a static one (import-linter's contract in pyproject.toml).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.shared_data import REPO_ROOT, in_ci

FORBIDDEN_TOP_LEVEL = ("PySide6", "shiboken6", "vispy", "trimesh", "viewer")

# Runs in a fresh interpreter so that nothing the test session imported can hide a leak.
_IMPORT_ALL_CORE = r"""
import importlib, json, pkgutil, sys
forbidden = json.loads(sys.argv[1])
failed = {}
import core
imported = ["core"]
def onerror(name):
    failed[name] = repr(sys.exc_info()[1])
for info in pkgutil.walk_packages(core.__path__, "core.", onerror=onerror):
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except Exception as exc:
        failed[info.name] = repr(exc)
leaked = sorted({m.split(".")[0] for m in sys.modules} & set(forbidden))
print(json.dumps({"imported": imported, "failed": failed, "leaked": leaked}))
"""


def _import_all_core() -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL_CORE, json.dumps(FORBIDDEN_TOP_LEVEL)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"importing core failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_every_core_module_loads_no_gui_modules() -> None:
    result = _import_all_core()
    assert len(result["imported"]) > 1, "found no modules under core/"
    assert not result["leaked"], (
        f"importing core pulled in GUI/mesh-loading modules: {result['leaked']}"
    )
    assert not result["failed"], f"core modules that fail to import: {result['failed']}"


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
