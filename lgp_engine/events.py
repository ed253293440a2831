"""The typed event stream every front end consumes.

The executor turns each LangGraph stream item into a :class:`RunEvent`. Events
are immutable, carry a per-run ``seq`` that increases by one from 1, and
serialize to JSON without ever failing (see :mod:`lgp_engine.jsonable`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict, get_args

from .jsonable import dumps
from .status import STATUS_FOR_EVENT

EventType = Literal[
    "run.started",
    "node.started",
    "node.finished",
    "node.cached",
    "message.delta",
    "custom",
    "checkpoint",
    "interrupt",
    "run.completed",
    "run.failed",
    "run.cancelled",
    "run.retrying",
    "tool.called",
    "tool.result",
    "tool.denied",
    "agent.repair",
    "agent.fallback",
    "agent.init",
    "agent.message",
    "agent.tool_use",
    "agent.tool_result",
    "agent.result",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
TERMINAL_TYPES = frozenset(STATUS_FOR_EVENT)


# -- payloads, one per event type (``RunEvent.data``) --------------------------------


class RunStartedData(TypedDict):
    """``run.started``: what runs, on which thread, from where."""

    workflow: str
    input: Any
    thread_id: str
    checkpoint_id: str | None
    environment: str
    resumed: NotRequired[bool]
    replay_of: NotRequired[str]
    fork_of: NotRequired[str]
    update: NotRequired[Any]
    as_node: NotRequired[str | None]
    config: NotRequired[dict[str, Any]]  # the caller's run config, when one was given
    retry: NotRequired[int]  # the attempt this start is (1 = the first retry), after a crash
    version: NotRequired[str]  # the workflow's code version, once recorded (ops.versions)
    recorded: NotRequired[dict[str, Any]]  # a recorded replay: the runs that answer it


#: The id LangGraph gives the interrupt of a ``NodeInterrupt`` (and of an
#: ``Interrupt`` made by hand): it asks for no value, a resume reruns the node.
NODE_INTERRUPT_ID = "placeholder-id"


def asks_for_value(interrupt: Mapping[str, Any]) -> bool:
    """True for an ``interrupt()`` waiting for an answer; False for a
    ``NodeInterrupt`` (resumed without a value, as LangGraph resumes it)."""
    return bool(interrupt.get("id")) and interrupt.get("id") != NODE_INTERRUPT_ID


class NodeStartedData(TypedDict):
    """``node.started``: a node (``path``: the subgraphs it runs in) began."""

    node: str
    path: list[str]
    task_id: str
    triggers: list[str]


class NodeError(TypedDict):
    type: str
    message: str
    kind: NotRequired[str]


class UsageTotals(TypedDict):
    """Tokens and cost of model calls (see :class:`lgp_engine.providers.Usage`):
    totals, the number of calls, and the same by ``provider:model``."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    calls: int
    by_model: dict[str, Any]
    llm_calls: NotRequired[list[dict[str, Any]]]  # on node.finished: each call
    cost_models: NotRequired[list[str]]  # how the calls were priced (per_token, subscription...)
    subscription: NotRequired[SubscriptionCost]  # on a run billed by a fixed subscription


class SubscriptionCost(TypedDict):
    """What a run costs under a fixed subscription (``cost_model: fixed_subscription``):
    the month's fee spread over the workflow's runs this month."""

    cost_model: str
    monthly_cost: float
    workflow_invocations: int
    cost_per_invocation: float


class NodeFinishedData(TypedDict):
    """``node.finished``: its update, or its error, or the interrupts it raised."""

    node: str
    path: list[str]
    task_id: str
    duration_ms: float | None
    update: Any
    error: NotRequired[NodeError]
    interrupts: NotRequired[list[Any]]
    usage: NotRequired[UsageTotals]
    cache: NotRequired[str]  # "miss": the node has a cache policy and ran


class NodeCachedData(TypedDict):
    """``node.cached``: a node with a cache policy was not run; its update came from
    the node cache (written by an earlier run of the same code on the same input)."""

    node: str
    path: list[str]
    update: Any
    task_id: NotRequired[str]  # the task its node.started announced


class MessageDeltaData(TypedDict):
    """``message.delta``: a chunk of a chat model's message."""

    content: Any
    id: str | None
    message_type: str | None
    usage: dict[str, Any] | None
    path: list[str]


class CustomData(TypedDict):
    """``custom``: a payload a node wrote with ``get_stream_writer()``."""

    value: Any
    path: list[str]


class CheckpointData(TypedDict):
    """``checkpoint``: a checkpoint was saved."""

    checkpoint_id: str | None
    parent_id: str | None
    step: int | None
    source: str | None
    next: list[str]
    path: list[str]


class InterruptItem(TypedDict):
    id: str | None
    value: Any
    response_schema: NotRequired[Any]  # what the answer must follow, when given


class BreakpointData(TypedDict):
    """Where a run stopped at a static breakpoint (``interrupt_before``/``_after``, given
    to the run or compiled into the graph): ``before`` the ``nodes`` about to run, or
    ``after`` the ``nodes`` that just ran."""

    when: Literal["before", "after"]
    nodes: list[str]


class InterruptData(TypedDict):
    """``interrupt``: the run stopped and waits (``interrupts`` empty at a breakpoint,
    whose place ``breakpoint`` says)."""

    interrupts: list[InterruptItem]
    node: str | None
    output: Any
    duration_ms: float
    usage: NotRequired[UsageTotals]
    recorded_usage: NotRequired[UsageTotals]  # calls a recorded replay answered
    breakpoint: NotRequired[BreakpointData]


class RunCompletedData(TypedDict):
    """``run.completed``: the final state values."""

    output: Any
    duration_ms: float
    usage: NotRequired[UsageTotals]
    recorded_usage: NotRequired[UsageTotals]  # calls a recorded replay answered
    retries: NotRequired[int]  # it recovered after this many retries


class RunFailedData(TypedDict):
    """``run.failed``: the error, the node it came from and the traceback (kept in the
    run store and shown locally; HTTP clients get it without the traceback)."""

    error_type: str
    message: str
    traceback: str
    node: str | None
    duration_ms: float
    kind: NotRequired[str]  # timeout, auth, rate_limit, ... (agent and tool failures)
    provider: NotRequired[str]
    model: NotRequired[str]
    role: NotRequired[str]
    attempts: NotRequired[int]
    usage: NotRequired[UsageTotals]
    recorded_usage: NotRequired[UsageTotals]  # calls a recorded replay answered


class RunRetryingData(TypedDict):
    """``run.retrying``: the run failed with a retryable error (a provider's
    ``rate_limit``, ``unavailable``, ``timeout``, ``stalled``, a lost database
    connection) and continues from its last checkpoint after ``delay_s``; nodes that
    finished are not run again. Not terminal."""

    attempt: int  # 1 for the first retry
    max_retries: int
    delay_s: float
    error_type: str
    message: str
    node: str | None
    kind: NotRequired[str]


class RunCancelledData(TypedDict):
    """``run.cancelled``: why (Ctrl+C, the API, a consumer that went away...)."""

    reason: str
    duration_ms: NotRequired[float]
    usage: NotRequired[UsageTotals]
    recorded_usage: NotRequired[UsageTotals]  # calls a recorded replay answered


class ToolCalledData(TypedDict):
    """``tool.called``: an agent node called a tool (arguments redacted)."""

    node: str | None
    path: list[str]
    server: str
    tool: str
    arguments: Any
    call_id: str | None
    turn: NotRequired[int]  # the model reply (1, 2...) that asked for it


class ToolResultData(TypedDict):
    """``tool.result``: what the tool answered (text cut to 2,000 characters)."""

    node: str | None
    path: list[str]
    server: str
    tool: str
    call_id: str | None
    is_error: bool
    duration_ms: float
    size: int
    text: str
    turn: NotRequired[int]  # the model reply (1, 2...) that asked for it


class ToolDeniedData(TypedDict):
    """``tool.denied``: a call to a tool outside the node's allow-list was refused."""

    node: str | None
    path: list[str]
    server: str | None
    tool: str
    arguments: Any
    reason: str
    allowed: list[str]
    turn: NotRequired[int]  # the model reply (1, 2...) that asked for it


class AgentRepairData(TypedDict):
    """``agent.repair``: an answer failed its output schema and went back to the model."""

    node: str | None
    path: list[str]
    attempt: int
    errors: list[str]
    schema: str


class AgentFallbackData(TypedDict):
    """``agent.fallback``: a role's provider failed; the next in its fallbacks runs."""

    node: str | None
    path: list[str]
    role: str
    failed: str
    kind: str
    next: str


class AgentInitData(TypedDict):
    """``agent.init``: a Claude Code session started (or resumed) in a repository."""

    node: str | None
    path: list[str]
    role: str
    session_id: str
    model: str | None
    tools: list[str]
    cwd: str
    repository: str
    resumed: str | None  # the session id it continued, if any
    forked: bool  # resumed as a new branch (a forked thread) rather than in place
    forked_at: NotRequired[str | None]  # the message of the conversation it branched at
    via: str  # "cli" (the Claude Code CLI) or "mcp" (a tool on an MCP server)
    permission_mode: NotRequired[str | None]
    mcp_servers: NotRequired[list[str]]
    worktree: NotRequired[str | None]


class AgentMessageData(TypedDict):
    """``agent.message``: text the Claude Code session wrote."""

    node: str | None
    path: list[str]
    role: str
    session_id: str
    text: str
    context_tokens: NotRequired[int]  # the conversation's tokens at this reply


class AgentToolUseData(TypedDict):
    """``agent.tool_use``: the session called one of its tools (input redacted)."""

    node: str | None
    path: list[str]
    role: str
    session_id: str
    tool: str
    tool_use_id: str
    input: Any
    context_tokens: NotRequired[int]  # the conversation's tokens at this reply


class AgentToolResultData(TypedDict):
    """``agent.tool_result``: what a tool call gave back (text cut to 2,000 characters)."""

    node: str | None
    path: list[str]
    role: str
    session_id: str
    tool: str | None
    tool_use_id: str
    is_error: bool
    size: int
    text: str


class AgentUsage(TypedDict):
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    total_tokens: int


class AgentResultData(TypedDict):
    """``agent.result``: a Claude Code invocation ended (``is_error`` and ``kind`` say
    how it failed: ``stalled``, ``timeout``, ``crashed``, ``budget_exceeded``...)."""

    node: str | None
    path: list[str]
    role: str
    session_id: str
    subtype: str
    is_error: bool
    kind: str | None
    turns: int
    duration_ms: float
    duration_api_ms: float | None
    usage: AgentUsage
    total_cost_usd: float  # what the agent reported for this invocation
    session_cost_usd: float  # what it reported for the whole session (resumes add up)
    cost_usd: float  # what the run counts (0 under a fixed subscription)
    cost_model: str
    model: str | None
    tool_calls: int
    tools: dict[str, int]  # calls by tool
    tool_errors: int
    permission_denials: int
    events: int  # stream messages of this invocation
    text: str
    tip: NotRequired[str | None]  # its last message in the conversation (branches resume here)
    checkpoint: NotRequired[str | None]  # the checkpoint its step ran from
    context_tokens: NotRequired[int]  # the conversation's tokens at its last reply


EventData = (
    RunStartedData
    | NodeStartedData
    | NodeFinishedData
    | NodeCachedData
    | MessageDeltaData
    | CustomData
    | CheckpointData
    | InterruptData
    | RunCompletedData
    | RunFailedData
    | RunCancelledData
    | ToolCalledData
    | ToolResultData
    | ToolDeniedData
    | AgentRepairData
    | AgentFallbackData
    | AgentInitData
    | AgentMessageData
    | AgentToolUseData
    | AgentToolResultData
    | AgentResultData
)
#: The payload type of each event type.
EVENT_DATA: dict[str, type] = {
    "run.started": RunStartedData,
    "node.started": NodeStartedData,
    "node.cached": NodeCachedData,
    "node.finished": NodeFinishedData,
    "message.delta": MessageDeltaData,
    "custom": CustomData,
    "checkpoint": CheckpointData,
    "interrupt": InterruptData,
    "run.completed": RunCompletedData,
    "run.failed": RunFailedData,
    "run.cancelled": RunCancelledData,
    "run.retrying": RunRetryingData,
    "tool.called": ToolCalledData,
    "tool.result": ToolResultData,
    "tool.denied": ToolDeniedData,
    "agent.repair": AgentRepairData,
    "agent.fallback": AgentFallbackData,
    "agent.init": AgentInitData,
    "agent.message": AgentMessageData,
    "agent.tool_use": AgentToolUseData,
    "agent.tool_result": AgentToolResultData,
    "agent.result": AgentResultData,
}
#: Fields of a payload that stay on this machine (the HTTP API leaves them out).
LOCAL_ONLY_FIELDS = frozenset({"traceback"})


def _has_error_text(data: Mapping[str, Any]) -> bool:
    return isinstance(data.get("message"), str) or isinstance(data.get("error"), dict)


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One thing that happened during a run.

    Attributes:
        run_id: The run this event belongs to.
        seq: Position in the run's event log, 1-based, without gaps.
        ts: Wall-clock time (seconds since the epoch) when the engine saw it.
        type: What happened; one of :data:`EVENT_TYPES`.
        thread_id: The thread (checkpoint history) the run writes to.
        node: The node it concerns, if any.
        data: Type-specific payload (see DESIGN.md, "Event model"); JSON-safe.
    """

    run_id: str
    seq: int
    type: EventType
    thread_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    node: str | None = None
    ts: float = field(default_factory=time.time)

    @property
    def is_terminal(self) -> bool:
        """True for the event that ends a run (completed, failed, cancelled, interrupted)."""
        return self.type in TERMINAL_TYPES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict of this event."""
        return {
            "run_id": self.run_id,
            "seq": self.seq,
            "ts": round(self.ts, 6),
            "type": self.type,
            "thread_id": self.thread_id,
            "node": self.node,
            "data": self.data,  # JSON-safe by construction (see the executor)
        }

    def public_dict(self, redact: Callable[[str], str] | None = None) -> dict[str, Any]:
        """:meth:`to_dict` for a remote client: without what stays local (a failure's
        traceback, which holds the host's paths), and with error messages passed
        through ``redact`` (which makes the host's paths relative)."""
        out = self.to_dict()
        if not LOCAL_ONLY_FIELDS.intersection(self.data) and (
            redact is None or not _has_error_text(self.data)
        ):
            return out
        data = {k: v for k, v in self.data.items() if k not in LOCAL_ONLY_FIELDS}
        if redact is not None:
            if isinstance(data.get("message"), str):
                data["message"] = redact(data["message"])
            error = data.get("error")
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                data["error"] = {**error, "message": redact(error["message"])}
        out["data"] = data
        return out

    def to_json(self) -> str:
        """This event as one line of JSON."""
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunEvent:
        """Rebuild an event from :meth:`to_dict` output."""
        if raw.get("type") not in EVENT_TYPES:
            raise ValueError(f"unknown event type {raw.get('type')!r}")
        return cls(
            run_id=raw["run_id"],
            seq=int(raw["seq"]),
            type=raw["type"],
            thread_id=raw["thread_id"],
            data=dict(raw.get("data") or {}),
            node=raw.get("node"),
            ts=float(raw.get("ts", 0.0)),
        )


ReloadEventType = Literal["reload.started", "reload.succeeded", "reload.failed"]
RELOAD_EVENT_TYPES: tuple[str, ...] = get_args(ReloadEventType)


@dataclass(frozen=True, slots=True)
class ReloadEvent:
    """A hot reload of a workflow's code (see :mod:`lgp_engine.reload`).

    Not part of any run: a reload swaps code, never thread state, so these events
    have no run id or sequence number.

    Attributes:
        type: ``reload.started`` (changes detected), ``reload.succeeded`` (the new
            version is current) or ``reload.failed`` (the previous version stays).
        workflow: The workflow's name.
        data: ``changed`` (files), ``detected_at`` (epoch seconds), ``detect_ms``
            (newest change's mtime to detection), ``load_ms``; on failure ``error``,
            ``file`` and ``line``.
        ts: Wall-clock time (seconds since the epoch) of the event.
    """

    type: ReloadEventType
    workflow: str
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict of this event."""
        return {
            "type": self.type,
            "ts": round(self.ts, 6),
            "workflow": self.workflow,
            "data": self.data,
        }

    def to_json(self) -> str:
        """This event as one line of JSON."""
        return dumps(self.to_dict())


AnomalyEventType = Literal[
    "anomaly.detected",
    "rollback.started",
    "rollback.completed",
    "rollback.failed",
    "rollback.skipped",
    "rollback.kept",
    "incident.logged",
    "incident.resolved",
    "incident.not_recovered",
]
ANOMALY_EVENT_TYPES: tuple[str, ...] = get_args(AnomalyEventType)


@dataclass(frozen=True, slots=True)
class AnomalyEvent:
    """The anomaly detector at work on a served workflow (see
    :mod:`lgp_engine.ops.anomaly`).

    Not part of any run (it concerns a version of a workflow's code), so these
    events have no run id or sequence number; every front end shows :attr:`line`.

    Attributes:
        type: ``anomaly.detected`` (a version's error rate crossed the threshold),
            ``rollback.started`` / ``rollback.completed`` / ``rollback.failed``,
            ``rollback.skipped`` (not a code regression, or rollback off, or no
            version to go back to), ``rollback.kept`` (a reload found the code
            rolled back from: the restored version keeps serving),
            ``incident.logged`` (recorded, with its id), ``incident.resolved`` (the
            error rate is back under the threshold), ``incident.not_recovered``
            (the restored version fails as much).
        workflow: The workflow's name.
        incident_id: The incident it belongs to (``INC-2026-001``), once there is one.
        data: ``error_rate``, ``threshold``, ``runs``, ``failures``, ``window_s``,
            ``version`` (the bad one), ``restored`` (the version rolled back to),
            ``reason`` (why a rollback was skipped or failed).
        ts: Wall-clock time (seconds since the epoch) of the event.
    """

    type: AnomalyEventType
    workflow: str
    incident_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    @property
    def line(self) -> str:
        """One line for a console, a log or a banner (the wording the workbench shows)."""
        d = self.data
        if self.type == "anomaly.detected":
            return (
                f"⚠️ Anomaly detected: error_rate = {percent(d.get('error_rate'), 1)} "
                f"(threshold: {percent(d.get('threshold'))})"
            )
        if self.type == "rollback.started":
            return "Triggering rollback to previous version..."
        if self.type == "rollback.completed":
            return "✅ Rollback complete"
        if self.type == "rollback.failed":
            return f"❌ Rollback failed: {d.get('reason', 'unknown reason')}"
        if self.type == "rollback.skipped":
            return f"Rollback skipped: {d.get('reason', '')}"
        if self.type == "rollback.kept":
            return (
                f"{self.workflow}: the reloaded code is version {d.get('version')}, rolled "
                f"back from by {self.incident_id}; still serving {d.get('restored')}"
            )
        if self.type == "incident.logged":
            return f"Incident logged: {self.incident_id}"
        if self.type == "incident.not_recovered":
            return (
                f"⚠️ Incident {self.incident_id} not recovered: error_rate = "
                f"{percent(d.get('error_rate'), 1)} over {d.get('runs')} runs of the restored "
                "version (the cause is probably not the code)"
            )
        return (
            f"Incident {self.incident_id} resolved: error_rate = "
            f"{percent(d.get('error_rate'), 1)} over {d.get('runs')} runs"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict of this event."""
        return {
            "type": self.type,
            "ts": round(self.ts, 6),
            "workflow": self.workflow,
            "incident_id": self.incident_id,
            "line": self.line,
            "data": self.data,
        }

    def to_json(self) -> str:
        """This event as one line of JSON."""
        return dumps(self.to_dict())


def percent(value: Any, decimals: int | None = None) -> str:
    """A ratio as a percentage: ``0.12`` -> ``12.0%`` with one decimal, ``10%``
    without (shortest form); ``?`` for no value."""
    if not isinstance(value, int | float):
        return "?"
    if decimals is None:
        return f"{value * 100:g}%"
    return f"{value * 100:.{decimals}f}%"
