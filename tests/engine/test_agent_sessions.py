"""Claude Code sessions read back from a real SQLite run store
(:mod:`lgp_engine.agent_sessions`): the store of ``tests/agent_store.py``, whose
figures are known, plus runs still going for the live cases."""

from __future__ import annotations

import dataclasses
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from lgp_engine import (
    AGENT_EVENT_TYPES,
    agent_errors,
    agent_metrics,
    agent_summary,
    agent_timeline,
    agent_tool_calls,
    follow_agent_activity,
    latest_agent_session,
    list_agent_sessions,
    resolve_agent_activity,
)
from lgp_engine.errors import AmbiguousError, NotFoundError
from lgp_engine.events import RunEvent
from lgp_engine.runs import RunStore
from lgp_engine.status import RunStatus
from tests.agent_store import (
    CODER,
    MODEL,
    REPOSITORY,
    REVIEWER,
    RUN_A,
    RUN_A_STEPS,
    RUN_A_TOTALS,
    RUN_B,
    RUN_C,
    S1,
    S1_TOTALS,
    S2,
    T0,
    THREAD,
    WORKFLOW,
    Step,
    answer,
    append_steps,
    end_run,
    init,
    seed,
    start_run,
    use,
)

RUN_D = "d9e8f7a6-5b4c-4d3e-8f2a-1b0c9d8e7f0d"
S3 = "0f0e0d0c-0b0a-4909-8807-060504030201"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / ".lgp" / "checkpoints.db"


@pytest.fixture
def store(db: Path) -> Iterator[RunStore]:
    """The seeded store (runs A, B and C)."""
    s = RunStore(db)
    seed(s)
    yield s
    s.close()


def steps_of_s3(*offsets: float) -> list[Step]:
    """A session S3 that starts and calls Bash (no result: it is still running)."""
    init_at, use_at = offsets
    return [
        (init_at, "agent.init", S3, CODER, init()),
        (use_at, "agent.tool_use", S3, CODER, use("Bash", "toolu_31", command="make test")),
    ]


# --------------------------------------------------------------------------- the store


def test_events_of_types_spans_runs_in_time_order_with_their_thread(
    store: RunStore, db: Path
) -> None:
    inits = store.events_of_types(["agent.init"])
    assert [(e.run_id, e.data["session_id"], e.ts - T0) for e in inits] == [
        (RUN_A, S1, 0.0),
        (RUN_A, S2, 0.5),
        (RUN_B, S1, 100.0),
    ]
    assert {e.thread_id for e in inits} == {THREAD}
    ends = store.events_of_types(["agent.result", "run.failed"], since=T0 + 100)
    assert [(e.run_id, e.type) for e in ends] == [
        (RUN_B, "agent.result"),
        (RUN_B, "run.failed"),
        (RUN_C, "agent.result"),
        (RUN_C, "run.failed"),
    ]
    of_a = store.events_of_types(AGENT_EVENT_TYPES, run_ids=[RUN_A])
    assert [e.seq for e in of_a] == list(range(2, 2 + len(RUN_A_STEPS)))  # run.started is 1
    assert store.events_of_types(AGENT_EVENT_TYPES, run_ids=[]) == []
    assert store.events_of_types([]) == []
    with closing(sqlite3.connect(db)) as conn:
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(lgp_events)")}
    assert "lgp_events_type" in indexes


# --------------------------------------------------------------------------- sessions


def test_sessions_are_listed_most_recently_active_first(store: RunStore) -> None:
    s1, s2 = list_agent_sessions(store)
    assert dataclasses.asdict(s1) == {
        "session_id": S1,
        "role": "coder",
        "node": "code",
        "run_ids": (RUN_A, RUN_B),
        "thread_id": THREAD,
        "workflow": WORKFLOW,
        "repository": REPOSITORY,
        "model": MODEL,
        "started": T0,
        "ended": T0 + 120,
        "status": "stalled",  # its last invocation stalled
        "invocations": 2,
        "turns": 4,
        "tool_calls": 4,
        "cost_usd": 0.0175,
    }
    assert (s2.session_id, s2.role, s2.node, s2.run_ids) == (S2, "reviewer", "review", (RUN_A,))
    assert (s2.status, s2.turns, s2.tool_calls, s2.cost_usd) == ("ok", 2, 1, 0.0)
    assert (s2.started, s2.ended) == (T0 + 0.5, T0 + 6.5)
    assert [s.session_id for s in list_agent_sessions(store, limit=1)] == [S1]
    assert latest_agent_session(store).id == S1


def test_a_session_still_running_counts_its_tool_calls_from_its_events(store: RunStore) -> None:
    seq = append_steps(store, RUN_D, steps_of_s3(300, 301), start_run(store, RUN_D, 299))
    newest = list_agent_sessions(store)[0]
    assert (newest.session_id, newest.status, newest.ended) == (S3, "running", None)
    assert (newest.tool_calls, newest.turns, newest.invocations) == (1, 0, 1)
    summary = agent_summary(resolve_agent_activity(store, S3))
    assert (summary.status, summary.run_status, summary.ended) == ("running", "running", None)
    assert summary.metrics.tools == {"Bash": 1}
    end_run(store, RUN_D, seq + 1, 302, failed=False)  # ended without its result
    assert list_agent_sessions(store)[0].status == "unfinished"


def test_no_session_recorded_is_not_found(db: Path) -> None:
    with closing(RunStore(db)) as empty:
        assert list_agent_sessions(empty) == []
        with pytest.raises(NotFoundError) as info:
            latest_agent_session(empty)
    assert info.value.code == "no_agent_sessions"


# --------------------------------------------------------------------------- resolving


@pytest.mark.parametrize(
    ("ref", "target", "found"),
    [
        (S1, "session", S1),
        ("5b1f0c2e", "session", S1),
        (S2[:9], "session", S2),
        (RUN_A, "run", RUN_A),
        ("7e3c1a90-9d", "run", RUN_B),
        ("c4d2e8", "run", RUN_C),
    ],
)
def test_a_session_or_run_is_found_by_id_or_unique_prefix(
    store: RunStore, ref: str, target: str, found: str
) -> None:
    activity = resolve_agent_activity(store, ref)
    assert (activity.target, activity.id) == (target, found)


def test_a_session_spans_its_runs_and_a_run_holds_its_sessions(store: RunStore) -> None:
    session = resolve_agent_activity(store, S1)
    assert session.run_ids == (RUN_A, RUN_B)
    assert session.newest_run.run_id == RUN_B
    assert {e.data["session_id"] for e in session.events} == {S1}
    assert [e.ts - T0 for e in session.events][:3] == [0.0, 1.0, 1.5]  # time order
    run = resolve_agent_activity(store, RUN_A)
    assert run.run_ids == (RUN_A,)
    assert [e.ts - T0 for e in run.events] == [step[0] for step in RUN_A_STEPS]
    crashed = resolve_agent_activity(store, RUN_C)
    assert [(e.type, e.data["session_id"]) for e in crashed.events] == [("agent.result", "")]


@pytest.mark.parametrize("ref", ["nope-nope", "5b1f0", "7e3c", S1 + "x", ""])
def test_an_unknown_id_or_a_short_prefix_is_not_found(store: RunStore, ref: str) -> None:
    with pytest.raises(NotFoundError) as info:
        resolve_agent_activity(store, ref)
    assert (info.value.code, info.value.details["ref"]) == ("unknown_agent_target", ref)


@pytest.mark.parametrize(
    ("prefix", "sessions", "runs"), [("5b1f0c", [S1, S2], 0), ("7e3c1a90", [], 2)]
)
def test_a_prefix_of_several_ids_is_ambiguous(
    store: RunStore, prefix: str, sessions: list[str], runs: int
) -> None:
    with pytest.raises(AmbiguousError) as info:
        resolve_agent_activity(store, prefix)
    error = info.value
    assert error.code == "ambiguous_agent_target"
    assert error.details == {"ref": prefix, "sessions": sessions, "runs": runs}


def test_a_prefix_of_a_session_and_of_a_run_is_ambiguous(store: RunStore) -> None:
    start_run(store, S1[:8] + "-0000-4000-8000-000000000000", 400)
    with pytest.raises(AmbiguousError) as info:
        resolve_agent_activity(store, S1[:8])
    assert info.value.details == {"ref": S1[:8], "sessions": [S1], "runs": 1}
    assert resolve_agent_activity(store, S1[:10]).id == S1  # "5b1f0c2e-7": S1 alone


# --------------------------------------------------------------------------- figures


def test_metrics_of_a_session_sum_its_invocations_across_runs(store: RunStore) -> None:
    figures = agent_metrics(resolve_agent_activity(store, S1).events)
    assert dataclasses.asdict(figures) == S1_TOTALS


def test_metrics_of_a_run_sum_its_interleaved_sessions(store: RunStore) -> None:
    figures = agent_metrics(resolve_agent_activity(store, RUN_A).events)
    assert dataclasses.asdict(figures) == RUN_A_TOTALS
    assert list(figures.tools) == ["Bash", "Grep", "Read"]  # most called, then by name


def test_tool_calls_by_tool_with_errors_and_durations(store: RunStore) -> None:
    session = agent_tool_calls(resolve_agent_activity(store, S1).events)
    assert (session.calls, session.errors) == (4, 1)
    assert [dataclasses.astuple(t) for t in session.by_tool] == [
        # tool, calls, errors, answered, mean ms, max ms (toolu_05 never answered)
        ("Bash", 2, 1, 2, 1250.0, 2000.0),
        ("Read", 2, 0, 1, 1000.0, 1000.0),
    ]
    run = agent_tool_calls(resolve_agent_activity(store, RUN_A).events)
    assert [(t.tool, t.calls, t.errors, t.max_ms) for t in run.by_tool] == [
        ("Bash", 1, 1, 2000.0),
        ("Grep", 1, 0, 1000.0),  # its result names no tool: the call's is used
        ("Read", 1, 0, 1000.0),
    ]


def test_errors_list_failed_tool_calls_and_invocations(store: RunStore) -> None:
    report = agent_errors(resolve_agent_activity(store, S1).events)
    assert (report.tool_errors, report.failed_invocations, report.permission_denials) == (1, 1, 1)
    tool, stalled = report.errors
    assert (tool.source, tool.tool, tool.kind, tool.offset_s, tool.run_id) == (
        "tool",
        "Bash",
        None,
        5.5,
        RUN_A,
    )
    assert tool.text == "exit code 1 …"
    assert (stalled.source, stalled.kind, stalled.offset_s, stalled.run_id, stalled.node) == (
        "invocation",
        "stalled",
        120.0,
        RUN_B,
        "code",
    )
    crashed = agent_errors(resolve_agent_activity(store, RUN_C).events)
    [entry] = crashed.errors
    assert (entry.session_id, entry.kind, entry.text) == (
        "",
        "crashed",
        "claude exited with code 137",
    )


def test_the_timeline_gives_offsets_and_what_each_event_says(store: RunStore) -> None:
    entries = agent_timeline(resolve_agent_activity(store, S1).events)
    assert [(e.offset_s, e.type.removeprefix("agent."), e.text) for e in entries] == [
        (0.0, "init", f"started: {MODEL}, 4 tools, in {REPOSITORY}"),
        (1.0, "message", "Reading the failing test first. …"),
        (1.5, "tool_use", "Read tests/test_x.py"),
        (2.5, "tool_result", "Read returned 1,200 chars after 1.00s"),
        (3.5, "tool_use", "Bash pytest -q"),
        (5.5, "tool_result", "Bash failed after 2.00s: exit code 1 …"),
        (8.0, "result", "ok: 3 turns, 2 tool calls, $0.0125, 8.00s"),
        (100.0, "init", f"resumed: {MODEL}, 4 tools, in {REPOSITORY}"),
        (101.0, "tool_use", "Bash git diff"),
        (101.5, "tool_result", "Bash returned 14 chars after 500 ms"),
        (102.0, "tool_use", "Read src/x.py"),
        (120.0, "result", "stalled: no output for 15 s …"),
    ]
    assert {(e.session_id, e.role, e.node) for e in entries} == {(S1, "coder", "code")}


# --------------------------------------------------------------------------- summaries


def test_summary_of_a_session(store: RunStore) -> None:
    summary = agent_summary(resolve_agent_activity(store, S1))
    assert (summary.target, summary.id, summary.status, summary.run_status) == (
        "session",
        S1,
        "stalled",
        "failed",
    )
    assert (summary.run_ids, summary.thread_id, summary.workflow) == (
        (RUN_A, RUN_B),
        THREAD,
        WORKFLOW,
    )
    assert (summary.started, summary.ended) == (T0, T0 + 120)
    assert (summary.invocations, summary.failures, summary.unassigned_events) == (
        2,
        {"stalled": 1},
        0,
    )
    assert [s.session_id for s in summary.sessions] == [S1]
    assert dataclasses.asdict(summary.metrics) == S1_TOTALS


def test_summary_of_a_run_with_two_sessions_and_of_one_without_any(store: RunStore) -> None:
    run = agent_summary(resolve_agent_activity(store, RUN_A))
    assert (run.target, run.status, run.run_status, run.invocations) == (
        "run",
        "ok",
        "completed",
        2,
    )
    # each session as it went in this run (S1 stalled later, in run B)
    assert [(s.session_id, s.status, s.run_ids) for s in run.sessions] == [
        (S1, "ok", (RUN_A,)),
        (S2, "ok", (RUN_A,)),
    ]
    assert dataclasses.asdict(run.metrics) == RUN_A_TOTALS
    crashed = agent_summary(resolve_agent_activity(store, RUN_C))
    assert (crashed.status, crashed.sessions, crashed.unassigned_events) == ("crashed", (), 1)
    assert crashed.failures == {"crashed": 1}
    start_run(store, RUN_D, 500)
    waiting = agent_summary(resolve_agent_activity(store, RUN_D))
    assert (waiting.status, waiting.started, waiting.metrics.events) == ("waiting", None, 0)


# --------------------------------------------------------------------------- following


def test_following_an_ended_run_gives_its_events_and_stops(store: RunStore) -> None:
    activity = resolve_agent_activity(store, RUN_A)
    followed = list(follow_agent_activity(store, activity, poll_seconds=0.01))
    assert followed == list(activity.events)


def test_following_a_run_waits_for_its_node_then_stops_at_its_end(db: Path) -> None:
    writer = RunStore(db)
    seq = start_run(writer, RUN_D, 0)
    reader = RunStore(db)  # another connection, like `lgp agents watch` in a terminal
    activity = resolve_agent_activity(reader, RUN_D)
    assert activity.events == ()
    steps = steps_of_s3(1, 2)
    got: list[RunEvent] = []
    arrived = threading.Event()

    def consume() -> None:
        for event in follow_agent_activity(reader, activity, poll_seconds=0.01):
            got.append(event)
            arrived.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    seq = append_steps(writer, RUN_D, steps[:1], seq)
    assert arrived.wait(10), "the first event did not come"
    seq = append_steps(writer, RUN_D, steps[1:], seq)
    writer.append(RunEvent(RUN_D, seq + 1, "node.finished", THREAD, {"node": "code"}))
    end_run(writer, RUN_D, seq + 2, 3, failed=False)
    consumer.join(10)
    assert not consumer.is_alive()
    assert [(e.type, e.seq) for e in got] == [("agent.init", 2), ("agent.tool_use", 3)]
    writer.close()
    reader.close()


def test_following_a_resumed_run_does_not_stop_at_its_earlier_interrupt(db: Path) -> None:
    writer = RunStore(db)
    seq = append_steps(writer, RUN_D, steps_of_s3(1, 2)[:1], start_run(writer, RUN_D, 0))
    seq += 1
    interrupt = {"interrupts": [], "node": "code", "output": {}, "duration_ms": 1.0}
    writer.append(RunEvent(RUN_D, seq, "interrupt", THREAD, interrupt, node="code"))
    writer.transition(RUN_D, RunStatus.INTERRUPTED)
    writer.transition(RUN_D, RunStatus.RUNNING)  # resumed: the same run goes on
    reader = RunStore(db)
    activity = resolve_agent_activity(reader, RUN_D)
    got: list[RunEvent] = []
    arrived = threading.Event()

    def consume() -> None:
        for event in follow_agent_activity(reader, activity, poll_seconds=0.01):
            got.append(event)
            if event.type == "agent.tool_use":
                arrived.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    seq = append_steps(writer, RUN_D, steps_of_s3(1, 2)[1:], seq)
    assert arrived.wait(10), "the event after the resume did not come"
    assert consumer.is_alive()  # still following: the old interrupt is not the end
    end_run(writer, RUN_D, seq + 1, 3, failed=False)
    consumer.join(10)
    assert not consumer.is_alive()
    assert [e.type for e in got] == ["agent.init", "agent.tool_use"]
    writer.close()
    reader.close()


def test_following_a_run_whose_process_died_stops_once_it_is_marked_abandoned(db: Path) -> None:
    with closing(RunStore(db)) as store:
        start_run(store, RUN_D, 0)
        dead = f"{socket.gethostname()}:{2**22 + 1}:1"  # above any Linux pid
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("UPDATE lgp_runs SET owner = ? WHERE run_id = ?", (dead, RUN_D))
        activity = resolve_agent_activity(store, RUN_D)
        assert list(follow_agent_activity(store, activity, poll_seconds=0.01)) == []
        assert store.get(RUN_D).status == RunStatus.ABANDONED


def test_following_a_session_takes_its_own_new_events_only(store: RunStore) -> None:
    seq = append_steps(store, RUN_D, steps_of_s3(300, 301), start_run(store, RUN_D, 299))
    activity = resolve_agent_activity(store, S3)
    later: list[Step] = [
        (302, "agent.init", S2, REVIEWER, init(resumed=S2)),  # another session of the run
        (303, "agent.tool_result", S3, CODER, answer("toolu_31", "ok")),
    ]
    seq = append_steps(store, RUN_D, later, seq)
    end_run(store, RUN_D, seq + 1, 304, failed=False)
    followed = list(follow_agent_activity(store, activity, poll_seconds=0.01))
    assert [(e.type, e.data["session_id"]) for e in followed] == [
        ("agent.init", S3),
        ("agent.tool_use", S3),
        ("agent.tool_result", S3),
    ]
