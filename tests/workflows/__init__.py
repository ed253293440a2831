"""Workflows the tests share, as real files.

A test copies the ones it needs into its project (``add_workflows`` fixture, or
``copy_workflows``) rather than writing the same graph inline again. Workflows that
must stay in flight while a test acts (kill, cancel, follow, reload) block on a
*gate*: a file beside them that the test creates when the node may go on
(``open_gate``), never on a sleep of a guessed length.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent


def copy_workflows(folder: Path, *names: str) -> list[Path]:
    """Copy ``tests/workflows/NAME`` for each name into ``folder``; the new paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(HERE / name, folder / name)) for name in names]


def open_gate(gate: Path) -> None:
    """Let the node that waits for ``gate`` go on."""
    gate.touch()
