"""lgp_engine.tracing.logs: reading the JSON Lines trace log back (rotated files in
order, malformed lines skipped and counted), query filters, stats of runs and the
Prometheus export, over log files written by hand in the documented format."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lgp_engine.errors import AmbiguousError, UsageError
from lgp_engine.tracing.logs import (
    Distribution,
    LogFilter,
    TraceLog,
    parse_line,
    percentile,
    prometheus,
    query,
    stats,
)

BASE = dt.datetime(2026, 12, 1, 1, 2, 3, 456789, tzinfo=dt.UTC)
# The level of each event type, as the tracer writes it (info for the others).
_LEVELS = {
    "run.failed": "error",
    "run.cancelled": "warning",
    "tool.denied": "warning",
    "agent.fallback": "warning",
    "agent.repair": "warning",
    "message.delta": "debug",
    "checkpoint": "debug",
    "custom": "debug",
}


def line(
    run_id: str,
    type_: str,
    seq: int,
    *,
    t: float = 0.0,
    workflow: str = "flow",
    node: str | None = None,
    level: str | None = None,
    **data: Any,
) -> str:
    """One log line in the documented format, ``t`` seconds after :data:`BASE`."""
    when = BASE + dt.timedelta(seconds=t)
    return json.dumps(
        {
            "ts": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": level or _LEVELS.get(type_, "info"),
            "run_id": run_id,
            "thread_id": f"thread-{run_id[-1]}",
            "workflow": workflow,
            "environment": "experiment",
            "node": node,
            "type": type_,
            "seq": seq,
            "data": data,
        }
    )


def write(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
    return path


def usage(*calls: tuple[str, int, int, float]) -> dict[str, Any]:
    """A usage total of ``(provider:model, input, output, cost)`` calls."""
    by_model: dict[str, dict[str, Any]] = {}
    for model, inp, out, cost in calls:
        entry = by_model.setdefault(
            model,
            {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "cost_usd": 0.0, "calls": 0},
        )
        entry["input_tokens"] += inp
        entry["output_tokens"] += out
        entry["total_tokens"] += inp + out
        entry["cost_usd"] += cost
        entry["calls"] += 1
    keys = ("input_tokens", "output_tokens", "total_tokens", "cost_usd", "calls")
    total: dict[str, Any] = {k: sum(e[k] for e in by_model.values()) for k in keys}
    return {**total, "cache_read_tokens": 0, "cache_write_tokens": 0, "by_model": by_model}


R1, R2, R3, R4 = "abcdef01-0001", "abcdef02-0002", "bcdefa03-0003", "bcdefa04-0004"
U1 = usage(("openai:gpt-4o", 100, 20, 0.001))  # r1 until its interrupt
U2 = usage(("openai:gpt-4o", 50, 10, 0.0005), ("ollama:llama3.2", 10, 5, 0.0))  # r1 resumed
U3 = usage(("openai:gpt-4o-mini", 40, 8, 0.00002))  # r2, which fails


def write_sample_log(path: Path) -> TraceLog:
    """Four runs over ``path``, ``.1`` and ``.2`` (16 events, one malformed line as
    the live file's 4th line): r1 (flow) interrupts, is resumed and completes; r2
    (team) fails with a timeout after a failed tool call; r3 (flow) is cancelled;
    r4 (flow) is still running."""
    write(
        path.with_name("traces.jsonl.2"),
        line(R1, "run.started", 1, t=0, input={"q": "hi"}),
        line(R1, "node.started", 2, t=1, node="plan"),
        line(R1, "node.finished", 3, t=2, node="plan", duration_ms=10.0, usage=U1),
    )
    write(
        path.with_name("traces.jsonl.1"),
        line(R1, "interrupt", 4, t=3, node="ask", duration_ms=50.0, usage=U1, interrupts=[]),
        line(R1, "run.started", 5, t=4, resumed=True),
        line(R1, "node.finished", 6, t=5, node="ask", duration_ms=30.0),
        line(R1, "run.completed", 7, t=6, duration_ms=40.0, usage=U2, output={}),
    )
    write(
        path,
        line(R2, "run.started", 1, t=7, workflow="team"),
        line(
            R2, "tool.called", 2, t=8, workflow="team", node="review", server="srv", tool="search"
        ),
        line(
            R2,
            "tool.result",
            3,
            t=9,
            workflow="team",
            node="review",
            level="error",
            server="srv",
            tool="search",
            is_error=True,
            duration_ms=3.0,
        ),
        '{"ts": "2026-12-01T01:02:13.0Z", "level": "info", "run_id": "abcdef02-0002", "ty',
        line(
            R2,
            "run.failed",
            4,
            t=10,
            workflow="team",
            node="review",
            kind="timeout",
            error_type="ProviderError",
            message="too slow",
            duration_ms=200.0,
            usage=U3,
        ),
        line(R3, "run.started", 1, t=11),
        line(R3, "checkpoint", 2, t=12, step=0, checkpoint_id="c1"),
        line(R3, "run.cancelled", 3, t=13, reason="Ctrl+C", duration_ms=5.0),
        line(R4, "run.started", 1, t=14),
        line(R4, "agent.fallback", 2, t=15, node="review", role="r", kind="auth", next="b"),
    )
    return TraceLog(path)


@pytest.fixture
def log(tmp_path: Path) -> TraceLog:
    """The sample log (see :func:`write_sample_log`)."""
    return write_sample_log(tmp_path / ".lgp" / "traces.jsonl")


def seen(found: Any) -> list[tuple[str, int]]:
    return [(e.run_id, e.seq) for e in found.entries]


# ----------------------------------------------------------------------- files and lines


def test_files_come_oldest_first_and_only_numbered_rotations(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    assert TraceLog(path).files() == [] and not TraceLog(path).exists()
    for suffix in (".1", ".2", ".10", ".bak", ".1.gz", ".x1"):
        write(tmp_path / f"traces.jsonl{suffix}", line(R1, "run.started", 1))
    rotated = [tmp_path / f"traces.jsonl.{n}" for n in (10, 2, 1)]
    assert TraceLog(path).files() == rotated  # .10 is older than .2; no live file yet
    write(path, line(R1, "run.started", 1))
    assert TraceLog(path).files() == [*rotated, path]
    assert TraceLog(tmp_path / "missing" / "traces.jsonl").files() == []


def test_entries_run_in_time_order_across_rotated_files(log: TraceLog) -> None:
    entries = list(log.entries())
    assert [e.ts for e in entries] == sorted(e.ts for e in entries)
    assert [(e.run_id, e.seq) for e in entries][:7] == [(R1, n) for n in range(1, 8)]
    first = entries[0]
    assert (first.ts, first.level, first.workflow, first.environment) == (
        BASE,
        "info",
        "flow",
        "experiment",
    )
    assert (first.thread_id, first.node, first.data) == ("thread-1", None, {"input": {"q": "hi"}})
    assert first.raw["ts"] == "2026-12-01T01:02:03.456789Z"


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                line(R1, "run.started", 1).encode(),
                b"{not json",
                b"[1, 2]",
                json.dumps({"ts": "2026-12-01T01:02:03Z", "run_id": R1}).encode(),  # no type
                json.dumps({"ts": "yesterday", "run_id": R1, "type": "custom"}).encode(),
                json.dumps({"ts": "2026-12-01T01:02:03Z", "run_id": "", "type": "custom"}).encode(),
                b"\xff\xfe not utf-8",
                b"   ",
                line(R1, "run.completed", 2, t=1).encode(),
                b'{"ts": "2026-12-01T01:0',  # a write cut short by a crash
            ]
        )
    )
    found = query(TraceLog(path))
    assert seen(found) == [(R1, 1), (R1, 2)]
    report = found.report
    assert (report.lines, report.malformed) == (9, 7)  # the blank line is not a line
    assert report.malformed_at[:3] == [(path, 2), (path, 3), (path, 4)]
    assert report.malformed_at[-1] == (path, 10)
    assert report.to_dict()["malformed_at"][0] == f"{path}:2"
    assert stats(TraceLog(path)).by_status() == {"completed": 1}


def test_parse_line_accepts_epoch_and_naive_times() -> None:
    epoch = parse_line(json.dumps({"ts": BASE.timestamp(), "run_id": R1, "type": "custom"}))
    naive = parse_line(json.dumps({"ts": "2026-12-01T01:02:03.456789", "run_id": R1, "type": "x"}))
    assert epoch is not None and naive is not None
    assert epoch.ts == naive.ts == BASE
    assert (epoch.level, epoch.data, epoch.node, epoch.seq) == ("info", {}, None, 0)
    assert parse_line('{"ts": true, "run_id": "r", "type": "custom"}') is None


def test_a_rotation_while_reading_loses_and_repeats_no_line(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    write(path.with_name("traces.jsonl.1"), *(line(R1, "custom", n, t=n) for n in (1, 2, 3)))
    write(path, *(line(R1, "custom", n, t=n) for n in (4, 5, 6)))
    reading = TraceLog(path).entries()
    first = next(reading)
    # the tracer rotates: .1 -> .2, the live file -> .1, a new live file
    path.with_name("traces.jsonl.1").rename(path.with_name("traces.jsonl.2"))
    path.rename(path.with_name("traces.jsonl.1"))
    write(path, line(R1, "custom", 7, t=7))
    assert [first.seq, *(e.seq for e in reading)] == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in TraceLog(path).entries()] == [1, 2, 3, 4, 5, 6, 7]


# ----------------------------------------------------------------------------- query


def test_query_without_filters_returns_every_event(log: TraceLog) -> None:
    found = query(log)
    assert found.matched == len(found.entries) == 16
    assert (found.report.lines, found.report.malformed) == (17, 1)
    assert len(found.report.files) == 3


def test_query_by_run_id_or_unique_prefix(log: TraceLog) -> None:
    everything = [(R1, n) for n in range(1, 8)]
    assert seen(query(log, LogFilter(run=R1))) == everything
    assert seen(query(log, LogFilter(run="abcdef01"))) == everything
    assert seen(query(log, LogFilter(run="zzzzzz"))) == []
    with pytest.raises(AmbiguousError, match=r"2 runs in the log: abcdef01-0001, abcdef02-0002"):
        query(log, LogFilter(run="abcdef"))
    with pytest.raises(UsageError, match="at least 6 characters") as short:
        LogFilter(run="abc")
    assert short.value.field == "run"
    # other filters narrow a run's events; the limit keeps the newest
    found = query(log, LogFilter(run="abcdef01", types=("node",)), limit=1)
    assert (seen(found), found.matched) == ([(R1, 6)], 3)


def test_query_by_workflow_node_and_since(log: TraceLog) -> None:
    assert seen(query(log, LogFilter(workflow="team"))) == [(R2, n) for n in (1, 2, 3, 4)]
    assert seen(query(log, LogFilter(workflow="nope"))) == []
    assert seen(query(log, LogFilter(node="review"))) == [(R2, 2), (R2, 3), (R2, 4), (R4, 2)]
    since = query(log, LogFilter(since=BASE + dt.timedelta(seconds=10)))
    assert seen(since) == [(R2, 4), (R3, 1), (R3, 2), (R3, 3), (R4, 1), (R4, 2)]
    local = (BASE + dt.timedelta(seconds=15)).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert seen(query(log, LogFilter(since=local))) == [(R4, 2)]  # any offset compares right


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (("run.failed",), ["run.failed"]),
        (("node",), ["node.started", "node.finished", "node.finished"]),
        (("node.",), ["node.started", "node.finished", "node.finished"]),
        (("*.finished",), ["node.finished", "node.finished"]),
        (("tool.*", "agent."), ["tool.called", "tool.result", "agent.fallback"]),
        (
            ("run.failed", "run.cancelled", "interrupt"),
            ["interrupt", "run.failed", "run.cancelled"],
        ),
        (("agent.result",), []),
    ],
)
def test_query_by_type_exact_family_or_glob(
    log: TraceLog, patterns: tuple[str, ...], expected: list[str]
) -> None:
    assert [e.type for e in query(log, LogFilter(types=patterns)).entries] == expected


def test_an_unknown_type_or_level_is_refused() -> None:
    with pytest.raises(UsageError, match=r"'run\.done' matches no event type") as bad:
        LogFilter(types=("run.done",))
    assert bad.value.field == "type"
    assert "run.completed" in str(bad.value)
    with pytest.raises(UsageError, match="debug, info, warning, error"):
        LogFilter(level="fatal")


@pytest.mark.parametrize(
    ("level", "count", "types"),
    [
        ("error", 2, {"tool.result", "run.failed"}),
        ("warning", 4, {"tool.result", "run.failed", "run.cancelled", "agent.fallback"}),
        ("info", 15, None),
        ("debug", 16, None),
    ],
)
def test_query_by_minimum_level(
    log: TraceLog, level: str, count: int, types: set[str] | None
) -> None:
    found = query(log, LogFilter(level=level))
    assert found.matched == count
    if types is not None:
        assert {e.type for e in found.entries} == types


def test_limit_keeps_the_newest_in_time_order(log: TraceLog) -> None:
    found = query(log, limit=3)
    assert (seen(found), found.matched) == ([(R3, 3), (R4, 1), (R4, 2)], 16)
    both = query(log, LogFilter(workflow="flow", level="warning"), limit=10)
    assert [e.type for e in both.entries] == ["run.cancelled", "agent.fallback"]


# ----------------------------------------------------------------------------- stats


@pytest.mark.parametrize(
    ("values", "p50", "p95"),
    [
        (list(range(1, 101)), 50, 95),
        ([40, 10, 30, 20], 20, 40),  # linear interpolation would say 25 and 38.5
        ([7.5], 7.5, 7.5),
        (list(range(1, 21)), 10, 19),
        ([1, 2, 3], 2, 3),
    ],
)
def test_percentiles_are_nearest_rank(values: list[float], p50: float, p95: float) -> None:
    assert (percentile(values, 50), percentile(values, 95)) == (p50, p95)
    d = Distribution.of(values)
    assert (d.count, d.p50, d.p95, d.max, d.sum) == (
        len(values),
        p50,
        p95,
        max(values),
        sum(values),
    )
    assert percentile(values, 100) == max(values)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_stats_counts_runs_by_their_last_terminal_event(log: TraceLog) -> None:
    result = stats(log)
    assert result.runs == 4
    # r1 was interrupted, then resumed to completion: it counts once, as completed
    assert result.by_status() == {"completed": 1, "failed": 1, "cancelled": 1, "running": 1}
    as_dict = result.to_dict()
    assert as_dict["by_workflow"] == {
        "flow": {"completed": 1, "cancelled": 1, "running": 1},
        "team": {"failed": 1},
    }
    assert as_dict["log"]["malformed"] == 1


def test_stats_durations_by_workflow_and_node(log: TraceLog) -> None:
    result = stats(log)
    # r1's duration is its last segment's (40 ms, not the interrupt's 50); r4 has none
    assert result.durations["flow"] == Distribution(count=2, p50=5.0, p95=40.0, max=40.0, sum=45.0)
    assert result.durations["team"].p95 == 200.0
    assert {key: d.p50 for key, d in result.node_durations.items()} == {
        ("flow", "ask"): 30.0,
        ("flow", "plan"): 10.0,
    }


def test_stats_errors_by_kind(log: TraceLog, tmp_path: Path) -> None:
    assert dict(stats(log).errors) == {
        ("team", "run", "timeout"): 1,
        ("team", "tool", "srv.search"): 1,
    }
    # a plain exception counts by its type; agent failures by kind
    path = write(
        tmp_path / "other.jsonl",
        line("r-plain-1", "run.failed", 1, error_type="ValueError", message="boom"),
        line("r-bare-01", "run.failed", 1),
        line("r-agent-1", "agent.result", 1, is_error=True, kind="stalled"),
        line("r-agent-1", "agent.tool_result", 2, is_error=True, tool="Bash"),
        line("r-agent-1", "agent.result", 3, is_error=False, kind=None),
        line("r-agent-1", "run.completed", 4, duration_ms=1.0),
    )
    assert dict(stats(TraceLog(path)).errors) == {
        ("flow", "run", "ValueError"): 1,
        ("flow", "run", "error"): 1,
        ("flow", "agent", "stalled"): 1,
        ("flow", "agent_tool", "Bash"): 1,
    }


def test_stats_sums_each_segment_of_a_resumed_run(log: TraceLog) -> None:
    result = stats(log)
    by_model = {m: u.to_dict() for m, u in result.usage_by_model().items()}
    assert list(by_model) == ["openai:gpt-4o", "openai:gpt-4o-mini", "ollama:llama3.2"]
    gpt = by_model["openai:gpt-4o"]  # r1's interrupt (U1) plus its completion (U2)
    assert (gpt["runs"], gpt["calls"], gpt["input_tokens"], gpt["output_tokens"]) == (1, 2, 150, 30)
    assert gpt["cost_usd"] == pytest.approx(0.0015)
    # node.finished usage is not counted again: the run's ends already hold it
    total = result.usage_total().to_dict()
    assert (total["runs"], total["calls"], total["input_tokens"], total["total_tokens"]) == (
        2,
        4,
        200,
        243,
    )
    assert total["cost_usd"] == pytest.approx(0.00152)
    per_workflow = {
        (u["workflow"], u["model"]): u["calls"] for u in result.to_dict()["usage_by_workflow"]
    }
    assert per_workflow == {
        ("flow", "openai:gpt-4o"): 2,
        ("flow", "ollama:llama3.2"): 1,
        ("team", "openai:gpt-4o-mini"): 1,
    }


def test_stats_of_a_workflow_or_of_runs_since(log: TraceLog) -> None:
    team = stats(log, workflow="team")
    assert (team.runs, team.by_status(), list(team.durations)) == (1, {"failed": 1}, ["team"])
    assert list(team.usage_by_model()) == ["openai:gpt-4o-mini"]
    # r1 began before the cutoff (its resume after it does not make it newer)
    late = stats(log, since=BASE + dt.timedelta(seconds=4))
    assert late.by_status() == {"failed": 1, "cancelled": 1, "running": 1}
    assert stats(log, workflow="nope").runs == 0


def test_stats_of_an_empty_or_missing_log(tmp_path: Path) -> None:
    result = stats(TraceLog(tmp_path / "traces.jsonl"))
    assert (result.runs, result.by_status(), result.report.files) == (0, {}, [])
    assert result.to_dict()["usage"]["calls"] == 0


# ------------------------------------------------------------------------ Prometheus


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples by name, as prometheus_client's parser reads them."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def test_prometheus_export_parses_and_holds_the_stats(log: TraceLog) -> None:
    text = prometheus(stats(log))
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families == {
        "lgp_runs": "counter",
        "lgp_tokens": "counter",
        "lgp_cost_usd": "counter",
        "lgp_llm_calls": "counter",
        "lgp_errors": "counter",
        "lgp_run_duration_seconds": "summary",
        "lgp_node_duration_seconds": "summary",
        "lgp_log_malformed_lines": "gauge",
    }
    got = samples(text)
    runs = {(lb["workflow"], lb["status"]): v for lb, v in got["lgp_runs_total"]}
    assert runs == {
        ("flow", "completed"): 1,
        ("flow", "cancelled"): 1,
        ("flow", "running"): 1,
        ("team", "failed"): 1,
    }
    tokens = {(lb["model"], lb["kind"]): v for lb, v in got["lgp_tokens_total"]}
    assert tokens[("openai:gpt-4o", "input")] == 150
    assert tokens[("openai:gpt-4o", "output")] == 30
    cost = {lb["model"]: v for lb, v in got["lgp_cost_usd_total"]}
    assert cost["openai:gpt-4o"] == pytest.approx(0.0015)
    errors = {(lb["source"], lb["kind"]): v for lb, v in got["lgp_errors_total"]}
    assert errors == {("run", "timeout"): 1, ("tool", "srv.search"): 1}
    flow = {
        lb["quantile"]: v for lb, v in got["lgp_run_duration_seconds"] if lb["workflow"] == "flow"
    }
    assert flow == {"0.5": 0.005, "0.95": 0.04}
    assert ({"workflow": "flow"}, 2) in got["lgp_run_duration_seconds_count"]
    assert ({"workflow": "flow"}, pytest.approx(0.045)) in got["lgp_run_duration_seconds_sum"]
    nodes = {(lb["node"], lb["quantile"]): v for lb, v in got["lgp_node_duration_seconds"]}
    assert nodes[("plan", "0.95")] == 0.01
    assert got["lgp_log_malformed_lines"] == [({}, 1)]


def test_prometheus_labels_are_escaped_and_an_empty_log_exports(tmp_path: Path) -> None:
    odd = 'a "quoted"\\back\nslash'
    path = write(
        tmp_path / "traces.jsonl",
        line("odd-run-1", "run.completed", 1, workflow=odd, duration_ms=1.0),
    )
    got = samples(prometheus(stats(TraceLog(path))))
    assert got["lgp_runs_total"] == [({"workflow": odd, "status": "completed"}, 1)]
    empty = samples(prometheus(stats(TraceLog(tmp_path / "none.jsonl"))))
    assert empty == {"lgp_log_malformed_lines": [({}, 0)]}
