"""Real LangGraph projects, laid out as users write them, and the tests that run them.

Each folder is one project with its own ``langgraph.json`` (``monorepo/``,
``cwd_relative/``, ``same_name/``). A test copies the one it needs
(``copy_project``), so that runs write their ``.lgp/`` outside the repository;
``reference.py`` runs a project's graph with LangGraph alone, as ``langgraph dev``
does, for the tests to compare with.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference.py"


def copy_project(name: str, dest: Path) -> Path:
    """Copy ``tests/projects/NAME`` to ``dest/NAME``; the copy's path (resolved)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".lgp")
    return Path(shutil.copytree(HERE / name, dest / name, ignore=ignore)).resolve()
