"""``lgp agents``: real ``lgp`` processes over a project whose run store holds the
Claude Code sessions of ``tests/agent_store.py`` (figures known), and ``watch``
following a run that the test writes as it goes."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.runs import RunStore
from tests.agent_store import (
    CODER,
    MODEL,
    RUN_A,
    RUN_A_TOTALS,
    RUN_B,
    RUN_C,
    S1,
    S1_TOTALS,
    S2,
    T0,
    Step,
    answer,
    append_steps,
    end_run,
    init,
    result,
    seed,
    start_run,
    use,
)
from tests.cli.test_commands import assert_one_line_error, table_rows
from tests.conftest import copy_project
from tests.processes import run_lgp, start_lgp

# The module's project is seeded once: its tests stay on one worker.
pytestmark = pytest.mark.xdist_group("cli_agent_sessions")

RUN_D = "d9e8f7a6-5b4c-4d3e-8f2a-1b0c9d8e7f0d"
S3 = "0f0e0d0c-0b0a-4909-8807-060504030201"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose run store holds runs A, B and C (read only: don't write to it)."""
    root = copy_project(tmp_path_factory.mktemp("agents") / "project")
    with closing(RunStore(root / ".lgp" / "checkpoints.db")) as store:
        seed(store)
    return root


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Path, RunStore]]:
    """A fresh project and its run store, open for a test to write a run as it goes."""
    root = copy_project(tmp_path / "live")
    store = RunStore(root / ".lgp" / "checkpoints.db")
    yield root, store
    store.close()


def lgp_json(project: Path, *args: str) -> Any:
    proc = run_lgp("agents", *args, "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def lgp_out(project: Path, *args: str) -> str:
    proc = run_lgp("agents", *args, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def pairs(stdout: str) -> dict[str, str]:
    """The ``  key  value`` lines of a summary or of metrics."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("  "):
            key, value = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            found[key] = value
    return found


# --------------------------------------------------------------------------- sessions


def test_list_shows_sessions_most_recently_active_first(project: Path) -> None:
    stdout = lgp_out(project, "list")
    header = stdout.splitlines()[0]
    assert header.split() == [
        "SESSION",
        "ROLE",
        "NODE",
        "RUNS",
        "THREAD",
        "WORKFLOW",
        "MODEL",
        "STARTED",
        "STATUS",
        "TURNS",
        "TOOLS",
        "COST",
    ]
    rows = table_rows(stdout)
    both = f"{RUN_B[:8]}+1"  # the newest run, and how many more
    # the start time (a date and a time) is local: left out
    assert [row[:7] + row[9:] for row in rows] == [
        [S1, "coder", "code", both, "t-agents", "coder", MODEL, "stalled", "4", "4", "$0.0175"],
        [S2, "reviewer", "review", RUN_A[:8], "t-agents", "coder", MODEL, "ok", "2", "1", "$0.00"],
    ]
    listed = lgp_json(project, "list")
    assert [s["session_id"] for s in listed] == [S1, S2]
    assert listed[0] | {"run_ids": None} == {
        "session_id": S1,
        "role": "coder",
        "node": "code",
        "run_ids": None,
        "thread_id": "t-agents",
        "workflow": "coder",
        "repository": "/work/repo",
        "model": MODEL,
        "started": T0,
        "ended": T0 + 120,
        "status": "stalled",
        "invocations": 2,
        "turns": 4,
        "tool_calls": 4,
        "cost_usd": 0.0175,
    }
    assert listed[0]["run_ids"] == [RUN_A, RUN_B]
    assert [s["session_id"] for s in lgp_json(project, "list", "--limit", "1")] == [S1]


def test_summary_of_a_session_resumed_across_runs(project: Path) -> None:
    stdout = lgp_out(project, "summary", S1[:8])
    assert stdout.splitlines()[0] == f"[lgp] Session {S1}: stalled"
    shown = pairs(stdout)
    assert shown | {"started": "", "ended": ""} == {
        "role": "coder",
        "node": "code",
        "model": MODEL,
        "repository": "/work/repo",
        "runs": f"{RUN_A}, {RUN_B}",
        "run status": "failed",
        "thread": "t-agents",
        "workflow": "coder",
        "started": "",
        "ended": "",
        "invocations": "2 (1 failed: 1 stalled)",
        "turns": "4",
        "tool calls": "4, 1 failed (Bash 2, Read 2)",
        "tokens": "8,950 (1,400 in, 250 out, 7,000 cache read, 300 cache write)",
        "cost": "$0.0175",
        "duration": "28.00s (API 6.50s)",
    }
    summary = lgp_json(project, "summary", S1)
    assert (summary["target"], summary["id"], summary["status"]) == ("session", S1, "stalled")
    assert (summary["started"], summary["ended"], summary["failures"]) == (
        T0,
        T0 + 120,
        {"stalled": 1},
    )
    assert summary["metrics"] == S1_TOTALS


def test_summary_of_a_run_lists_its_sessions(project: Path) -> None:
    stdout = lgp_out(project, "summary", RUN_A[:10])
    lines = stdout.splitlines()
    assert lines[0] == f"[lgp] Run {RUN_A}: ok"
    shown = pairs(stdout)
    assert (shown["sessions"], shown["run status"], shown["invocations"]) == ("2", "completed", "2")
    assert shown["cost"] == "$0.0125 (the agent reported $0.0150)"  # S2 is on a subscription
    sessions = table_rows("\n".join(lines[lines.index("") + 1 :]))
    assert [(row[0], row[-4], row[-1]) for row in sessions] == [
        (S1, "ok", "$0.0125"),  # as it went in run A
        (S2, "ok", "$0.00"),
    ]
    crashed = lgp_json(project, "summary", RUN_C)
    assert (crashed["status"], crashed["sessions"], crashed["unassigned_events"]) == (
        "crashed",
        [],
        1,
    )


def test_latest_is_the_summary_of_the_most_recently_active_session(project: Path) -> None:
    assert lgp_json(project, "latest") == lgp_json(project, "summary", S1)
    assert lgp_out(project, "latest").splitlines()[0] == f"[lgp] Session {S1}: stalled"


# --------------------------------------------------------------------------- figures


def test_metrics_sum_invocations_and_give_events_per_second(project: Path) -> None:
    figures = lgp_json(project, "metrics", S1)
    assert figures == {"target": "session", "id": S1, **S1_TOTALS}
    assert lgp_json(project, "metrics", RUN_A) == {"target": "run", "id": RUN_A, **RUN_A_TOTALS}
    stdout = lgp_out(project, "metrics", S1)
    assert stdout.splitlines()[0] == f"[lgp] Metrics of session {S1}"
    assert pairs(stdout) == {
        "invocations": "2",
        "turns": "4",
        "input tokens": "1,400",
        "output tokens": "250",
        "cache read tokens": "7,000",
        "cache write tokens": "300",
        "total tokens": "8,950",
        "cost": "$0.0175",
        "cost reported": "$0.0175",
        "tool calls": "4",
        "tool errors": "1",
        "permission denials": "1",
        "duration": "28.00s",
        "API duration": "6.50s",
        "wall time": "120.00s",
        "events": "12",
        "events per second": "0.100",
        "stream messages": "20",
    }
    assert table_rows(stdout.split("\n\n")[1]) == [["Bash", "2"], ["Read", "2"]]


def test_tools_by_tool_with_errors_and_durations(project: Path) -> None:
    stdout = lgp_out(project, "tools", RUN_A)
    assert stdout.splitlines()[0] == f"[lgp] Run {RUN_A}: 3 tool calls, 1 failed"
    assert table_rows(stdout) == [
        ["Bash", "1", "1", "2.00s", "2.00s"],
        ["Grep", "1", "0", "1.00s", "1.00s"],
        ["Read", "1", "0", "1.00s", "1.00s"],
    ]
    report = lgp_json(project, "tools", S1)
    assert (report["target"], report["calls"], report["errors"]) == ("session", 4, 1)
    assert report["by_tool"] == [
        {
            "tool": "Bash",
            "calls": 2,
            "errors": 1,
            "answered": 2,
            "mean_ms": 1250.0,
            "max_ms": 2000.0,
        },
        {
            "tool": "Read",
            "calls": 2,
            "errors": 0,
            "answered": 1,
            "mean_ms": 1000.0,
            "max_ms": 1000.0,
        },
    ]


def test_errors_list_failed_tool_calls_and_invocations(project: Path) -> None:
    stdout = lgp_out(project, "errors", S1)
    assert stdout.splitlines()[0] == (
        f"[lgp] Session {S1}: 1 failed tool call, 1 failed invocation, 1 permission denial"
    )
    assert table_rows(stdout) == [
        ["+5.50s", S1[:8], "code", "tool", "Bash", "exit", "code", "1", "…"],
        ["+120.00s", S1[:8], "code", "stalled", "no", "output", "for", "15", "s", "…"],
    ]
    report = lgp_json(project, "errors", RUN_C)
    assert (report["tool_errors"], report["failed_invocations"]) == (0, 1)
    [crash] = report["errors"]
    assert (crash["session_id"], crash["kind"], crash["run_id"]) == ("", "crashed", RUN_C)


def test_timeline_gives_each_event_its_offset(project: Path) -> None:
    stdout = lgp_out(project, "timeline", RUN_A)
    assert stdout.splitlines()[0] == f"[lgp] Run {RUN_A}: 12 events over 8.00s"
    rows = table_rows(stdout)
    assert [row[:4] for row in rows[:3]] == [
        ["+0.00s", S1[:8], "code", "init"],
        ["+0.50s", S2[:8], "review", "init"],
        ["+1.00s", S1[:8], "code", "message"],
    ]
    assert rows[8][3:] == [
        "tool_result",
        "Bash",
        "failed",
        "after",
        "2.00s:",
        "exit",
        "code",
        "1",
        "…",
    ]
    timeline = lgp_json(project, "timeline", S1)
    assert len(timeline["events"]) == S1_TOTALS["events"]
    assert timeline["events"][-1] | {"ts": None} == {
        "offset_s": 120.0,
        "ts": None,
        "run_id": RUN_B,
        "seq": 6,
        "type": "agent.result",
        "session_id": S1,
        "role": "coder",
        "node": "code",
        "text": "stalled: no output for 15 s …",
    }


# --------------------------------------------------------------------------- export


def test_export_writes_the_events_as_jsonl_or_json(project: Path, tmp_path: Path) -> None:
    lines = lgp_out(project, "export", S1).splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == S1_TOTALS["events"]
    assert {e["data"]["session_id"] for e in events} == {S1}
    assert [e["run_id"] for e in events] == [RUN_A] * 7 + [RUN_B] * 5
    assert events[0] == lgp_json_events(project, RUN_A)[1]  # shaped like `lgp events --json`
    target = tmp_path / "agents.json"
    proc = run_lgp("agents", "export", RUN_C, "--format", "json", "-o", str(target), cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"[lgp] Wrote 1 event of run {RUN_C} to {target}"
    [crash] = json.loads(target.read_text(encoding="utf-8"))
    assert (crash["type"], crash["data"]["kind"]) == ("agent.result", "crashed")


def lgp_json_events(project: Path, run_id: str) -> list[dict[str, Any]]:
    proc = run_lgp("events", run_id, "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("ref", "needles"),
    [
        ("nope-nope", ("Not found: no Claude Code session or run 'nope-nope'", "lgp agents list")),
        ("5b1f0", ("Not found", "'5b1f0'")),  # under 6 characters: no prefix search
        ("5b1f0c", ("Ambiguous id: id prefix '5b1f0c' matches 2 sessions", "give more")),
        ("7e3c1a90", ("Ambiguous id: id prefix '7e3c1a90' matches several runs",)),
    ],
)
def test_an_unknown_or_ambiguous_id_is_one_line_and_exit_2(
    project: Path, ref: str, needles: tuple[str, ...]
) -> None:
    for command in ("summary", "watch"):
        line = assert_one_line_error(run_lgp("agents", command, ref, cwd=project), *needles)
        assert "Traceback" not in line


def test_without_a_store_nothing_is_created(tmp_path: Path) -> None:
    fresh = copy_project(tmp_path / "fresh")
    assert lgp_out(fresh, "list").strip() == "[lgp] No Claude Code sessions yet."
    assert lgp_json(fresh, "list") == []
    assert_one_line_error(
        run_lgp("agents", "latest", cwd=fresh), "Not found: no Claude Code session has been"
    )
    assert_one_line_error(run_lgp("agents", "metrics", S1, cwd=fresh), "Not found")
    assert not (fresh / ".lgp").exists()


# --------------------------------------------------------------------------- watch

S3_STEPS: list[Step] = [
    (300.0, "agent.init", S3, CODER, init()),
    (301.0, "agent.tool_use", S3, CODER, use("Bash", "toolu_31", command="make test")),
    (302.5, "agent.tool_result", S3, CODER, answer("toolu_31", "12 passed", tool="Bash")),
    (
        303.0,
        "agent.result",
        S3,
        CODER,
        result(
            (100, 40, 0, 10),
            cost=0.002,
            reported=0.002,
            turns=1,
            duration_ms=3000,
            api_ms=2000,
            tools={"Bash": 1},
            events=5,
        ),
    ),
]


def test_watch_waits_for_the_node_then_follows_the_run_to_its_end(
    live: tuple[Path, RunStore],
) -> None:
    root, store = live
    seq = start_run(store, RUN_D, 299)  # running: its Claude Code node has not started
    with start_lgp("agents", "watch", RUN_D[:8], "--interval", "0.05", cwd=root) as watch:
        watch.expect(rf"^\[lgp\] Waiting for a Claude Code node in run {RUN_D} \(Ctrl\+C")
        seq = append_steps(store, RUN_D, S3_STEPS[:1], seq)
        [started] = watch.expect("init")
        assert started.split()[:4] == ["+0.00s", S3[:8], "code", "init"]
        assert started.endswith(f"started: {MODEL}, 4 tools, in /work/repo")
        seq = append_steps(store, RUN_D, S3_STEPS[1:], seq)
        assert [line.split()[3] for line in watch.expect(r" result +ok: ")] == [
            "tool_use",
            "tool_result",
            "result",
        ]
        assert watch.returncode is None  # the run still runs
        end_run(store, RUN_D, seq + 1, 304, failed=False)
        assert watch.wait() == 0
        assert watch.rest() == [
            f"[lgp] Run {RUN_D}: ok (run completed); 1 session, 1 invocation, 1 turn, "
            "1 tool call (0 failed), 150 tokens, $0.002000"
        ]


def test_watch_json_prints_events_only_on_stdout(project: Path) -> None:
    proc = run_lgp("agents", "watch", S1, "--json", cwd=project)  # its runs have ended
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(events) == S1_TOTALS["events"]
    assert {e["data"]["session_id"] for e in events} == {S1}
    assert proc.stderr.splitlines() == [
        f"[lgp] Following session {S1} in run {RUN_B} (Ctrl+C to stop)",
        f"[lgp] Session {S1}: stalled (run failed); 1 session, 2 invocations, 4 turns, "
        "4 tool calls (1 failed), 8,950 tokens, $0.0175",
    ]


def test_ctrl_c_stops_watching_with_exit_130(live: tuple[Path, RunStore]) -> None:
    root, store = live
    start_run(store, RUN_D, 0)
    with start_lgp("agents", "watch", RUN_D, cwd=root) as watch:
        watch.expect("Waiting for a Claude Code node")
        assert watch.stop(signal.SIGINT) == 130
        assert watch.rest() == [f"[lgp] Stopped watching (run {RUN_D} goes on)"]
        assert watch.stderr == []
