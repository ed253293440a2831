"""The run bar's config field (⚙): configurable values, tags and recursion_limit reach
the graph from the workbench as they do from ``lgp run --config``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from lgp_engine import Settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.run.run_bar import RunBar

from .conftest import SIZE, fill, log_text, status, wait_until

WORKFLOW = textwrap.dedent(
    """
    from typing import TypedDict

    from langchain_core.runnables import RunnableConfig
    from langgraph.graph import END, START, StateGraph


    class S(TypedDict, total=False):
        n: int
        who: str


    def step(state: S, config: RunnableConfig) -> dict:
        user = config["configurable"].get("user_id", "nobody")
        return {"n": state.get("n", 0) + 1, "who": f"{user}/{','.join(config.get('tags', []))}"}


    def again(state: S) -> str:
        return "step" if state["n"] < 5 else END


    b = StateGraph(S)
    b.add_node("step", step)
    b.add_edge(START, "step")
    b.add_conditional_edges("step", again)
    graph = b.compile()
    """
)


@pytest.mark.asyncio
async def test_the_run_config_reaches_the_graph_and_a_bad_one_blocks_the_run(
    settings: Settings, tui_project: Path
) -> None:
    (tui_project / "configured_loop.py").write_text(WORKFLOW, encoding="utf-8")
    app = WorkbenchApp(settings, "configured_loop.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        bar = app.query_one(RunBar)
        await fill(pilot, app.query_one("#run-input", Input), '{"n": 0}')
        await pilot.click("#config-button")
        field = app.query_one("#config-input", Input)
        assert field.display and field.has_focus

        await fill(pilot, field, '{"recursionlimit": 3}')  # a typo: refused before running
        assert not bar.can_run
        assert "unknown key(s) in config: recursionlimit" in str(
            app.query_one("#input-error", Static).render()
        )

        await fill(pilot, field, '{"configurable": {"user_id": "u7"}, "tags": ["nightly"]}')
        assert bar.can_run
        await pilot.click("#run-button")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run to complete")
        assert '"who": "u7/nightly"' in log_text(app)

        await wait_until(pilot, lambda: bar.can_run, what="Run re-enabled")
        await fill(pilot, field, '{"recursion_limit": 3}')  # stops the loop
        await pilot.click("#run-button")
        await wait_until(pilot, lambda: status(app) == "failed", what="the run to fail")
        assert "GraphRecursionError" in log_text(app)
