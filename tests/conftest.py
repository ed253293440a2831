"""Shared fixtures: a throw-away copy of the project and a subprocess runner for ``lgp``."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.processes import run_lgp
from tests.servers.anthropic_fake import FakeAnthropic
from tests.servers.openai_fake import FakeOpenAI
from tests.workflows import copy_workflows

REPO = Path(__file__).resolve().parent.parent

LgpRunner = Callable[..., "subprocess.CompletedProcess[str]"]


# Tests that start processes (servers, the CLI) run first and the quick in-process
# ones last, so both xdist workers run out of work at about the same time instead
# of one waiting for a long test drawn at the end. Collection order otherwise.
_FIRST = (
    "tests/server/",
    "tests/projects/",
    "tests/cli/",
    "tests/engine/test_templates.py",
    "tests/engine/test_boundaries.py",
    "tests/tui/",
)


def _group(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return None
    return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The order xdist hands out work in (pyproject's ``--no-loadscope-reorder`` keeps
    it): the slow soak tests first (the minute-tick cron test alone waits ~3 min, so
    one drawn after the groups ended the CI run a minute after the rest), then the
    xdist groups, largest first (long serial units), then the rest by ``_FIRST``."""
    sizes: dict[str, int] = {}
    for item in items:
        if (name := _group(item)) is not None:
            sizes[name] = sizes.get(name, 0) + 1

    def rank(item: pytest.Item) -> tuple[int, int, int]:
        path = item.nodeid.split("::", 1)[0]
        where = next((i for i, p in enumerate(_FIRST) if path.startswith(p)), len(_FIRST))
        group = _group(item)
        slow = item.get_closest_marker("slow") is not None
        return (0 if slow else 1, -sizes[group] if group is not None else 0, where)

    items.sort(key=rank)  # stable: collection order within a rank


def pytest_collection_finish(session: pytest.Session) -> None:
    """Cheaper garbage collection in the test process: what collection imported
    (Textual, LangGraph, FastAPI...) is frozen out of every later collection, and
    collections run less often. A worker spent ~7 s of its ~90 s in the collector,
    mostly full collections walking those modules again and again; now ~2 s."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def copy_project(dest: Path) -> Path:
    """Copy the repo's ``workflows/`` and ``config/`` into ``dest``; return ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "sales_report.md")
    for name in ("workflows", "config"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    return dest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the repo's ``workflows/`` and ``config/`` (no ``.lgp/`` yet)."""
    for name in [n for n in os.environ if n.startswith("LGP_")]:
        monkeypatch.delenv(name)  # they would pick another config or database
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def make_project() -> Callable[[Path], Path]:
    """``make_project(dest)``: like ``project`` but at any path (for wider-scoped fixtures)."""
    return copy_project


@pytest.fixture(scope="session")
def lgp() -> LgpRunner:
    """``lgp(*args, cwd=..., env=None, input=None)`` -> CompletedProcess (text)."""
    return run_lgp


@pytest.fixture(scope="session")
def add_workflows() -> Callable[..., list[Path]]:
    """``add_workflows(folder, *names)``: copy shared test workflows from
    ``tests/workflows/`` (``"counter.py"``, ...) into ``folder``; their paths."""
    return copy_workflows


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


FAKE_OPENAI_KEY = "sk-fake-test-key"


@pytest.fixture(scope="session")
def openai_server() -> Iterator[FakeOpenAI]:
    """The local OpenAI-compatible server (tests/servers/openai_server.py), one process
    per xdist worker, requiring ``FAKE_OPENAI_KEY``. Tests take ``fake_openai``."""
    server = FakeOpenAI.start(api_key=FAKE_OPENAI_KEY)
    yield server
    server.stop()


@pytest.fixture
def fake_openai(openai_server: FakeOpenAI) -> FakeOpenAI:
    """``openai_server`` reset (no script, faults or logged requests) for this test;
    clients take ``.base_url`` and ``.api_key``."""
    openai_server.reset()
    return openai_server


@pytest.fixture(scope="session")
def anthropic_server() -> Iterator[FakeAnthropic]:
    """The local Anthropic-compatible server (tests/servers/anthropic_server.py), one
    process per xdist worker; the real Claude Code CLI talks to it. Tests take
    ``fake_anthropic``."""
    server = FakeAnthropic.start()
    yield server
    server.stop()


@pytest.fixture
def fake_anthropic(anthropic_server: FakeAnthropic) -> FakeAnthropic:
    """``anthropic_server`` reset for this test (no script, faults or logged requests)."""
    anthropic_server.reset()
    return anthropic_server


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """The URL of a new PostgreSQL database, dropped after the test (skips when the
    machine has no PostgreSQL, unless ``LGP_REQUIRE_POSTGRES=1``)."""
    from tests import postgres

    dsn, name = postgres.create_database()
    try:
        yield dsn
    finally:
        postgres.drop_database(name)
