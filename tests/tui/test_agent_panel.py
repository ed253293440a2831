"""The agent panel (f10), the context meter and the cost of recent runs, on real runs:
the 3-agent team against the local OpenAI-compatible server, the real Claude Code CLI
against the local Anthropic-compatible server, and a recorded Claude Code session."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from lgp_engine import (
    RunEvent,
    Runner,
    Settings,
    create_workflow,
    load_settings,
    load_workflow,
    resolve_in_project,
)
from lgp_engine.events import EventType
from lgp_tui.app import WorkbenchApp
from lgp_tui.messages import RunEventReceived
from lgp_tui.screens.run_costs import RunCosts
from lgp_tui.screens.value_viewer import ValueViewer
from lgp_tui.widgets.agents.agent_panel import AgentPanel
from lgp_tui.widgets.graph.graph_view import GraphView
from lgp_tui.widgets.source.source_view import SourceView
from lgp_tui.widgets.status.status_bar import StatusBar
from tests.agent_session import SESSION, WRITTEN, session_events
from tests.servers.anthropic_fake import FakeAnthropic
from tests.servers.openai_fake import FakeOpenAI
from tests.usage_project import TEAM_RUN, script_team, team_project

from .conftest import SIZE, fill, loaded_graph, status, wait_until


@pytest.fixture
def team(tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = team_project(tmp_path / "team", fake_openai)
    monkeypatch.chdir(project)
    return project


def panel_of(app: WorkbenchApp) -> AgentPanel:
    return app.query_one(AgentPanel)


def status_text(app: WorkbenchApp) -> str:
    return app.query_one(StatusBar).render().plain


async def run_and_wait(app: WorkbenchApp, pilot: Pilot, outcome: str, input_: str) -> None:
    await fill(pilot, app.query_one("#run-input", Input), input_)
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: status(app) == outcome, what=f"the run to be {outcome}")


@pytest.mark.asyncio
async def test_a_team_runs_agents_show_their_calls_tokens_cost_and_context(
    team: Path, fake_openai: FakeOpenAI
) -> None:
    script_team(fake_openai)
    app = WorkbenchApp(load_settings(project_dir=team), target="team")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        panel = panel_of(app)
        assert not panel.display  # until asked for (or a Claude Code session starts)
        await run_and_wait(app, pilot, "completed", '{"task": "why WAL"}')
        # the status bar: the run's cost, and beside it the last call against its
        # model's window (llama3.2 is in no table: unknown)
        total = f"{TEAM_RUN['total_tokens']:,} tok $0.009270"
        assert f"usage {total} · ctx 501/?  │  server" in status_text(app)

        await pilot.press("f10")
        await wait_until(pilot, lambda: panel.display and bool(panel.lines), what="the panel")
        assert app.query_one("#agent-entries", OptionList).has_focus
        assert not app.query_one(SourceView).display  # the panel takes its place
        tabs, summary = panel.header.splitlines()
        assert tabs == "✓ researcher  ✓ writer  ✓ reviewer  (following)"
        assert panel.current is not None and panel.current.key == "reviewer"  # the last
        assert summary.startswith("✓ done · ctx 501/? · 501 tok $0.00 · model llama3.2 · 1 call · ")
        (line,) = panel.lines
        assert line.startswith("  [llama3.2 500 in / 1 out tok $0.00 ") and line.endswith(
            "] » APPROVE"
        ), line

        await pilot.press("left")
        await wait_until(pilot, lambda: panel.header.startswith("✓ researcher  ✓ writer  ✓ rev"))
        tabs, summary = panel.header.splitlines()
        assert tabs.endswith("(picked)")
        assert panel.current is not None and panel.current.key == "writer"
        # gpt-4o: 128k in pricing.yaml
        assert summary.startswith("✓ done · ctx 2.4k/128k 2% · 2,400 tok $0.009000 · model gpt-4o")
        (line,) = panel.lines
        assert line.startswith("  [gpt-4o 2,000 in / 400 out tok $0.009000 ")
        assert line.endswith("] » Checkpoints persist.")
        await pilot.press("left")
        await wait_until(pilot, lambda: "ctx 1.2k/128k <1%" in panel.header)
        assert panel.current is not None and panel.current.key == "researcher"

        await pilot.press("v")  # the entry whole: the reply and its call
        await wait_until(pilot, lambda: isinstance(app.screen, ValueViewer))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ValueViewer))

        await pilot.press("f10")  # hidden again: the source pane is back, focused
        await wait_until(pilot, lambda: not panel.display)
        assert app.query_one(SourceView).display and app.query_one(SourceView).has_focus


@pytest.mark.asyncio
async def test_the_graph_panes_node_opens_its_agent_and_a_new_run_starts_afresh(
    team: Path, fake_openai: FakeOpenAI
) -> None:
    # a window from the config's pricing: llama3.2 becomes known
    config = team / "config" / "experiment.yaml"
    body = yaml.safe_load(config.read_text())
    body["pricing"] = {
        "llama3.2": {"input_per_million": 0, "output_per_million": 0, "context_window": 131_072}
    }
    config.write_text(yaml.safe_dump(body))
    script_team(fake_openai, runs=2)
    app = WorkbenchApp(load_settings(project_dir=team), target="team")
    async with app.run_test(size=SIZE) as pilot:
        graph: GraphView = await loaded_graph(app, pilot)
        await run_and_wait(app, pilot, "completed", '{"task": "why WAL"}')
        assert "· ctx 501/131k <1%  │" in status_text(app)
        graph.focus()
        await pilot.pause()
        while graph.current_node != "writer":
            await pilot.press("down")
        await pilot.press("f10")
        panel = panel_of(app)
        await wait_until(pilot, lambda: panel.display and "model gpt-4o" in panel.header)
        assert panel.pinned == "writer"
        assert panel.header.splitlines()[0] == "✓ researcher  ✓ writer  ✓ reviewer  (picked)"

        # the next run: the panel shows it from its start, still on the node picked
        await pilot.press("ctrl+l")  # off the graph pane (its keys are its own)
        await run_and_wait(app, pilot, "completed", '{"task": "again"}')
        await wait_until(pilot, lambda: "✓ done · ctx 2.4k/128k 2% · 2,400 tok" in panel.header)
        assert panel.current is not None and panel.current.key == "writer"
        assert len(panel.lines) == 1  # this run's call only
        assert app.agents.runs and len(app.agents.runs) == 2


def recorded_session(node: str = "analyze") -> list[RunEvent]:
    """The recorded session (tests/agent_session.py) with the context its replies
    reported (as the engine now records it)."""
    events = session_events("r-agent", "t-agent", node=node, first_seq=3)
    out = []
    for index, event in enumerate(events):
        data = dict(event.data)
        if event.type in ("agent.message", "agent.tool_use") or (
            event.type == "agent.result" and not data.get("is_error")
        ):
            data["context_tokens"] = 24_000 + index * 1000
        out.append(RunEvent(event.run_id, event.seq, event.type, event.thread_id, data, node))
    return out


def run_event(seq: int, type_: EventType, node: str | None = None, **data: object) -> RunEvent:
    return RunEvent("r-agent", seq, type_, "t-agent", data, node)


@pytest.mark.asyncio
async def test_a_claude_code_session_opens_the_panel_and_reads_folded(settings: Settings) -> None:
    session = recorded_session()
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        panel = panel_of(app)
        for item in [
            run_event(1, "run.started", workflow="basic_workflow", input={}),
            run_event(2, "node.started", "analyze", path=[]),
            *session[:4],  # init, message, Write and its result
        ]:
            app.post_message(RunEventReceived(item))
        await wait_until(pilot, lambda: len(panel.lines) == 4, what="the session so far")
        assert panel.display  # opened by the session's start, not focused
        assert app.query_one("#run-input").has_focus
        tabs, summary = panel.header.splitlines()
        assert tabs == "● analyze (coder)  (following)"
        # sonnet-4 family: 200k
        assert summary == "● running · ctx 26k/200k 13% · Claude Code claude-sonnet-4-5"
        assert "ctx 26k/200k 13%" in status_text(app)
        init, message, use, result = panel.lines
        assert init.startswith(f"▸ ◇ session {SESSION[:8]} claude-sonnet-4-5 in /src/app")
        assert message.startswith("▸ » I'll add a failing test first.⏎Then the fix")
        assert message.endswith("…") and len(message) <= 118
        assert use == '▸ → Write {"file_path": "tests/test_core.py"}'
        assert result == f"  ← Write 48 B {WRITTEN}"  # short: whole on its line

        for item in session[4:]:
            app.post_message(RunEventReceived(item))
        await wait_until(pilot, lambda: len(panel.lines) == 9, what="the whole session")
        lines = panel.lines
        assert lines[5].startswith("▸ ✖ Bash 2.3 kB Exit code 1⏎1 failed")
        assert lines[6].startswith("▸ ■ $0.0123 · 1,234 in / 56 out tok (+20,500 cached) · 3 t")
        assert lines[7].startswith("▸ ◇ session 9f8e7d6c claude-sonnet-4-5 in /src/app [forked")
        assert lines[8].startswith(
            "▸ ✖ stalled · $0.00, subscription: $0.004000 reported · 1,234 in / 56 out tok"
        )

        # unfold the Bash result (enter), then the init: whole, indented
        app.query_one("#agent-entries").focus()
        listing = app.query_one("#agent-entries", OptionList)
        listing.highlighted = 5
        await pilot.press("enter")
        await wait_until(pilot, lambda: panel.lines[5].startswith("▾ "))
        assert panel.lines[5].splitlines()[1:] == ["    Exit code 1", "    1 failed"]
        listing.highlighted = 0
        await pilot.press("enter")
        await wait_until(pilot, lambda: panel.lines[0].startswith("▾ "))
        whole = panel.lines[0].splitlines()
        assert "    tools    Read, Write, Bash" in whole and "    mode     acceptEdits" in whole
        await pilot.press("enter")  # folded again
        await wait_until(pilot, lambda: panel.lines[0].startswith("▸ "))
        listing.highlighted = 6
        await pilot.press("enter")  # a line longer than the panel: whole (wrapped)
        await wait_until(pilot, lambda: panel.lines[6].startswith("▾ ■ $0.0123 · "))
        assert panel.lines[6].endswith(" · 3 turns, 2 tool calls, 1 tool error in 12.3 s")

        end = len(session) + 3
        usage = {"calls": 1, "total_tokens": 21_790, "cost_usd": 0.0123}
        app.post_message(
            RunEventReceived(
                run_event(end, "node.finished", "analyze", path=[], duration_ms=9.0, usage=usage)
            )
        )
        app.post_message(
            RunEventReceived(run_event(end + 1, "run.completed", duration_ms=10.0, usage=usage))
        )
        await wait_until(pilot, lambda: status(app) == "completed", what="the run's end")
        await wait_until(pilot, lambda: "✓ done" in panel.header)
        summary = panel.header.splitlines()[1]
        assert summary == (
            "✓ done · ctx 30k/200k 15% · 21,790 tok $0.0123 · Claude Code claude-sonnet-4-5 · 9 ms"
        )


@pytest.mark.asyncio
async def test_an_open_editor_keeps_its_place_when_a_session_starts(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        app.query_one(SourceView).focus()
        await pilot.pause()
        for item in [run_event(1, "run.started", workflow="w", input={}), *recorded_session()[:2]]:
            app.post_message(RunEventReceived(item))
        await wait_until(pilot, lambda: len(panel_of(app).lines) == 2, what="the session")
        assert not panel_of(app).display and app.query_one(SourceView).display
        await pilot.press("f10")  # asked for: shown
        await wait_until(pilot, lambda: panel_of(app).display)


# -- the real Claude Code CLI ------------------------------------------------------------
@pytest.fixture
def coder(
    tmp_path: Path, project: Path, fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, Path]:
    """The with_claude_code template as ``coder``, its CLI on the local server, and a
    git repository for it to work in."""
    for key, value in {
        "HOME": str(tmp_path / "home"),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "home").mkdir()
    config = project / "config" / "experiment.yaml"
    body = yaml.safe_load(config.read_text()) or {}
    body["llm_providers"] = {
        "claude_code": {
            "base_url": fake_anthropic.url,
            "api_key": "sk-ant-test-key",
            "max_retries": 0,
            "model": "claude-sonnet-4-5",
        }
    }
    config.write_text(yaml.safe_dump(body))
    monkeypatch.chdir(project)
    settings = load_settings(project_dir=project)
    create_workflow("coder", "with_claude_code", settings)
    repo = tmp_path / "site"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    return load_settings(project_dir=project), repo


@pytest.mark.asyncio
async def test_a_real_claude_code_session_shows_live_with_its_context(
    coder: tuple[Settings, Path], fake_anthropic: FakeAnthropic
) -> None:
    settings, repo = coder
    target = repo / "NOTES.md"
    write = {"name": "Write", "input": {"file_path": str(target), "content": "hi\n"}}
    fake_anthropic.script(
        {"tool_uses": [write], "usage": {"input_tokens": 3000, "output_tokens": 40}},
        # the second reply waits until the test has seen the first turn on screen
        {
            "text": "Wrote NOTES.md.",
            "usage": {"input_tokens": 3100, "output_tokens": 8},
            "barrier": "seen",
            "parties": 2,
        },
    )
    app = WorkbenchApp(settings, target="coder")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        panel = panel_of(app)
        task = {"task": "write the notes", "repository": str(repo)}
        await fill(pilot, app.query_one("#run-input", Input), json.dumps(task))
        await pilot.press("ctrl+r")
        await wait_until(
            pilot,
            lambda: any("← Write " in line for line in panel.lines),
            timeout=60,
            what="the session's first tool call on screen",
        )
        # live: the session waits for its second reply, the panel shows it so far
        assert panel.display and status(app) == "running"
        assert panel.header.startswith("● coder  (following)\n● running · ctx 3k/200k 2% · ")
        first, use, result = panel.lines
        assert first.startswith("▸ ◇ session ") and " claude-sonnet-4-5 in " in first
        assert use.startswith('▸ → Write {"file_path": "')
        assert result.startswith("▸ ← Write ") and "File created successfully" in result
        # the context meter: the first reply's 3,001 tokens (prompt, first answer chunk)
        assert "ctx 3k/200k 2%" in status_text(app)
        fake_anthropic.arrive("seen")
        await wait_until(pilot, lambda: status(app) == "completed", timeout=60, what="the end")
        await wait_until(pilot, lambda: "✓ coder" in panel.header)
        assert target.read_text() == "hi\n"
        lines = panel.lines
        assert lines[3] == "  » Wrote NOTES.md."
        assert lines[4].startswith("  ■ $0.")
        assert " · 6,100 in / 48 out tok · 2 turns, 1 " in lines[4]
        summary = panel.header.splitlines()[1]
        # the context of the last reply (3,101 tokens); the cost is what the CLI reported
        assert summary.startswith("✓ done · ctx 3.1k/200k 2% · 6,148 tok $0.")
        assert " · Claude Code claude-sonnet-4-5 · 1 call · " in summary
        assert "ctx 3.1k/200k 2%" in status_text(app)


# -- the cost of recent runs --------------------------------------------------------------
@pytest.mark.asyncio
async def test_the_cost_of_recent_runs_lists_them_with_their_total(
    team: Path, fake_openai: FakeOpenAI
) -> None:
    settings = load_settings(project_dir=team)
    script_team(fake_openai, runs=3)
    workflow = load_workflow(resolve_in_project("team", settings))

    def earlier() -> list[RunEvent]:  # a run before this session
        with Runner.open(settings) as runner:
            return list(runner.start(workflow, {"task": "earlier"}, thread_id="before"))

    events = await asyncio.to_thread(earlier)
    assert events[-1].type == "run.completed"
    app = WorkbenchApp(settings, target="team")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await run_and_wait(app, pilot, "completed", '{"task": "one"}')
        await run_and_wait(app, pilot, "completed", '{"task": "two"}')
        app.action_run_costs()
        await wait_until(pilot, lambda: isinstance(app.screen, RunCosts), what="the screen")
        costs = app.screen
        assert isinstance(costs, RunCosts)
        await wait_until(pilot, lambda: costs.records is not None, what="the runs")
        rows = costs.rows
        assert len(rows) == 3
        for row in rows[:2]:  # this session's, newest first
            assert row.startswith("• ✔ ") and " team " in row
            assert "  3 calls      4,101 tok   $0.009270 " in row, row
        assert rows[2].startswith("  ✔ ") and " before " in rows[2]
        three = f"3 runs · 9 calls · {3 * 4101:,} tok · $0.0278"
        summary = costs.summary
        assert f"Total of the last 3 runs: {three}" in summary
        assert f"• this session: 2 runs · 6 calls · {2 * 4101:,} tok · $0.0185" in summary
        assert "by model: openai:gpt-4o 3 calls 7,200 tok $0.0270 · " in summary

        await pilot.press("s")  # this session's only
        await wait_until(pilot, lambda: len(costs.rows) == 2)
        assert "Total of this session's runs: 2 runs · 6 calls" in costs.summary
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunCosts))


@pytest.mark.asyncio
async def test_the_cost_screen_is_in_the_palette_and_says_when_nothing_ran(
    settings: Settings,
) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await wait_until(pilot, lambda: app.runner is not None, what="the stores")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Cost of recent runs" in titles and "Agents" in titles
        app.action_run_costs()
        await wait_until(pilot, lambda: isinstance(app.screen, RunCosts))
        costs = app.screen
        assert isinstance(costs, RunCosts)
        await wait_until(pilot, lambda: costs.records is not None)
        assert costs.rows == []
        assert costs.summary.startswith("No runs yet: run a workflow (ctrl+r)")
