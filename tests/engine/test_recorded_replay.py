"""Recorded replay (issue 16): a tool-calling conversation is recorded as it runs (the
local OpenAI-compatible server as the model, a real MCP server process for the tools),
the model server is stopped, the workflow's code changes, and the replay from a
checkpoint answers every model and tool call from the recording: the same replies,
the new code's output, and a diff of the two branches that shows just that change. A
call the recording lacks fails its node naming it, or goes live when asked. On
SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine import (
    NotFoundError,
    RecordingSource,
    RunEvent,
    Runner,
    compare_replay,
    find_recording,
    load_settings,
    load_workflow,
    resolve_target,
)
from lgp_engine.timetravel import Change
from tests.providers.conftest import KEY, write_config
from tests.servers.openai_fake import FakeOpenAI
from tests.workflows import copy_workflows

REPO = Path(__file__).resolve().parents[2]
STDIO = {
    "command": sys.executable,
    "args": ["-m", "tests.servers.mcp_tools_server"],
    "cwd": str(REPO),
    "env": {"PYTHONDONTWRITEBYTECODE": "1"},
}
WORKFLOW = "recorded_tools.py"
TASK = {"task": "add two and three, and say when"}
SECRET = "sk-live-tool-argument-77"  # a secret the model passes to a tool
SCRIPT = (
    {
        "tool_calls": [{"name": "tools__add", "arguments": {"a": 2, "b": 3}}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 9},
    },
    {
        "tool_calls": [{"name": "tools__now", "arguments": {}}],
        "usage": {"prompt_tokens": 60, "completion_tokens": 7},
    },
    {
        "tool_calls": [{"name": "tools__echo", "arguments": {"text": "hi", "api_key": SECRET}}],
        "usage": {"prompt_tokens": 70, "completion_tokens": 8},
    },
    {"content": "2 + 3 = 5", "usage": {"prompt_tokens": 80, "completion_tokens": 6}},
)


@pytest.fixture
def model_server() -> Iterator[FakeOpenAI]:
    """A model server of this test's own, so the test can stop it."""
    server = FakeOpenAI.start(api_key=KEY)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The checkpointer section of the project's config."""
    if request.param == "postgres":
        return {"backend": "postgres", "dsn": request.getfixturevalue("postgres_dsn")}
    return {"backend": "sqlite", "path": ".lgp/checkpoints.db"}


def make_project(tmp_path: Path, server: FakeOpenAI, checkpointer: dict[str, Any]) -> Path:
    project = tmp_path / "project"
    copy_workflows(project / "workflows", WORKFLOW)
    write_config(
        project,
        "experiment",
        llm_providers={"ollama": {"base_url": server.base_url, "api_key": KEY, "max_retries": 0}},
        mcp_servers={"tools": STDIO},
        checkpointer=checkpointer,
    )
    return project


def edit(project: Path, old: str, new: str) -> None:
    path = project / "workflows" / WORKFLOW
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def loaded(project: Path) -> Any:
    return load_workflow(resolve_target(str(project / "workflows" / WORKFLOW)))


def of_type(events: list[RunEvent], type_: str) -> list[RunEvent]:
    return [e for e in events if e.type == type_]


def record(project: Path, server: FakeOpenAI) -> tuple[list[RunEvent], str]:
    """Run the conversation once, live; its events and the checkpoint before the agent."""
    server.script(*SCRIPT)
    with Runner.open(load_settings("experiment", project)) as runner:
        events = list(runner.start(loaded(project), TASK))
        assert events[-1].type == "run.completed", events[-1].data
        history = runner.store.history(events[0].thread_id)
    [before_helper] = [c.checkpoint_id for c in history if c.next == ("helper",)]
    assert len(server.requests()) == len(SCRIPT)
    return events, before_helper


def test_a_recorded_replay_answers_every_call_from_the_recording_after_a_code_change(
    tmp_path: Path, model_server: FakeOpenAI, backend: dict[str, Any]
) -> None:
    project = make_project(tmp_path, model_server, backend)
    events, checkpoint = record(project, model_server)
    original = events[-1].data["output"]
    thread = events[0].thread_id
    assert original["report"] == "ANSWER: 2 + 3 = 5" and original["checked"] == "42"
    live_now = [e.data["text"] for e in of_type(events, "tool.result") if e.data["tool"] == "now"]

    with Runner.open(load_settings("experiment", project)) as runner:
        kept = runner.runs.recordings(events[0].run_id)
    # what the run recorded: the tool list once, four model calls with their replies
    # and usage, the agent's three tool calls and the check node's own
    assert [(r["kind"], r["node"]) for r in kept] == [
        ("tools", "helper"),
        *[("model", "helper"), ("tool", "helper")] * 3,
        ("model", "helper"),
        ("tool", "check"),
    ]
    models = [r for r in kept if r["kind"] == "model"]
    assert models[0]["reply"]["tool_calls"][0]["name"] == "tools__add"
    assert models[3]["reply"]["content"] == "2 + 3 = 5"
    assert [m["usage"]["input_tokens"] for m in models] == [40, 60, 70, 80]
    assert [m["request"]["messages"][0]["role"] for m in models] == ["human"] * 4
    assert len(models[3]["request"]["messages"]) == 7  # the task, then 3 calls and results
    assert kept[2]["result"]["text"] == "5"
    # secrets are redacted as in events: the tool argument, and the echo of it
    echo = kept[6]
    assert echo["request"]["arguments"] == {"text": "hi", "api_key": "[redacted]"}
    assert models[2]["reply"]["tool_calls"][0]["args"]["api_key"] == "[redacted]"
    assert SECRET not in json.dumps(kept) and KEY not in json.dumps(kept)
    # a tool's schema describes values and holds none: its api_key property is kept
    # (redacted, the model would be offered a broken schema on a live fallback)
    listed = {t["name"]: t for t in kept[0]["tools"]}
    echo_schema = json.loads(listed["echo"]["input_schema"])
    assert echo_schema["properties"]["api_key"]["type"] == "string"

    # the model server goes away; the post-processing code changes
    model_server.stop()
    edit(
        project,
        "f\"ANSWER: {state['helper_output'].upper()}\"",
        "f\"answer (v2): {state['helper_output']}\"",
    )

    with Runner.open(load_settings("experiment", project)) as runner:
        source = find_recording(runner.store, runner.runs, thread, checkpoint)
        assert isinstance(source, RecordingSource)
        assert source.run_ids == (events[0].run_id,)
        assert (source.model_calls, source.tool_calls) == (4, 4)
        assert source.original_checkpoint == runner.store.history(thread, limit=1)[0].checkpoint_id
        replayed = list(runner.replay(loaded(project), thread, checkpoint, recorded=source))
        done = replayed[-1]
        assert done.type == "run.completed", done.data
        started = replayed[0].data
        assert started["replay_of"] == checkpoint
        assert started["recorded"]["runs"] == [events[0].run_id]
        # the recording's replies, the new code's output
        out = done.data["output"]
        assert out["helper_output"] == "2 + 3 = 5"
        assert out["report"] == "answer (v2): 2 + 3 = 5"
        assert out["checked"] == "42"
        # the tools were "called" again, answered from the recording (the time too)
        results = of_type(replayed, "tool.result")
        assert [(e.node, e.data["tool"], e.data["text"]) for e in results] == [
            ("helper", "add", "5"),
            ("helper", "now", live_now[0]),
            ("helper", "echo", "hi"),
            ("check", "add", "42"),
        ]
        # no new tokens, no cost; what the calls had cost is told apart
        assert "usage" not in done.data
        recorded_usage = done.data["recorded_usage"]
        assert (recorded_usage["calls"], recorded_usage["input_tokens"]) == (4, 250)
        assert recorded_usage["output_tokens"] == 30
        # the two branches differ by the code change only (message ids aside)
        diff = compare_replay(runner.store, runner.runs, source, done.run_id)
        assert diff.original_checkpoint == source.original_checkpoint
        assert diff.changes == [
            Change(
                "changed",
                "report",
                before="ANSWER: 2 + 3 = 5",
                after="answer (v2): 2 + 3 = 5",
            )
        ]
        assert diff.after["messages"][-1].content == "2 + 3 = 5"
        # the replay recorded what answered it: a recorded replay of the replay works too
        again = runner.runs.recordings(done.run_id)
        assert [r["kind"] for r in again].count("model") == 4
        assert all(r.get("replayed") for r in again if r["kind"] != "tools")
        # a second recorded replay still compares with the original branch, not the replay
        second = find_recording(runner.store, runner.runs, thread, checkpoint)
        assert second.run_ids == (events[0].run_id,)
        assert second.original_checkpoint == source.original_checkpoint
        # the end of a branch: nothing ran after it, nothing recorded answers a replay
        head = runner.store.history(thread, limit=1)[0].checkpoint_id
        with pytest.raises(NotFoundError) as caught:
            find_recording(runner.store, runner.runs, thread, head)
        assert caught.value.code == "nothing_after"


def test_a_call_the_recording_lacks_fails_its_node_or_goes_live_when_asked(
    tmp_path: Path, model_server: FakeOpenAI
) -> None:
    project = make_project(tmp_path, model_server, {"backend": "sqlite", "path": ".lgp/c.db"})
    events, checkpoint = record(project, model_server)
    thread = events[0].thread_id
    model_server.reset()
    # the agent's prompt changes: its first request is not the one recorded
    edit(
        project, '"max_tool_iterations": 4,', '"max_tool_iterations": 4, "prompt": "Task: {task}",'
    )
    with Runner.open(load_settings("experiment", project)) as runner:
        failed = list(runner.replay(loaded(project), thread, checkpoint, recorded=True))[-1]
        assert failed.type == "run.failed"
        assert failed.data["error_type"] == "RecordingMismatch"
        assert failed.data["node"] == "helper"
        message = failed.data["message"]
        assert message.startswith(
            "recorded replay: model call 1 of node 'helper' does not match the recording: "
            "message 1 (human) differs: recorded 'add two and three, and say when', "
            "now 'Task: add two and three, and say when'"
        ), message
        assert model_server.requests() == []  # nothing was sent

        # with live fallback the calls the recording lacks are made
        model_server.script({"content": "five"})
        live = list(
            runner.replay(loaded(project), thread, checkpoint, recorded=True, live_fallback=True)
        )
        assert live[-1].type == "run.completed", live[-1].data
        assert live[-1].data["output"]["report"] == "ANSWER: FIVE"
        assert len(model_server.requests()) == 1
        assert live[-1].data["usage"]["calls"] == 1  # the live call is spent and counted
        assert live[0].data["recorded"]["live_fallback"] is True

    # a tool call with other arguments than recorded
    edit(
        project, '"max_tool_iterations": 4, "prompt": "Task: {task}",', '"max_tool_iterations": 4,'
    )
    edit(project, '{"a": 40, "b": 2}', '{"a": 40, "b": 3}')
    with Runner.open(load_settings("experiment", project)) as runner:
        failed = list(runner.replay(loaded(project), thread, checkpoint, recorded=True))[-1]
        assert failed.type == "run.failed", failed.data
        assert failed.data["node"] == "check"
        assert failed.data["message"].startswith(
            "recorded replay: tool call 1 of node 'check' does not match the recording: "
            'tools.add was called with {"a": 40, "b": 2} in the recording, with '
            '{"a": 40, "b": 3} now'
        ), failed.data["message"]
        # the agent's calls before it were answered from the recording
        assert failed.data["recorded_usage"]["calls"] == 4


def test_a_thread_without_recordings_says_so(tmp_path: Path) -> None:
    project = tmp_path / "project"
    copy_workflows(project / "workflows", "tiny.py")
    write_config(project, "experiment")
    with Runner.open(load_settings("experiment", project)) as runner:
        workflow = load_workflow(resolve_target(str(project / "workflows" / "tiny.py")))
        events = list(runner.start(workflow, {"n": 1}))
        assert events[-1].type == "run.completed", events[-1].data
        thread = events[0].thread_id
        first = runner.store.history(thread)[-1].checkpoint_id
        with pytest.raises(NotFoundError) as caught:
            find_recording(runner.store, runner.runs, thread, first)
        assert caught.value.code == "no_recording"
        assert f"thread {thread} has no recorded model or tool calls" in str(caught.value)
        with pytest.raises(NotFoundError):
            list(runner.replay(workflow, thread, first, recorded=True))
