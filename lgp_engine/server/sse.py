"""Server-Sent Events: frames and streaming responses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from ..events import RunEvent
from ..jsonable import dumps
from .metrics import Metrics

HEARTBEAT_SECONDS = 15.0


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response (so the OpenAPI document says so)."""

    media_type = "text/event-stream"


#: The success response of an SSE route, for its OpenAPI description.
SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `id` (the event's seq), `event` (its type) and "
        "`data` (JSON), with `: heartbeat` comments while nothing happens.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def frame(event: str, data: Any, event_id: str | int | None = None) -> bytes:
    """One SSE frame; ``data`` is JSON on one line."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {dumps(data)}\n\n".encode()


def event_frame(event: RunEvent) -> bytes:
    """A :class:`RunEvent` as a frame: ``id`` is its seq, ``event`` its type. What stays
    local (a failure's traceback, with the host's paths) is left out."""
    return frame(event.type, event.public_dict(), event.seq)


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
