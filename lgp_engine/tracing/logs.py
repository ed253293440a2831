"""Reading the JSON Lines trace log back: query its events, sum up its runs, export
the sums as Prometheus metrics (what ``lgp logs`` prints).

The log is the file at ``tracing.path`` plus the files rotated out of it,
``traces.jsonl.1`` (the newest) to ``traces.jsonl.N`` (the oldest), as
:mod:`.jsonl` writes them. :class:`TraceLog` reads them oldest first, so lines come
in the order they were written. A line that is not a log object (a process that
died mid-write, a hand edit) is skipped and counted in :class:`ReadReport`, never
raised.

Runs are reconstructed from their events alone (see :func:`stats`):

* status: the type of the run's last terminal event (``run.completed`` ->
  completed, ``run.failed`` -> failed, ``run.cancelled`` -> cancelled, ``interrupt``
  -> interrupted); a run with events but no terminal event after its last
  ``run.started`` is ``running`` (or its process died: the run store says
  ``abandoned``, which the log cannot know).
* duration: the ``duration_ms`` of the last terminal event (a resumed run's
  record keeps its last segment's duration too).
* usage: each terminal event carries the usage of its segment of the run (an
  interrupted run that is resumed continues under the same run id, with a new
  segment), so a run's usage is the sum over its terminal events, which is what
  the run store's record holds (``lgp cost`` sums those).

Percentiles are nearest-rank: the p-th percentile of n values is the
``ceil(p * n / 100)``-th smallest, always one of the observed values.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import json
import math
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import AmbiguousError, UsageError
from ..events import EVENT_TYPES
from ..status import STATUS_FOR_EVENT

#: Levels, least severe first (``--level warning`` keeps warning and error).
LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")
_RANK = {name: rank for rank, name in enumerate(LEVELS)}
#: Run statuses the log can tell, in the order reports list them.
STATUSES: tuple[str, ...] = ("completed", "failed", "cancelled", "interrupted", "running")
#: The counts of a usage total that :func:`stats` sums (as the run store does).
USAGE_COUNTS: tuple[str, ...] = (
    "calls",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
)
#: Shortest run id prefix a filter accepts (as ``RunStore.find``).
MIN_RUN_PREFIX = 6
_MALFORMED_KEPT = 10  # locations of malformed lines a report remembers
_ROTATED = re.compile(r"\.(\d+)")


# -- entries and files ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of the log: one event of one run.

    Attributes:
        ts: When the engine saw the event (aware, UTC).
        level: ``debug``, ``info``, ``warning`` or ``error``.
        raw: The line's object as read (what ``--json`` prints back).
    """

    ts: dt.datetime
    level: str
    run_id: str
    thread_id: str
    workflow: str
    environment: str
    node: str | None
    type: str
    seq: int
    data: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)


def _timestamp(value: Any) -> dt.datetime:
    """``ts`` of a line: ISO 8601 (``...Z``), or seconds since the epoch."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if not isinstance(value, str):
        raise ValueError("no timestamp")
    when = dt.datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def parse_line(line: bytes | str) -> LogEntry | None:
    """The entry of one log line; None when it is not one (bad JSON, a missing or
    mistyped field)."""
    try:
        raw = json.loads(line)
        if not isinstance(raw, dict):
            return None
        kind, run_id, data = raw["type"], raw["run_id"], raw.get("data")
        if not (isinstance(kind, str) and isinstance(run_id, str) and run_id):
            return None
        node = raw.get("node")
        return LogEntry(
            ts=_timestamp(raw["ts"]),
            level=str(raw.get("level") or "info"),
            run_id=run_id,
            thread_id=str(raw.get("thread_id") or ""),
            workflow=str(raw.get("workflow") or ""),
            environment=str(raw.get("environment") or ""),
            node=node if isinstance(node, str) else None,
            type=kind,
            seq=int(raw.get("seq") or 0),
            data=data if isinstance(data, dict) else {},
            raw=raw,
        )
    except (ValueError, KeyError, TypeError, OverflowError):  # JSONDecodeError is a ValueError
        return None


@dataclass
class ReadReport:
    """What a read of the log went through: its files, lines, and the lines skipped."""

    files: list[Path] = field(default_factory=list)
    lines: int = 0
    malformed: int = 0
    #: Where the first malformed lines are: (file, line number).
    malformed_at: list[tuple[Path, int]] = field(default_factory=list)

    def skipped(self, path: Path, line_no: int) -> None:
        self.malformed += 1
        if len(self.malformed_at) < _MALFORMED_KEPT:
            self.malformed_at.append((path, line_no))

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [str(p) for p in self.files],
            "lines": self.lines,
            "malformed": self.malformed,
            "malformed_at": [f"{p}:{n}" for p, n in self.malformed_at],
        }


class TraceLog:
    """The files of one JSON Lines log: ``path`` and its rotated copies.

    Args:
        path: The live file (``.lgp/traces.jsonl``); rotated files sit beside it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> list[Path]:
        """The log's files in the order they were written: the oldest rotated file
        (highest number) first, the live file last. Only files that exist."""
        rotated: list[tuple[int, Path]] = []
        if self.path.parent.is_dir():
            for candidate in self.path.parent.glob(glob_escape(self.path.name) + ".*"):
                number = _ROTATED.fullmatch(candidate.name[len(self.path.name) :])
                if number and candidate.is_file():
                    rotated.append((int(number.group(1)), candidate))
        ordered = [p for _, p in sorted(rotated, reverse=True)]
        return [*ordered, self.path] if self.path.is_file() else ordered

    def exists(self) -> bool:
        """Whether any of its files exists."""
        return bool(self.files())

    def entries(self, report: ReadReport | None = None) -> Iterator[LogEntry]:
        """Every well-formed entry, oldest first; ``report`` counts files, lines and
        malformed lines.

        All files are opened before the first is read: a rotation while reading
        renames files under open handles, so no line is read twice or missed.
        """
        report = report if report is not None else ReadReport()
        with contextlib.ExitStack() as stack:
            handles: list[tuple[Path, BinaryIO]] = []
            for path in self.files():
                with contextlib.suppress(FileNotFoundError):  # rotated away meanwhile
                    handles.append((path, stack.enter_context(path.open("rb"))))
            report.files = [p for p, _ in handles]
            for path, handle in handles:
                yield from _read(path, handle, report)


def glob_escape(name: str) -> str:
    """``name`` with glob wildcards escaped (``[`` ``*`` ``?``)."""
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def _read(path: Path, handle: BinaryIO, report: ReadReport) -> Iterator[LogEntry]:
    for line_no, line in enumerate(handle, 1):
        if not line.strip():
            continue
        report.lines += 1
        entry = parse_line(line)
        if entry is None:
            report.skipped(path, line_no)
        else:
            yield entry


# -- query ----------------------------------------------------------------------------


def _check_type_pattern(pattern: str) -> None:
    if not any(_type_matches(pattern, t) for t in EVENT_TYPES):
        raise UsageError(
            f"{{field}} {pattern!r} matches no event type; types: {', '.join(EVENT_TYPES)}",
            field="type",
            code="unknown_event_type",
        )


def _type_matches(pattern: str, kind: str) -> bool:
    """``run.failed`` (exact), ``agent.`` or ``agent`` (a family), ``*.result`` (glob)."""
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(kind, pattern)
    if pattern.endswith("."):
        return kind.startswith(pattern)
    return kind == pattern or kind.startswith(pattern + ".")


@dataclass(frozen=True)
class LogFilter:
    """Which entries a query keeps; every field given must match.

    Attributes:
        run: A run id, or a prefix of one (at least 6 characters) that matches one
            run of the log.
        workflow: The workflow's name, exactly.
        types: Event type patterns (any may match): ``run.failed``, a family
            (``agent.`` or ``agent``), or a glob (``*.result``).
        node: The node's name, exactly.
        since: Only entries at or after this time (aware).
        level: The least severe level kept (``warning``: warning and error).
    """

    run: str | None = None
    workflow: str | None = None
    types: tuple[str, ...] = ()
    node: str | None = None
    since: dt.datetime | None = None
    level: str | None = None

    def __post_init__(self) -> None:
        if self.level is not None and self.level not in _RANK:
            raise UsageError(
                f"{{field}} must be one of {', '.join(LEVELS)}, not {self.level!r}",
                field="level",
                code="bad_level",
            )
        if self.run is not None and len(self.run) < MIN_RUN_PREFIX:
            raise UsageError(
                f"{{field}} needs at least {MIN_RUN_PREFIX} characters of a run id, "
                f"not {self.run!r}",
                field="run",
                code="short_run_prefix",
            )
        for pattern in self.types:
            _check_type_pattern(pattern)

    def matches(self, entry: LogEntry) -> bool:
        """Whether ``entry`` passes every filter (a run matches by prefix here: see
        :func:`query` for how a prefix is resolved to one run)."""
        if self.run is not None and not entry.run_id.startswith(self.run):
            return False
        if self.workflow is not None and entry.workflow != self.workflow:
            return False
        if self.node is not None and entry.node != self.node:
            return False
        if self.since is not None and entry.ts < self.since:
            return False
        if self.level is not None and _RANK.get(entry.level, 1) < _RANK[self.level]:
            return False
        return not self.types or any(_type_matches(p, entry.type) for p in self.types)


@dataclass
class QueryResult:
    """What :func:`query` found: the entries kept (oldest first), how many matched
    in all (more than kept when ``limit`` cut them), and the read's report."""

    entries: list[LogEntry]
    matched: int
    report: ReadReport


def query(log: TraceLog, filters: LogFilter | None = None, limit: int = 0) -> QueryResult:
    """The entries of ``log`` that ``filters`` keep, in the order they were written;
    with ``limit`` (> 0) only the newest ``limit`` of them.

    Raises:
        AmbiguousError: ``filters.run`` is a prefix of several runs of the log and
            the id of none of them.
    """
    filters = filters or LogFilter()
    report = ReadReport()
    matching = (e for e in log.entries(report) if filters.matches(e))
    if filters.run is not None:
        # a prefix: keep every candidate until the read says which run it means
        found = _one_run(list(matching), filters.run)
        kept = found[-limit:] if limit > 0 else found
        return QueryResult(kept, len(found), report)
    matched = 0
    window: deque[LogEntry] = deque(maxlen=limit if limit > 0 else None)
    for entry in matching:
        matched += 1
        window.append(entry)
    return QueryResult(list(window), matched, report)


def _one_run(entries: list[LogEntry], prefix: str) -> list[LogEntry]:
    """The entries of the one run ``prefix`` names (its full id wins over longer ids)."""
    runs = list(dict.fromkeys(e.run_id for e in entries))
    if prefix in runs:
        return [e for e in entries if e.run_id == prefix]
    if len(runs) > 1:
        shown = ", ".join(runs[:5]) + (", ..." if len(runs) > 5 else "")
        raise AmbiguousError(
            f"run id prefix {prefix!r} is ambiguous ({len(runs)} runs in the log: {shown}); "
            "give more of the id",
            field="run",
            code="ambiguous_log_run",
            run_id=prefix,
        )
    return entries


# -- stats ----------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of ``values`` (not empty):
    the ``ceil(p * n / 100)``-th smallest value."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Distribution:
    """Durations (ms): how many, p50, p95, the largest and the sum."""

    count: int
    p50: float
    p95: float
    max: float
    sum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        return cls(
            count=len(values),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
            max=max(values),
            sum=math.fsum(values),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "max_ms": self.max,
            "sum_ms": round(self.sum, 3),
        }


@dataclass
class UsageCounts:
    """Tokens, calls and cost of model calls; ``runs``: how many runs made them."""

    runs: int = 0
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, usage: dict[str, Any]) -> None:
        """Add a usage total (or a ``by_model`` entry) of an event."""
        for key in USAGE_COUNTS:
            setattr(self, key, getattr(self, key) + _int(usage.get(key)))
        self.cost_usd += _float(usage.get("cost_usd"))

    def merge(self, other: UsageCounts) -> None:
        self.runs += other.runs
        for key in USAGE_COUNTS:
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.cost_usd += other.cost_usd

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"runs": self.runs}
        out.update({key: getattr(self, key) for key in USAGE_COUNTS})
        out["cost_usd"] = round(self.cost_usd, 8)
        return out


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _ms(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass
class _Run:
    """A run as its events tell it (built up by :func:`_runs`)."""

    workflow: str
    first_ts: dt.datetime
    status: str = "running"
    duration_ms: float | None = None
    error_kind: str | None = None
    usage: UsageCounts = field(default_factory=UsageCounts)
    by_model: dict[str, UsageCounts] = field(default_factory=dict)
    nodes: list[tuple[str, float]] = field(default_factory=list)
    side_errors: Counter[tuple[str, str]] = field(default_factory=Counter)

    def see(self, entry: LogEntry) -> None:
        """Fold one event of the run into what is known of it."""
        data = entry.data
        if entry.type == "run.started":
            self.status = "running"  # a resume continues the run
        elif entry.type in STATUS_FOR_EVENT:
            self._end(entry.type, data)
        elif entry.type == "node.finished":
            ms = _ms(data.get("duration_ms"))
            if ms is not None:
                self.nodes.append((str(entry.node or data.get("node") or "?"), ms))
        elif entry.type == "tool.result" and data.get("is_error"):
            tool = ".".join(str(p) for p in (data.get("server"), data.get("tool")) if p)
            self.side_errors["tool", tool or "?"] += 1
        elif entry.type == "agent.tool_result" and data.get("is_error"):
            self.side_errors["agent_tool", str(data.get("tool") or "?")] += 1
        elif entry.type == "agent.result" and data.get("is_error"):
            self.side_errors["agent", str(data.get("kind") or "error")] += 1

    def _end(self, kind: str, data: dict[str, Any]) -> None:
        self.status = str(STATUS_FOR_EVENT[kind])
        self.duration_ms = _ms(data.get("duration_ms"))
        self.error_kind = _error_kind(data) if kind == "run.failed" else None
        usage = data.get("usage")
        if not isinstance(usage, dict):
            return
        self.usage.add(usage)
        for model, entry in (usage.get("by_model") or {}).items():
            if isinstance(entry, dict):
                self.by_model.setdefault(str(model), UsageCounts()).add(entry)


def _error_kind(data: dict[str, Any]) -> str:
    """How a run failed: its ``kind`` (timeout, auth...), else the exception's type."""
    return str(data.get("kind") or data.get("error_type") or "error")


def _runs(entries: Iterable[LogEntry]) -> dict[str, _Run]:
    runs: dict[str, _Run] = {}
    for entry in entries:
        run = runs.get(entry.run_id)
        if run is None:
            run = runs[entry.run_id] = _Run(workflow=entry.workflow, first_ts=entry.ts)
        run.see(entry)
    return runs


@dataclass
class LogStats:
    """What :func:`stats` sums up (keys are tuples; :meth:`to_dict` names them).

    Attributes:
        by_workflow: Runs by status, by workflow.
        durations: Run durations by workflow (runs that reached a terminal event).
        node_durations: ``node.finished`` durations by (workflow, node).
        errors: Counts by (workflow, source, kind): ``run`` failures by kind (or
            exception type), ``tool`` calls that failed by ``server.tool``,
            ``agent_tool`` (a Claude Code session's tool calls) by tool, ``agent``
            invocations that failed by kind.
        usage: Model usage by (workflow, ``provider:model``).
        run_usage: Model usage totals by workflow (``runs``: runs that called a model).
    """

    report: ReadReport
    by_workflow: dict[str, Counter[str]] = field(default_factory=dict)
    durations: dict[str, Distribution] = field(default_factory=dict)
    node_durations: dict[tuple[str, str], Distribution] = field(default_factory=dict)
    errors: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    usage: dict[tuple[str, str], UsageCounts] = field(default_factory=dict)
    run_usage: dict[str, UsageCounts] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return sum(sum(c.values()) for c in self.by_workflow.values())

    def by_status(self) -> dict[str, int]:
        """Runs by status, in :data:`STATUSES` order (statuses with none left out)."""
        total: Counter[str] = Counter()
        for counts in self.by_workflow.values():
            total.update(counts)
        return {s: total[s] for s in STATUSES if total[s]}

    def usage_by_model(self) -> dict[str, UsageCounts]:
        """Usage by ``provider:model`` over all workflows, costliest first."""
        out: dict[str, UsageCounts] = {}
        for (_, model), counts in self.usage.items():
            out.setdefault(model, UsageCounts()).merge(counts)
        return dict(sorted(out.items(), key=lambda kv: (-kv[1].cost_usd, -kv[1].total_tokens)))

    def usage_total(self) -> UsageCounts:
        """Usage of every run (``runs``: the runs that called a model)."""
        total = UsageCounts()
        for counts in self.run_usage.values():
            total.merge(counts)
        return total

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible summary."""
        return {
            "log": self.report.to_dict(),
            "runs": self.runs,
            "by_status": self.by_status(),
            "by_workflow": {
                wf: {s: counts[s] for s in STATUSES if counts[s]}
                for wf, counts in self.by_workflow.items()
            },
            "durations": {wf: d.to_dict() for wf, d in self.durations.items()},
            "node_durations": [
                {"workflow": wf, "node": node, **d.to_dict()}
                for (wf, node), d in self.node_durations.items()
            ],
            "errors": [
                {"workflow": wf, "source": source, "kind": kind, "count": n}
                for (wf, source, kind), n in self.errors.items()
            ],
            "usage": self.usage_total().to_dict(),
            "by_model": {m: u.to_dict() for m, u in self.usage_by_model().items()},
            "usage_by_workflow": [
                {"workflow": wf, "model": model, **u.to_dict()}
                for (wf, model), u in self.usage.items()
            ],
        }


def stats(
    log: TraceLog, *, workflow: str | None = None, since: dt.datetime | None = None
) -> LogStats:
    """Sum up the runs of ``log`` (of ``workflow``, first seen at or after ``since``):
    see the module docstring for how a run's status, duration and usage are read."""
    report = ReadReport()
    runs = [
        run
        for run in _runs(log.entries(report)).values()
        if (workflow is None or run.workflow == workflow)
        and (since is None or run.first_ts >= since)
    ]
    result = LogStats(report=report)
    durations: dict[str, list[float]] = {}
    nodes: dict[tuple[str, str], list[float]] = {}
    for run in sorted(runs, key=lambda r: r.workflow):
        _count(result, run, durations, nodes)
    result.durations = {wf: Distribution.of(v) for wf, v in durations.items()}
    result.node_durations = {key: Distribution.of(v) for key, v in sorted(nodes.items())}
    return result


def _count(
    result: LogStats,
    run: _Run,
    durations: dict[str, list[float]],
    nodes: dict[tuple[str, str], list[float]],
) -> None:
    """Add one run to ``result`` (and its durations to ``durations`` / ``nodes``)."""
    wf = run.workflow
    result.by_workflow.setdefault(wf, Counter())[run.status] += 1
    if run.status != "running" and run.duration_ms is not None:
        durations.setdefault(wf, []).append(run.duration_ms)
    for node, ms in run.nodes:
        nodes.setdefault((wf, node), []).append(ms)
    if run.status == "failed":
        result.errors[wf, "run", run.error_kind or "error"] += 1
    for (source, kind), n in run.side_errors.items():
        result.errors[wf, source, kind] += n
    totals = result.run_usage.setdefault(wf, UsageCounts())
    totals.add(run.usage.to_dict())
    totals.runs += int(run.usage.calls > 0)
    for model, counts in run.by_model.items():
        into = result.usage.setdefault((wf, model), UsageCounts())
        into.merge(counts)
        into.runs += 1


# -- Prometheus -----------------------------------------------------------------------


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, labels: dict[str, str], value: float) -> str:
    inside = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
    number = repr(float(value)) if isinstance(value, float) else str(value)
    return f"{name}{{{inside}}} {number}" if inside else f"{name} {number}"


def _family(name: str, kind: str, doc: str, samples: list[str]) -> list[str]:
    return [f"# HELP {name} {doc}", f"# TYPE {name} {kind}", *samples]


def _summary(name: str, labels: dict[str, str], d: Distribution) -> list[str]:
    """A summary's samples (seconds) from durations in ms."""
    return [
        _sample(name, {**labels, "quantile": "0.5"}, d.p50 / 1000),
        _sample(name, {**labels, "quantile": "0.95"}, d.p95 / 1000),
        _sample(f"{name}_sum", labels, d.sum / 1000),
        _sample(f"{name}_count", labels, d.count),
    ]


def prometheus(result: LogStats) -> str:
    """``result`` in the Prometheus text exposition format (0.0.4): counters of runs,
    tokens, cost, model calls and errors, summaries of run and node durations (p50
    and p95, in seconds). The counts are of the log as it is: rotation that drops a
    file lowers them, as a counter reset would."""
    runs = [
        _sample("lgp_runs_total", {"workflow": wf, "status": s}, n)
        for wf, counts in result.by_workflow.items()
        for s, n in counts.items()
    ]
    tokens, cost, calls = [], [], []
    for (wf, model), u in result.usage.items():
        labels = {"workflow": wf, "model": model}
        tokens.append(_sample("lgp_tokens_total", {**labels, "kind": "input"}, u.input_tokens))
        tokens.append(_sample("lgp_tokens_total", {**labels, "kind": "output"}, u.output_tokens))
        cost.append(_sample("lgp_cost_usd_total", labels, round(u.cost_usd, 8)))
        calls.append(_sample("lgp_llm_calls_total", labels, u.calls))
    errors = [
        _sample("lgp_errors_total", {"workflow": wf, "source": source, "kind": kind}, n)
        for (wf, source, kind), n in result.errors.items()
    ]
    run_durations = [
        line
        for wf, d in result.durations.items()
        for line in _summary("lgp_run_duration_seconds", {"workflow": wf}, d)
    ]
    node_durations = [
        line
        for (wf, node), d in result.node_durations.items()
        for line in _summary("lgp_node_duration_seconds", {"workflow": wf, "node": node}, d)
    ]
    malformed = [_sample("lgp_log_malformed_lines", {}, result.report.malformed)]
    lines = [
        *_family("lgp_runs_total", "counter", "Runs in the trace log by final status.", runs),
        *_family("lgp_tokens_total", "counter", "Model tokens by model and kind.", tokens),
        *_family("lgp_cost_usd_total", "counter", "Model cost in USD by model.", cost),
        *_family("lgp_llm_calls_total", "counter", "Model calls by model.", calls),
        *_family("lgp_errors_total", "counter", "Errors by source and kind.", errors),
        *_family(
            "lgp_run_duration_seconds", "summary", "Run durations (nearest rank).", run_durations
        ),
        *_family(
            "lgp_node_duration_seconds", "summary", "Node durations (nearest rank).", node_durations
        ),
        *_family("lgp_log_malformed_lines", "gauge", "Log lines that were skipped.", malformed),
    ]
    return "\n".join(lines) + "\n"
