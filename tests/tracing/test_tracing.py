"""The tracing layer fed by the Runner: tracers chosen by config, the JSON Lines log
(rotation, levels, sanitizing), the console summary, failure isolation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lgp_engine import RunEvent, Runner, load_settings, load_workflow, resolve_target
from lgp_engine.config import TracingSettings
from lgp_engine.server.metrics import Metrics
from lgp_engine.tracing.base import RunInfo, Tracing
from lgp_engine.tracing.factory import open_tracing
from lgp_engine.tracing.jsonl import JsonlTracer
from lgp_engine.tracing.sanitize import sanitize, truncate
from tests.processes import run_lgp
from tests.workflows import copy_workflows


def project_with(tmp_path: Path, tracing: dict[str, Any], *workflows: str) -> Path:
    project = tmp_path / "project"
    copy_workflows(project / "workflows", *(workflows or ("tiny.py",)))
    (project / "config").mkdir()
    body = {"checkpointer": {"backend": "sqlite", "path": ".lgp/db"}, "tracing": tracing}
    (project / "config" / "experiment.yaml").write_text(yaml.safe_dump(body))
    return project


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_once(project: Path, workflow: str, payload: Any, **open_kw: Any) -> list[RunEvent]:
    settings = load_settings("experiment", project)
    loaded = load_workflow(resolve_target(str(project / "workflows" / workflow)))
    with Runner.open(settings, **open_kw) as runner:
        return list(runner.start(loaded, payload))


def test_truncate_keeps_exactly_max_length_and_says_the_full_length() -> None:
    cut = truncate("x" * 15_000, 2000)
    assert len(cut) == 2000 and cut.endswith("... (truncated, full: 15000 chars)")
    assert truncate("short", 2000) == "short"
    value = sanitize({"output": "y" * 15_000, "nested": [{"text": "z" * 3000}], "n": 1})
    assert len(value["output"]) == 2000 and value["output_full_length"] == 15_000
    assert value["nested"][0]["text_full_length"] == 3000 and value["n"] == 1


def test_backend_and_backends_choose_the_tracers(tmp_path: Path) -> None:
    assert TracingSettings(backend="jsonl").active == ["jsonl"]
    assert TracingSettings(backend="none").active == []
    assert TracingSettings(backends=["console", "jsonl", "console"]).active == [
        "console",
        "jsonl",
    ]
    project = project_with(tmp_path, {"backends": ["console", "jsonl"]})
    assert open_tracing(load_settings("experiment", project)).names == ["console", "jsonl"]


def test_langfuse_without_keys_is_left_out_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    project = project_with(tmp_path, {"backends": ["langfuse", "jsonl"]})
    warnings: list[str] = []
    tracing = open_tracing(load_settings("experiment", project), warn=warnings.append)
    assert tracing.names == ["jsonl"]
    (warning,) = warnings
    assert warning.startswith("tracing: langfuse is off:") and "LANGFUSE_PUBLIC_KEY" in warning
    # and a run goes on as if nothing happened
    events = run_once(project, "tiny.py", {}, warn=warnings.append)
    assert events[-1].type == "run.completed"


def test_every_event_of_a_run_is_a_line_with_its_context(tmp_path: Path) -> None:
    project = project_with(tmp_path, {"backends": ["jsonl"], "max_length": 100}, "boom.py")
    events = run_once(project, "boom.py", {})
    logged = lines(project / ".lgp" / "traces.jsonl")
    assert [(e["type"], e["seq"]) for e in logged] == [(e.type, e.seq) for e in events]
    first, last = logged[0], logged[-1]
    assert set(first) == {
        "ts", "level", "run_id", "thread_id", "workflow", "environment", "node", "type",
        "seq", "data",
    }  # fmt: skip
    assert (first["workflow"], first["environment"]) == ("boom", "experiment")
    assert first["ts"].endswith("Z") and first["run_id"] == events[0].run_id
    assert (last["type"], last["level"]) == ("run.failed", "error")
    assert len(last["data"]["traceback"]) == 100 and last["data"]["traceback_full_length"] > 100


def test_rotation_keeps_backup_count_files_and_loses_no_line(tmp_path: Path) -> None:
    settings = TracingSettings(backends=["jsonl"], max_bytes=2000, backup_count=3)
    tracer = JsonlTracer(settings, tmp_path)
    run = RunInfo("r1", "t1", "w", "experiment")
    for seq in range(1, 61):
        tracer.event(run, RunEvent("r1", seq, "custom", "t1", {"value": "x" * 100}))
    tracer.close(5.0)
    files = sorted(f for f in tmp_path.glob(".lgp/traces.jsonl*") if f.suffix != ".lock")
    assert [f.name for f in files] == [
        "traces.jsonl",
        "traces.jsonl.1",
        "traces.jsonl.2",
        "traces.jsonl.3",
    ]
    kept = [line["seq"] for f in reversed(files) for line in lines(f)]
    assert kept == list(range(kept[0], 61))  # in order, none lost between the files kept
    assert all(f.stat().st_size <= 2000 for f in files)


def test_the_console_summary_gives_each_nodes_time_even_for_a_failed_run(
    tmp_path: Path,
) -> None:
    project = project_with(tmp_path, {"backends": ["console"]}, "two_steps.py")
    said: list[str] = []
    run_once(project, "two_steps.py", {}, console=said.append)
    assert said[0].startswith("[lgp] Trace: two_steps failed in ")
    assert said[0].endswith("· 2 nodes")
    assert [line.split()[1] for line in said[1:]] == ["a", "b"]
    assert all(line.rstrip().endswith("ms") for line in said[1:])


class Broken:
    name = "broken"

    def start_run(self, run: RunInfo) -> None:
        raise OSError("disk full")

    def event(self, run: RunInfo, event: RunEvent) -> None:
        raise OSError("disk full")

    def finish_run(self, run: RunInfo, event: RunEvent) -> str | None:
        raise OSError("disk full")

    def close(self, timeout_s: float) -> None:
        return None


def test_a_failing_tracer_never_fails_a_run_warns_once_and_is_counted(
    tmp_path: Path,
) -> None:
    warnings: list[str] = []
    tracing = Tracing([Broken()], warn=warnings.append)
    run = RunInfo("r1", "t1", "w", "experiment")
    tracing.start_run(run)
    tracing.event(run, RunEvent("r1", 1, "custom", "t1", {}))
    assert tracing.finish_run(run, RunEvent("r1", 2, "run.completed", "t1", {})) is None
    assert warnings == ["tracing: broken: start_run failed: OSError: disk full"]
    assert tracing.failures == {"broken": 3}
    metrics = Metrics()
    metrics.watch_tracing(tracing)
    assert b'lgp_tracer_export_failures_total{tracer="broken"} 3.0' in metrics.render()


def test_hosted_config_writes_the_log_out_of_the_box(project: Path) -> None:
    """The repository's own config/hosted.yaml: `lgp run --env hosted` leaves a trace."""
    ran = run_lgp(
        "run", "workflows/basic_workflow.py", "--env", "hosted", "--input", '{"input": "hi"}',
        cwd=project,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    logged = lines(project / ".lgp" / "traces.jsonl")
    assert logged[0]["type"] == "run.started" and logged[-1]["type"] == "run.completed"
    assert {line["environment"] for line in logged} == {"hosted"}


def test_two_writers_on_one_log_rotate_without_losing_a_line(tmp_path: Path) -> None:
    """As two processes logging to one file (lgp serve --workers 2): each follows the
    other's rotations, so every line lands in a file that is kept."""
    settings = TracingSettings(backends=["jsonl"], max_bytes=3000, backup_count=50)
    writers = [JsonlTracer(settings, tmp_path), JsonlTracer(settings, tmp_path)]
    for seq in range(1, 201):
        run = RunInfo(f"r{seq % 2}", "t1", "w", "experiment")
        writer = writers[seq % 2]
        writer.event(run, RunEvent(run.run_id, seq, "custom", "t1", {"value": "x" * 60}))
        writer._drain()  # written now, as its thread would (every 50 ms)
    for writer in writers:
        writer.close(5.0)
    log = tmp_path / ".lgp" / "traces.jsonl"
    rotated = sorted(log.parent.glob("traces.jsonl.*[0-9]"), key=lambda f: -int(f.suffix[1:]))
    files = [*rotated, log]  # oldest first
    logged = [line["seq"] for f in files for line in lines(f)]
    assert logged == list(range(1, 201))  # every line, and the files in time order
    assert len(files) > 3 and all(f.stat().st_size <= 3000 for f in files)


def test_an_unwritable_log_path_is_a_warning_and_the_run_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log's folder should be")
    project = project_with(tmp_path, {"backends": ["jsonl"], "path": str(blocker / "t.jsonl")})
    warnings: list[str] = []
    events = run_once(project, "tiny.py", {}, warn=warnings.append)
    assert events[-1].type == "run.completed"
    (warning,) = warnings
    assert warning.startswith("tracing: jsonl is off: ") and "not-a-dir" in warning
