"""The import-linter contracts cover every engine module: a new core module must be
listed (the core contract names its modules one by one), or it could import the
CLI, the server or a UI library unnoticed."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import lgp_engine

REPO = Path(__file__).resolve().parent.parent
FRONT_ENDS = ("lgp_engine.cli", "lgp_engine.server")
ENTRY_POINTS = {"lgp_engine", "lgp_engine.__main__"}


def contracts() -> dict[str, dict[str, list[str]]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def core_modules() -> set[str]:
    found = set()
    for info in pkgutil.walk_packages(lgp_engine.__path__, "lgp_engine."):
        name = info.name
        if name.startswith(FRONT_ENDS) or name in ENTRY_POINTS:
            continue
        if name.count(".") > 1 and not info.ispkg:  # inside a core package: covered by it
            continue
        found.add(name)
    return found


def test_every_core_module_is_in_the_core_contract() -> None:
    [core] = [c for name, c in contracts().items() if name.startswith("The engine core")]
    assert core_modules() == set(core["source_modules"])


def test_the_workbench_contract_forbids_every_engine_module() -> None:
    [tui] = [c for name, c in contracts().items() if name.startswith("The workbench")]
    assert set(tui["forbidden_modules"]) >= core_modules() | set(FRONT_ENDS)
