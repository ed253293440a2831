"""The tool calls screen (f7): an agent's MCP tools (a real MCP server over stdio, the
local OpenAI-compatible server as the model) and a graph's own tool calling, one row
per call grouped by model turn, filtered, read whole in the value viewer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Input, Label, OptionList

from lgp_engine import Settings, load_settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.tool_call_list import ToolCallList
from lgp_tui.screens.value_viewer import ValueViewer
from tests.providers.test_agent_tools import SCRIPT, STDIO, project_with
from tests.servers.openai_fake import FakeOpenAI

from .conftest import CHAT_QUESTION, SIZE, fill, loaded_graph, status, wait_until


def rows(screen: ToolCallList) -> list[str]:
    return [" ".join(row.split()) for row in screen.rows]  # columns' padding folded


async def open_tools(app: WorkbenchApp, pilot) -> ToolCallList:  # type: ignore[no-untyped-def]
    await pilot.press("f7")
    await wait_until(pilot, lambda: isinstance(app.screen, ToolCallList))
    screen = app.screen
    assert isinstance(screen, ToolCallList)
    await wait_until(pilot, lambda: bool(screen.query(OptionList)))
    return screen


@pytest.mark.asyncio
async def test_an_agents_mcp_calls_one_row_each_grouped_by_turn(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = project_with(tmp_path, fake_openai, STDIO)
    monkeypatch.chdir(project)
    fake_openai.script(*SCRIPT)
    app = WorkbenchApp(load_settings(project_dir=project), target="workflows/agent_tools.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        screen = await open_tools(app, pilot)
        summary = screen.query_one("#tools-summary", Label)
        assert "No tool calls yet" in str(summary.render())
        await pilot.press("escape")

        await fill(pilot, app.query_one("#run-input", Input), '{"task": "add two and three"}')
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed", timeout=30, what="the run")
        screen = await open_tools(app, pilot)
        shown = rows(screen)
        run = app.tool_calls.calls[0].run_id[:8]
        assert shown[0::2] == [
            f"run {run} · helper · turn 1",
            f"run {run} · helper · turn 2",
            f"run {run} · helper · turn 3",
            f"run {run} · check",
        ], shown
        assert re.fullmatch(r'✓ helper tools\.add \{"a": 2, "b": 3\} \d+ ms 5', shown[1]), shown
        assert shown[3] == (
            '⊘ helper tools.fail {"message": "not allowed"} not on the node\'s allow-list'
        )
        assert re.fullmatch(
            r'✓ helper tools\.echo \{"text": "hi", "api_key": "\[redacted\]"\} \d+ ms hi',
            shown[5],
        ), shown
        assert shown[7].startswith("✓ check tools.add ")
        summary = str(screen.query_one("#tools-summary", Label).render())
        assert summary == "4 calls in 1 runs · 1 failed or refused"

        # filtered as typed: the refused call alone
        await fill(pilot, screen.query_one("#tools-filter", Input), "denied")
        await wait_until(pilot, lambda: len(rows(screen)) == 2, what="the filter")
        assert rows(screen)[1].startswith("⊘ helper tools.fail")
        await fill(pilot, screen.query_one("#tools-filter", Input), "")
        await wait_until(pilot, lambda: len(rows(screen)) == 8, what="the filter cleared")

        # read a call whole
        listing = screen.query_one(OptionList)
        listing.focus()
        listing.highlighted = 5
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ValueViewer), what="the viewer")
        viewer = app.screen
        assert isinstance(viewer, ValueViewer)
        assert '"api_key": "[redacted]"' in viewer.text and '"tool": "tools.echo"' in viewer.text


@pytest.mark.asyncio
async def test_a_graphs_own_tool_calls_are_paired_with_their_results(
    chat_project: Settings,
) -> None:
    app = WorkbenchApp(chat_project, target="workflows/chat_review.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        import json

        await fill(pilot, app.query_one("#run-input", Input), json.dumps(CHAT_QUESTION))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "interrupted", what="the run")
        [call] = app.tool_calls.calls
        assert (call.node, call.tool, call.arguments, call.result) == (
            "chat",
            "add",
            {"a": 40, "b": 2},
            "42",
        )
        assert call.kind == "graph" and call.status == "ok" and call.duration_ms is not None
