"""Claude Code sessions read back from the run store: lists, summaries, tool calls,
errors, timelines and metrics (what ``lgp agents`` shows).

A Claude Code node records what its session does as ``agent.*`` events
(:data:`AGENT_EVENT_TYPES`; their payloads are in :mod:`lgp_engine.events`):

* an *invocation* is one run of the CLI, from its ``agent.init`` to its
  ``agent.result`` (a failed one ends with an ``agent.result`` too: ``is_error``
  true and ``kind`` set, such as ``stalled`` or ``crashed``);
* a *session* is every agent event with one ``session_id``, across runs, in time
  order: a later run on the same thread resumes the session in place. Events with
  an empty session id (the CLI died before it reported one) belong to no session
  but still count for their run;
* an :class:`AgentActivity` is what the questions are asked of: one session, or
  every agent event of one run (:func:`resolve_agent_activity` finds it from an id
  or a prefix).

Figures come from each invocation's ``agent.result`` where it has one, else from
the events recorded so far (an invocation still running).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import AmbiguousError, NotFoundError
from .events import RunEvent
from .jsonable import dumps
from .providers.pricing import format_usd
from .runs import RunRecord, RunStore, owner_alive
from .status import IN_FLIGHT

#: The event types a Claude Code session is made of, in the order they come.
AGENT_EVENT_TYPES: tuple[str, ...] = (
    "agent.init",
    "agent.message",
    "agent.tool_use",
    "agent.tool_result",
    "agent.result",
)
#: The shortest prefix of a session or run id that :func:`resolve_agent_activity` takes.
MIN_PREFIX = 6

# Statuses of a session (or of a run's agents) besides the kind of a failure.
RUNNING = "running"  # an invocation has not reported its result yet
OK = "ok"  # the last invocation succeeded
UNFINISHED = "unfinished"  # the run stopped before the invocation reported a result
WAITING = "waiting"  # a run in flight whose Claude Code node has not started yet
NONE = "none"  # a run that ended without a Claude Code session

_TOKENS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "total_tokens",
)
# Our name for each figure of an agent.result, then its name in the payload.
_RESULT_FIGURES = {
    "turns": "turns",
    "tool_calls": "tool_calls",
    "tool_errors": "tool_errors",
    "permission_denials": "permission_denials",
    "stream_messages": "events",
    "cost_usd": "cost_usd",
    "reported_cost_usd": "total_cost_usd",
    "duration_ms": "duration_ms",
    "duration_api_ms": "duration_api_ms",
}
_SUMMED = (*_TOKENS, *_RESULT_FIGURES)
# A listing needs who, where, when and the results, not the texts: messages and tool
# results (the bulk of a session's events) are left out of its query.
_LISTED_TYPES = ("agent.init", "agent.tool_use", "agent.result")
# The input field that says best what a tool call does, by preference.
_INPUT_KEYS = ("command", "file_path", "path", "pattern", "url", "query", "description")


# -- what the functions answer ------------------------------------------------------


@dataclass(frozen=True)
class AgentActivity:
    """The agent events of one session or of one run, with their runs' records.

    Attributes:
        target: What ``id`` names: ``"session"`` or ``"run"``.
        id: The session id or the run id.
        events: The agent events, in time order (for a run, with those of no session).
        runs: The records of the runs, by run id (a session's: every run it is in).
    """

    target: Literal["session", "run"]
    id: str
    events: tuple[RunEvent, ...]
    runs: Mapping[str, RunRecord]

    @property
    def run_ids(self) -> tuple[str, ...]:
        """The runs, oldest first."""
        return tuple(sorted(self.runs, key=lambda run_id: (self.runs[run_id].created_at, run_id)))

    @property
    def newest_run(self) -> RunRecord:
        """The run a session is newest in (the run itself for a run)."""
        return self.runs[self.run_ids[-1]]

    def includes(self, event: RunEvent) -> bool:
        """Whether ``event`` (of one of its runs) belongs to this activity."""
        if event.type not in AGENT_EVENT_TYPES:
            return False
        return self.target == "run" or session_of(event) == self.id


@dataclass(frozen=True)
class AgentSession:
    """One session at a glance (a row of ``lgp agents list``).

    ``started`` is its first event, ``ended`` the result of its last invocation
    (epoch seconds; None while it runs, or if its run stopped before a result);
    ``status`` is ``running``, ``ok``, ``unfinished`` or the kind of the failure of
    its last invocation; ``cost_usd`` is what the runs count (0 under a subscription).
    """

    session_id: str
    role: str | None
    node: str | None
    run_ids: tuple[str, ...]
    thread_id: str
    workflow: str
    repository: str | None
    model: str | None
    started: float
    ended: float | None
    status: str
    invocations: int
    turns: int
    tool_calls: int
    cost_usd: float


@dataclass(frozen=True)
class AgentMetrics:
    """The figures of a session or of a run's agents, summed over invocations.

    Tokens, turns, costs, durations, permission denials and ``stream_messages`` (the
    CLI's own messages) are what each ``agent.result`` reported; tool calls too,
    counted from the events for an invocation still running. ``events`` counts the
    recorded agent events; ``wall_ms`` is the time from the first to the last of
    them, and ``events_per_second`` their rate over it (3 decimals; None for a single
    instant).
    ``cost_usd`` is what the runs count; ``reported_cost_usd`` what the agent said.
    """

    invocations: int
    turns: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    total_tokens: int
    cost_usd: float
    reported_cost_usd: float
    tool_calls: int
    tools: dict[str, int]
    tool_errors: int
    permission_denials: int
    duration_ms: float
    duration_api_ms: float
    wall_ms: float
    events: int
    stream_messages: int
    events_per_second: float | None


@dataclass(frozen=True)
class AgentSummary:
    """A session, or the agents of a run, in a few lines.

    ``status`` is the session's (see :class:`AgentSession`); for a run it is
    ``running`` while any invocation runs, else the last failure's kind, else
    ``ok`` (``waiting`` or ``none`` when no Claude Code node has run), and
    ``sessions`` are its sessions as they went in that run.
    ``run_status`` is the status of :attr:`AgentActivity.newest_run`;
    ``failures`` counts failed invocations by kind; ``unassigned_events`` the
    events of no session.
    """

    target: Literal["session", "run"]
    id: str
    status: str
    run_status: str
    run_ids: tuple[str, ...]
    thread_id: str
    workflow: str
    started: float | None
    ended: float | None
    sessions: tuple[AgentSession, ...]
    invocations: int
    failures: dict[str, int]
    unassigned_events: int
    metrics: AgentMetrics


@dataclass(frozen=True)
class AgentToolStat:
    """Calls of one tool: how many, how many failed, and how long the answered ones
    took (from the ``agent.tool_use`` to its ``agent.tool_result``)."""

    tool: str
    calls: int
    errors: int
    answered: int
    mean_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class AgentToolReport:
    """Every tool call seen in the events: totals, then by tool (most called first)."""

    calls: int
    errors: int
    by_tool: tuple[AgentToolStat, ...]


@dataclass(frozen=True)
class AgentErrorEntry:
    """A tool call that failed (``source`` ``tool``) or an invocation that failed
    (``invocation``, with its ``kind``), ``offset_s`` seconds after the first event."""

    source: Literal["tool", "invocation"]
    offset_s: float
    ts: float
    run_id: str
    seq: int
    session_id: str
    node: str | None
    kind: str | None
    tool: str | None
    text: str


@dataclass(frozen=True)
class AgentErrorReport:
    """What went wrong: each failed tool call and invocation, in time order, and the
    permission denials the invocations reported."""

    errors: tuple[AgentErrorEntry, ...]
    tool_errors: int
    failed_invocations: int
    permission_denials: int


@dataclass(frozen=True)
class AgentTimelineEntry:
    """One event, ``offset_s`` seconds after the first, with a one-line description."""

    offset_s: float
    ts: float
    run_id: str
    seq: int
    type: str
    session_id: str
    role: str | None
    node: str | None
    text: str


# -- finding sessions -----------------------------------------------------------------


def session_of(event: RunEvent) -> str:
    """The session id an agent event carries (``""`` for none)."""
    value = event.data.get("session_id")
    return value if isinstance(value, str) else ""


def list_agent_sessions(store: RunStore, *, limit: int | None = None) -> list[AgentSession]:
    """Every recorded session, most recently active first (at most ``limit``)."""
    events = store.events_of_types(_LISTED_TYPES)
    grouped = _by_session(events)
    runs = _records(store, {e.run_id for e in events})
    sessions = [_session(sid, evs, runs) for sid, evs in grouped.items()]
    sessions.sort(key=lambda s: grouped[s.session_id][-1].ts, reverse=True)
    return sessions if limit is None else sessions[:limit]


def resolve_agent_activity(store: RunStore, ref: str) -> AgentActivity:
    """The session or run ``ref`` names: a full session id or run id, or a unique
    prefix of one (at least :data:`MIN_PREFIX` characters).

    Raises:
        NotFoundError: nothing matches (code ``unknown_agent_target``).
        AmbiguousError: the prefix matches several sessions or runs (code
            ``ambiguous_agent_target``).
    """
    with contextlib.suppress(NotFoundError):
        return _run_activity(store, store.get(ref))
    index = _session_runs(store)
    if ref in index:
        return _session_activity(store, ref, index[ref])
    if len(ref) < MIN_PREFIX:
        raise _unknown(ref)
    sessions = sorted(s for s in index if s.startswith(ref))
    run, run_matches = _run_by_prefix(store, ref)
    if len(sessions) + run_matches > 1:
        raise AmbiguousError(
            f"id prefix {ref!r} matches {_matches(len(sessions), run_matches)}; "
            "give more of the id",
            code="ambiguous_agent_target",
            ref=ref,
            sessions=sessions,
            runs=run_matches,
        )
    if sessions:
        return _session_activity(store, sessions[0], index[sessions[0]])
    if run is not None:
        return _run_activity(store, run)
    raise _unknown(ref)


def latest_agent_session(store: RunStore) -> AgentActivity:
    """The most recently active session.

    Raises:
        NotFoundError: no session was recorded (code ``no_agent_sessions``).
    """
    newest = list_agent_sessions(store, limit=1)
    if not newest:
        raise NotFoundError("no Claude Code session has been recorded", code="no_agent_sessions")
    return resolve_agent_activity(store, newest[0].session_id)


def follow_agent_activity(
    store: RunStore, activity: AgentActivity, *, poll_seconds: float = 0.2
) -> Iterator[RunEvent]:
    """The activity's events, then those its newest run records later (the store is
    read every ``poll_seconds`` while nothing new comes), until that run stops: its
    terminal event (an end, or an interrupt) or a status no longer in flight. A run
    whose process died is marked abandoned, which ends the following too.

    A run whose Claude Code node has not started yet yields nothing until it does.
    """
    yield from activity.events
    run_id = activity.newest_run.run_id
    last = max((e.seq for e in activity.events if e.run_id == run_id), default=0)
    # a resumed run keeps its id and its earlier end (an interrupt): only an end
    # recorded after the following began counts
    since = store.last_seq(run_id) if _in_flight(store, run_id) else 0
    while True:
        batch = store.events(run_id, last)
        yield from (e for e in batch if activity.includes(e))
        if any(e.is_terminal and e.seq > since for e in batch):
            return
        if batch:
            last = batch[-1].seq
            continue
        if not _in_flight(store, run_id):
            # what was recorded between the read above and the status check
            yield from (e for e in store.events(run_id, last) if activity.includes(e))
            return
        time.sleep(poll_seconds)


# -- what happened ------------------------------------------------------------------


def agent_summary(activity: AgentActivity) -> AgentSummary:
    """Who, where, when, how it stands and its figures (see :class:`AgentSummary`)."""
    events = activity.events
    invocations = _invocations(events)
    sessions = tuple(_session(sid, evs, activity.runs) for sid, evs in _by_session(events).items())
    unassigned = [_status(inv, activity.runs) for inv in invocations if not inv.session_id]
    newest = activity.newest_run
    status = _overall_status([*(s.status for s in sessions), *unassigned], newest)
    failures = Counter(
        _failure_kind(inv.result.data)
        for inv in invocations
        if inv.result is not None and _failed(inv.result.data)
    )
    return AgentSummary(
        target=activity.target,
        id=activity.id,
        status=status,
        run_status=newest.status.value,
        run_ids=activity.run_ids,
        thread_id=newest.thread_id,
        workflow=newest.workflow,
        started=events[0].ts if events else None,
        ended=events[-1].ts if events and status not in (RUNNING, WAITING) else None,
        sessions=sessions,
        invocations=len(invocations),
        failures=dict(failures),
        unassigned_events=sum(1 for e in events if not session_of(e)),
        metrics=agent_metrics(events),
    )


def agent_metrics(events: Sequence[RunEvent]) -> AgentMetrics:
    """Tokens, cost, tool calls, turns, durations and event rate of ``events`` (a
    session's, or a run's agent events), summed over their invocations."""
    invocations = _invocations(events)
    totals, tools = _totals(invocations)
    wall_s = events[-1].ts - events[0].ts if events else 0.0
    return AgentMetrics(
        invocations=len(invocations),
        turns=int(totals["turns"]),
        **{key: int(totals[key]) for key in _TOKENS},
        cost_usd=round(totals["cost_usd"], 8),
        reported_cost_usd=round(totals["reported_cost_usd"], 8),
        tool_calls=int(totals["tool_calls"]),
        tools=dict(sorted(tools.items(), key=lambda item: (-item[1], item[0]))),
        tool_errors=int(totals["tool_errors"]),
        permission_denials=int(totals["permission_denials"]),
        duration_ms=round(totals["duration_ms"], 3),
        duration_api_ms=round(totals["duration_api_ms"], 3),
        wall_ms=round(wall_s * 1000, 3),
        events=len(events),
        stream_messages=int(totals["stream_messages"]),
        events_per_second=round(len(events) / wall_s, 3) if wall_s > 0 else None,
    )


def agent_tool_calls(events: Sequence[RunEvent]) -> AgentToolReport:
    """Every ``agent.tool_use`` of ``events``: calls, errors and durations by tool
    (a result is matched to its call by ``tool_use_id``)."""
    uses = _tool_uses(events)
    calls = Counter(_tool_name(e.data.get("tool")) for e in events if e.type == "agent.tool_use")
    errors: Counter[str] = Counter()
    durations: dict[str, list[float]] = {}
    for event in events:
        if event.type != "agent.tool_result":
            continue
        use = uses.get(_use_key(event))
        tool = _result_tool(event, use)
        errors[tool] += bool(event.data.get("is_error"))
        if use is not None:
            durations.setdefault(tool, []).append((event.ts - use.ts) * 1000)
    names = sorted(set(calls) | {t for t, n in errors.items() if n}, key=lambda t: (-calls[t], t))
    return AgentToolReport(
        calls=sum(calls.values()),
        errors=sum(errors.values()),
        by_tool=tuple(_tool_stat(t, calls[t], errors[t], durations.get(t, [])) for t in names),
    )


def agent_errors(events: Sequence[RunEvent]) -> AgentErrorReport:
    """The failed tool calls and failed invocations of ``events``, in time order,
    and the permission denials their invocations reported."""
    uses = _tool_uses(events)
    start = events[0].ts if events else 0.0
    entries = [e for e in (_error_entry(ev, uses, start) for ev in events) if e is not None]
    denials = sum(
        int(_num(e.data.get("permission_denials"))) for e in events if e.type == "agent.result"
    )
    return AgentErrorReport(
        errors=tuple(entries),
        tool_errors=sum(1 for e in entries if e.source == "tool"),
        failed_invocations=sum(1 for e in entries if e.source == "invocation"),
        permission_denials=denials,
    )


class AgentTimeline:
    """Makes timeline entries one event at a time (to follow a session live):
    offsets from the first event, and tool results that say how long their call took."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._uses: dict[tuple[str, str], RunEvent] = {}

    def add(self, event: RunEvent) -> AgentTimelineEntry:
        """The entry of ``event`` (events come in time order)."""
        if self._start is None:
            self._start = event.ts
        use = None
        if event.type == "agent.tool_use":
            self._uses[_use_key(event)] = event
        elif event.type == "agent.tool_result":
            use = self._uses.get(_use_key(event))
        return AgentTimelineEntry(
            offset_s=round(event.ts - self._start, 3),
            ts=event.ts,
            run_id=event.run_id,
            seq=event.seq,
            type=event.type,
            session_id=session_of(event),
            role=_text_or_none(event.data.get("role")),
            node=_node(event),
            text=describe_agent_event(event, use),
        )


def agent_timeline(events: Iterable[RunEvent]) -> list[AgentTimelineEntry]:
    """Each event with its offset from the first and a one-line description."""
    timeline = AgentTimeline()
    return [timeline.add(event) for event in events]


def describe_agent_event(event: RunEvent, use: RunEvent | None = None) -> str:
    """One line saying what an agent event is (``use``: the call a tool result answers)."""
    describe = _DESCRIBE.get(event.type)
    return describe(event, use) if describe is not None else event.type


# -- invocations and their figures ------------------------------------------------------


@dataclass
class _Invocation:
    """One run of the CLI: its events, from its agent.init to its agent.result."""

    run_id: str
    session_id: str
    events: list[RunEvent] = field(default_factory=list)

    @property
    def result(self) -> RunEvent | None:
        """Its agent.result (the last event of an invocation that has one)."""
        last = self.events[-1] if self.events else None
        return last if last is not None and last.type == "agent.result" else None


def _invocations(events: Iterable[RunEvent]) -> list[_Invocation]:
    """The invocations of ``events``, in the order they started: an agent.init opens
    one, an agent.result closes it; the events between belong to the one open for
    their run and session (events of no session: for their run and node)."""
    found: list[_Invocation] = []
    open_by_key: dict[tuple[str, str, str | None], _Invocation] = {}
    for event in events:
        session = session_of(event)
        key = (event.run_id, session, None if session else _node(event))
        current = open_by_key.get(key)
        if current is None or event.type == "agent.init":
            current = open_by_key[key] = _Invocation(event.run_id, session)
            found.append(current)
        current.events.append(event)
        if event.type == "agent.result":
            del open_by_key[key]
    return found


def _totals(invocations: Iterable[_Invocation]) -> tuple[dict[str, float], Counter[str]]:
    """The figures (:data:`_SUMMED`) and tool calls by tool of ``invocations``, summed."""
    totals = dict.fromkeys(_SUMMED, 0.0)
    tools: Counter[str] = Counter()
    for invocation in invocations:
        for key, value in _figures(invocation).items():
            totals[key] += value
        tools.update(_tools_of(invocation))
    return totals, tools


def _figures(invocation: _Invocation) -> dict[str, float]:
    """An invocation's figures: its agent.result's, else what its events show."""
    result = invocation.result
    if result is None:
        errors = sum(
            1 for e in invocation.events if e.type == "agent.tool_result" and e.data.get("is_error")
        )
        return {"tool_calls": sum(_tools_of(invocation).values()), "tool_errors": errors}
    usage = result.data.get("usage")
    tokens = usage if isinstance(usage, Mapping) else {}
    return {
        **{key: _num(tokens.get(key)) for key in _TOKENS},
        **{ours: _num(result.data.get(theirs)) for ours, theirs in _RESULT_FIGURES.items()},
    }


def _tools_of(invocation: _Invocation) -> Counter[str]:
    """An invocation's calls by tool: its agent.result's, else counted from its events."""
    result = invocation.result
    reported = result.data.get("tools") if result is not None else None
    if isinstance(reported, Mapping):
        return Counter({str(tool): int(_num(n)) for tool, n in reported.items()})
    return Counter(
        _tool_name(e.data.get("tool")) for e in invocation.events if e.type == "agent.tool_use"
    )


def _failed(result: Mapping[str, Any]) -> bool:
    return bool(result.get("is_error") or result.get("kind"))


def _failure_kind(result: Mapping[str, Any]) -> str:
    """How an invocation failed: its ``kind``, else its ``subtype`` (``error_max_turns``...)."""
    return str(result.get("kind") or result.get("subtype") or "error")


def _status(invocation: _Invocation, runs: Mapping[str, RunRecord]) -> str:
    """``ok``, the kind of its failure, ``running`` or ``unfinished``."""
    result = invocation.result
    if result is not None:
        return _failure_kind(result.data) if _failed(result.data) else OK
    run = runs.get(invocation.run_id)
    return RUNNING if run is None or run.status in IN_FLIGHT else UNFINISHED


def _overall_status(statuses: list[str], run: RunRecord) -> str:
    """One status for several sessions: ``running`` if any runs, else the last
    failure, else ``ok``; ``waiting``/``none`` when there are none."""
    if not statuses:
        return WAITING if run.status in IN_FLIGHT else NONE
    if RUNNING in statuses:
        return RUNNING
    failed = [s for s in statuses if s != OK]
    return failed[-1] if failed else OK


# -- sessions -------------------------------------------------------------------------


def _by_session(events: Iterable[RunEvent]) -> dict[str, list[RunEvent]]:
    """Events by session id, each list in time order (events of no session left out)."""
    sessions: dict[str, list[RunEvent]] = {}
    for event in events:
        session = session_of(event)
        if session:
            sessions.setdefault(session, []).append(event)
    return sessions


def _session(
    session_id: str, events: Sequence[RunEvent], runs: Mapping[str, RunRecord]
) -> AgentSession:
    """A session at a glance from its events (in time order) and its runs."""
    invocations = _invocations(events)
    totals, _ = _totals(invocations)
    last = invocations[-1]
    first = events[0]
    return AgentSession(
        session_id=session_id,
        role=_first_text(events, "role"),
        node=_node(first),
        run_ids=tuple(dict.fromkeys(e.run_id for e in events)),
        thread_id=first.thread_id,
        workflow=runs[first.run_id].workflow,
        repository=_first_text(events, "repository"),
        model=_first_text(reversed(events), "model"),
        started=first.ts,
        ended=last.result.ts if last.result is not None else None,
        status=_status(last, runs),
        invocations=len(invocations),
        turns=int(totals["turns"]),
        tool_calls=int(totals["tool_calls"]),
        cost_usd=round(totals["cost_usd"], 8),
    )


def _session_runs(store: RunStore) -> dict[str, list[str]]:
    """The runs of every session, by session id (from their inits and results)."""
    index: dict[str, dict[str, None]] = {}
    for event in store.events_of_types(("agent.init", "agent.result")):
        session = session_of(event)
        if session:
            index.setdefault(session, {})[event.run_id] = None
    return {session: list(runs) for session, runs in index.items()}


def _session_activity(store: RunStore, session_id: str, run_ids: list[str]) -> AgentActivity:
    events = store.events_of_types(AGENT_EVENT_TYPES, run_ids=run_ids)
    return AgentActivity(
        target="session",
        id=session_id,
        events=tuple(e for e in events if session_of(e) == session_id),
        runs=_records(store, run_ids),
    )


def _run_activity(store: RunStore, run: RunRecord) -> AgentActivity:
    events = store.events_of_types(AGENT_EVENT_TYPES, run_ids=[run.run_id])
    return AgentActivity(target="run", id=run.run_id, events=tuple(events), runs={run.run_id: run})


def _run_by_prefix(store: RunStore, prefix: str) -> tuple[RunRecord | None, int]:
    """The run ``prefix`` names and how many match (2 standing for "several")."""
    try:
        return store.find(prefix), 1
    except AmbiguousError:
        return None, 2
    except NotFoundError:
        return None, 0


def _records(store: RunStore, run_ids: Iterable[str]) -> dict[str, RunRecord]:
    return {run_id: store.get(run_id) for run_id in run_ids}


def _in_flight(store: RunStore, run_id: str) -> bool:
    """Whether the run is queued or running (one whose process died is marked
    abandoned first)."""
    run = store.get(run_id)
    if run.status in IN_FLIGHT and not owner_alive(run.owner):
        store.reap_abandoned()
        run = store.get(run_id)
    return run.status in IN_FLIGHT


def _matches(sessions: int, runs: int) -> str:
    """``2 sessions and a run``: what an ambiguous prefix matches."""
    found = [f"{sessions} session{'s' * (sessions != 1)}"] if sessions else []
    if runs:
        found.append("a run" if runs == 1 else "several runs")
    return " and ".join(found)


def _unknown(ref: str) -> NotFoundError:
    return NotFoundError(
        f"no Claude Code session or run {ref!r}", code="unknown_agent_target", ref=ref
    )


# -- tools and errors -----------------------------------------------------------------


def _use_key(event: RunEvent) -> tuple[str, str]:
    """What pairs a tool result with its call: the run and the tool_use_id."""
    return event.run_id, str(event.data.get("tool_use_id"))


def _tool_uses(events: Iterable[RunEvent]) -> dict[tuple[str, str], RunEvent]:
    return {_use_key(e): e for e in events if e.type == "agent.tool_use"}


def _tool_name(value: Any) -> str:
    return str(value) if value else "?"


def _result_tool(event: RunEvent, use: RunEvent | None) -> str:
    """The tool a result answers: its own ``tool``, else its call's."""
    return _tool_name(event.data.get("tool") or (use.data.get("tool") if use else None))


def _tool_stat(tool: str, calls: int, errors: int, durations: list[float]) -> AgentToolStat:
    return AgentToolStat(
        tool=tool,
        calls=calls,
        errors=errors,
        answered=len(durations),
        mean_ms=round(sum(durations) / len(durations), 3) if durations else None,
        max_ms=round(max(durations), 3) if durations else None,
    )


def _error_entry(
    event: RunEvent, uses: Mapping[tuple[str, str], RunEvent], start: float
) -> AgentErrorEntry | None:
    """The error ``event`` reports, if it reports one."""
    data = event.data
    source: Literal["tool", "invocation"]
    if event.type == "agent.tool_result" and data.get("is_error"):
        source, kind, tool = "tool", None, _result_tool(event, uses.get(_use_key(event)))
    elif event.type == "agent.result" and _failed(data):
        source, kind, tool = "invocation", _failure_kind(data), None
    else:
        return None
    return AgentErrorEntry(
        source=source,
        offset_s=round(event.ts - start, 3),
        ts=event.ts,
        run_id=event.run_id,
        seq=event.seq,
        session_id=session_of(event),
        node=_node(event),
        kind=kind,
        tool=tool,
        text=_first_line(data.get("text"), 300),
    )


# -- descriptions ---------------------------------------------------------------------


def _describe_init(event: RunEvent, use: RunEvent | None) -> str:
    data = event.data
    resumed = _text_or_none(data.get("resumed"))
    how = "started"
    if resumed:
        how = f"forked from {resumed}" if data.get("forked") else "resumed"
    tools = data.get("tools")
    where = data.get("repository") or data.get("cwd") or "?"
    via = " via MCP" if data.get("via") == "mcp" else ""
    model = data.get("model") or "default model"
    count = len(tools) if isinstance(tools, list) else 0
    return f"{how}: {model}, {count} tools, in {where}{via}"


def _describe_message(event: RunEvent, use: RunEvent | None) -> str:
    return _first_line(event.data.get("text"))


def _describe_tool_use(event: RunEvent, use: RunEvent | None) -> str:
    return f"{_tool_name(event.data.get('tool'))} {_short_input(event.data.get('input'))}".rstrip()


def _describe_tool_result(event: RunEvent, use: RunEvent | None) -> str:
    data = event.data
    took = f" after {_secs(event.ts - use.ts)}" if use is not None else ""
    tool = _result_tool(event, use)
    if data.get("is_error"):
        return f"{tool} failed{took}: {_first_line(data.get('text'))}"
    return f"{tool} returned {int(_num(data.get('size'))):,} chars{took}"


def _describe_result(event: RunEvent, use: RunEvent | None) -> str:
    data = event.data
    if _failed(data):
        return f"{_failure_kind(data)}: {_first_line(data.get('text'))}"
    turns, calls = int(_num(data.get("turns"))), int(_num(data.get("tool_calls")))
    return (
        f"ok: {_plural(turns, 'turn')}, {_plural(calls, 'tool call')}, "
        f"{format_usd(_num(data.get('cost_usd')))}, {_secs(_num(data.get('duration_ms')) / 1000)}"
    )


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


_DESCRIBE: dict[str, Callable[[RunEvent, RunEvent | None], str]] = {
    "agent.init": _describe_init,
    "agent.message": _describe_message,
    "agent.tool_use": _describe_tool_use,
    "agent.tool_result": _describe_tool_result,
    "agent.result": _describe_result,
}


def _short_input(value: Any, limit: int = 100) -> str:
    """The telling field of a tool's input (a command, a path...), else its JSON."""
    if isinstance(value, Mapping):
        for key in _INPUT_KEYS:
            if isinstance(value.get(key), str):
                return _first_line(value[key], limit)
    return _first_line(dumps(value), limit) if value not in (None, {}, []) else ""


def _first_line(text: Any, limit: int = 120) -> str:
    """The first non-blank line of ``text`` (`` …`` when more follow), cut to ``limit``."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[0] + (" …" if len(lines) > 1 else "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _secs(seconds: float) -> str:
    """``12 ms`` under a second, else ``1.23s``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f}s"


# -- payload values -------------------------------------------------------------------


def _num(value: Any) -> float:
    """A figure of a payload (0 for a missing or malformed one)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _node(event: RunEvent) -> str | None:
    return event.node or _text_or_none(event.data.get("node"))


def _first_text(events: Iterable[RunEvent], key: str) -> str | None:
    """The first non-empty text value of ``key`` in the events' payloads."""
    return next((v for e in events if (v := _text_or_none(e.data.get(key)))), None)
