"""One run's LangGraph-style event stream: the raw stream parts of a run turned
into the SSE events ``langgraph_sdk`` expects, buffered for any number of followers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from ...events import RunEvent
from ...jsonable import to_jsonable
from ...providers.runtime import MARK
from ..sse import json_data, sse_responses
from ..times import now_iso
from .shapes import checkpoint_json, interrupt_json, updates_json

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- streams

#: The events of a run's stream: a stream mode's name (``messages/...`` for the
#: ``messages`` mode), ``|`` and the subgraph's namespace for subgraph events.
EVENT_PATTERN = (
    r"^(metadata|values|updates|messages|messages/partial|messages/complete"
    r"|messages/metadata|custom|debug|tasks|checkpoints|events|error)(\|.+)?$"
)
#: The success response of the runs' SSE routes.
SSE_RESPONSES = sse_responses(
    "Server-Sent Events as the LangGraph API sends them: `metadata` (the run id) first, "
    "then an event per stream part (its mode's name, `|namespace` for a subgraph's), "
    "`error` when the run failed; `: heartbeat` comments while nothing happens. The "
    "stream ends when the run stops. Each event after `metadata` has an `id` to resume "
    "after (`Last-Event-ID` on `GET /threads/{thread_id}/runs/{run_id}/stream`).",
    {"pattern": EVENT_PATTERN},
    {},
    optional_id=True,
    rules=[
        {
            "if": {"properties": {"event": {"const": "metadata"}}},
            "then": {
                "properties": {
                    "data": json_data(
                        {
                            "type": "object",
                            "required": ["run_id", "attempt"],
                            "properties": {
                                "run_id": {"type": "string"},
                                "attempt": {"type": "integer"},
                            },
                        }
                    )
                }
            },
        },
        {
            "if": {"properties": {"event": {"const": "error"}}},
            "then": {
                "properties": {
                    "data": json_data(
                        {
                            "type": "object",
                            "required": ["error", "message"],
                            "properties": {
                                "error": {"type": ["string", "null"]},
                                "message": {"type": ["string", "null"]},
                            },
                        }
                    )
                }
            },
        },
    ],
)

#: The success response of a thread's SSE route (``GET /threads/{thread_id}/stream``).
THREAD_SSE_RESPONSES = sse_responses(
    "Server-Sent Events of the thread's runs, one run after the other: for each, "
    "`metadata` (its run id), its events (with `id` `RUN_ID:N`) and `run_done` "
    '(`{"run_id", "status"}`) when it ended; `: heartbeat` comments while nothing happens. '
    "The stream stays open until the client closes it.",
    {"pattern": r"^(run_done|" + EVENT_PATTERN[2:]},
    {},
    optional_id=True,
)


class LgStream:
    """One run's LangGraph-style stream: ``(event, data)`` frames for the requested
    stream modes, buffered so any number of SSE followers can read them in order
    (a frame's id is its place in the buffer, from 1: a follower resumes after it).

    ``on_part`` receives the executor's raw LangGraph parts, ``on_lc_event`` the
    run's LangChain ``astream_events`` (v2) events (the ``events`` mode, as the
    Agent Server sends it), ``on_event`` our RunEvents (the terminal one, ``error``).
    """

    def __init__(
        self,
        modes: Iterable[str] = (),
        subgraphs: bool = False,
        redact: Callable[[str], str] = str,
        secrets: Callable[[Any], Any] | None = None,
    ) -> None:
        self.modes = frozenset(modes)
        self.subgraphs = subgraphs
        self.redact = redact  # error messages for clients: no host paths
        self.secrets = secrets  # every payload: no API keys, tokens, passwords
        self.frames: list[tuple[str, Any]] = []
        self.done = False
        self.terminal: RunEvent | None = None
        self.last_values: Any = None
        self._wake = asyncio.Event()
        self._messages: dict[Any, Any] = {}
        self._step: dict[tuple[str, ...], int] = {}
        #: When the run stopped (``loop.time()``), for how long a finished stream is kept.
        self.ended_at: float | None = None
        #: The run's thread (for the thread's own stream).
        self.thread_id: str | None = None

    @property
    def wants_lc_events(self) -> bool:
        """Whether the run must be driven by ``astream_events`` (the ``events`` mode)."""
        return "events" in self.modes

    # producers ------------------------------------------------------------------
    def _push(self, event: str, data: Any) -> None:
        if self.secrets is not None:
            data = self.secrets(data)
        self.frames.append((event, data))
        self._wake.set()
        self._wake = asyncio.Event()

    def on_part(self, part: dict[str, Any]) -> None:
        """Called by the executor with every raw part; never lets an error reach the run."""
        try:
            self._on_part(part)
        except Exception:
            log.exception("cannot convert a LangGraph stream part (%s)", part.get("type"))

    def _on_part(self, part: dict[str, Any]) -> None:
        kind = part.get("type")
        ns: tuple[str, ...] = tuple(part.get("ns") or ())
        data = part.get("data")
        if kind == "values" and not ns:
            self.last_values = data
        if not self.modes:
            return
        if kind == "messages":
            self._message(ns, data)
            return
        if ns and not self.subgraphs:
            return
        suffix = "|" + "|".join(ns) if ns else ""
        modes = self.modes
        if kind == "values" and "values" in modes:
            payload = to_jsonable(data)
            interrupts = part.get("interrupts") or ()
            if interrupts and isinstance(payload, dict):
                payload["__interrupt__"] = [interrupt_json(i, stream=True) for i in interrupts]
            self._push("values" + suffix, payload)
        elif kind == "updates" and "updates" in modes:
            self._push("updates" + suffix, updates_json(data))
        elif kind == "custom" and "custom" in modes:
            if not (isinstance(data, dict) and MARK in data):  # engine reports stay inside
                self._push("custom" + suffix, to_jsonable(data))
        elif kind == "tasks":
            if "tasks" in modes:
                self._push("tasks" + suffix, to_jsonable(data))
            if "debug" in modes:
                done = "input" not in (data or {})
                self._push(
                    "debug" + suffix,
                    {
                        "step": self._step.get(ns, -1) + 1,
                        "timestamp": now_iso(),
                        "type": "task_result" if done else "task",
                        "payload": to_jsonable(data),
                    },
                )
        elif kind == "checkpoints":
            step = ((data or {}).get("metadata") or {}).get("step")
            if isinstance(step, int):
                self._step[ns] = step
            if "checkpoints" in modes:
                self._push("checkpoints" + suffix, to_jsonable(data))
            if "debug" in modes:
                payload = to_jsonable(data)
                if isinstance(payload, dict) and isinstance(data, dict):
                    payload["checkpoint"] = checkpoint_json(data.get("config"))
                    payload["parent_checkpoint"] = checkpoint_json(data.get("parent_config"))
                self._push(
                    "debug" + suffix,
                    {
                        "step": step,
                        "timestamp": now_iso(),
                        "type": "checkpoint",
                        "payload": payload,
                    },
                )

    def _message(self, ns: tuple[str, ...], data: Any) -> None:
        try:
            chunk, meta = data
        except (TypeError, ValueError):
            return
        suffix = "|" + "|".join(ns) if ns and self.subgraphs else ""
        if "messages-tuple" in self.modes:
            self._push("messages" + suffix, [to_jsonable(chunk), to_jsonable(meta)])
            return
        if "messages" not in self.modes:
            return
        from langchain_core.messages import BaseMessageChunk

        key = getattr(chunk, "id", None)
        if key in self._messages and isinstance(chunk, BaseMessageChunk):
            try:
                self._messages[key] = self._messages[key] + chunk
            except Exception:  # noqa: BLE001 - chunks that do not add up restart the message
                self._messages[key] = chunk
        else:
            if key not in self._messages:
                self._push("messages/metadata", {key: {"metadata": to_jsonable(meta)}})
            self._messages[key] = chunk
        kind = "messages/partial" if isinstance(chunk, BaseMessageChunk) else "messages/complete"
        self._push(kind, [to_jsonable(self._messages[key])])

    def on_lc_event(self, event: dict[str, Any]) -> None:
        """A LangChain ``astream_events`` (v2) event as an ``events`` frame: ``event``,
        ``name``, ``run_id``, ``parent_ids``, ``tags``, ``metadata``, ``data``."""
        try:
            if "langsmith:hidden" in (event.get("tags") or ()):
                return
            self._push("events", to_jsonable(event))
        except Exception:
            log.exception("cannot convert a LangChain event (%s)", event.get("event"))

    def on_event(self, event: RunEvent) -> None:
        if event.is_terminal:
            self.terminal = event
            if event.type == "run.failed":
                self._push(
                    "error",
                    {
                        "error": event.data.get("error_type"),
                        "message": self.redact(str(event.data.get("message") or "")),
                    },
                )

    def stopped(self, event: RunEvent) -> None:
        """The run ended before it started (the hub recorded ``event`` for it)."""
        self.on_event(event)
        self.close()

    def close(self) -> None:
        self.done = True
        self.ended_at = asyncio.get_running_loop().time()
        self._wake.set()

    # consumers ------------------------------------------------------------------
    async def follow(self, start: int = 0) -> AsyncIterator[tuple[str, Any]]:
        """The frames from ``start`` on, live, until the run has stopped."""
        i = start
        while True:
            wake = self._wake
            while i < len(self.frames):
                yield self.frames[i]
                i += 1
            if self.done:
                return
            await wake.wait()


async def tap(events: AsyncIterator[RunEvent], stream: LgStream) -> AsyncIterator[RunEvent]:
    """Pass a runner operation's events through, showing each to ``stream`` first."""
    try:
        async for event in events:
            stream.on_event(event)
            yield event
    finally:
        stream.close()
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def frame_mode(event: str) -> str:
    """The stream mode a frame's event belongs to: ``messages/partial|ns`` is
    ``messages``; ``metadata`` and ``error`` are their own."""
    return event.split("|", 1)[0].split("/", 1)[0]


def wanted(event: str, modes: frozenset[str]) -> bool:
    """Whether a frame is for a follower that asked for ``modes`` (all when empty)."""
    if not modes:
        return True
    mode = frame_mode(event)
    return (
        mode in ("metadata", "error")
        or mode in modes
        or (mode == "messages" and "messages-tuple" in modes)
    )
