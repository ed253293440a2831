"""The typed event stream every front end consumes.

The executor turns each LangGraph stream item into a :class:`RunEvent`. Events
are immutable, carry a per-run ``seq`` that increases by one from 1, and
serialize to JSON without ever failing (see :mod:`lgp_engine.jsonable`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from .jsonable import dumps

EventType = Literal[
    "run.started",
    "node.started",
    "node.finished",
    "message.delta",
    "custom",
    "checkpoint",
    "interrupt",
    "run.completed",
    "run.failed",
    "run.cancelled",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
# How a run stands after each event that ends (or pauses) it.
STATUS_FOR_EVENT: dict[str, str] = {
    "run.completed": "completed",
    "run.failed": "failed",
    "run.cancelled": "cancelled",
    "interrupt": "interrupted",
}
TERMINAL_TYPES = frozenset(STATUS_FOR_EVENT)


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
    data: dict[str, Any] = field(default_factory=dict)
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
        return {"type": self.type, "ts": round(self.ts, 6), "workflow": self.workflow,
                "data": self.data}

    def to_json(self) -> str:
        """This event as one line of JSON."""
        return dumps(self.to_dict())
