"""Pilot tests of breakpoints and stepping from the graph pane (issue 16): ``b`` on a
node stops the next runs before it, after it, or not; a run stopped there says so and
f6 continues it; ``s`` runs one node a press. Real runs of
tests/workflows/research_flow.py (plan → research, a subgraph → review) on the
project's real SQLite file."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from lgp_engine import RunStore, Settings, state_at
from lgp_engine import open_checkpoints as open_store
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.interrupt_dialog import InterruptDialog
from lgp_tui.widgets.graph.graph_view import GraphView
from lgp_tui.widgets.run.run_bar import RunBar
from lgp_tui.widgets.run_log.run_log import RunLog
from lgp_tui.widgets.status.status_bar import StatusBar
from tests.workflows import copy_workflows

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

OWLS = '{"topic": "owls"}'


@pytest.fixture
def research(settings: Settings, tui_project: Path) -> Settings:
    copy_workflows(tui_project / "workflows", "research_flow.py", "asks_in_subgraph.py")
    return settings


async def graph_on(app: WorkbenchApp, pilot: Pilot, node: str) -> GraphView:
    """Focus the graph pane (f9) and put its cursor on ``node``."""
    graph = app.query_one(GraphView)
    await pilot.press("f9")
    await wait_until(pilot, lambda: graph.has_focus, what="the graph pane focused")
    await pilot.press("home")
    while graph.current_node != node:
        before = graph.current_node
        await pilot.press("down")
        assert graph.current_node != before, f"{node} is not in the pane: {graph.node_keys}"
    return graph


async def run(app: WorkbenchApp, pilot: Pilot, text: str, thread: str) -> None:
    await fill(pilot, app.query_one("#run-input", Input), text)
    await fill(pilot, app.query_one("#thread-input", Input), thread)
    await wait_until(pilot, lambda: app.query_one(RunBar).can_run, what="a run possible")
    await pilot.press("ctrl+r")


def stopped_after(app: WorkbenchApp, node: str) -> bool:
    return f"⏸ breakpoint after {node}" in log_text(app)


def breaks(app: WorkbenchApp) -> str:
    return app.query_one(StatusBar).breaks


def runs_of(settings: Settings, thread: str) -> list[str]:
    runs = RunStore(settings.resolve(settings.checkpointer.path))
    try:
        return [r.status for r in runs.list_runs(thread_id=thread)]
    finally:
        runs.close()


@pytest.mark.asyncio
async def test_b_cycles_a_nodes_breakpoint_drawn_on_it_and_in_the_status_bar(
    research: Settings,
) -> None:
    app = WorkbenchApp(research, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        graph = await graph_on(app, pilot, "review")
        assert "○ review" in graph.plain and breaks(app) == ""
        await pilot.press("b")
        assert "○ ⏸▸ review" in graph.plain and breaks(app) == "review(before)"
        await pilot.press("b")
        assert "○ review ▸⏸" in graph.plain and breaks(app) == "review(after)"
        await pilot.press("up", "up", "b")  # research, then plan: the cursor goes node to node
        assert graph.current_node == "plan"
        assert "○ ⏸▸ plan" in graph.plain
        assert breaks(app) == "plan(before), review(after)"
        await pilot.press("b", "b")
        assert "○ plan" in graph.plain and breaks(app) == "review(after)"
        await pilot.press("down", "down", "b")
        assert "○ review" in graph.plain and breaks(app) == ""
        assert not graph.marks


@pytest.mark.asyncio
async def test_a_run_stops_at_a_breakpoint_set_in_the_graph_and_f6_continues_it(
    research: Settings,
) -> None:
    app = WorkbenchApp(research, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        graph = await graph_on(app, pilot, "review")
        await pilot.press("b")
        await run(app, pilot, OWLS, "bp-1")
        await wait_until(pilot, lambda: status(app) == "interrupted", what="the stop")
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run, what="the run's end")
        assert "⏸ breakpoint before review" in log_text(app)
        assert "○ ⏸▸ review paused" in graph.plain
        assert any(text.startswith("✓ research ⊞") for text in graph.plain)
        assert not isinstance(app.screen, InterruptDialog)  # nothing to answer: no dialog
        with open_store(research, readonly=True) as store:
            assert state_at(store, "bp-1").next == ("review",)

        await pilot.press("f6")
        await wait_until(pilot, lambda: status(app) == "completed", what="the rest of the run")
        assert '"verdict": "approved"' in log_text(app)
        assert any(text.startswith("✓ ⏸▸ review ") for text in graph.plain)
        assert not any("paused" in text for text in graph.plain)
        assert "✓ plan" in "\n".join(graph.plain)  # the resume kept the marks of before
        assert runs_of(research, "bp-1") == ["completed"]  # one run, stopped and continued

        # the breakpoint is kept for the next runs
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run)
        await run(app, pilot, OWLS, "bp-2")
        await wait_until(pilot, lambda: status(app) == "interrupted", what="the second stop")
        assert log_text(app).count("⏸ breakpoint before review") == 2


@pytest.mark.asyncio
async def test_a_breakpoint_after_a_node_stops_once_it_ran(research: Settings) -> None:
    app = WorkbenchApp(research, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        graph = await graph_on(app, pilot, "plan")
        await pilot.press("b", "b")
        assert breaks(app) == "plan(after)"
        await run(app, pilot, OWLS, "bp-after")
        await wait_until(pilot, lambda: status(app) == "interrupted", what="the stop")
        assert "⏸ breakpoint after plan" in log_text(app)
        assert "● research started" not in log_text(app)
        assert any(t.startswith("✓ plan ▸⏸") and t.endswith(" paused") for t in graph.plain)


@pytest.mark.asyncio
async def test_s_runs_one_node_a_press(research: Settings) -> None:
    app = WorkbenchApp(research, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await fill(pilot, app.query_one("#run-input", Input), OWLS)
        await fill(pilot, app.query_one("#thread-input", Input), "steps")
        graph = await graph_on(app, pilot, "plan")
        assert not graph.marks  # stepping sets no breakpoint of its own

        seen = []
        for expected in ("plan", "research", "review"):
            await pilot.press("s")
            await wait_until(
                pilot, partial(stopped_after, app, expected), what=f"the step over {expected}"
            )
            await wait_until(pilot, lambda: app.query_one(RunBar).can_run)
            with open_store(research, readonly=True) as store:
                seen.append(sorted(state_at(store, "steps").values))
        assert seen == [
            ["notes", "topic"],
            ["notes", "summary", "topic"],
            ["notes", "summary", "topic", "verdict"],
        ]
        await pilot.press("s")  # nothing is left: the run ends
        await wait_until(pilot, lambda: status(app) == "completed", what="the end")
        assert breaks(app) == ""
        assert runs_of(research, "steps") == ["completed"]


@pytest.mark.asyncio
async def test_an_inner_node_takes_no_breakpoint(research: Settings) -> None:
    app = WorkbenchApp(research, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        graph = await graph_on(app, pilot, "research")
        await pilot.press("x", "down")
        assert graph.current_node == "research/search"
        await pilot.press("b")
        assert not graph.marks and breaks(app) == ""
        await notified(pilot, lambda n: "inside the subgraph research" in n.message)
        await pilot.press("up", "b")  # the subgraph node itself: stops before it whole
        assert breaks(app) == "research(before)"


@pytest.mark.asyncio
async def test_breakpoints_are_kept_per_workflow(research: Settings) -> None:
    app = WorkbenchApp(research, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await graph_on(app, pilot, "review")
        await pilot.press("b")
        assert breaks(app) == "review(before)"
        app.load("basic_workflow")
        graph = app.query_one(GraphView)
        await wait_until(pilot, lambda: graph.workflow == "basic_workflow", what="basic")
        await wait_until(pilot, lambda: breaks(app) == "", what="its (no) breakpoints")
        assert "⏸▸" not in "\n".join(graph.plain)
        app.load("workflows/research_flow.py")
        await wait_until(pilot, lambda: graph.workflow == "research_flow", what="back")
        await wait_until(pilot, lambda: breaks(app) == "review(before)", what="them again")
        assert "○ ⏸▸ review" in graph.plain


@pytest.mark.asyncio
async def test_an_answered_interrupt_goes_on_to_the_next_breakpoint(research: Settings) -> None:
    app = WorkbenchApp(research, target="workflows/asks_in_subgraph.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await graph_on(app, pilot, "c")
        await pilot.press("b")
        await run(app, pilot, '{"x": 1}', "asks")
        await interrupt_dialog_ready(pilot, app)  # s2 (in the subgraph) asks: the dialog
        await pilot.press("escape")  # left waiting
        await wait_until(pilot, lambda: not isinstance(app.screen, InterruptDialog))
        await graph_on(app, pilot, "c")
        await pilot.press("s")  # stepping waits for the answer
        await notified(pilot, lambda n: "waits for an answer" in n.message)
        await pilot.press("f6")
        await interrupt_dialog_ready(pilot, app)
        await pilot.press(*'"yes"', "enter")
        await wait_until(
            pilot, lambda: "⏸ breakpoint before c" in log_text(app), what="the stop before c"
        )
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run)
        assert not isinstance(app.screen, InterruptDialog)
        await pilot.press("f6")
        await wait_until(pilot, lambda: status(app) == "completed", what="the end")
        with open_store(research, readonly=True) as store:
            assert state_at(store, "asks").values["x"] == 30


@pytest.mark.asyncio
async def test_the_log_times_of_a_continued_run_go_on_from_its_start(research: Settings) -> None:
    app = WorkbenchApp(research, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await graph_on(app, pilot, "review")
        await pilot.press("b")
        await run(app, pilot, OWLS, "bp-times")
        await wait_until(pilot, lambda: status(app) == "interrupted", what="the stop")
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run, what="the run's end")
        log = app.query_one(RunLog)
        stamps = {entry.text.plain: log.stamp(entry) for entry in log.entries}
        await pilot.press("f6")
        await wait_until(pilot, lambda: status(app) == "completed", what="the rest of the run")
        assert {
            entry.text.plain: log.stamp(entry) for entry in log.entries[: len(stamps)]
        } == stamps
        resumed = next(e for e in log.entries if e.text.plain.startswith("▶ resume"))
        assert float(log.stamp(resumed)[1:-1]) >= float(
            log.stamp(log.entries[len(stamps) - 1])[1:-1]
        )
