"""Fixtures for every engine test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Loading edits sys.path and sys.modules: restore sys.path and drop the modules
    this test imported from its temp folder (the next test's files have other paths)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    roots = (str(tmp_path), str(tmp_path.resolve()))
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(roots):
            sys.modules.pop(name, None)
