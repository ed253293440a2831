"""Shared fixtures: a throw-away copy of the project and a subprocess runner for ``lgp``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Variables that would change which config/database the CLI picks.
_SCRUBBED_ENV = ("LGP_ENV", "LGP_DB", "LGP_HOST", "LGP_PORT", "LGP_API_KEY")

LgpRunner = Callable[..., "subprocess.CompletedProcess[str]"]


def copy_project(dest: Path) -> Path:
    """Copy the repo's ``workflows/`` and ``config/`` into ``dest``; return ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "sales_report.md")
    for name in ("workflows", "config"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    return dest


def run_lgp(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    input: str | None = None,  # noqa: A002 - mirrors subprocess.run
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lgp_engine ARGS`` in ``cwd`` and capture its text output."""
    full_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    full_env.update({"PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"})
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "lgp_engine", *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the repo's ``workflows/`` and ``config/`` (no ``.lgp/`` yet)."""
    for name in _SCRUBBED_ENV:
        monkeypatch.delenv(name, raising=False)
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def make_project() -> Callable[[Path], Path]:
    """``make_project(dest)``: like ``project`` but at any path (for wider-scoped fixtures)."""
    return copy_project


@pytest.fixture(scope="session")
def lgp() -> LgpRunner:
    """``lgp(*args, cwd=..., env=None, input=None)`` -> CompletedProcess (text)."""
    return run_lgp


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> content), to prove nothing was written."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="session")
def tree_snapshot() -> Callable[[Path], dict[str, bytes]]:
    """``tree_snapshot(path)`` -> {relative path: bytes} of every file below ``path``."""
    return snapshot
