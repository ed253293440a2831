"""breakpoint() in a node, in the workbench: the run pauses in the debugger screen
(source line, locals, return value, stack) and n/s/r/c drive it; cancel and quit
never leave the run's thread hanging; PYTHONBREAKPOINT=0 turns it off. And a break on
a tool: the call is held before it is made, its arguments shown, until c."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.widgets import Input

from lgp_engine import Settings, load_settings, open_checkpoints, state_at
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.debugger_screen import DebuggerScreen
from lgp_tui.screens.tool_break_dialog import ToolBreakDialog
from lgp_tui.widgets.run.run_bar import RunBar
from lgp_tui.widgets.status.status_bar import StatusBar
from tests.providers.test_agent_tools import SCRIPT, STDIO, project_with
from tests.servers.openai_fake import FakeOpenAI
from tests.workflows import copy_workflows

from .conftest import SIZE, fill, loaded_graph, log_text, status, wait_until


@pytest.fixture
def debuggable(settings: Settings, tui_project: Path) -> Settings:
    copy_workflows(tui_project / "workflows", "debug_me.py")
    return settings


def source_line(screen: DebuggerScreen) -> str:
    """The text of the line the run is at."""
    return dict(screen.paused.source)[screen.paused.line].strip()


async def start(app: WorkbenchApp, pilot, thread: str) -> DebuggerScreen:  # type: ignore[no-untyped-def]
    await loaded_graph(app, pilot)
    bar = app.query_one(RunBar)
    bar.input_text = '{"n": 3}'
    bar.thread_id = thread
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: isinstance(app.screen, DebuggerScreen), what="the pause")
    screen = app.screen
    assert isinstance(screen, DebuggerScreen)
    return screen


async def stop(pilot, screen: DebuggerScreen, key: str, line: str) -> None:  # type: ignore[no-untyped-def]
    before = screen.paused
    await pilot.press(key)
    await wait_until(
        pilot,
        lambda: screen.paused is not before and not screen.waiting,
        what=f"the stop after {key}",
    )
    assert source_line(screen) == line, screen.paused


@pytest.mark.asyncio
async def test_breakpoint_pauses_the_run_and_n_s_r_c_drive_it(debuggable: Settings) -> None:
    app = WorkbenchApp(debuggable, target="workflows/debug_me.py")
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(app, pilot, "dbg")
        assert status(app) == "running"
        where = screen.paused
        assert (where.function, where.event, source_line(screen)) == (
            "work",
            "line",
            "m = double(n)",
        )
        assert dict(where.locals)["n"] == "3"
        assert where.stack[-1].endswith(" work")
        assert "⏸ breakpoint() in work() at debug_me.py:" in log_text(app)

        await stop(pilot, screen, "s", "y = x * 2")  # into the helper
        assert screen.paused.function == "double" and dict(screen.paused.locals) == {"x": "3"}
        await stop(pilot, screen, "r", "return y")  # to its return, with the value
        assert screen.paused.event == "return" and screen.paused.returned == "6"
        await stop(pilot, screen, "n", 'return {"out": m + 1}')  # back in the node
        assert dict(screen.paused.locals)["m"] == "6"

        await pilot.press("c")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run's end")
        assert not isinstance(app.screen, DebuggerScreen)
    with open_checkpoints(debuggable, readonly=True) as checkpoints:
        assert state_at(checkpoints, "dbg").values["out"] == 7
    assert sys.breakpointhook is sys.__breakpointhook__  # put back when the app ended


@pytest.mark.asyncio
async def test_cancel_and_quit_never_leave_a_paused_run_hanging(debuggable: Settings) -> None:
    app = WorkbenchApp(debuggable, target="workflows/debug_me.py")
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "cancel-me")
        await pilot.press("x")
        await wait_until(pilot, lambda: status(app) == "cancelled", what="the run cancelled")
        assert not isinstance(app.screen, DebuggerScreen)
        # and again, paused when the app quits: the run's thread goes on and ends
        await start(app, pilot, "quit-me")
        job = app._job
        assert job is not None
    assert job.done.wait(10)


@pytest.mark.asyncio
async def test_pythonbreakpoint_0_turns_it_off(
    debuggable: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONBREAKPOINT", "0")
    app = WorkbenchApp(debuggable, target="workflows/debug_me.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        app.query_one(RunBar).input_text = '{"n": 1}'
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        assert not isinstance(app.screen, DebuggerScreen)


@pytest.mark.asyncio
async def test_a_break_on_a_tool_holds_the_call_until_c(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent's MCP tool calls (a real MCP server over stdio, the local OpenAI
    server as the model): a break on tools.echo holds that call, before it is made,
    with its (redacted) arguments; c lets it go and the run completes."""
    project = project_with(tmp_path, fake_openai, STDIO)
    monkeypatch.chdir(project)
    fake_openai.script(*SCRIPT)
    app = WorkbenchApp(load_settings(project_dir=project), target="workflows/agent_tools.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        app.action_tool_breaks()
        await wait_until(pilot, lambda: isinstance(app.screen, ToolBreakDialog))
        await wait_until(pilot, lambda: bool(app.screen.query(Input)))
        field = app.screen.query_one(Input)
        await fill(pilot, field, "tools.echo")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ToolBreakDialog))
        assert "tool tools.echo" in app.query_one(StatusBar).breaks

        app.query_one(RunBar).input_text = '{"task": "add two and three"}'
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, DebuggerScreen), what="the hold")
        screen = app.screen
        assert isinstance(screen, DebuggerScreen)
        assert (screen.paused.event, screen.paused.function) == ("tool", "tools.echo")
        assert dict(screen.paused.locals) == {"text": "'hi'", "api_key": "'[redacted]'"}
        assert screen.paused.stack[0] == "node helper"
        # held before it is made: the add went through, the echo has no result yet
        # (its tool.called event comes through the run's stream, the hold directly)
        await wait_until(pilot, lambda: len(app.tool_calls.calls) == 3, what="the echo's event")
        calls = {c.tool: c.status for c in app.tool_calls.calls}
        assert calls == {"tools.add": "ok", "tools.fail": "denied", "tools.echo": "pending"}
        assert "⏸ break on tool tools.echo (node helper)" in log_text(app)
        assert status(app) == "running"

        await pilot.press("c")
        await wait_until(pilot, lambda: status(app) == "completed", timeout=30, what="the end")
        echo = next(c for c in app.tool_calls.calls if c.tool == "tools.echo")
        assert echo.status == "ok" and echo.result == "hi"
