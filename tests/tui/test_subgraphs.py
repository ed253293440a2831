"""Pilot tests of subgraphs in the workbench (issue 16): the graph pane's xray (``x``)
draws a subgraph node's inner nodes under it, marked live from the run's events;
the run log indents inner nodes' events under their subgraph node; the checkpoint
browser shows a subgraph's own state. Real runs of tests/workflows/research_flow.py,
nested.py and asks_in_subgraph.py on the project's real SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Tree
from textual.widgets.tree import TreeNode

from lgp_engine import Settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.graph.graph_view import GraphView
from lgp_tui.widgets.history.history_list import HistoryList
from lgp_tui.widgets.run.run_bar import RunBar
from tests.workflows import copy_workflows

from .conftest import (
    SIZE,
    browse,
    fill,
    interrupt_dialog_ready,
    loaded_graph,
    log_text,
    notified,
    status,
    wait_until,
)

FOLDED = [
    "◆ START",
    "   ──→ plan",
    "○ plan",
    "   ─?→ research",
    "   ─?→ review",
    "○ research ⊞",
    "   ──→ review",
    "○ review",
    "   ──→ END",
    "◆ END",
]


@pytest.fixture
def subgraphs(settings: Settings, tui_project: Path) -> Settings:
    copy_workflows(
        tui_project / "workflows", "research_flow.py", "nested.py", "asks_in_subgraph.py"
    )
    return settings


async def run(app: WorkbenchApp, pilot: Pilot, text: str, thread: str) -> None:
    await fill(pilot, app.query_one("#run-input", Input), text)
    await fill(pilot, app.query_one("#thread-input", Input), thread)
    await wait_until(pilot, lambda: app.query_one(RunBar).can_run, what="a run possible")
    await pilot.press("ctrl+r")


async def xray(app: WorkbenchApp, pilot: Pilot) -> GraphView:
    graph = app.query_one(GraphView)
    await pilot.press("f9")
    await wait_until(pilot, lambda: graph.has_focus, what="the graph pane focused")
    await pilot.press("x")
    return graph


def tree_lines(tree: Tree[Any]) -> list[str]:
    """The state tree's rows as text, depth first."""
    rows: list[str] = []

    def walk(node: TreeNode[Any], depth: int) -> None:
        for child in node.children:
            rows.append("  " * depth + str(child.label))
            walk(child, depth + 1)

    walk(tree.root, 0)
    return rows


@pytest.mark.asyncio
async def test_xray_draws_a_subgraphs_inner_nodes_and_marks_them_live(
    subgraphs: Settings,
) -> None:
    app = WorkbenchApp(subgraphs, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        assert graph.plain == FOLDED
        await xray(app, pilot)
        assert graph.plain == [
            *FOLDED[:5],
            "○ research ⊟",
            " │ ○ search",
            " │    ──→ summarize",
            " │ ○ summarize",
            " │    ──→ END",
            *FOLDED[6:],
        ]
        assert graph.node_keys == [
            "plan",
            "research",
            "research/search",
            "research/summarize",
            "review",
        ]
        assert graph.border_subtitle == "xray"

        await run(app, pilot, '{"topic": "owls"}', "sub-1")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        for inner in ("search", "summarize"):
            row = next(t for t in graph.plain if t.startswith(f" │ ✓ {inner} "))
            assert row.endswith(" ms"), row
        assert any(t.startswith("✓ research ⊟ ") for t in graph.plain)
        # inner nodes are not mixed up with the workflow's own
        assert set(graph.durations) == {
            "plan",
            "research",
            "research/search",
            "research/summarize",
            "review",
        }

        await xray(app, pilot)  # folded again: the marks of the inner nodes wait hidden
        assert not any(t.startswith(" │") for t in graph.plain)
        assert any(t.startswith("✓ research ⊞ ") for t in graph.plain)
        assert graph.border_subtitle == ""


@pytest.mark.asyncio
async def test_xray_goes_into_subgraphs_of_subgraphs(subgraphs: Settings) -> None:
    app = WorkbenchApp(subgraphs, target="workflows/nested.py")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        await xray(app, pilot)
        assert graph.node_keys == [
            "start",
            "middle",
            "middle/m1",
            "middle/inner",
            "middle/inner/i1",
        ]
        assert " │ │ ○ i1" in graph.plain
        await run(app, pilot, '{"n": 0}', "nest-1")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        assert any(t.startswith(" │ │ ✓ i1 ") for t in graph.plain)
        assert any(t.startswith(" │ ✓ inner ⊟ ") for t in graph.plain)
        # the log: each level one │ deeper under the node it runs in
        log = log_text(app).splitlines()
        starts = [line for line in log if "started" in line and "▶" not in line]
        assert starts == [
            "  ● start started",
            "  ● middle started",
            "  │ ● m1 started",
            "  │ ● inner started",
            "  │ │ ● i1 started",
        ]


@pytest.mark.asyncio
async def test_the_log_nests_a_subgraphs_node_events_under_it(subgraphs: Settings) -> None:
    app = WorkbenchApp(subgraphs, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await run(app, pilot, '{"topic": "owls"}', "sub-log")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        log = log_text(app).splitlines()[1:-1]  # between the run's start and its end
        assert [line.split("  {")[0].split(" (")[0] for line in log] == [
            "  ● plan started",
            "  ✓ plan",
            "  ● research started",
            "  │ ● search started",
            "  │ ✓ search",
            "  │ ● summarize started",
            "  │ ✓ summarize",
            "  ✓ research",
            "  ● review started",
            "  ✓ review",
        ]


@pytest.mark.asyncio
async def test_x_on_a_graph_without_subgraphs_says_so(settings: Settings) -> None:
    app = WorkbenchApp(settings, target="basic_workflow")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        before = list(graph.plain)
        await xray(app, pilot)
        assert graph.plain == before and not graph.xray
        await notified(pilot, lambda n: "no subgraph nodes" in n.message)


@pytest.mark.asyncio
async def test_the_browser_shows_the_state_of_the_subgraph_of_a_step(
    subgraphs: Settings,
) -> None:
    app = WorkbenchApp(subgraphs, target="workflows/research_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await run(app, pilot, '{"topic": "owls"}', "sub-state")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        browser = await browse(pilot, app)
        await wait_until(pilot, lambda: browser.thread_id == "sub-state", what="the thread")
        history = browser.query_one("#cp-history", HistoryList)
        await wait_until(pilot, lambda: bool(browser.rows), what="the history")
        # the checkpoint the research step made (its writes: research)
        at = next(i for i, row in enumerate(browser.rows) if row[1].writes == ("research",))
        history.focus()
        history.highlighted = at
        tree = browser.query_one("#cp-state", Tree)
        await wait_until(
            pilot,
            lambda: any("subgraph research" in line for line in tree_lines(tree)),
            what="the subgraph's section",
        )
        lines = tree_lines(tree)
        assert "▣ subgraph research (ran in this step)" in lines
        section = lines[lines.index("▣ subgraph research (ran in this step)") + 1 :]
        assert "  sources [3]" in section  # a key of its own: not in the thread's state
        assert '    [0]: "owls handbook"' in section
        assert not any(line.startswith("sources") for line in lines)
        assert str(tree.border_subtitle).endswith("· 1 subgraph")

        first = next(i for i, row in enumerate(browser.rows) if row[1].step == 0)
        history.highlighted = first  # plan's step: no subgraph ran around it
        await wait_until(
            pilot, lambda: browser.checkpoint_id == browser.rows[first][1].checkpoint_id
        )
        await wait_until(pilot, lambda: browser.state is not None and browser.state.step == 0)
        await pilot.pause()
        assert not any("subgraph" in line for line in tree_lines(tree))


@pytest.mark.asyncio
async def test_the_browser_shows_a_subgraph_waiting_at_an_interrupt(
    subgraphs: Settings,
) -> None:
    app = WorkbenchApp(subgraphs, target="workflows/asks_in_subgraph.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await run(app, pilot, '{"x": 1}', "sub-wait")
        await interrupt_dialog_ready(pilot, app)
        await pilot.press("escape")  # left waiting
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run)
        graph = app.query_one(GraphView)
        assert "waiting" in next(t for t in graph.plain if t.startswith("⏸ sub"))
        browser = await browse(pilot, app)
        tree = browser.query_one("#cp-state", Tree)
        await wait_until(
            pilot,
            lambda: "▣ subgraph sub (waiting)" in tree_lines(tree),
            what="the waiting subgraph",
        )
        lines = tree_lines(tree)
        section = lines[lines.index("▣ subgraph sub (waiting)") + 1 :]
        assert '  inner: "s1 done"' in section
        assert "  ▼ next [1]" in section or "  next [1]" in section
        assert '    [0]: "s2"' in section
        assert any("interrupts" in line for line in section)
