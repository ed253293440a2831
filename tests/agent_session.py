"""The events of Claude Code sessions in one node, shaped as the engine declares them
(``lgp_engine.events``: ``AgentInitData`` ... ``AgentResultData``), for the tests of
what the CLI and the workbench show of them without running the CLI.

The ``implement`` node runs the ``coder`` role twice: a session resumed in place that
writes a test, fails a command and succeeds; then a session forked from it, through
MCP in a worktree, that stalls. Ids are those of the CLI (uuids, ``toolu_...``).
"""

from __future__ import annotations

from typing import Any

from lgp_engine import RunEvent
from lgp_engine.events import (
    AgentInitData,
    AgentMessageData,
    AgentResultData,
    AgentToolResultData,
    AgentToolUseData,
    AgentUsage,
    EventType,
)

NODE = "implement"
SESSION = "1a2b3c4d-5e6f-4081-92a3-b4c5d6e7f809"
FORK = "9f8e7d6c-5b4a-4321-8fed-cba987654321"
MESSAGE = "I'll add a failing test first.\nThen the fix in   app/core.py. " + "x" * 150
WRITTEN = "File created successfully at: tests/test_core.py"  # 48 bytes
USAGE: AgentUsage = {
    "input_tokens": 1234,
    "output_tokens": 56,
    "cache_read_tokens": 20_000,
    "cache_write_tokens": 500,
    "total_tokens": 21_790,
}


def _init(session: str, resumed: str, *, forked: bool) -> AgentInitData:
    data: AgentInitData = {
        "node": NODE,
        "path": [],
        "role": "coder",
        "session_id": session,
        "model": "claude-sonnet-4-5",
        "tools": ["Read", "Write", "Bash"],
        "cwd": "/src/app/pkg",
        "repository": "/src/app",
        "resumed": resumed,
        "forked": forked,
        "via": "mcp" if forked else "cli",
        "permission_mode": "acceptEdits",
    }
    if forked:
        data["worktree"] = "/src/app-wt"
    return data


def _message(text: str) -> AgentMessageData:
    return {"node": NODE, "path": [], "role": "coder", "session_id": SESSION, "text": text}


def _tool_use(tool: str, call: str, input_: dict[str, Any]) -> AgentToolUseData:
    return {
        "node": NODE,
        "path": [],
        "role": "coder",
        "session_id": SESSION,
        "tool": tool,
        "tool_use_id": call,
        "input": input_,
    }


def _tool_result(tool: str, call: str, text: str, *, is_error: bool) -> AgentToolResultData:
    return {
        "node": NODE,
        "path": [],
        "role": "coder",
        "session_id": SESSION,
        "tool": tool,
        "tool_use_id": call,
        "is_error": is_error,
        "size": len(text.encode()) if not is_error else 2345,
        "text": text,
    }


def _result(*, stalled: bool) -> AgentResultData:
    return {
        "node": NODE,
        "path": [],
        "role": "coder",
        "session_id": FORK if stalled else SESSION,
        "subtype": "error_during_execution" if stalled else "success",
        "is_error": stalled,
        "kind": "stalled" if stalled else None,
        "turns": 1 if stalled else 3,
        "duration_ms": 95_000.0 if stalled else 12_345.0,
        "duration_api_ms": None if stalled else 11_000.0,
        "usage": USAGE,
        "total_cost_usd": 0.004 if stalled else 0.0123,
        "cost_usd": 0.0 if stalled else 0.0123,  # the fork runs under a subscription
        "cost_model": "subscription" if stalled else "reported",
        "model": "claude-sonnet-4-5",
        "tool_calls": 1 if stalled else 2,
        "tools": {"Bash": 1} if stalled else {"Write": 1, "Bash": 1},
        "tool_errors": 0 if stalled else 1,
        "permission_denials": 2 if stalled else 0,
        "events": 9 if stalled else 42,
        "text": "no output for 90 s; the session was stopped" if stalled else "Done.",
    }


def session_events(
    run_id: str = "r1", thread_id: str = "t1", *, node: str = NODE, first_seq: int = 1
) -> list[RunEvent]:
    """Both sessions' events in order, numbered from ``first_seq``, in ``node``."""
    payloads: list[tuple[EventType, Any]] = [
        ("agent.init", _init(SESSION, SESSION, forked=False)),
        ("agent.message", _message(MESSAGE)),
        ("agent.tool_use", _tool_use("Write", "toolu_01", {"file_path": "tests/test_core.py"})),
        ("agent.tool_result", _tool_result("Write", "toolu_01", WRITTEN, is_error=False)),
        ("agent.tool_use", _tool_use("Bash", "toolu_02", {"command": "pytest -q"})),
        (
            "agent.tool_result",
            _tool_result("Bash", "toolu_02", "Exit code 1\n1 failed", is_error=True),
        ),
        ("agent.result", _result(stalled=False)),
        ("agent.init", _init(FORK, SESSION, forked=True)),
        ("agent.result", _result(stalled=True)),
    ]
    return [
        RunEvent(
            run_id=run_id,
            seq=seq,
            type=type_,
            thread_id=thread_id,
            data={**data, "node": node},
            node=node,
        )
        for seq, (type_, data) in enumerate(payloads, first_seq)
    ]
