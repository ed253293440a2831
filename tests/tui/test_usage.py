"""Tokens and cost in the workbench, from real agent runs against the local
OpenAI-compatible server: per node in the graph pane, per run in the status bar and
the run log; failure kinds, repairs and fallbacks in the run log; a Claude Code
session's events under its node, its cost counted once (by its node's usage)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import Input

from lgp_engine import RunEvent, Settings, load_settings
from lgp_engine.events import EventType
from lgp_tui.app import WorkbenchApp
from lgp_tui.messages import RunEventReceived
from lgp_tui.widgets.graph.graph_view import GraphView
from lgp_tui.widgets.status.status_bar import StatusBar
from tests.agent_session import USAGE, session_events
from tests.conftest import FAKE_OPENAI_KEY, copy_project
from tests.servers.openai_fake import FakeOpenAI
from tests.usage_project import TEAM_CALLS, TEAM_RUN, script_team, team_project
from tests.workflows import copy_workflows

from .conftest import SIZE, fill, loaded_graph, log_text, notified, status, wait_until


def node_line(graph: GraphView, node: str) -> str:
    return next(line for line in graph.plain if line[2:].split(" ")[0] == node)


def status_text(app: WorkbenchApp) -> str:
    return app.query_one(StatusBar).render().plain


def tok(tokens: int, cost: str) -> str:
    return f"{tokens:,} tok {cost}"


@pytest.fixture
def team(tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = team_project(tmp_path / "team", fake_openai)
    monkeypatch.chdir(project)
    return project


async def run_and_wait(app: WorkbenchApp, pilot: Pilot, outcome: str, input_: str) -> None:
    """Run the loaded workflow with ``input_`` and wait for the run's ``outcome``."""
    await fill(pilot, app.query_one("#run-input", Input), input_)
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: status(app) == outcome, what=f"the run to be {outcome}")


@pytest.mark.asyncio
async def test_graph_and_status_bar_show_what_each_node_and_the_run_spent(
    team: Path, fake_openai: FakeOpenAI
) -> None:
    script_team(fake_openai, runs=2)
    app = WorkbenchApp(load_settings(project_dir=team), target="team")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        assert "usage" not in status_text(app)  # nothing spent yet: no segment
        await run_and_wait(app, pilot, "completed", '{"task": "why WAL"}')
        expected = {
            "researcher": tok(1200, "$0.000270"),
            "writer": tok(2400, "$0.009000"),
            "reviewer": tok(501, "$0.00"),  # local model: $0
        }
        for node, spent in expected.items():
            line = node_line(graph, node)
            assert line.startswith(f"✓ {node} ") and line.endswith(f" ms · {spent}"), line
        assert node_line(graph, "revise") == "○ revise"  # never ran, no model
        total = tok(TEAM_RUN["total_tokens"], "$0.009270")
        # and the context meter: the last call (the reviewer's llama3.2, a model no
        # table knows the window of) against its window
        assert f"status completed  │  usage {total} · ctx 501/?  │  server" in status_text(app)
        lines = log_text(app).splitlines()
        researcher = next(line for line in lines if line.startswith("  ✓ researcher ("))
        assert f" ms) [{expected['researcher']}]  " in researcher, researcher
        completed = next(line for line in lines if line.startswith("✔ completed in "))
        assert f" ms [{total}]  result: " in completed, completed

        # a second run starts from nothing: the same sums, not twice them
        await run_and_wait(app, pilot, "completed", '{"task": "again"}')
        assert f"usage {total} · ctx 501/?  │" in status_text(app)
        assert node_line(graph, "writer").endswith(f" · {expected['writer']}")


@pytest.mark.asyncio
async def test_the_status_bar_counts_during_the_run_and_a_cancelled_run_keeps_its_sum(
    team: Path, fake_openai: FakeOpenAI
) -> None:
    researcher, writer, _ = TEAM_CALLS
    fake_openai.script(
        *[
            {
                "match": match,
                "content": reply,
                "usage": {"prompt_tokens": p, "completion_tokens": c},
            }
            for _, match, _, p, c, reply in (researcher, writer)
        ],
        {"match": "demanding editor", "content": "APPROVE", "delay_ms": 60_000},  # held
    )
    app = WorkbenchApp(load_settings(project_dir=team), target="team")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        await fill(pilot, app.query_one("#run-input", Input), '{"task": "why WAL"}')
        await pilot.press("ctrl+r")
        so_far = tok(1200 + 2400, "$0.009270")
        await wait_until(
            pilot, lambda: f"usage {so_far}" in status_text(app), what="the sum of two nodes"
        )
        await wait_until(pilot, lambda: "reviewer" in graph.running, what="the held reviewer")
        assert status(app) == "running"
        await pilot.press("escape")
        await wait_until(pilot, lambda: status(app) == "cancelled", what="the cancelled run")
        ctx = "ctx 2.4k/128k 2%"  # the writer's call was the last to answer (gpt-4o: 128k)
        assert f"status cancelled  │  usage {so_far} · {ctx}  │" in status_text(app)


@pytest.mark.asyncio
async def test_a_failed_agent_run_shows_its_kind_and_what_it_spent_before(
    team: Path, fake_openai: FakeOpenAI
) -> None:
    script_team(fake_openai)
    fake_openai.fault(kind="status", status=401, match="concise technical writer", times=9)
    app = WorkbenchApp(load_settings(project_dir=team), target="team")
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        await run_and_wait(app, pilot, "failed", '{"task": "why WAL"}')
        researcher = tok(1200, "$0.000270")
        assert node_line(graph, "researcher").endswith(f" · {researcher}")
        assert node_line(graph, "writer").startswith("✖ writer")
        assert "tok" not in node_line(graph, "writer")  # its call never answered
        ctx = "ctx 1.2k/128k <1%"
        assert f"status failed  │  usage {researcher} · {ctx}  │" in status_text(app)
        failed = next(line for line in log_text(app).splitlines() if line.startswith("✖ failed"))
        assert failed.startswith(f"✖ failed [auth] at writer [{researcher}]: "), failed


@pytest.mark.asyncio
async def test_fallback_and_repair_each_have_a_line_in_the_run_log(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(tmp_path / "p")
    copy_workflows(project / "workflows", "agent_schema.py")
    config = yaml.safe_load((project / "config" / "experiment.yaml").read_text())
    config["llm_providers"] = {
        "ollama": {"base_url": "http://127.0.0.1:9/v1", "max_retries": 0},  # nothing listens
        "backup": {"base_url": fake_openai.base_url, "api_key": FAKE_OPENAI_KEY, "local": True},
    }
    config["agents"] = {"grader": {"fallbacks": ["backup:qwen3"]}}
    (project / "config" / "experiment.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(project)
    fake_openai.script(
        {"content": "I think it deserves a 7."},
        {"content": '{"score": 7, "reason": "clear"}'},
    )
    app = WorkbenchApp(load_settings(project_dir=project), target="workflows/agent_schema.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        await run_and_wait(app, pilot, "completed", '{"task": "grade it"}')
        lines = log_text(app).splitlines()
    fallback = next(line for line in lines if "⤳" in line)
    assert fallback.strip() == "⤳ grader: ollama:llama3.2 failed (unavailable), trying backup:qwen3"
    repair = next(line for line in lines if "↻" in line)
    assert repair.strip().startswith("↻ grader: answer failed Grade, repair 1: ")
    assert lines.index(next(line for line in lines if "⤳" in line)) < lines.index(repair)


@pytest.mark.asyncio
async def test_a_claude_code_session_shows_live_and_its_cost_counts_once(
    settings: Settings,
) -> None:
    # the engine counts an agent.result's tokens and cost in its node's usage; the
    # workbench sums node usage only, so the session's own numbers add nothing
    usage = {"calls": 1, "total_tokens": USAGE["total_tokens"], "cost_usd": 0.0123}
    session = session_events("r-agent", "t-agent", node="analyze", first_seq=3)

    def run_event(seq: int, type_: EventType, node: str | None = None, **data: object) -> RunEvent:
        return RunEvent("r-agent", seq, type_, "t-agent", data, node)

    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        graph = await loaded_graph(app, pilot)
        for item in [
            run_event(1, "run.started", workflow="basic_workflow", input={}),
            run_event(2, "node.started", "analyze", path=[]),
            *session,
        ]:
            app.post_message(RunEventReceived(item))
        await wait_until(pilot, lambda: "stalled after" in log_text(app), what="the session")
        assert "analyze" in graph.running  # live: the node has not finished yet
        assert "usage" not in status_text(app)
        end = len(session) + 3
        app.post_message(
            RunEventReceived(
                run_event(end, "node.finished", "analyze", path=[], duration_ms=9.0, usage=usage)
            )
        )
        app.post_message(
            RunEventReceived(run_event(end + 1, "run.completed", duration_ms=10.0, usage=usage))
        )
        await wait_until(pilot, lambda: status(app) == "completed", what="the run's end")
        spent = tok(USAGE["total_tokens"], "$0.0123")
        assert node_line(graph, "analyze").endswith(f" ms · {spent}")
        assert f"usage {spent}  │" in status_text(app)
        lines = log_text(app).splitlines()
        started = lines.index("  ● analyze started")
        assert [line.split()[0] for line in lines[started + 1 : started + 10]] == [
            "◇", "»", "→", "←", "→", "✖", "■", "◇", "✖"
        ]  # fmt: skip
        assert lines[started + 10].startswith("  ✓ analyze (9.0 ms)")


@pytest.mark.asyncio
async def test_a_traced_runs_url_is_announced_and_ctrl_y_copies_it(settings: Settings) -> None:
    url = "http://127.0.0.1:3000/trace/4bf92f3577b34da6a3ce929d0e0e4736"

    def run_event(seq: int, type_: EventType, **data: object) -> RunEvent:
        return RunEvent("r-traced", seq, type_, "t-traced", data)

    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        assert app.check_action("copy_trace", ()) is False  # nothing to copy yet
        app.post_message(RunEventReceived(run_event(1, "run.started", workflow="w", input={})))
        app.post_message(
            RunEventReceived(run_event(2, "run.completed", duration_ms=1.0, trace_url=url))
        )
        await wait_until(pilot, lambda: status(app) == "completed", what="the run's end")
        await notified(pilot, lambda n: url in str(n.message))
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.clipboard == url


@pytest.mark.asyncio
async def test_a_tracer_that_cannot_start_is_a_notification_not_a_silence(
    tui_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = tui_project / "config" / "experiment.yaml"
    body = yaml.safe_load(config.read_text())
    body["tracing"] = {"backends": ["langfuse"]}
    config.write_text(yaml.safe_dump(body))
    app = WorkbenchApp(load_settings(project_dir=tui_project))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot,
            lambda: any("langfuse is off" in str(n.message) for n in app._notifications),
            what="the tracing notification",
        )
        (note,) = [n for n in app._notifications if n.title == "Tracing"]
        assert "LANGFUSE_PUBLIC_KEY" in str(note.message) and note.severity == "warning"
