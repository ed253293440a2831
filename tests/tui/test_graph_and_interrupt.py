"""Pilot tests of the graph pane and the interrupt dialog (real project, real SQLite)."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, Static

from lgp_engine import RunStore, Settings, open_checkpoints
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.interrupt_dialog import InterruptDialog
from lgp_tui.widgets.graph.graph_view import GraphView
from lgp_tui.widgets.run.run_bar import RunBar

from .conftest import (
    SIZE,
    fill,
    interrupt_dialog_ready,
    loaded_graph,
    log_text,
    notified,
    status,
    wait_until,
)

BRANCHY = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    input: str


def check(state: State) -> State:
    return {}


def fix(state: State) -> State:
    return {}


workflow = StateGraph(State)
workflow.add_node("check", check)
workflow.add_node("fix", fix)
workflow.add_edge(START, "check")
workflow.add_conditional_edges("check", lambda s: "fix" if s.get("input") else END, ["fix", END])
workflow.add_edge("fix", END)
"""


@pytest.mark.asyncio
async def test_graph_pane_lists_nodes_and_edges_and_timings_after_a_run(
    settings: Settings,
) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        assert graph.plain == [
            "◆ START",
            "   ──→ greet",
            "○ greet",
            "   ──→ analyze",
            "○ analyze",
            "   ──→ respond",
            "○ respond",
            "   ──→ END",
            "◆ END",
        ]
        await fill(pilot, app.query_one("#run-input", Input), '{"input": "hi"}')
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        await pilot.pause()
        for node in ("greet", "analyze", "respond"):
            line = next(line for line in graph.plain if line.startswith(f"✓ {node} "))
            assert line.endswith(" ms"), line
        assert not graph.running
        assert "▶" not in "\n".join(graph.plain)


@pytest.mark.asyncio
async def test_graph_pane_marks_conditional_edges_and_the_running_node(
    settings: Settings, tui_project
) -> None:
    (tui_project / "workflows" / "branchy_flow.py").write_text(BRANCHY, encoding="utf-8")
    app = WorkbenchApp(settings, target="workflows/branchy_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        text = "\n".join(graph.plain)
        assert "○ check\n   ─?→ fix\n   ─?→ END" in text, text
        graph.node_started("fix")
        assert "▶ fix running" in graph.plain
        graph.node_finished("fix", 2.0)
        assert "✓ fix 2.0 ms" in graph.plain


@pytest.mark.asyncio
async def test_interrupt_dialog_resumes_the_thread_in_place(settings: Settings) -> None:
    app = WorkbenchApp(settings, target="approval_workflow")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await fill(pilot, app.query_one("#run-input", Input), '{"topic": "notes"}')
        await fill(pilot, app.query_one("#thread-input", Input), "appr-t")
        await pilot.press("ctrl+r")
        await wait_until(
            pilot, lambda: isinstance(app.screen, InterruptDialog), what="the interrupt dialog"
        )
        dialog = app.screen
        assert '"question": "Approve this draft?"' in dialog.pretty
        # the node that asked waits, as the CLI shows it: not drawn as finished (issue 16)
        graph = app.query_one(GraphView)
        assert "⏸ approve waiting" in graph.plain and not any(
            line.startswith("✓ approve") for line in graph.plain
        )
        assert "⏸ approve" in log_text(app) and "✓ approve" not in log_text(app)
        assert dialog.query_one("#interrupt-value", Static).display
        resume = dialog.query_one("#resume-button", Button)
        assert resume.disabled  # nothing typed yet
        box = dialog.query_one("#resume-input", Input)
        assert box.value == "" and "e.g." in box.placeholder  # an example, not a value
        await pilot.press("enter")  # on an empty box: not resumed, and it says why
        await pilot.pause()
        assert isinstance(app.screen, InterruptDialog) and dialog.has_class("-tried")
        assert "enter a JSON value" in str(dialog.query_one("#resume-error", Static).render())
        await notified(pilot, lambda n: "Not resumed" in n.message)
        await pilot.press(*'"yes"')
        await pilot.pause()
        assert not resume.disabled
        await pilot.click("#resume-button")
        await wait_until(pilot, lambda: status(app) == "completed", what="the resumed run")
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run)
        assert not isinstance(app.screen, InterruptDialog)
        text = log_text(app)
        assert "⏸ interrupted at approve" in text
        assert '"status": "published"' in text
        assert app.query_one(GraphView).durations.keys() >= {"approve", "publish"}

    with open_checkpoints(settings, readonly=True) as store:
        assert store.thread("appr-t").checkpoints > 0
    runs = RunStore(settings.resolve(settings.checkpointer.path))
    try:
        latest = runs.latest_for_thread("appr-t")
        assert latest.status == "completed"
    finally:
        runs.close()


@pytest.mark.asyncio
async def test_interrupt_dialog_refuses_invalid_json_and_cancel_leaves_it_interrupted(
    settings: Settings,
) -> None:
    app = WorkbenchApp(settings, target="approval_workflow")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await fill(pilot, app.query_one("#thread-input", Input), "appr-bad")
        await fill(pilot, app.query_one("#run-input", Input), '{"topic": "x"}')
        await pilot.press("ctrl+r")
        await interrupt_dialog_ready(pilot, app)
        dialog = app.screen
        assert status(app) == "interrupted"
        resume = dialog.query_one("#resume-button", Button)
        await pilot.press(*'{"approved": ')
        await pilot.pause()
        assert resume.disabled
        assert "invalid JSON" in str(dialog.query_one("#resume-error", Static).render())
        await pilot.press("enter")  # refused too
        await pilot.pause()
        assert app.screen is dialog
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, InterruptDialog))
        assert status(app) == "interrupted"
        assert "✔ completed" not in log_text(app)

    runs = RunStore(settings.resolve(settings.checkpointer.path))
    try:
        assert runs.latest_for_thread("appr-bad").status == "interrupted"
    finally:
        runs.close()


@pytest.mark.asyncio
async def test_a_dismissed_interrupt_is_answered_later_with_resume(settings: Settings) -> None:
    app = WorkbenchApp(settings, target="approval_workflow")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await fill(pilot, app.query_one("#thread-input", Input), "appr-later")
        await pilot.press("ctrl+r")
        await interrupt_dialog_ready(pilot, app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, InterruptDialog))
        resume = app.query_one("#run-bar #resume-button", Button)
        assert resume.display  # the run bar offers to answer it
        await pilot.click("#run-bar #resume-button")
        await interrupt_dialog_ready(pilot, app)
        await pilot.press(*'"yes"', "enter")
        await wait_until(pilot, lambda: status(app) == "completed", what="the resumed run")
        assert not resume.display
        await pilot.press("f6")  # nothing waits any more: said, not crashed
        await pilot.pause()
        assert not isinstance(app.screen, InterruptDialog)
