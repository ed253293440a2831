"""Pilot tests of the checkpoint browser's recorded replay (P): a tool-calling
conversation recorded against the local OpenAI-compatible server and a real MCP
server, the model server stopped and the post-processing code changed before the app
opens; P on the checkpoint before the agent replays it answered by the recording and
shows the diff of the two branches (a notification, the diff in the value viewer). A
thread that recorded nothing says so."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.pilot import Pilot

from lgp_engine import Runner, Settings, load_settings, load_workflow, resolve_in_project
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.checkpoint_browser import CheckpointBrowser
from lgp_tui.screens.value_viewer import ValueViewer
from lgp_tui.widgets.history.history_list import HistoryList
from tests.providers.conftest import KEY, write_config
from tests.servers.openai_fake import FakeOpenAI
from tests.workflows import copy_workflows

from .conftest import SIZE, browse, log_text, wait_until

REPO = Path(__file__).resolve().parents[2]
STDIO = {
    "command": sys.executable,
    "args": ["-m", "tests.servers.mcp_tools_server"],
    "cwd": str(REPO),
    "env": {"PYTHONDONTWRITEBYTECODE": "1"},
}
THREAD = "recorded-t"


@pytest.fixture
def recorded(tui_project: Path) -> Settings:
    """recorded_tools run once on THREAD against a model server that is then stopped,
    and its post-processing node changed since."""
    copy_workflows(tui_project / "workflows", "recorded_tools.py")
    server = FakeOpenAI.start(api_key=KEY)
    try:
        write_config(
            tui_project,
            "experiment",
            llm_providers={"ollama": {"base_url": server.base_url, "api_key": KEY}},
            mcp_servers={"tools": STDIO},
        )
        settings = load_settings(project_dir=tui_project)
        server.script(
            {"tool_calls": [{"name": "tools__add", "arguments": {"a": 2, "b": 3}}]},
            {"content": "2 + 3 = 5"},
        )
        workflow = load_workflow(resolve_in_project("workflows/recorded_tools.py", settings))
        with Runner.open(settings) as runner:
            events = list(runner.start(workflow, {"task": "add"}, thread_id=THREAD))
        assert events[-1].type == "run.completed", events[-1].data
        assert len(server.requests()) == 2
    finally:
        server.stop()
    flow = tui_project / "workflows" / "recorded_tools.py"
    flow.write_text(
        flow.read_text().replace(
            "f\"ANSWER: {state['helper_output'].upper()}\"",
            "f\"answer (v2): {state['helper_output']}\"",
        )
    )
    return settings


async def select_checkpoint(pilot: Pilot, browser: CheckpointBrowser, next_node: str) -> None:
    history = browser.query_one("#cp-history", HistoryList)
    await wait_until(pilot, lambda: bool(browser.rows), what="the history")
    [at] = [i for i, (_, info, _) in enumerate(browser.rows) if info.next == (next_node,)]
    history.focus()
    history.highlighted = at
    wanted = browser.rows[at][1].checkpoint_id
    await wait_until(
        pilot,
        lambda: browser.state is not None and browser.state.checkpoint_id == wanted,
        what="the state at the checkpoint",
    )


def notes(app: WorkbenchApp) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.mark.asyncio
async def test_replay_recorded_answers_from_the_recording_and_shows_the_diff(
    recorded: Settings,
) -> None:
    app = WorkbenchApp(recorded)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        browser = await browse(pilot, app)
        browser.select_thread(THREAD)
        await wait_until(pilot, lambda: browser.thread_id == THREAD, what="the thread")
        await select_checkpoint(pilot, browser, "helper")
        await pilot.press("P")
        await wait_until(
            pilot, lambda: isinstance(app.screen, ValueViewer), timeout=60, what="the diff"
        )
        viewer = app.screen
        assert isinstance(viewer, ValueViewer)
        value = viewer.value
        assert value["differences"] == {
            "report": {"original": "ANSWER: 2 + 3 = 5", "replay": "answer (v2): 2 + 3 = 5"}
        }
        assert value["answered from the recording"].startswith("2 model calls and 2 tool calls")
        assert value["not spent again"].endswith("tokens, $0.00")
        [said] = [n for n in notes(app) if n.startswith("Recorded replay of ")]
        assert said.endswith(": 1 difference from the original branch"), said
        # the replay ran as any run: in the run log, tools answered as recorded
        log = log_text(app)
        assert "tools.add" in log and "check" in log
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckpointBrowser))

    with Runner.open(recorded) as runner:
        replay = runner.runs.latest_for_thread(THREAD)
        assert replay is not None
        assert (replay.kind, replay.status) == ("replay", "completed")
        assert (replay.meta or {}).get("recorded") is True


@pytest.fixture
def plain(settings: Settings) -> Settings:
    """basic_workflow (no model, no tools: nothing recorded) run once on plain-t."""
    workflow = load_workflow(resolve_in_project("basic_workflow", settings))
    with Runner.open(settings) as runner:
        events = list(runner.start(workflow, {"input": "hi"}, thread_id="plain-t"))
    assert events[-1].type == "run.completed"
    return settings


@pytest.mark.asyncio
async def test_replay_recorded_of_a_thread_without_recordings_says_so(plain: Settings) -> None:
    settings = plain
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        browser = await browse(pilot, app)
        await wait_until(pilot, lambda: browser.state is not None, what="the newest state")
        browser.query_one("#cp-history").focus()
        await pilot.press("P")
        await wait_until(
            pilot,
            lambda: any("has no recorded model or tool calls" in n for n in notes(app)),
            what="the refusal",
        )
        assert browser.busy is None
        assert isinstance(app.screen, CheckpointBrowser)
        with Runner.open(settings) as runner:
            assert [r.kind for r in runner.runs.list_runs(thread_id="plain-t")] == ["run"]
