"""``lgp logs``: the JSON Lines trace log (``tracing.backends: [jsonl]``) from the
shell: ``query`` its events, ``stats`` of its runs, ``export`` them as Prometheus
metrics. The reading and summing is :mod:`lgp_engine.tracing.logs`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..jsonable import dumps
from ..tracing.logs import (
    LEVELS,
    Distribution,
    LogEntry,
    LogFilter,
    LogStats,
    ReadReport,
    TraceLog,
    UsageCounts,
    prometheus,
    query,
    stats,
)
from .common import common_options, fail, handle_errors, json_option, relpath, setup, table
from .console import PREFIX, clip, plural, secs, short, usage_text, usd
from .cost import parse_since
from .inspection import COUNT

_WHEN_HELP = "2026-01-31, 2026-01-31T09:30, or an age such as 10m, 2h, 7d."
_NODE_WIDTH = 24  # the NODE column of `query` lines is cut past this


@click.group()
def logs() -> None:
    """Query and sum up the JSON Lines trace log of an environment.

    With `tracing: {backends: [jsonl]}` in config/ENV.yaml, every event of every
    run is a line of .lgp/traces.jsonl (`tracing.path`), rotated by size into
    traces.jsonl.1 ... traces.jsonl.N. These commands read all of those files,
    oldest first; lines a crash cut short are skipped and counted.

    \b
    Examples:
      lgp logs query --since 10m                  # the newest events
      lgp logs query --level warning --since 2h   # warnings and errors
      lgp logs query --run 3f2a9c --type node     # node.started/finished of a run
      lgp logs query --type 'agent.' --json       # JSON Lines, for jq
      lgp logs stats --since 7d                   # runs, durations, errors, cost
      lgp logs export --prometheus /var/lib/node_exporter/lgp.prom
      lgp logs stats --env hosted                 # another environment's log
    """


def _open(env: str | None, verbose: bool) -> TraceLog:
    """The environment's log; exits 2 when it has none and JSON Lines tracing is off
    (a log that exists is read whatever the config says now)."""
    settings = setup(env, verbose)
    path = settings.resolve(settings.tracing.path)
    log = TraceLog(path)
    if not log.exists() and "jsonl" not in settings.tracing.active:
        config = relpath(settings.config_file) if settings.config_file else "its config"
        fail(
            f"No trace log at {relpath(path)}: JSON Lines tracing is off in the "
            f"{settings.environment} environment (add `tracing: {{backends: [jsonl]}}` to "
            f"{config}, or read another environment's log with --env ENV)",
            2,
        )
    return log


def _warn_malformed(report: ReadReport) -> None:
    """One ``⚠`` line on stderr when lines were skipped, naming the first."""
    if not report.malformed:
        return
    path, line = report.malformed_at[0]
    click.echo(
        f"{PREFIX} ⚠ Skipped {plural(report.malformed, 'malformed line')} "
        f"(first: {relpath(path)}:{line})",
        err=True,
    )


def _since(raw: str | None) -> dt.datetime | None:
    return parse_since(raw) if raw is not None else None


def _where(report: ReadReport, log: TraceLog) -> str:
    """``.lgp/traces.jsonl (+2 rotated files)``."""
    rotated = sum(1 for p in report.files if p != log.path)
    extra = f" (+{plural(rotated, 'rotated file')})" if rotated else ""
    return f"{relpath(log.path)}{extra}"


# -- query ----------------------------------------------------------------------------


@logs.command("query", short_help="Print the logged events that match the filters.")
@click.option("--run", "run", metavar="RUN_ID", help="Only this run (id, or 6+ characters of it).")
@click.option("--workflow", "-w", "workflow", metavar="NAME", help="Only runs of this workflow.")
@click.option(
    "--type",
    "types",
    metavar="TYPE",
    multiple=True,
    help="Only these event types: run.failed, a family (node, agent.) or a glob "
    "(*.result); repeat or comma-separate for several.",
)
@click.option("--node", metavar="NAME", help="Only events of this node.")
@click.option("--since", metavar="WHEN", help=f"Only events at or after WHEN: {_WHEN_HELP}")
@click.option(
    "--level",
    type=click.Choice(LEVELS, case_sensitive=False),
    help="Only events this severe or worse (warning: warnings and errors).",
)
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=COUNT,
    metavar="N",
    help="Show the newest N matching events (0: all of them).",
)
@json_option
@common_options
@handle_errors
def query_cmd(
    run: str | None,
    workflow: str | None,
    types: tuple[str, ...],
    node: str | None,
    since: str | None,
    level: str | None,
    limit: int,
    as_json: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Print the logged events that match every filter given, oldest first: time,
    level, workflow, run (8 characters), node, type and the gist of its data.

    --json prints the matching lines as they are in the log (JSON Lines).

    \b
    Examples:
      lgp logs query                              # the newest 100 events
      lgp logs query --since 2h --level error     # what failed lately
      lgp logs query --run 3f2a9c --limit 0       # every event of one run
      lgp logs query -w team --node review --type node.finished
      lgp logs query --type tool,agent.result --json | jq .data
    """
    filters = LogFilter(
        run=run,
        workflow=workflow,
        types=tuple(t.strip() for raw in types for t in raw.split(",") if t.strip()),
        node=node,
        since=_since(since),
        level=level.lower() if level else None,
    )
    log = _open(env, verbose)
    found = query(log, filters, limit)
    _warn_malformed(found.report)
    if as_json:
        for entry in found.entries:
            click.echo(dumps(entry.raw))
        return
    if not found.entries:
        nothing = "No events match" if found.report.lines else "No events logged yet"
        click.echo(f"{PREFIX} {nothing} in {_where(found.report, log)}.")
        return
    _print_entries(found.entries)
    if found.matched > len(found.entries):
        click.echo(
            f"{PREFIX} The newest {len(found.entries):,} of {found.matched:,} matching events "
            "(--limit 0 shows all)"
        )


def _print_entries(entries: list[LogEntry]) -> None:
    """One aligned line per event."""
    wf_width = max(len(e.workflow) for e in entries)
    node_width = min(max(len(e.node or "-") for e in entries), _NODE_WIDTH)
    type_width = max(len(e.type) for e in entries)
    for e in entries:
        ts = e.ts.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        node = clip(e.node or "-", _NODE_WIDTH)
        click.echo(
            f"{ts} {e.level:<7} {e.workflow:<{wf_width}} {e.run_id[:8]} "
            f"{node:<{node_width}} {e.type:<{type_width}} {gist(e)}".rstrip()
        )


def duration(ms: float) -> str:
    """``3.5 ms`` under 10 ms, ``120 ms`` under a second, else ``2.20s``."""
    return f"{ms:.1f} ms" if ms < 10 else secs(ms / 1000)


def _ms(d: dict[str, Any]) -> str:
    ms = d.get("duration_ms")
    return duration(ms) if isinstance(ms, int | float) and not isinstance(ms, bool) else ""


def _joined(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _spent(d: dict[str, Any]) -> str:
    """``[120 tokens, $0.0012]`` for an event with model usage, else empty."""
    text = usage_text(d.get("usage"))
    return f"[{text}]" if text else ""


def _gist_started(d: dict[str, Any]) -> str:
    if d.get("resumed"):
        return "resumed"
    if d.get("replay_of"):
        return f"replay of {d['replay_of']}"
    if d.get("fork_of"):
        return f"fork of {d['fork_of']}"
    return f"input {short(d.get('input'), 80)}"


def _gist_node(d: dict[str, Any]) -> str:
    error = d.get("error")
    if isinstance(error, dict):
        kind = f"[{error['kind']}] " if error.get("kind") else ""
        return _joined(_ms(d), f"✗ {kind}{error.get('type')}: {clip(error.get('message'), 80)}")
    if d.get("interrupts"):
        return _joined(_ms(d), "⏸ interrupt")
    return _joined(_ms(d), _spent(d))


def _gist_failed(d: dict[str, Any]) -> str:
    kind = f"[{d['kind']}] " if d.get("kind") else ""
    text = f"{kind}{d.get('error_type')}: {clip(d.get('message'), 80)}"
    return _joined(_ms(d), text, _spent(d))


def _gist_interrupt(d: dict[str, Any]) -> str:
    values = [i.get("value") for i in d.get("interrupts") or [] if isinstance(i, dict)]
    return _joined(_ms(d), short(values, 80) if values else "breakpoint")


def _gist_tool(d: dict[str, Any]) -> str:
    tool = ".".join(str(p) for p in (d.get("server"), d.get("tool")) if p)
    if "is_error" in d:
        return _joined(tool, _ms(d), "✗ error" if d.get("is_error") else "ok")
    return _joined(tool, short(d.get("arguments"), 80))


_GISTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "run.started": _gist_started,
    "node.finished": _gist_node,
    "run.completed": lambda d: _joined(_ms(d), _spent(d)),
    "interrupt": _gist_interrupt,
    "run.failed": _gist_failed,
    "run.cancelled": lambda d: _joined(_ms(d), clip(d.get("reason"), 80)),
    "tool.called": _gist_tool,
    "tool.result": _gist_tool,
    "checkpoint": lambda d: f"step {d.get('step')} {d.get('checkpoint_id')}",
    "message.delta": lambda d: short(d.get("content"), 80),
    "custom": lambda d: short(d.get("value"), 80),
}
_BULK = ("path", "task_id", "node", "triggers", "session_id")  # left out of other gists


def gist(entry: LogEntry) -> str:
    """The gist of an event's data, on one line."""
    d = entry.data
    shown = _GISTS.get(entry.type)
    if shown is not None:
        with contextlib.suppress(Exception):  # a line in an older shape: fall back
            return shown(d)
    rest = {k: v for k, v in d.items() if k not in _BULK}
    return short(rest, 100) if rest else ""


# -- stats ----------------------------------------------------------------------------


@logs.command("stats", short_help="Runs by status, durations, errors, tokens and cost.")
@click.option("--workflow", "-w", "workflow", metavar="NAME", help="Only runs of this workflow.")
@click.option(
    "--since", metavar="WHEN", help=f"Only runs first logged at or after WHEN: {_WHEN_HELP}"
)
@json_option
@common_options
@handle_errors
def stats_cmd(
    workflow: str | None, since: str | None, as_json: bool, env: str | None, verbose: bool
) -> None:
    """Sum up the logged runs: runs by status, p50/p95 duration by workflow and by
    node, errors by kind, and tokens and cost by model.

    A run's status is its last terminal event (completed, failed, cancelled,
    interrupted; running when it has none yet); its duration is that event's.
    Percentiles are nearest-rank (always a measured value). Tokens and cost add
    up what each run's end reported, as the run store does (`lgp cost`), for the
    runs still in the log.

    \b
    Examples:
      lgp logs stats
      lgp logs stats --since 24h -w team
      lgp logs stats --json | jq .by_status
    """
    cutoff = _since(since)
    log = _open(env, verbose)
    result = stats(log, workflow=workflow, since=cutoff)
    _warn_malformed(result.report)
    if as_json:
        scope = {"workflow": workflow, "since": cutoff.isoformat() if cutoff else None}
        click.echo(dumps({**scope, **result.to_dict()}, indent=2))
        return
    _print_stats(result, log)


def _print_stats(result: LogStats, log: TraceLog) -> None:
    where = _where(result.report, log)
    if not result.runs:
        nothing = "No runs match" if result.report.lines else "No runs logged yet"
        click.echo(f"{PREFIX} {nothing} in {where}.")
        return
    statuses = ", ".join(f"{n:,} {s}" for s, n in result.by_status().items())
    click.echo(f"{PREFIX} {plural(result.runs, 'run')} in {where}: {statuses}")
    total = result.usage_total()
    if total.calls:
        click.echo(
            f"{PREFIX} Models: {plural(total.calls, 'call')}, {total.total_tokens:,} tokens "
            f"({total.input_tokens:,} in, {total.output_tokens:,} out), {usd(total.cost_usd)}"
        )
    for section in (_runs_table, _nodes_table, _errors_table, _models_table):
        section(result)


def _duration_cells(d: Distribution | None) -> list[str]:
    return [duration(d.p50), duration(d.p95)] if d else ["-", "-"]


def _runs_table(result: LogStats) -> None:
    shown = list(result.by_status())
    click.echo()
    table(
        ["WORKFLOW", "RUNS", *(s.upper() for s in shown), "P50", "P95"],
        [
            [
                wf,
                f"{sum(counts.values()):,}",
                *(f"{counts[s]:,}" for s in shown),
                *_duration_cells(result.durations.get(wf)),
            ]
            for wf, counts in result.by_workflow.items()
        ],
        ids=("WORKFLOW",),
    )


def _nodes_table(result: LogStats) -> None:
    if not result.node_durations:
        return
    click.echo()
    table(
        ["WORKFLOW", "NODE", "CALLS", "P50", "P95", "MAX"],
        [
            [wf, node, f"{d.count:,}", *_duration_cells(d), duration(d.max)]
            for (wf, node), d in result.node_durations.items()
        ],
        ids=("WORKFLOW", "NODE"),
    )


def _errors_table(result: LogStats) -> None:
    if not result.errors:
        return
    click.echo()
    table(
        ["WORKFLOW", "SOURCE", "KIND", "ERRORS"],
        [
            [wf, source, kind, f"{n:,}"]
            for (wf, source, kind), n in sorted(result.errors.items(), key=lambda kv: -kv[1])
        ],
        ids=("WORKFLOW", "KIND"),
    )


def _models_table(result: LogStats) -> None:
    by_model = result.usage_by_model()
    if not by_model:
        return
    click.echo()
    table(
        ["MODEL", "RUNS", "CALLS", "INPUT", "OUTPUT", "COST"],
        [[name, *_usage_cells(u)] for name, u in by_model.items()],
        ids=("MODEL",),
    )


def _usage_cells(u: UsageCounts) -> list[str]:
    counts = (u.runs, u.calls, u.input_tokens, u.output_tokens)
    return [*(f"{n:,}" for n in counts), usd(u.cost_usd)]


# -- export ---------------------------------------------------------------------------


@logs.command("export", short_help="Write the stats as Prometheus metrics (atomically).")
@click.option(
    "--prometheus",
    "target",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the Prometheus text exposition format to FILE (- for stdout).",
)
@click.option("--workflow", "-w", "workflow", metavar="NAME", help="Only runs of this workflow.")
@click.option(
    "--since", metavar="WHEN", help=f"Only runs first logged at or after WHEN: {_WHEN_HELP}"
)
@common_options
@handle_errors
def export_cmd(
    target: Path, workflow: str | None, since: str | None, env: str | None, verbose: bool
) -> None:
    """Export `lgp logs stats` as Prometheus metrics: lgp_runs_total{workflow,status},
    lgp_tokens_total{workflow,model,kind}, lgp_cost_usd_total{workflow,model},
    lgp_llm_calls_total, lgp_errors_total{workflow,source,kind}, and summaries
    lgp_run_duration_seconds / lgp_node_duration_seconds (quantile 0.5 and 0.95).

    FILE is replaced atomically (written beside it, then renamed), so a reader
    such as node_exporter's textfile collector never sees half of it. The counts
    are those of the log as it is: when rotation drops a file, they go down.

    \b
    Examples:
      lgp logs export --prometheus metrics.prom
      lgp logs export --prometheus /var/lib/node_exporter/textfile/lgp.prom --env hosted
      lgp logs export --prometheus - --since 24h | grep lgp_runs_total
    """
    cutoff = _since(since)
    to_stdout = str(target) == "-"
    if not to_stdout and not target.expanduser().absolute().parent.is_dir():
        raise UsageError(  # before reading what may be a large log
            f"cannot write {target}: its directory does not exist",
            field="prometheus",
            code="cannot_write",
        )
    log = _open(env, verbose)
    result = stats(log, workflow=workflow, since=cutoff)
    _warn_malformed(result.report)
    text = prometheus(result)
    if to_stdout:
        sys.stdout.write(text)
        return
    write_atomically(target, text)
    samples = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    click.echo(
        f"{PREFIX} Wrote {plural(samples, 'sample')} ({plural(result.runs, 'run')}) "
        f"to {relpath(target)}"
    )


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (readable like a new file).

    Raises:
        UsageError: the file cannot be written (field ``prometheus``).
    """
    target = path.expanduser().absolute()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror}", field="prometheus", code="cannot_write"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it 0600
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UsageError(
            f"cannot write {path}: {exc.strerror}", field="prometheus", code="cannot_write"
        ) from None


COMMANDS = [logs]
