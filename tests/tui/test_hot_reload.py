"""Hot reload in the workbench: save the file (as any editor would), and the panes
refresh, the run reruns in place on the same thread, a broken save shows a banner
and keeps the old graph, and the next good save recovers."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from lgp_engine import Settings, open_checkpoints
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.graph.graph_view import GraphView
from lgp_tui.widgets.source.source_view import SourceView
from lgp_tui.widgets.status.status_bar import StatusBar

from .conftest import SIZE, interrupt_dialog_ready, log_text, wait_until, watching

FLOW = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    input: str
    out: str


def shout(state: State) -> State:
    return {{"out": "{greeting} " + state["input"]}}

{extra}
workflow = StateGraph(State)
workflow.add_node("shout", shout)
workflow.add_edge(START, "shout")
{edges}
"""
ONE_NODE = dict(extra="", edges='workflow.add_edge("shout", END)')
TWO_NODES = dict(
    extra='\ndef polish(state: State) -> State:\n    return {"out": state["out"] + "!"}\n',
    edges='workflow.add_node("polish", polish)\n'
    'workflow.add_edge("shout", "polish")\nworkflow.add_edge("polish", END)',
)


def write(path: Path, greeting: str, shape: dict[str, str]) -> None:
    path.write_text(FLOW.format(greeting=greeting, **shape), encoding="utf-8")


@pytest.mark.asyncio
async def test_saving_reruns_in_place_and_a_broken_save_keeps_the_old_version(
    settings: Settings, tui_project: Path
) -> None:
    flow = tui_project / "workflows" / "hot_flow.py"
    write(flow, "hello", ONE_NODE)
    app = WorkbenchApp(settings, target="workflows/hot_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        graph = app.query_one(GraphView)
        status = app.query_one(StatusBar)
        await wait_until(pilot, lambda: graph.shape is not None)
        app.query_one("#run-input", Input).value = '{"input": "world"}'
        app.query_one("#thread-input", Input).value = "hot-t"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: '"out": "hello world"' in log_text(app))
        await wait_until(pilot, lambda: app.query_one("#run-bar").can_run)
        await wait_until(pilot, lambda: watching(flow.parent), what="the file watcher")

        # 1. a new node and a new output: reloaded, the graph redrawn, rerun on hot-t
        write(flow, "hi", TWO_NODES)
        await wait_until(
            pilot, lambda: '"out": "hi world!"' in log_text(app), what="the rerun on the new code"
        )
        text = log_text(app)
        assert "⟳ changed hot_flow.py" in text and "⟳ reloaded hot_flow" in text
        assert "↻ rerunning on thread hot-t with the last input" in text
        await wait_until(pilot, lambda: graph.shape is not None and "polish" in graph.shape.nodes)
        assert 'return {"out": state["out"] + "!"}' in app.query_one(SourceView).text
        await wait_until(pilot, lambda: status.status == "completed")

        # 2. a syntax error: banner, old graph kept, nothing rerun
        runs_before = text.count("✔ completed")
        flow.write_text(
            flow.read_text(encoding="utf-8").replace(
                "def polish(state: State) -> State:", "def polish(state: State) -> State"
            ),
            encoding="utf-8",
        )
        banner = app.query_one("#reload-banner", Static)
        await wait_until(pilot, lambda: banner.display, what="the reload banner")
        message = str(banner.render())
        assert "previous version keeps running" in message and "hot_flow.py" in message
        assert "⟳ reload failed" in log_text(app)
        assert "polish" in graph.shape.nodes  # the old graph stays
        assert app.workflow is not None
        await pilot.press("ctrl+r")  # the old version still runs
        await wait_until(pilot, lambda: log_text(app).count("✔ completed") == runs_before + 1)
        assert '"out": "hi world!"' in log_text(app).splitlines()[-1]

        # 3. fixed, and the node removed again: recovered, polish gone
        write(flow, "hey", ONE_NODE)
        await wait_until(pilot, lambda: not banner.display, what="the banner to go")
        await wait_until(
            pilot,
            lambda: '"out": "hey world"' in log_text(app).splitlines()[-1],
            what="the rerun after the fix",
        )
        await wait_until(
            pilot,
            lambda: graph.shape is not None and "polish" not in graph.shape.nodes,
            what="the graph without polish",
        )

    with open_checkpoints(settings, readonly=True) as store:
        history = store.history("hot-t", limit=100)
    runs = sum(1 for c in history if c.source == "input")
    assert runs == 4  # first run, rerun after the edit, manual run, rerun after the fix


@pytest.mark.asyncio
async def test_a_save_while_a_thread_waits_at_an_interrupt_offers_to_resume_it(
    settings: Settings, tui_project: Path
) -> None:
    from lgp_tui.screens.interrupt_dialog import InterruptDialog

    flow = tui_project / "workflows" / "ask_flow.py"
    source = (tui_project / "workflows" / "approval_workflow.py").read_text(encoding="utf-8")
    flow.write_text(source, encoding="utf-8")
    app = WorkbenchApp(settings, target="workflows/ask_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        app.query_one("#thread-input", Input).value = "ask-t"
        await pilot.press("ctrl+r")
        await interrupt_dialog_ready(pilot, app)
        await pilot.press("escape")  # leave it waiting
        await wait_until(pilot, lambda: not isinstance(app.screen, InterruptDialog))
        await wait_until(pilot, lambda: watching(flow.parent), what="the file watcher")

        assert '"published" if' in source
        flow.write_text(source.replace('"published" if', '"shipped" if'), encoding="utf-8")
        # the offer to resume with the new code (its field mounted and focused: the
        # screen alone may not have its children yet)
        await interrupt_dialog_ready(pilot, app)
        assert "waits at an interrupt" in log_text(app)
        assert log_text(app).count("▶ run") == 1  # not rerun from the start
        await pilot.press(*'"yes"', "enter")
        await wait_until(
            pilot,
            lambda: app.query_one(StatusBar).status == "completed",
            what=f"the resume; log:\n{log_text(app)}\nscreens {app.screen_stack}",
        )
        assert '"status": "shipped"' in log_text(app).splitlines()[-1]  # the new code ran
