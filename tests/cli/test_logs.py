"""``lgp logs query | stats | export``: real ``lgp`` processes over a trace log written
by hand (exact filters, output and errors), then over the log the JSON Lines tracer
wrote for 1,000 runs of mixed outcomes, checked against the run store."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from lgp_engine.config import load_settings
from lgp_engine.loader import load_workflow, resolve_target
from lgp_engine.runner import Runner
from tests.cli.test_commands import assert_one_line_error, table_rows
from tests.conftest import copy_project
from tests.processes import run_lgp
from tests.tracing.test_logs import BASE, R1, R2, write_sample_log
from tests.workflows import copy_workflows

LOG = Path(".lgp") / "traces.jsonl"


def make_project(root: Path, tracing: dict[str, Any]) -> Path:
    """A project whose experiment config has ``tracing`` (and a SQLite store); a run
    that fails ends there (no retries: the logs of failed runs are what is tested)."""
    (root / "config").mkdir(parents=True)
    config = {
        "environment": "experiment",
        "checkpointer": {"backend": "sqlite", "path": ".lgp/checkpoints.db"},
        "runs": {"max_retries": 0},
        "tracing": tracing,
    }
    (root / "config" / "experiment.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    """A project with JSON Lines tracing on and the sample log of the engine tests."""
    project = make_project(tmp_path / "project", {"backends": ["jsonl"]})
    write_sample_log(project / LOG)
    return project


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in stdout.splitlines()]


def lgp_json(project: Path, *args: str) -> Any:
    proc = run_lgp(*args, "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


# ---------------------------------------------------------------- a log written by hand


def test_query_prints_one_aligned_line_per_event(logged: Path) -> None:
    proc = run_lgp("logs", "query", "--run", "abcdef01", cwd=logged)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 7
    local = BASE.astimezone()
    assert lines[0].split() == [
        local.strftime("%Y-%m-%d"),
        local.strftime("%H:%M:%S.") + f"{BASE.microsecond // 1000:03d}",
        "info",
        "flow",
        "abcdef01",
        "-",
        "run.started",
        "input",
        '{"q":',
        '"hi"}',
    ]
    node_line = lines[2].split()[4:]
    assert node_line == [
        "abcdef01",
        "plan",
        "node.finished",
        "10",
        "ms",
        "[120",
        "tokens,",
        "$0.001000]",
    ]
    assert lines[6].split()[6:9] == ["run.completed", "40", "ms"]
    starts = {ln.index(ln.split()[6]) for ln in lines}  # the TYPE column
    assert len(starts) == 1, proc.stdout
    assert proc.stderr.strip() == "[lgp] ⚠ Skipped 1 malformed line (first: .lgp/traces.jsonl:4)"


def test_query_filters_combine_and_json_prints_the_lines_as_logged(logged: Path) -> None:
    failed = json_lines(
        run_lgp("logs", "query", "--type", "run.failed", "--json", cwd=logged).stdout
    )
    assert len(failed) == 1
    assert failed[0]["run_id"] == R2 and failed[0]["data"]["kind"] == "timeout"
    assert failed[0]["ts"] == "2026-12-01T01:02:13.456789Z"  # the line as written

    def types(*args: str) -> list[str]:
        proc = run_lgp("logs", "query", "--json", "--limit", "0", *args, cwd=logged)
        assert proc.returncode == 0, proc.stderr
        return [e["type"] for e in json_lines(proc.stdout)]

    assert types("--type", "tool,agent.", "--type", "run.cancelled") == [
        "tool.called",
        "tool.result",
        "run.cancelled",
        "agent.fallback",
    ]
    assert types("--level", "WARNING", "-w", "flow") == ["run.cancelled", "agent.fallback"]
    assert types("--node", "review", "--level", "error") == ["tool.result", "run.failed"]
    assert types("--since", "2026-12-01T01:02:17+00:00") == ["run.started", "agent.fallback"]
    assert types("--run", "bcdefa03", "--type", "*.cancelled") == ["run.cancelled"]
    assert types("--workflow", "nope") == []
    assert len(types()) == 16


def test_query_limit_keeps_the_newest_and_says_how_many_matched(logged: Path) -> None:
    proc = run_lgp("logs", "query", "--limit", "3", cwd=logged)
    assert proc.returncode == 0, proc.stderr
    *events, footer = proc.stdout.splitlines()
    assert [ln.split()[6] for ln in events] == ["run.cancelled", "run.started", "agent.fallback"]
    assert footer == "[lgp] The newest 3 of 16 matching events (--limit 0 shows all)"
    none = run_lgp("logs", "query", "--workflow", "nope", cwd=logged)
    assert (none.returncode, none.stdout.strip()) == (
        0,
        "[lgp] No events match in .lgp/traces.jsonl (+2 rotated files).",
    )


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--run", "abcdef"), ["Ambiguous id", "2 runs in the log", R1]),
        (("--run", "abc"), ["--run needs at least 6 characters"]),
        (("--type", "run.done"), ["--type 'run.done' matches no event type"]),
        (("--since", "yesterday"), ["--since must be a date"]),
        (("--level", "fatal"), ["'fatal' is not one of", "lgp logs query --help"]),
    ],
)
def test_query_refuses_bad_filters_in_one_line(
    logged: Path, args: tuple[str, ...], needles: list[str]
) -> None:
    assert_one_line_error(run_lgp("logs", "query", *args, cwd=logged), *needles)


def test_stats_prints_runs_durations_errors_and_models(logged: Path) -> None:
    proc = run_lgp("logs", "stats", cwd=logged)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (
        "[lgp] 4 runs in .lgp/traces.jsonl (+2 rotated files): "
        "1 completed, 1 failed, 1 cancelled, 1 running"
    )
    assert lines[1] == "[lgp] Models: 4 calls, 243 tokens (200 in, 43 out), $0.001520"
    blocks = [table_rows(b) for b in "\n".join(lines[2:]).strip().split("\n\n")]
    runs, nodes, errors, models = blocks
    assert runs == [
        ["flow", "3", "1", "0", "1", "1", "5.0", "ms", "40", "ms"],
        ["team", "1", "0", "1", "0", "0", "200", "ms", "200", "ms"],
    ]
    assert nodes == [
        ["flow", "ask", "1", "30", "ms", "30", "ms", "30", "ms"],
        ["flow", "plan", "1", "10", "ms", "10", "ms", "10", "ms"],
    ]
    assert errors == [["team", "run", "timeout", "1"], ["team", "tool", "srv.search", "1"]]
    assert [row[:5] for row in models] == [
        ["openai:gpt-4o", "1", "2", "150", "30"],
        ["openai:gpt-4o-mini", "1", "1", "40", "8"],
        ["ollama:llama3.2", "1", "1", "10", "5"],
    ]


def test_stats_json_is_scoped_by_workflow_and_since(logged: Path) -> None:
    everything = lgp_json(logged, "logs", "stats")
    assert (everything["runs"], everything["workflow"], everything["since"]) == (4, None, None)
    assert everything["log"]["malformed"] == 1 and len(everything["log"]["files"]) == 3
    assert everything["durations"]["flow"] == {
        "count": 2,
        "p50_ms": 5.0,
        "p95_ms": 40.0,
        "max_ms": 40.0,
        "sum_ms": 45.0,
    }
    team = lgp_json(logged, "logs", "stats", "-w", "team", "--since", "2026-12-01T01:02+00:00")
    assert (team["by_status"], list(team["by_model"])) == ({"failed": 1}, ["openai:gpt-4o-mini"])
    late = lgp_json(logged, "logs", "stats", "--since", "2026-12-01T01:02:07+00:00")
    assert late["by_status"] == {"failed": 1, "cancelled": 1, "running": 1}


def test_export_writes_prometheus_text_atomically(logged: Path) -> None:
    target = logged / "metrics" / "lgp.prom"
    target.parent.mkdir()
    target.write_text("old")
    proc = run_lgp("logs", "export", "--prometheus", "metrics/lgp.prom", cwd=logged)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[lgp] Wrote 35 samples (4 runs) to metrics/lgp.prom"
    assert [p.name for p in target.parent.iterdir()] == ["lgp.prom"]  # no temporary file left
    assert target.stat().st_mode & 0o044  # readable by a collector, unlike a mkstemp file
    got = metrics(target.read_text())
    runs = {(lb["workflow"], lb["status"]): v for lb, v in got["lgp_runs_total"]}
    assert runs == {
        ("flow", "completed"): 1,
        ("flow", "cancelled"): 1,
        ("flow", "running"): 1,
        ("team", "failed"): 1,
    }
    stdout = run_lgp("logs", "export", "--prometheus", "-", "-w", "team", cwd=logged)
    assert stdout.returncode == 0, stdout.stderr
    assert metrics(stdout.stdout)["lgp_runs_total"] == [
        ({"workflow": "team", "status": "failed"}, 1)
    ]
    nowhere = run_lgp("logs", "export", "--prometheus", "no/such/dir/m.prom", cwd=logged)
    assert_one_line_error(nowhere, "cannot write no/such/dir/m.prom: its directory does not exist")


def test_without_a_log_says_how_to_turn_tracing_on(tmp_path: Path, tree_snapshot: Any) -> None:
    project = copy_project(tmp_path / "off")  # the repo's experiment config: tracing off
    before = tree_snapshot(project)
    for command in (("query",), ("stats", "--json"), ("export", "--prometheus", "m.prom")):
        line = assert_one_line_error(
            run_lgp("logs", *command, cwd=project),
            "No trace log at .lgp/traces.jsonl",
            "tracing: {backends: [jsonl]}",
            "config/experiment.yaml",
        )
        assert "--env ENV" in line
    assert tree_snapshot(project) == before  # reading created nothing


def test_with_tracing_on_and_nothing_logged_yet_it_says_so(tmp_path: Path) -> None:
    project = make_project(tmp_path / "on", {"backends": ["jsonl"]})
    query = run_lgp("logs", "query", cwd=project)
    assert (query.returncode, query.stdout.strip()) == (
        0,
        "[lgp] No events logged yet in .lgp/traces.jsonl.",
    )
    stats = run_lgp("logs", "stats", cwd=project)
    assert stats.stdout.strip() == "[lgp] No runs logged yet in .lgp/traces.jsonl."
    assert lgp_json(project, "logs", "stats")["runs"] == 0
    assert run_lgp("logs", "query", "--json", cwd=project).stdout == ""


def test_help_has_examples(tmp_path: Path) -> None:
    for command in (("logs",), ("logs", "query"), ("logs", "stats"), ("logs", "export")):
        proc = run_lgp(*command, "--help", cwd=tmp_path)
        assert proc.returncode == 0 and "Examples:" in proc.stdout, proc.stdout
    assert "lgp logs query" in run_lgp("--help", cwd=tmp_path).stdout


# ------------------------------------------------ the JSON Lines tracer over 1,000 runs

# One in ten runs of each kind; "ask" interrupts (and stays so), "ask+resume" is
# answered at once and completes, "cancel" stops reading after the first event.
OUTCOMES = ("ok", "fail", "ok", "timeout", "ask", "ok", "cancel", "ask+resume", "ok", "fail")


def drive(project: Path, runs: int) -> list[str]:
    """``runs`` runs of ``mixed_outcomes`` in this process; their ids in start order
    (a resumed run's second segment comes right after its first)."""
    pytest.importorskip("lgp_engine.tracing.jsonl", reason="the JSON Lines tracer is not there")
    settings = load_settings("experiment", project)
    loaded = load_workflow(resolve_target(str(project / "workflows" / "mixed_outcomes.py")))
    order = []
    with Runner.open(settings) as runner:
        for i in range(runs):
            outcome = OUTCOMES[i % len(OUTCOMES)]
            payload = {
                "outcome": outcome.split("+")[0].replace("cancel", "ok"),
                "tokens": i % 5 * 10,
            }
            events = runner.start(loaded, payload, thread_id=f"t{i}")
            first = next(events)
            order.append(first.run_id)
            if outcome == "cancel":
                events.close()  # the consumer went away: recorded as cancelled
                continue
            for _ in events:
                pass
            if outcome == "ask+resume":
                for _ in runner.resume(loaded, f"t{i}", "yes"):
                    pass
    return order


def store_events(project: Path, order: list[str]) -> list[tuple[str, int]]:
    """Every event of the run store, in the order the runs emitted them."""
    with closing(sqlite3.connect(project / ".lgp" / "checkpoints.db")) as db:
        rows = db.execute("SELECT run_id, seq FROM lgp_events ORDER BY run_id, seq").fetchall()
    by_run: dict[str, list[tuple[str, int]]] = {}
    for run_id, seq in rows:
        by_run.setdefault(run_id, []).append((run_id, seq))
    return [event for run_id in order for event in by_run.pop(run_id)]


def logged_events(project: Path) -> list[tuple[str, int]]:
    proc = run_lgp("logs", "query", "--limit", "0", "--json", cwd=project)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return [(e["run_id"], e["seq"]) for e in json_lines(proc.stdout)]


# The 1,000 runs are made once; the tests reading them stay on one xdist worker.
thousand_group = pytest.mark.xdist_group("cli_logs_thousand")


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """1,000 runs: completed, failed (ValueError, timeout), interrupted, resumed and
    completed, cancelled; rotated often (100 kB files), none dropped (60 kept)."""
    project = make_project(
        tmp_path_factory.mktemp("logs") / "project",
        {"backends": ["jsonl"], "max_bytes": 100_000, "backup_count": 60},
    )
    copy_workflows(project / "workflows", "mixed_outcomes.py")
    order = drive(project, 1000)
    with closing(sqlite3.connect(project / ".lgp" / "checkpoints.db")) as db:
        rows = db.execute("SELECT status, error FROM lgp_runs").fetchall()
    failures = Counter(
        (json.loads(error).get("kind") or json.loads(error)["error_type"])
        for status, error in rows
        if status == "failed"
    )
    yield {
        "project": project,
        "order": order,
        "statuses": Counter(status for status, _ in rows),
        "failures": failures,
    }


@thousand_group
def test_stats_after_1000_runs_match_the_run_store(thousand: dict[str, Any]) -> None:
    project, statuses = thousand["project"], thousand["statuses"]
    assert sum(statuses.values()) == 1000
    assert set(statuses) == {"completed", "failed", "interrupted", "cancelled"}
    stats = lgp_json(project, "logs", "stats")
    assert stats["runs"] == 1000
    assert stats["by_status"] == dict(statuses)
    assert stats["log"]["malformed"] == 0
    run_errors = {e["kind"]: e["count"] for e in stats["errors"] if e["source"] == "run"}
    assert run_errors == dict(thousand["failures"]) == {"ValueError": 200, "timeout": 100}
    assert stats["durations"]["mixed_outcomes"]["count"] == 1000
    # tokens and cost: what `lgp cost` sums from the run records
    cost = lgp_json(project, "cost")
    usage = stats["usage"]
    for key in ("calls", "input_tokens", "output_tokens", "total_tokens"):
        assert usage[key] == cost[key], key
    assert usage["runs"] == cost["runs_with_usage"]
    assert usage["cost_usd"] == pytest.approx(cost["cost_usd"], abs=1e-9)
    assert (
        set(stats["by_model"])
        == set(cost["by_model"])
        == {
            "openai:gpt-4o",
            "openai:gpt-4o-mini",
            "ollama:llama3.2",
        }
    )
    for model, bucket in cost["by_model"].items():
        mine = stats["by_model"][model]
        for key in ("runs", "calls", "input_tokens", "output_tokens", "total_tokens"):
            assert mine[key] == bucket[key], (model, key)
        assert mine["cost_usd"] == pytest.approx(bucket["cost_usd"], abs=1e-9)


@thousand_group
def test_rotated_files_of_1000_runs_hold_every_event_once_in_order(
    thousand: dict[str, Any],
) -> None:
    project = thousand["project"]
    files = sorted((project / ".lgp").glob("traces.jsonl*"))
    assert 10 <= len(files) <= 61, files  # rotated, and never past the kept count
    assert all(f.stat().st_size <= 100_000 for f in files)
    assert logged_events(project) == store_events(project, thousand["order"])


@thousand_group
def test_query_filters_over_1000_runs_return_exactly_the_matching_events(
    thousand: dict[str, Any],
) -> None:
    project, order, statuses = thousand["project"], thousand["order"], thousand["statuses"]

    def query(*args: str) -> list[dict[str, Any]]:
        proc = run_lgp("logs", "query", "--limit", "0", "--json", *args, cwd=project)
        assert proc.returncode == 0, proc.stderr
        return json_lines(proc.stdout)

    failed = query("--type", "run.failed")
    assert len(failed) == statuses["failed"]
    warned = Counter(e["type"] for e in query("--level", "warning"))
    assert warned == {"run.failed": statuses["failed"], "run.cancelled": statuses["cancelled"]}
    # a resumed run: both segments, seq 1..n without a gap
    resumed = order[OUTCOMES.index("ask+resume") + 10 * 42]
    events = query("--run", resumed[:8])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events if e["type"] in ("run.started", "interrupt")] == [
        "run.started",
        "interrupt",
        "run.started",
    ]
    assert events[-1]["type"] == "run.completed"
    with closing(sqlite3.connect(project / ".lgp" / "checkpoints.db")) as db:
        interrupts = db.execute("SELECT COUNT(*) FROM lgp_events WHERE type = 'interrupt'")
        assert len(query("-w", "mixed_outcomes", "--type", "interrupt")) == interrupts.fetchone()[0]
    newest = run_lgp("logs", "query", "--limit", "5", "--json", cwd=project)
    tail = [(e["run_id"], e["seq"]) for e in json_lines(newest.stdout)]
    assert tail == store_events(project, order)[-5:]


@thousand_group
def test_export_of_1000_runs_parses_and_counts_them(thousand: dict[str, Any]) -> None:
    project = thousand["project"]
    proc = run_lgp("logs", "export", "--prometheus", "lgp.prom", cwd=project)
    assert proc.returncode == 0, proc.stderr
    got = metrics((project / "lgp.prom").read_text())
    by_status: Counter[str] = Counter()
    for labels, value in got["lgp_runs_total"]:
        by_status[labels["status"]] += int(value)
    assert by_status == thousand["statuses"]
    cost = lgp_json(project, "cost")
    inputs = sum(v for lb, v in got["lgp_tokens_total"] if lb["kind"] == "input")
    assert inputs == cost["input_tokens"]
    assert sum(v for _, v in got["lgp_cost_usd_total"]) == pytest.approx(cost["cost_usd"])
    assert ({"workflow": "mixed_outcomes"}, 1000) in got["lgp_run_duration_seconds_count"]


def test_rotation_keeps_the_configured_files_and_a_gapless_tail(tmp_path: Path) -> None:
    """With 3 rotated files of 20 kB, the oldest events go a whole file at a time:
    what is left is exactly the newest events, none missing or cut."""
    project = make_project(
        tmp_path / "project", {"backends": ["jsonl"], "max_bytes": 20_000, "backup_count": 3}
    )
    copy_workflows(project / "workflows", "mixed_outcomes.py")
    order = drive(project, 120)
    logs = (project / ".lgp").glob("traces.jsonl*")
    names = sorted(p.name for p in logs if p.suffix != ".lock")  # the writers' lock file
    assert names == ["traces.jsonl", "traces.jsonl.1", "traces.jsonl.2", "traces.jsonl.3"]
    assert all((project / ".lgp" / n).stat().st_size <= 20_000 for n in names)
    kept = logged_events(project)  # also: no malformed line (stderr is empty)
    everything = store_events(project, order)
    assert len(kept) < len(everything)
    assert kept == everything[-len(kept) :]
