"""Pilot tests of the analyzer's warnings in the graph pane (``lgp check`` in the
workbench): under the graph after a load, the node marked ⚠, and redone on each
hot reload (real project, real files, the real file watcher)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static

from lgp_engine import Settings
from lgp_tui.app import WorkbenchApp

from .conftest import SIZE, loaded_graph, log_text, wait_until, watching

FLOW = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    input: str
    out: str


def shout(state: State) -> State:
    return {{"{key}": state.get("input", "").upper()}}


workflow = StateGraph(State)
workflow.add_node("shout", shout)
workflow.add_edge(START, "shout")
workflow.add_edge("shout", END)
"""


def panel(app: WorkbenchApp) -> Static:
    return app.query_one("#graph-warnings", Static)


@pytest.mark.asyncio
async def test_warnings_show_under_the_graph_with_the_node_marked(
    settings: Settings, tui_project: Path, add_workflows: Callable[..., list[Path]]
) -> None:
    add_workflows(tui_project / "workflows", "check_unreachable.py")
    app = WorkbenchApp(settings, target="workflows/check_unreachable.py")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        await wait_until(pilot, lambda: bool(graph.warnings), what="the warnings")
        assert [(w.code, w.node) for w in graph.warnings] == [("unreachable", "audit")]
        plain = graph.plain
        assert "○ audit ⚠" in plain and "○ reply" in plain  # only the node concerned
        below = plain[plain.index("◆ END") + 1 :]
        assert below == [
            "⚠ 1 warning",
            "⚠ audit · unreachable",
            "No path from START leads to `audit`, so it never runs.",
            "fix: connect it (add_edge('<previous node>', 'audit'), or a conditional edge "
            "that can return 'audit'), or remove it",
            "at check_unreachable.py:27",
        ]
        assert panel(app).display
        assert graph.border_subtitle == "⚠ 1 warning"  # seen when scrolled away too
        # the run marks and the warning mark go together
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "✔ completed" in log_text(app), what="the run")
        await pilot.pause()
        assert any(line.startswith("✓ triage ") for line in graph.plain)
        assert "○ audit ⚠" in graph.plain


@pytest.mark.asyncio
async def test_every_node_of_a_loop_without_exit_is_marked(
    settings: Settings, tui_project: Path, add_workflows: Callable[..., list[Path]]
) -> None:
    add_workflows(tui_project / "workflows", "check_plain_loop.py")
    app = WorkbenchApp(settings, target="workflows/check_plain_loop.py")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        await wait_until(pilot, lambda: bool(graph.warnings), what="the warnings")
        assert "○ draft ⚠" in graph.plain and "○ review ⚠" in graph.plain
        assert "⚠ draft · cycle_without_exit" in graph.plain


@pytest.mark.asyncio
async def test_each_hot_reload_checks_the_graph_again(
    settings: Settings, tui_project: Path
) -> None:
    flow = tui_project / "workflows" / "checked_flow.py"
    flow.write_text(FLOW.format(key="out"), encoding="utf-8")
    app = WorkbenchApp(settings, target="workflows/checked_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        assert graph.warnings == () and not panel(app).display
        assert graph.plain[-1] == "◆ END" and not graph.border_subtitle
        await wait_until(pilot, lambda: watching(flow.parent), what="the file watcher")

        flow.write_text(FLOW.format(key="uot"), encoding="utf-8")  # a typo of 'out'
        await wait_until(pilot, lambda: bool(graph.warnings), what="the warning after a reload")
        [warning] = graph.warnings
        assert (warning.code, warning.node) == ("undeclared_key", "shout")
        assert "○ shout ⚠" in graph.plain
        fix = "fix: declare 'uot' in State (or the output schema), or fix the name"
        assert f"{fix} (did you mean 'out'?)" in graph.plain
        assert panel(app).display and graph.border_subtitle == "⚠ 1 warning"

        flow.write_text(FLOW.format(key="out"), encoding="utf-8")  # fixed
        await wait_until(pilot, lambda: not graph.warnings, what="the warning to go")
        assert "○ shout" in graph.plain and graph.plain[-1] == "◆ END"
        assert not panel(app).display and not graph.border_subtitle
