"""Help, the command palette, the thread picker, remembered inputs, the editor key and
a workflow file deleted under the app."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Input, OptionList, Static

from lgp_engine import Runner, Settings, load_workflow, resolve_in_project
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.help_screen import HelpScreen
from lgp_tui.screens.thread_picker import ThreadPicker
from lgp_tui.widgets.run.run_bar import RunBar
from lgp_tui.widgets.status.status_bar import StatusBar

from .conftest import SIZE, log_text, notified, wait_until


@pytest.mark.asyncio
async def test_help_lists_the_keys_of_every_screen(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = _plain(app.screen.table)
        for expected in (
            "ctrl+r, f5",
            "ctrl+s",
            "Start or stop the HTTP API",
            "Replay",
            "Checkpoint browser",
            "Copy the entry under the cursor",
            "f4",
        ):
            assert expected in text, expected
        dialogs = text.split("Dialogs", 1)[1]
        assert dialogs.count("Cancel") == 1, dialogs  # two dialogs, one esc key (issue 16)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))


def _plain(renderable: object) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


@pytest.mark.asyncio
async def test_every_action_is_in_the_command_palette(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for expected in (
            "Run",
            "Cancel",
            "New",
            "Browse",
            "Server",
            "Edit",
            "Help",
            "Resume",
            "Threads",
            "Filter log",
            "Log",
        ):
            assert expected in titles, expected
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Run", "enter")  # runs the workflow like ctrl+r
        await wait_until(
            pilot,
            lambda: app.query_one(StatusBar).status == "completed",
            what="a run from the palette",
        )


@pytest.fixture
def two_threads(settings: Settings) -> Settings:
    workflow = load_workflow(resolve_in_project("basic_workflow", settings))
    with Runner.open(settings) as runner:
        for thread in ("older-t", "newer-t"):
            list(runner.start(workflow, {"input": thread}, thread_id=thread))
    return settings


@pytest.mark.asyncio
async def test_thread_picker_sets_the_thread_and_new_clears_it(two_threads: Settings) -> None:
    app = WorkbenchApp(two_threads)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ThreadPicker))
        options = app.screen.query_one(OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)][1:] == [
            "newer-t",
            "older-t",
        ]
        await pilot.press("down", "enter")  # the newest thread
        await wait_until(pilot, lambda: not isinstance(app.screen, ThreadPicker))
        bar = app.query_one(RunBar)
        assert bar.thread_id == "newer-t"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.query_one(StatusBar).status == "completed")
        assert '"run_count": 2' in log_text(app)

        await pilot.click("#threads-button")
        await wait_until(pilot, lambda: isinstance(app.screen, ThreadPicker))
        assert app.screen.query_one(OptionList).highlighted == 1  # the current one
        await pilot.press("home", "enter")  # "new thread"
        await wait_until(pilot, lambda: not isinstance(app.screen, ThreadPicker))
        assert bar.thread_id is None


@pytest.mark.asyncio
async def test_the_input_is_remembered_per_workflow_across_sessions(
    settings: Settings, tui_project: Path
) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        field = app.query_one("#run-input", Input)
        field.value = '{"input": "remember me"}'
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.query_one(StatusBar).status == "completed")
    stored = json.loads((tui_project / ".lgp" / "workbench.json").read_text(encoding="utf-8"))
    assert stored["inputs"]["basic_workflow"] == '{"input": "remember me"}'

    app = WorkbenchApp(settings, target="approval_workflow")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        field = app.query_one("#run-input", Input)
        assert field.value == '{"input": "hello"}'  # nothing remembered for this one
        from lgp_tui.widgets.explorer.workflow_list import WorkflowList

        explorer = app.query_one(WorkflowList)
        options = explorer.query_one(OptionList)
        options.focus()
        options.highlighted = explorer.index_of("basic_workflow")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.workflow and app.workflow.name == "basic_workflow")
        assert field.value == '{"input": "remember me"}'


@pytest.mark.asyncio
async def test_edit_key_without_an_editor_says_how_to_set_one(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("f4")
        await pilot.pause()
        await notified(pilot, lambda n: "Set $EDITOR" in str(n.message))

        monkeypatch.setenv("EDITOR", "vi")  # headless: no terminal to hand over
        await pilot.press("f4")
        await pilot.pause()
        await notified(pilot, lambda n: "cannot hand over" in str(n.message))
        assert app.is_running


@pytest.mark.asyncio
async def test_a_deleted_workflow_file_is_reported_in_place(
    settings: Settings, tui_project: Path
) -> None:
    doomed = tui_project / "workflows" / "doomed_flow.py"
    doomed.write_text(
        (tui_project / "workflows" / "basic_workflow.py").read_text(), encoding="utf-8"
    )
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        from lgp_tui.widgets.explorer.workflow_list import WorkflowList

        explorer = app.query_one(WorkflowList)
        assert explorer.index_of("workflows/doomed_flow.py") is not None
        assert explorer.check_timer is not None
        explorer.check_timer.pause()  # else the list drops the file within a second
        doomed.unlink()
        options = explorer.query_one(OptionList)
        options.focus()
        options.highlighted = explorer.index_of("workflows/doomed_flow.py")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one(StatusBar).status == "load failed")
        error = str(app.query_one("#explorer-error", Static).render())
        assert "doomed_flow.py" in error and "not" in error.lower(), error
        options.highlighted = explorer.index_of("basic_workflow")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.ready and app.workflow.name == "basic_workflow")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.query_one(StatusBar).status == "completed")
