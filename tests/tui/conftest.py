"""Fixtures for the workbench tests: a real temp project to run the app in."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.notifications import Notification
from textual.pilot import Pilot
from textual.widgets import Input

from lgp_engine import Runner, Settings, load_settings, load_workflow, resolve_in_project
from lgp_tui.screens.checkpoint_browser import CheckpointBrowser
from tests.workflows import copy_workflows

SIZE = (120, 40)


@pytest.fixture
def tui_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repo's workflows/ and config/, made the working directory."""
    monkeypatch.chdir(project)
    return project


@pytest.fixture
def settings(tui_project: Path) -> Settings:
    return load_settings(project_dir=tui_project)


CHAT_QUESTION = {"messages": [{"role": "user", "content": "what is 40 + 2?"}]}


@pytest.fixture
def chat_project(settings: Settings, tui_project: Path) -> Settings:
    """The project with tests/workflows/chat_review.py in its workflows/."""
    copy_workflows(tui_project / "workflows", "chat_review.py")
    return settings


@pytest.fixture
def chatted(chat_project: Settings) -> Settings:
    """chat_review run once on thread chat-t (waiting at its review), before the app."""
    workflow = load_workflow(resolve_in_project("workflows/chat_review.py", chat_project))
    with Runner.open(chat_project) as runner:
        events = list(runner.start(workflow, CHAT_QUESTION, thread_id="chat-t"))
    assert events[-1].type == "interrupt"
    return chat_project


async def wait_until(
    pilot: Pilot, predicate: Callable[[], bool], *, timeout: float = 15.0, what: str = ""
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)


async def notified(
    pilot: Pilot, match: Callable[[Notification], bool], *, what: str = "the notification"
) -> list[Notification]:
    """The app's notifications that ``match``, once one came: a notification is a
    message the app handles after the handler that sent it, so reading them at once
    races it (a loaded run found none)."""
    app = pilot.app
    await wait_until(pilot, lambda: any(match(n) for n in app._notifications), what=what)
    return [n for n in app._notifications if match(n)]


async def browse(pilot: Pilot, app: App) -> CheckpointBrowser:  # type: ignore[type-arg]
    """Open the checkpoint browser (ctrl+b) and return it once it is the screen."""
    await pilot.press("ctrl+b")
    await wait_until(pilot, lambda: isinstance(app.screen, CheckpointBrowser))
    browser = app.screen
    assert isinstance(browser, CheckpointBrowser)
    return browser


async def fill(pilot: Pilot, field: Input, text: str) -> None:
    """Put ``text`` into ``field`` at once (its Changed message follows as when typed),
    for a field a test only fills in: the pilot types ~85 ms a key."""
    field.focus()
    field.value = text
    await pilot.pause()


def watching(folder: Path) -> bool:
    """Whether this process has an inotify watch on ``folder`` (Linux, from
    /proc/self/fdinfo): the workbench's file watcher is live, so a write into the
    folder from now on will be seen. (The app says nothing when its watcher is up.)"""
    ino = f" ino:{folder.stat().st_ino:x} "
    for info in Path("/proc/self/fdinfo").iterdir():
        with contextlib.suppress(OSError):
            if ino in info.read_text():
                return True
    return False


async def interrupt_dialog_ready(pilot: Pilot, app: App) -> None:  # type: ignore[type-arg]
    """Wait until the interrupt dialog is up and its field takes keys (typing before
    its mount finished would go nowhere)."""
    from lgp_tui.screens.interrupt_dialog import InterruptDialog

    def ready() -> bool:
        screen = app.screen
        return isinstance(screen, InterruptDialog) and bool(
            screen.query("#resume-input") and screen.query_one("#resume-input").has_focus
        )

    await wait_until(pilot, ready, what="the interrupt dialog, ready for typing")


def log_text(app: App) -> str:  # type: ignore[type-arg]
    """Every kept line of the app's run log."""
    from lgp_tui.widgets.run_log.run_log import RunLog

    return "\n".join(app.query_one(RunLog).plain)


def status(app: App) -> str:  # type: ignore[type-arg]
    """The run status shown in the status bar."""
    from lgp_tui.widgets.status.status_bar import StatusBar

    return app.query_one(StatusBar).status


async def loaded_graph(app: App, pilot: Pilot) -> Any:  # type: ignore[type-arg]
    """Wait until the workflow is loaded, the stores are open and the graph is drawn."""
    from lgp_tui.widgets.graph.graph_view import GraphView

    await wait_until(pilot, lambda: app.ready, what="the workflow")  # type: ignore[attr-defined]
    graph = app.query_one(GraphView)
    await wait_until(pilot, lambda: graph.shape is not None, what="the graph")
    return graph
