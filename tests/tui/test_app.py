"""Pilot tests of the workbench against a real project and a real SQLite file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Button, Input, OptionList, Static

from lgp_engine import RunStore, Settings, open_checkpoints
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.explorer.workflow_list import WorkflowList
from lgp_tui.widgets.run.run_bar import RunBar
from lgp_tui.widgets.source.source_view import SourceView
from lgp_tui.widgets.status.status_bar import StatusBar
from tests.workflows import copy_workflows, open_gate

from .conftest import SIZE, fill, log_text, status, wait_until

BROKEN = """
from langgraph.graph import StateGraph

def oops(state)
    return state
"""


async def select_in_explorer(app: WorkbenchApp, pilot, target: str) -> None:
    explorer = app.query_one(WorkflowList)
    index = explorer.index_of(target)
    assert index is not None, f"{target} not listed"
    options = explorer.query_one(OptionList)
    options.focus()
    options.highlighted = index
    await pilot.press("enter")


async def set_input(pilot, widget: Input, text: str) -> None:
    """Type ``text`` into ``widget`` key by key (``fill`` puts it in at once)."""
    widget.focus()
    widget.value = ""
    await pilot.press(*text)


@pytest.mark.asyncio
async def test_opens_on_basic_workflow_with_its_source(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready, what="the default workflow")
        assert app.workflow.name == "basic_workflow"
        source = app.query_one(SourceView)
        assert "def greet(state: State) -> State:" in source.text
        assert source.border_title == "Source: workflows/basic_workflow.py"
        explorer = app.query_one(WorkflowList)
        assert explorer.query_one(OptionList).highlighted == explorer.index_of("basic_workflow")
        assert not app.query_one("#run-button", Button).disabled
        bar = app.query_one(StatusBar)
        assert (bar.environment, bar.checkpoints, bar.status) == (
            "experiment",
            ".lgp/checkpoints.db",
            "idle",
        )


@pytest.mark.asyncio
async def test_invalid_json_disables_run_and_says_why(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        field = app.query_one("#run-input", Input)
        run_button = app.query_one("#run-button", Button)
        error = app.query_one("#input-error", Static)

        await set_input(pilot, field, '{"input": ')
        await pilot.pause()
        assert run_button.disabled
        assert error.display and "invalid JSON" in str(error.render())
        await pilot.press("ctrl+r")  # the key refuses too
        await pilot.pause(0.2)
        assert not app.query_one(RunBar).running
        assert log_text(app) == ""

        await pilot.press(*'"quit"}')  # "q" types into the field, it does not quit
        await pilot.pause()
        assert app.is_running
        assert field.value == '{"input": "quit"}'
        assert not run_button.disabled
        assert not error.display


@pytest.mark.asyncio
async def test_run_shows_node_events_and_result_and_saves_the_thread(
    settings: Settings,
) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await fill(pilot, app.query_one("#run-input", Input), '{"input": "is it on?"}')
        await fill(pilot, app.query_one("#thread-input", Input), "tui-t1")
        await pilot.click("#run-button")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run to complete")
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run, what="Run re-enabled")
        text = log_text(app)
        for node in ("greet", "analyze", "respond"):
            assert f"● {node} started" in text
            assert f"✓ {node} (" in text
        assert "✔ completed" in text
        assert '"response": "You sent a question with 3 word(s): IS IT ON?"' in text
        assert app.query_one(StatusBar).thread == "tui-t1"

        await pilot.press("f5")  # the same input again, on the same thread
        await wait_until(pilot, lambda: log_text(app).count("✔ completed") == 2)
        assert '"run_count": 2' in log_text(app)

    with open_checkpoints(settings, readonly=True) as store:
        assert store.thread("tui-t1").checkpoints > 0
    runs = RunStore(settings.resolve(settings.checkpointer.path))
    try:
        assert runs.latest_for_thread("tui-t1").status == "completed"
    finally:
        runs.close()


@pytest.mark.asyncio
async def test_syntax_error_is_shown_inline_and_the_app_keeps_working(
    settings: Settings, tui_project: Path
) -> None:
    (tui_project / "workflows" / "broken_flow.py").write_text(BROKEN, encoding="utf-8")
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await select_in_explorer(app, pilot, "workflows/broken_flow.py")
        await wait_until(pilot, lambda: status(app) == "load failed", what="the load error")
        error = app.query_one("#explorer-error", Static)
        message = str(error.render())
        assert error.display
        assert "broken_flow.py:4" in message, message
        assert app.workflow is None
        assert app.query_one("#run-button", Button).disabled
        assert "def oops(state)" in app.query_one(SourceView).text  # the file is still shown

        await select_in_explorer(app, pilot, "basic_workflow")
        await wait_until(pilot, lambda: app.ready, what="basic_workflow")
        assert not error.display
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed")


@pytest.mark.asyncio
async def test_cancel_stops_a_slow_run_and_records_it_cancelled(
    settings: Settings, tui_project: Path
) -> None:
    copy_workflows(tui_project / "workflows", "slow_step.py")  # "slow" holds at a gate
    app = WorkbenchApp(settings, target="workflows/slow_step.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        assert app.workflow.name == "slow_step"
        await fill(pilot, app.query_one("#thread-input", Input), "slow-t")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "● slow started" in log_text(app))
        assert not app.query_one("#cancel-button", Button).disabled
        started = time.monotonic()
        await pilot.press("escape")
        await wait_until(pilot, lambda: status(app) == "cancelled", what="the cancel")
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run)
        assert time.monotonic() - started < 3  # did not wait for the node (held at its gate)
        assert "■ cancelled: cancelled from the workbench" in log_text(app)
        assert "✓ slow" not in log_text(app)
        open_gate(tui_project / "workflows" / "slow_step.open")  # its thread may end

    runs = RunStore(settings.resolve(settings.checkpointer.path))
    try:
        assert runs.latest_for_thread("slow-t").status == "cancelled"
    finally:
        runs.close()


RAISES = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    input: str


def explode(state: State) -> State:
    raise ValueError("the node gave up")


workflow = StateGraph(State)
workflow.add_node("explode", explode)
workflow.add_edge(START, "explode")
workflow.add_edge("explode", END)
"""


@pytest.mark.asyncio
async def test_a_workflow_that_raises_is_shown_in_the_log(
    settings: Settings, tui_project: Path
) -> None:
    (tui_project / "workflows" / "raises_flow.py").write_text(RAISES, encoding="utf-8")
    app = WorkbenchApp(settings, target="workflows/raises_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "failed", what="the failure")
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run)
        assert "✖ failed at explode: ValueError: the node gave up" in log_text(app)


@pytest.mark.asyncio
async def test_on_postgresql_a_run_is_shown_saved_and_browsed_as_on_sqlite(
    settings: Settings, postgres_dsn: str
) -> None:
    from lgp_engine.config import CheckpointerSettings
    from lgp_tui.screens.checkpoint_browser import CheckpointBrowser

    on_pg = settings.model_copy(
        update={"checkpointer": CheckpointerSettings(backend="postgres", dsn=postgres_dsn)}
    )
    app = WorkbenchApp(on_pg)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await fill(pilot, app.query_one("#run-input", Input), '{"input": "on postgres"}')
        await fill(pilot, app.query_one("#thread-input", Input), "tui-pg")
        await pilot.click("#run-button")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run to complete")
        assert '"response": "You sent a statement with 2 word(s): ON POSTGRES"' in log_text(app)
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckpointBrowser))
        threads = app.screen.query_one("#cp-threads", OptionList)
        await wait_until(pilot, lambda: threads.option_count == 1, what="the thread listed")
        assert "tui-pg" in str(threads.get_option_at_index(0).prompt)
    assert not list(settings.project_dir.glob(".lgp/*.db"))  # no SQLite file was made
    runs = RunStore.for_settings(on_pg, None)
    try:
        assert runs.latest_for_thread("tui-pg").status == "completed"  # type: ignore[union-attr]
    finally:
        runs.close()


@pytest.mark.asyncio
async def test_a_run_on_a_thread_another_process_runs_waits_and_says_so(
    settings: Settings, tui_project: Path
) -> None:
    from tests.processes import start_lgp

    copy_workflows(tui_project / "workflows", "slow.py")  # "wait" holds at a gate
    cli = start_lgp("run", "workflows/slow.py", "--thread", "shared", cwd=tui_project)
    try:
        cli.wait_for(lambda: any("Run:" in line for line in cli.stdout), 60, "the CLI's run")
        app = WorkbenchApp(settings, target="workflows/slow.py")
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.ready)
            await fill(pilot, app.query_one("#thread-input", Input), "shared")
            await pilot.press("ctrl+r")
            await wait_until(
                pilot, lambda: "⏳ thread shared is running" in log_text(app), what="the wait"
            )
            assert "waiting for it to end" in log_text(app)
            assert "● first started" not in log_text(app)  # nothing ran beside the CLI's run
            open_gate(tui_project / "workflows" / "slow.open")
            assert cli.wait(60) == 0, cli.text
            await wait_until(pilot, lambda: status(app) == "completed", what="the second run")
    finally:
        cli.kill()
