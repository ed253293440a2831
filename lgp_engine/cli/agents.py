"""``lgp agents``: the Claude Code sessions that runs recorded (what each did, the
tools it called, what failed, what it cost), read from the run store; ``watch``
follows one live from another terminal."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from ..agent_sessions import (
    AgentActivity,
    AgentErrorEntry,
    AgentMetrics,
    AgentSession,
    AgentSummary,
    AgentTimeline,
    AgentTimelineEntry,
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
from ..errors import UsageError
from ..jsonable import dumps
from ..runs import RunStore
from .common import common_options, handle_errors, json_option, open_run_store, setup, table, when
from .console import PREFIX, secs, usd
from .inspection import COUNT

_SESSION_COLUMNS = [
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


@click.group()
def agents() -> None:
    """Claude Code sessions: what each did, the tools it called, what failed, what it cost.

    A Claude Code node records its session as agent.* events in the run store. A
    session is every event of one session id, across runs (a later run on the same
    thread resumes it in place); a run may hold several sessions.

    SESSION_OR_RUN is a session id or a run id, or a unique prefix of either (6
    characters or more). Given a run, a command looks at all of its agent events.

    \b
    Examples:
      lgp agents list                      # sessions, most recently active first
      lgp agents latest                    # the newest session at a glance
      lgp agents summary 3f2a9c            # a session, or the sessions of a run
      lgp agents tools 3f2a9c              # calls by tool: errors, mean and max time
      lgp agents errors RUN_ID             # failed tool calls and invocations
      lgp agents timeline 3f2a9c           # every event with its offset
      lgp agents metrics 3f2a9c --json     # tokens, cost, turns, events per second
      lgp agents export 3f2a9c -o session.jsonl
      lgp agents watch RUN_ID              # follow it live from another terminal
    """


def _about_one(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The SESSION_OR_RUN argument, --json, --env and --verbose; errors as one line."""
    fn = json_option(common_options(handle_errors(fn)))
    return click.argument("ref", metavar="SESSION_OR_RUN")(fn)


@contextlib.contextmanager
def _run_store(env: str | None, verbose: bool) -> Iterator[RunStore]:
    """The environment's run store, closed afterwards (an empty one in memory when the
    project has none yet: reading never creates it)."""
    store = open_run_store(setup(env, verbose)) or RunStore(None)
    try:
        yield store
    finally:
        store.close()


def _resolve(ref: str, env: str | None, verbose: bool) -> AgentActivity:
    with _run_store(env, verbose) as store:
        return resolve_agent_activity(store, ref)


# -- commands -------------------------------------------------------------------------


@agents.command("list")
@click.option(
    "--limit", default=50, show_default=True, type=COUNT, help="How many to show (0: all)."
)
@json_option
@common_options
@handle_errors
def list_sessions(limit: int, as_json: bool, env: str | None, verbose: bool) -> None:
    """List Claude Code sessions, most recently active first: id, role, node, runs,
    thread, workflow, model, start, status (running, ok, or how the last invocation
    failed: stalled, timeout, crashed...), turns, tool calls and cost.

    \b
    Examples:
      lgp agents list
      lgp agents list --limit 5 --json
    """
    with _run_store(env, verbose) as store:
        sessions = list_agent_sessions(store, limit=limit or None)
    if as_json:
        click.echo(dumps(sessions, indent=2))
    elif not sessions:
        click.echo(f"{PREFIX} No Claude Code sessions yet.")
    else:
        _sessions_table(sessions)


@agents.command()
@json_option
@common_options
@handle_errors
def latest(as_json: bool, env: str | None, verbose: bool) -> None:
    """Summarize the most recently active session (like `lgp agents summary`).

    \b
    Examples:
      lgp agents latest
      lgp agents latest --json
    """
    with _run_store(env, verbose) as store:
        activity = latest_agent_session(store)
    _show_summary(agent_summary(activity), as_json)


@agents.command()
@_about_one
def summary(ref: str, as_json: bool, env: str | None, verbose: bool) -> None:
    """Show a session at a glance: where and when it ran, how it stands, its
    invocations, turns, tool calls, tokens, cost and duration. Given a run: the
    same over all of its Claude Code sessions, then one line per session.

    \b
    Examples:
      lgp agents summary 3f2a9c
      lgp agents summary RUN_ID --json
    """
    _show_summary(agent_summary(_resolve(ref, env, verbose)), as_json)


@agents.command()
@_about_one
def tools(ref: str, as_json: bool, env: str | None, verbose: bool) -> None:
    """Show the tool calls of a session (or of a run's agents) by tool: calls, failed
    calls, and the mean and longest time from a call to its result.

    \b
    Examples:
      lgp agents tools 3f2a9c
      lgp agents tools RUN_ID --json
    """
    activity = _resolve(ref, env, verbose)
    report = agent_tool_calls(activity.events)
    if as_json:
        click.echo(dumps(_scoped(activity, report), indent=2))
        return
    click.echo(
        f"{PREFIX} {_title(activity)}: {_n(report.calls, 'tool call')}, {report.errors} failed"
    )
    if report.by_tool:
        table(
            ["TOOL", "CALLS", "ERRORS", "MEAN", "MAX"],
            [
                [t.tool, f"{t.calls:,}", f"{t.errors:,}", _ms(t.mean_ms), _ms(t.max_ms)]
                for t in report.by_tool
            ],
            ids=("TOOL",),
        )


@agents.command()
@_about_one
def errors(ref: str, as_json: bool, env: str | None, verbose: bool) -> None:
    """Show what went wrong in a session (or in a run's agents): tool calls that
    failed, invocations that failed and how (stalled, timeout, crashed, auth,
    budget_exceeded...), and the permission denials the invocations reported.

    \b
    Examples:
      lgp agents errors 3f2a9c
      lgp agents errors RUN_ID --json
    """
    activity = _resolve(ref, env, verbose)
    report = agent_errors(activity.events)
    if as_json:
        click.echo(dumps(_scoped(activity, report), indent=2))
        return
    click.echo(
        f"{PREFIX} {_title(activity)}: {_n(report.tool_errors, 'failed tool call')}, "
        f"{_n(report.failed_invocations, 'failed invocation')}, "
        f"{_n(report.permission_denials, 'permission denial')}"
    )
    if report.errors:
        table(
            ["OFFSET", "SESSION", "NODE", "ERROR", "MESSAGE"],
            [
                [
                    _offset(e.offset_s),
                    _short_id(e.session_id),
                    e.node or "-",
                    _error_name(e),
                    e.text or "-",
                ]
                for e in report.errors
            ],
            ids=("OFFSET", "SESSION", "ERROR"),
        )


@agents.command()
@_about_one
def timeline(ref: str, as_json: bool, env: str | None, verbose: bool) -> None:
    """Show every event of a session (or of a run's agents) in order: its offset from
    the first, its session, node and type, and what it says (a message, a tool call
    and its input, how long a tool took and what it returned, the result).

    \b
    Examples:
      lgp agents timeline 3f2a9c
      lgp agents timeline RUN_ID --json
    """
    activity = _resolve(ref, env, verbose)
    entries = agent_timeline(activity.events)
    if as_json:
        click.echo(
            dumps({"target": activity.target, "id": activity.id, "events": entries}, indent=2)
        )
        return
    span = entries[-1].offset_s if entries else 0.0
    click.echo(f"{PREFIX} {_title(activity)}: {_n(len(entries), 'event')} over {secs(span)}")
    if entries:
        table(
            ["OFFSET", "SESSION", "NODE", "EVENT", "WHAT"],
            [
                [
                    _offset(e.offset_s),
                    _short_id(e.session_id),
                    e.node or "-",
                    _event_name(e.type),
                    e.text or "-",
                ]
                for e in entries
            ],
            ids=("OFFSET", "SESSION", "EVENT"),
        )


@agents.command()
@_about_one
def metrics(ref: str, as_json: bool, env: str | None, verbose: bool) -> None:
    """Show the figures of a session (or of a run's agents), summed over its
    invocations: tokens (input, output, cache read and write), cost, turns, tool calls
    by tool, permission denials, durations, events and events per second.

    Tokens, cost, turns and durations are what each invocation's result reported;
    events per second is the recorded agent events over the time from the first to
    the last of them.

    \b
    Examples:
      lgp agents metrics 3f2a9c
      lgp agents metrics RUN_ID --json
    """
    activity = _resolve(ref, env, verbose)
    figures = agent_metrics(activity.events)
    if as_json:
        click.echo(dumps(_scoped(activity, figures), indent=2))
        return
    click.echo(f"{PREFIX} Metrics of {_title(activity).lower()}")
    _pairs(_metric_rows(figures))
    if figures.tools:
        click.echo()
        table(["TOOL", "CALLS"], [[t, f"{n:,}"] for t, n in figures.tools.items()], ids=("TOOL",))


@agents.command()
@click.argument("ref", metavar="SESSION_OR_RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one event a line; json: one array.",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout.",
)
@common_options
@handle_errors
def export(ref: str, fmt: str, output: Path | None, env: str | None, verbose: bool) -> None:
    """Write the events of a session (or a run's agent events) as JSON, in time
    order, shaped like `lgp events --json`: run_id, seq, ts, type, thread_id, node,
    data.

    \b
    Examples:
      lgp agents export 3f2a9c > session.jsonl
      lgp agents export RUN_ID --format json -o agents.json
    """
    activity = _resolve(ref, env, verbose)
    rows = [event.to_dict() for event in activity.events]
    if fmt == "json":
        text = dumps(rows, indent=2) + "\n"
    else:
        text = "".join(dumps(row) + "\n" for row in rows)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}", field="output") from None
    click.echo(f"{PREFIX} Wrote {_n(len(rows), 'event')} of {_title(activity).lower()} to {output}")


@agents.command()
@click.argument("ref", metavar="SESSION_OR_RUN")
@click.option(
    "--interval",
    default=0.2,
    show_default=True,
    metavar="SECONDS",
    type=click.FloatRange(0.01, 60),
    help="How often to look for new events.",
)
@json_option
@common_options
@handle_errors
def watch(ref: str, interval: float, as_json: bool, env: str | None, verbose: bool) -> None:
    """Follow a session or a run live, from another terminal while it runs: print its
    agent events as they are recorded, then a summary line once the run ends (or
    waits at an interrupt). Given a run whose Claude Code node has not started yet,
    wait for it. A session is followed in the newest run it is in.

    With --json, stdout has the events as JSON lines (like `lgp events --json`) and
    the other lines go to stderr. Ctrl+C stops watching (exit 130); the run goes on.

    \b
    Examples:
      lgp agents watch RUN_ID              # while `lgp run` runs in another terminal
      lgp agents watch 3f2a9c --json | jq -r .type
    """
    with _run_store(env, verbose) as store:
        activity = resolve_agent_activity(store, ref)
        _follow(store, activity, interval=interval, as_json=as_json)


# -- output ---------------------------------------------------------------------------


def _follow(store: RunStore, activity: AgentActivity, *, interval: float, as_json: bool) -> None:
    """Print the activity's events as they come, then its summary line; exit 130 on
    Ctrl+C. With ``as_json``, stdout is JSON lines only (the rest goes to stderr)."""

    def info(text: str) -> None:
        click.echo(f"{PREFIX} {text}", err=as_json)

    run_id = activity.newest_run.run_id
    entries = AgentTimeline()
    try:
        if activity.events:
            where = "" if activity.target == "run" else f" in run {run_id}"
            info(f"Following {_title(activity).lower()}{where} (Ctrl+C to stop)")
        else:
            info(f"Waiting for a Claude Code node in run {run_id} (Ctrl+C to stop)")
        for event in follow_agent_activity(store, activity, poll_seconds=interval):
            click.echo(event.to_json() if as_json else _watch_line(entries.add(event)))
    except KeyboardInterrupt:
        info(f"Stopped watching (run {run_id} goes on)")
        sys.exit(130)
    final = agent_summary(resolve_agent_activity(store, activity.id))
    info(f"{_title(final)}: {final.status} (run {final.run_status}); {_figures_text(final)}")


def _show_summary(summary: AgentSummary, as_json: bool) -> None:
    if as_json:
        click.echo(dumps(summary, indent=2))
        return
    click.echo(f"{PREFIX} {_title(summary)}: {summary.status}")
    _pairs(_summary_rows(summary))
    if summary.target == "run" and summary.sessions:
        click.echo()
        _sessions_table(summary.sessions)


def _summary_rows(summary: AgentSummary) -> list[tuple[str, str]]:
    figures = summary.metrics
    session = summary.sessions[0] if summary.target == "session" else None
    if session is not None:
        who = [
            ("role", session.role or "-"),
            ("node", session.node or "-"),
            ("model", session.model or "-"),
            ("repository", session.repository or "-"),
        ]
    else:
        unassigned = f" (+{_n(summary.unassigned_events, 'event')} of no session)"
        who = [
            ("sessions", f"{len(summary.sessions)}{unassigned * bool(summary.unassigned_events)}")
        ]
    return [
        *who,
        ("runs", ", ".join(summary.run_ids)),
        ("run status", summary.run_status),
        ("thread", summary.thread_id),
        ("workflow", summary.workflow),
        ("started", _at(summary.started)),
        ("ended", _at(summary.ended)),
        ("invocations", _invocations_text(summary)),
        ("turns", f"{figures.turns:,}"),
        ("tool calls", _tools_text(figures)),
        ("tokens", _tokens_text(figures)),
        ("cost", _cost_text(figures)),
        (
            "duration",
            f"{secs(figures.duration_ms / 1000)} (API {secs(figures.duration_api_ms / 1000)})",
        ),
    ]


def _metric_rows(m: AgentMetrics) -> list[tuple[str, str]]:
    rate = f"{m.events_per_second:,.3f}" if m.events_per_second is not None else "-"
    return [
        ("invocations", f"{m.invocations:,}"),
        ("turns", f"{m.turns:,}"),
        ("input tokens", f"{m.input_tokens:,}"),
        ("output tokens", f"{m.output_tokens:,}"),
        ("cache read tokens", f"{m.cache_read_tokens:,}"),
        ("cache write tokens", f"{m.cache_write_tokens:,}"),
        ("total tokens", f"{m.total_tokens:,}"),
        ("cost", usd(m.cost_usd)),
        ("cost reported", usd(m.reported_cost_usd)),
        ("tool calls", f"{m.tool_calls:,}"),
        ("tool errors", f"{m.tool_errors:,}"),
        ("permission denials", f"{m.permission_denials:,}"),
        ("duration", secs(m.duration_ms / 1000)),
        ("API duration", secs(m.duration_api_ms / 1000)),
        ("wall time", secs(m.wall_ms / 1000)),
        ("events", f"{m.events:,}"),
        ("events per second", rate),
        ("stream messages", f"{m.stream_messages:,}"),
    ]


def _sessions_table(sessions: Sequence[AgentSession]) -> None:
    table(
        _SESSION_COLUMNS,
        [
            [
                s.session_id,
                s.role or "-",
                s.node or "-",
                _runs_cell(s.run_ids),
                s.thread_id,
                s.workflow,
                s.model or "-",
                _at(s.started),
                s.status,
                f"{s.turns:,}",
                f"{s.tool_calls:,}",
                usd(s.cost_usd),
            ]
            for s in sessions
        ],
        ids=("SESSION", "THREAD"),
    )


def _runs_cell(run_ids: Sequence[str]) -> str:
    """The newest run's id, and how many others the session spans (the full list is
    in ``--json`` and ``lgp agents summary``)."""
    if not run_ids:
        return "-"
    more = f"+{len(run_ids) - 1}" if len(run_ids) > 1 else ""
    return f"{run_ids[-1][:8]}{more}"


def _pairs(rows: list[tuple[str, str]]) -> None:
    """``key  value`` lines, the values aligned."""
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        click.echo(f"  {key:<{width}}  {value}")


def _watch_line(entry: AgentTimelineEntry) -> str:
    return (
        f"{_offset(entry.offset_s):>9}  {_short_id(entry.session_id):<8}  "
        f"{entry.node or '-':<12}  {_event_name(entry.type):<11}  {entry.text}"
    )


def _scoped(activity: AgentActivity, report: Any) -> dict[str, Any]:
    """A report as JSON, after what it is about."""
    return {"target": activity.target, "id": activity.id, **dataclasses.asdict(report)}


def _title(about: AgentActivity | AgentSummary) -> str:
    return f"{'Session' if about.target == 'session' else 'Run'} {about.id}"


def _invocations_text(summary: AgentSummary) -> str:
    failed = sum(summary.failures.values())
    if not failed:
        return f"{summary.invocations:,}"
    kinds = ", ".join(f"{n} {kind}" for kind, n in summary.failures.items())
    return f"{summary.invocations:,} ({failed} failed: {kinds})"


def _tools_text(m: AgentMetrics) -> str:
    by_tool = ", ".join(f"{tool} {n:,}" for tool, n in m.tools.items())
    return f"{m.tool_calls:,}, {m.tool_errors:,} failed" + (f" ({by_tool})" if by_tool else "")


def _tokens_text(m: AgentMetrics) -> str:
    return (
        f"{m.total_tokens:,} ({m.input_tokens:,} in, {m.output_tokens:,} out, "
        f"{m.cache_read_tokens:,} cache read, {m.cache_write_tokens:,} cache write)"
    )


def _cost_text(m: AgentMetrics) -> str:
    if m.reported_cost_usd == m.cost_usd:
        return usd(m.cost_usd)
    return f"{usd(m.cost_usd)} (the agent reported {usd(m.reported_cost_usd)})"


def _figures_text(summary: AgentSummary) -> str:
    m = summary.metrics
    return (
        f"{_n(len(summary.sessions), 'session')}, {_n(summary.invocations, 'invocation')}, "
        f"{_n(m.turns, 'turn')}, {_n(m.tool_calls, 'tool call')} ({m.tool_errors} failed), "
        f"{m.total_tokens:,} tokens, {usd(m.cost_usd)}"
    )


def _error_name(entry: AgentErrorEntry) -> str:
    return f"tool {entry.tool}" if entry.source == "tool" else str(entry.kind)


def _n(count: int, noun: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{count:,} {noun}{'s' * (count != 1)}"


def _at(ts: float | None) -> str:
    return when(dt.datetime.fromtimestamp(ts, tz=dt.UTC)) if ts is not None else "-"


def _offset(seconds: float) -> str:
    return f"+{seconds:.2f}s"


def _ms(value: float | None) -> str:
    return secs(value / 1000) if value is not None else "-"


def _short_id(session_id: str) -> str:
    return session_id[:8] or "-"


def _event_name(event_type: str) -> str:
    return event_type.removeprefix("agent.")


COMMANDS = [agents]
