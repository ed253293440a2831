"""A run store holding Claude Code sessions as a Claude Code node records them, with
figures chosen so that every sum is known (``lgp agents`` and
:mod:`lgp_engine.agent_sessions` are checked against the same numbers).

Run A (completed) holds two sessions whose events interleave: S1 (role ``coder``,
node ``code``) reads a file and runs a command that fails; S2 (``reviewer``,
``review``, under a subscription: it counts $0) greps. Run B (failed) resumes S1 in
place: a command, then a read that never answers, and the invocation ends
``stalled``. Run C (failed) holds one invocation that crashed before the CLI
reported a session id. Times are offsets in seconds from :data:`T0`.

    store = RunStore(path)
    seed(store)
    assert agent_metrics(...).total_tokens == S1_TOTALS["total_tokens"]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lgp_engine.events import RunEvent
from lgp_engine.runs import RunStore
from lgp_engine.status import RunStatus

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
THREAD = "t-agents"
WORKFLOW = "coder"
REPOSITORY = "/work/repo"
MODEL = "claude-sonnet-4-5"
S1 = "5b1f0c2e-7a44-4d0b-9c31-6e2f8a1d4b01"
S2 = "5b1f0c9a-13e8-4a6f-8d52-0b7c9e3f2a02"  # shares "5b1f0c" with S1
RUN_A = "7e3c1a90-4f2b-4c1d-8e6a-2d9b5f0c1a0a"
RUN_B = "7e3c1a90-9d51-4b7e-a3f4-6c8e0b2d4f0b"  # shares "7e3c1a90" with RUN_A
RUN_C = "c4d2e8f6-0a1b-4c3d-9e5f-7a8b9c0d1e0c"

# Who records what: (role, node) of each session.
CODER = ("coder", "code")
REVIEWER = ("reviewer", "review")

# One event of a script: offset from T0, type, session id, (role, node), payload fields.
Step = tuple[float, str, str, tuple[str, str], dict[str, Any]]


def init(resumed: str | None = None) -> dict[str, Any]:
    return {
        "model": MODEL,
        "tools": ["Bash", "Read", "Edit", "Grep"],
        "cwd": REPOSITORY,
        "repository": REPOSITORY,
        "resumed": resumed,
        "forked": False,
        "via": "cli",
    }


def use(tool: str, tool_use_id: str, **tool_input: Any) -> dict[str, Any]:
    return {"tool": tool, "tool_use_id": tool_use_id, "input": tool_input}


def answer(
    tool_use_id: str, text: str, *, tool: str | None = None, error: bool = False
) -> dict[str, Any]:
    return {
        "tool": tool,
        "tool_use_id": tool_use_id,
        "is_error": error,
        "size": len(text),
        "text": text,
    }


def result(
    usage: tuple[int, int, int, int],
    *,
    cost: float,
    reported: float,
    turns: int,
    duration_ms: float,
    api_ms: float,
    tools: dict[str, int],
    tool_errors: int = 0,
    denials: int = 0,
    events: int,
    kind: str | None = None,
    text: str = "Done.",
) -> dict[str, Any]:
    """An ``agent.result``; ``usage``: input, output, cache read, cache write tokens."""
    tokens = dict(
        zip(
            ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"),
            usage,
            strict=True,
        )
    )
    return {
        "subtype": "error_during_execution" if kind else "success",
        "is_error": kind is not None,
        "kind": kind,
        "turns": turns,
        "duration_ms": duration_ms,
        "duration_api_ms": api_ms,
        "usage": {**tokens, "total_tokens": sum(usage)},
        "total_cost_usd": reported,
        "cost_usd": cost,
        "cost_model": "reported" if cost else "subscription",
        "model": MODEL,
        "tool_calls": sum(tools.values()),
        "tools": tools,
        "tool_errors": tool_errors,
        "permission_denials": denials,
        "events": events,
        "text": text,
    }


RUN_A_STEPS: list[Step] = [
    (0.0, "agent.init", S1, CODER, init()),
    (0.5, "agent.init", S2, REVIEWER, init()),
    (1.0, "agent.message", S1, CODER, {"text": "Reading the failing test first.\nThen fix."}),
    (1.5, "agent.tool_use", S1, CODER, use("Read", "toolu_01", file_path="tests/test_x.py")),
    (2.0, "agent.tool_use", S2, REVIEWER, use("Grep", "toolu_02", pattern="TODO")),
    (2.5, "agent.tool_result", S1, CODER, answer("toolu_01", "x" * 1200, tool="Read")),
    (3.0, "agent.tool_result", S2, REVIEWER, answer("toolu_02", "src/a.py:3: TODO")),
    (3.5, "agent.tool_use", S1, CODER, use("Bash", "toolu_03", command="pytest -q")),
    (5.5, "agent.tool_result", S1, CODER, answer("toolu_03", "exit code 1\nFAILED", error=True)),
    (6.0, "agent.message", S2, REVIEWER, {"text": "One TODO left."}),
    (
        6.5,
        "agent.result",
        S2,
        REVIEWER,
        result(
            (600, 100, 0, 200),
            cost=0.0,
            reported=0.0025,
            turns=2,
            duration_ms=6000,
            api_ms=4000,
            tools={"Grep": 1},
            denials=2,
            events=8,
        ),
    ),
    (
        8.0,
        "agent.result",
        S1,
        CODER,
        result(
            (1000, 200, 5000, 300),
            cost=0.0125,
            reported=0.0125,
            turns=3,
            duration_ms=8000,
            api_ms=5000,
            tools={"Read": 1, "Bash": 1},
            tool_errors=1,
            events=14,
        ),
    ),
]
RUN_B_STEPS: list[Step] = [
    (100.0, "agent.init", S1, CODER, init(resumed=S1)),
    (101.0, "agent.tool_use", S1, CODER, use("Bash", "toolu_04", command="git diff")),
    (101.5, "agent.tool_result", S1, CODER, answer("toolu_04", "diff --git a/x", tool="Bash")),
    (102.0, "agent.tool_use", S1, CODER, use("Read", "toolu_05", file_path="src/x.py")),
    (
        120.0,
        "agent.result",
        S1,
        CODER,
        result(
            (400, 50, 2000, 0),
            cost=0.005,
            reported=0.005,
            turns=1,
            duration_ms=20000,
            api_ms=1500,
            tools={"Bash": 1, "Read": 1},
            denials=1,
            events=6,
            kind="stalled",
            text="no output for 15 s\nthe CLI was stopped",
        ),
    ),
]
RUN_C_STEPS: list[Step] = [
    (
        200.0,
        "agent.result",
        "",
        CODER,
        result(
            (0, 0, 0, 0),
            cost=0.0,
            reported=0.0,
            turns=0,
            duration_ms=300,
            api_ms=0,
            tools={},
            events=0,
            kind="crashed",
            text="claude exited with code 137",
        ),
    ),
]

# The figures of S1 over its two invocations (run A, then run B).
S1_TOTALS = {
    "invocations": 2,
    "turns": 4,
    "input_tokens": 1400,
    "output_tokens": 250,
    "cache_read_tokens": 7000,
    "cache_write_tokens": 300,
    "total_tokens": 8950,
    "cost_usd": 0.0175,
    "reported_cost_usd": 0.0175,
    "tool_calls": 4,
    "tools": {"Bash": 2, "Read": 2},
    "tool_errors": 1,
    "permission_denials": 1,
    "duration_ms": 28000.0,
    "duration_api_ms": 6500.0,
    "wall_ms": 120000.0,  # its first event at T0, its last at T0 + 120
    "events": 12,
    "stream_messages": 20,
    "events_per_second": 0.1,  # 12 events over 120 s
}
# The figures of every agent event of run A (S1's first invocation and S2).
RUN_A_TOTALS = {
    "invocations": 2,
    "turns": 5,
    "input_tokens": 1600,
    "output_tokens": 300,
    "cache_read_tokens": 5000,
    "cache_write_tokens": 500,
    "total_tokens": 7400,
    "cost_usd": 0.0125,
    "reported_cost_usd": 0.015,
    "tool_calls": 3,
    "tools": {"Bash": 1, "Grep": 1, "Read": 1},
    "tool_errors": 1,
    "permission_denials": 2,
    "duration_ms": 14000.0,
    "duration_api_ms": 9000.0,
    "wall_ms": 8000.0,
    "events": 12,
    "stream_messages": 22,
    "events_per_second": 1.5,  # 12 events over 8 s
}


def agent_event(run_id: str, seq: int, step: Step) -> RunEvent:
    """The ``agent.*`` event of one step of a script."""
    offset, type_, session, (role, node), fields = step
    data = {"node": node, "path": [], "role": role, "session_id": session, **fields}
    return RunEvent(run_id, seq, type_, THREAD, data, node=node, ts=T0 + offset)


def start_run(store: RunStore, run_id: str, offset: float) -> int:
    """Record a running run and its ``run.started``; the seq of that event."""
    store.create(run_id, THREAD, WORKFLOW, status=RunStatus.RUNNING)
    data = {"workflow": WORKFLOW, "input": {}, "thread_id": THREAD, "checkpoint_id": None}
    store.append(RunEvent(run_id, 1, "run.started", THREAD, data, ts=T0 + offset))
    return 1


def append_steps(store: RunStore, run_id: str, steps: Sequence[Step], after_seq: int) -> int:
    """Append the steps' events after ``after_seq``; the seq of the last one."""
    for seq, step in enumerate(steps, after_seq + 1):
        store.append(agent_event(run_id, seq, step))
    return after_seq + len(steps)


def end_run(store: RunStore, run_id: str, seq: int, offset: float, *, failed: bool) -> None:
    """Append the run's terminal event at ``seq`` and record its end."""
    if failed:
        data: dict[str, Any] = {"error_type": "AgentError", "message": "stalled", "node": "code"}
        store.append(RunEvent(run_id, seq, "run.failed", THREAD, data, ts=T0 + offset))
        store.transition(run_id, RunStatus.FAILED, error=data)
    else:
        store.append(RunEvent(run_id, seq, "run.completed", THREAD, {"output": {}}, ts=T0 + offset))
        store.transition(run_id, RunStatus.COMPLETED)


def seed(store: RunStore) -> None:
    """Runs A, B and C (see the module's docstring), oldest first."""
    for run_id, steps, failed in (
        (RUN_A, RUN_A_STEPS, False),
        (RUN_B, RUN_B_STEPS, True),
        (RUN_C, RUN_C_STEPS, True),
    ):
        first, last = steps[0][0], steps[-1][0]
        seq = append_steps(store, run_id, steps, start_run(store, run_id, first - 0.25))
        end_run(store, run_id, seq + 1, last + 0.25, failed=failed)
