"""What ``lgp run`` prints of a Claude Code session (``agent.*`` events) between its
node's start and end, plain and ``--verbose``; ``--json`` and ``lgp events`` carry
the same events whole."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lgp_engine import RunEvent, load_settings
from lgp_engine.cli.common import print_events
from lgp_engine.cli.console import RunPrinter
from lgp_engine.cli.inspection import events as events_command
from lgp_engine.events import EventType
from lgp_engine.runs import RunStore
from tests.agent_session import MESSAGE, session_events

SESSION_LINES = [
    "    ◇ coder: Claude Code session 1a2b3c4d (claude-sonnet-4-5) in /src/app [resumed]",
    "    💬 coder: I'll add a failing test first. ⏎ Then the fix in app/core.py. " + "x" * 57 + "…",
    '    🔧 coder: Write {"file_path": "tests/test_core.py"}',
    "    ← Write (48 B)",
    '    🔧 coder: Bash {"command": "pytest -q"}',
    "    ✗ Bash error: Exit code 1 ⏎ 1 failed",
    "    ■ coder: 3 turns, 2 tool calls, 1 tool error, 1,234 in / 56 out tokens, $0.0123 (12.35s)",
    "    ◇ coder: Claude Code session 9f8e7d6c (claude-sonnet-4-5) in /src/app"
    " [forked from 1a2b3c4d] [via MCP] [worktree /src/app-wt]",
    "    ✗ coder: stalled after 1 turn, 1 tool call, 2 permission denials,"
    " 1,234 in / 56 out tokens, $0.00 [subscription: $0.004000 reported] (95.00s):"
    " no output for 90 s; the session was stopped",
]


def printed(events: list[RunEvent], *, verbose: bool = False) -> list[str]:
    """The lines ``lgp run`` prints for ``events``, without the ``[lgp] `` prefix."""
    out = io.StringIO()
    printer = RunPrinter(out, verbose=verbose)
    for event in events:
        printer.event(event)
    lines = out.getvalue().splitlines()
    assert all(line.startswith("[lgp] ") for line in lines)
    return [line.removeprefix("[lgp] ") for line in lines]


def node_event(seq: int, type_: EventType, **data: object) -> RunEvent:
    return RunEvent(run_id="r1", seq=seq, type=type_, thread_id="t1", node="implement", data=data)


def test_a_session_reads_as_lines_under_its_node() -> None:
    agent = session_events()
    started = node_event(0, "node.started", path=[])
    finished = node_event(len(agent) + 1, "node.finished", path=[], duration_ms=107_345.0)
    lines = printed([started, *agent, finished])
    assert lines == [*SESSION_LINES, "  ✓ implement (107345.0 ms)"]


def test_verbose_shows_whole_texts_and_the_details_of_a_session() -> None:
    lines = printed(session_events(), verbose=True)
    first, rest = MESSAGE.splitlines()
    assert lines[:4] == [
        SESSION_LINES[0],
        "      tools: Read, Write, Bash; permission mode: acceptEdits; cwd: /src/app/pkg",
        f"    💬 coder: {first}",
        f"       {rest}",  # the whole message, its own spacing kept
    ]
    assert "    ← Write (48 B) File created successfully at: tests/test_core.py" in lines
    ended = lines.index(SESSION_LINES[6])
    assert lines[ended + 1] == (
        "      session 1a2b3c4d · claude-sonnet-4-5 · calls: Write 1, Bash 1"
        " · cache 20,000 read / 500 written · 42 stream events"
    )
    assert lines[-1] == (
        "      session 9f8e7d6c · claude-sonnet-4-5 · calls: Bash 1"
        " · cache 20,000 read / 500 written · 9 stream events"
    )


def test_json_prints_each_event_whole(capsys: pytest.CaptureFixture[str]) -> None:
    agent = session_events()
    assert print_events(iter(agent), as_json=True, verbose=False) == 0
    lines = capsys.readouterr().out.splitlines()
    parsed = [RunEvent.from_dict(json.loads(line)) for line in lines]
    assert [(e.seq, e.type, e.node, e.data) for e in parsed] == [
        (e.seq, e.type, e.node, e.data) for e in agent
    ]


def test_lgp_events_lists_a_session_from_the_run_store(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(project_dir=project)
    store = RunStore(settings.resolve(settings.checkpointer.path))
    try:
        store.create("run-agent-1", "t1", "coder_flow")
        for event in session_events("run-agent-1"):
            store.append(event)
    finally:
        store.close()
    monkeypatch.chdir(project)
    runner = CliRunner()

    as_json = runner.invoke(events_command, ["run-agent-1", "--json"])
    assert as_json.exit_code == 0, as_json.output
    got = [json.loads(line) for line in as_json.output.splitlines()]
    assert [e["type"] for e in got] == [e.type for e in session_events()]
    assert got[-1]["data"]["kind"] == "stalled"

    listed = runner.invoke(events_command, ["run-agent-1"])
    assert listed.exit_code == 0, listed.output
    rows = listed.output.splitlines()
    assert len(rows) == len(got)
    # the type column fits the longest type, so the node names line up
    assert len({row.index(" implement {") for row in rows}) == 1
