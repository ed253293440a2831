"""Server-Sent Events: frames and streaming responses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from ..events import EVENT_TYPES, RunEvent
from ..jsonable import dumps
from .metrics import Metrics
from .params import Responses

HEARTBEAT_SECONDS = 15.0


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response (so the OpenAPI document says so)."""

    media_type = "text/event-stream"


def json_data(schema: dict[str, Any]) -> dict[str, Any]:
    """An SSE ``data`` field holding JSON that matches ``schema``."""
    return {"type": "string", "contentMediaType": "application/json", "contentSchema": schema}


def sse_responses(
    description: str,
    event: dict[str, Any],
    data: dict[str, Any],
    *,
    with_id: bool = False,
    rules: list[dict[str, Any]] | None = None,
    optional_id: bool = False,
) -> Responses:
    """The success response of an SSE route, for its OpenAPI description: each event
    (OpenAPI before 3.2 has the media type's schema describe one event) with its
    ``event`` name, ``data`` (JSON matching ``data``) and, ``with_id``, its ``id``;
    ``rules`` are more schemas each event matches (e.g. a ``data`` schema per event);
    ``optional_id``: some events have an ``id``, some not."""
    properties: dict[str, Any] = {
        "event": {"type": "string", **event},
        "data": json_data(data),
    }
    if with_id:
        properties["id"] = {"type": "string", "pattern": "^[0-9]+$"}
    required = sorted(properties)
    if optional_id:
        properties["id"] = {"type": "string"}
    schema: dict[str, Any] = {
        "type": "object",
        "required": required,
        "properties": properties,
    }
    if rules:
        schema["allOf"] = rules
    return {
        200: {
            "description": description,
            "content": {"text/event-stream": {"schema": schema}},
        }
    }


#: A RunEvent's JSON (``RunEvent.public_dict``), the ``data`` of an LGP stream event.
RUN_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["run_id", "seq", "ts", "type", "thread_id", "node", "data"],
    "properties": {
        "run_id": {"type": "string"},
        "seq": {"type": "integer", "minimum": 1},
        "ts": {"type": "number", "description": "Seconds since the epoch."},
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "thread_id": {"type": "string"},
        "node": {"type": ["string", "null"]},
        "data": {"type": "object", "description": "The payload of its type."},
    },
}
#: The success response of the LGP API's SSE routes.
SSE_RESPONSES = sse_responses(
    "Server-Sent Events, one per RunEvent: `id` (its seq), `event` (its type) and `data` "
    "(the event as JSON); `: heartbeat` comments while nothing happens. The stream ends "
    "when the run stops (completed, interrupted, failed or cancelled).",
    {"enum": list(EVENT_TYPES)},
    RUN_EVENT_SCHEMA,
    with_id=True,
)


def frame(event: str, data: Any, event_id: str | int | None = None) -> bytes:
    """One SSE frame; ``data`` is JSON on one line."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {dumps(data)}\n\n".encode()


def event_frame(event: RunEvent, redact: Callable[[str], str] | None = None) -> bytes:
    """A :class:`RunEvent` as a frame: ``id`` is its seq, ``event`` its type. What stays
    local (a failure's traceback) is left out; ``redact`` rewrites error messages
    (the host's paths)."""
    return frame(event.type, event.public_dict(redact), event.seq)


def sse_response(
    frames: AsyncIterator[bytes], metrics: Metrics, headers: dict[str, str] | None = None
) -> StreamingResponse:
    """Stream ``frames`` with heartbeats; counts the stream while it is open and
    closes the source iterator when the client goes away."""

    async def body() -> AsyncIterator[bytes]:
        metrics.streams.inc()
        source = frames.__aiter__()
        nxt: asyncio.Future[bytes] | None = None
        try:
            while True:
                nxt = asyncio.ensure_future(source.__anext__())
                while True:
                    done, _ = await asyncio.wait({nxt}, timeout=HEARTBEAT_SECONDS)
                    if done:
                        break
                    yield b": heartbeat\n\n"
                try:
                    yield nxt.result()
                except StopAsyncIteration:
                    return
        finally:
            metrics.streams.dec()
            if nxt is not None and not nxt.done():
                nxt.cancel()
            with contextlib.suppress(Exception):
                await source.aclose()  # type: ignore[attr-defined]

    return EventStreamResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", **(headers or {})},
    )
