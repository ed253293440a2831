"""A local Anthropic-compatible Messages API server for tests: the real Claude Code
CLI runs offline against it.

    python -m tests.servers.anthropic_server --port 0 [--api-key KEY] [--delay-ms N]

prints ``READY http://127.0.0.1:PORT`` once it accepts connections. Clients take
that URL as ``ANTHROPIC_BASE_URL``. It answers ``POST /v1/messages`` (streamed as
Anthropic's SSE: ``message_start`` with usage, ``content_block_start`` /
``content_block_delta`` (``text_delta``, ``input_json_delta``) /
``content_block_stop``, ``message_delta`` with ``stop_reason`` and usage,
``message_stop``; or plain JSON), ``POST /v1/messages/count_tokens`` and
``GET /v1/models``. Any other request is logged and answered 404, so a test sees
what else a client asked for.

What it answers is scripted through a JSON control API under ``/_control/``:

- ``POST /_control/script`` ``{"responses": [ITEM, ...]}`` queues replies. ITEM:
  ``{"text", "tool_uses": [{"name", "input": {...}, "id"}], "usage": {"input_tokens",
  "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"},
  "stop_reason", "delay_ms", "chunk_delay_ms", "match", "model", "barrier",
  "parties"}`` (all optional; with ``barrier``, the reply waits until ``parties``
  requests with that barrier are in flight at once).
  A request takes the first queued item whose ``match`` (a substring of its
  ``messages`` as JSON) and ``model`` fit; with none, the default reply
  ``"Done: <first 8 words of the last user text>"``.
- ``POST /_control/fault`` ``{"kind": "status" | "stall" | "disconnect", "status",
  "retry_after", "error_type", "message", "times", "match", "model"}``: the next
  ``times`` matching requests fail that way (before any scripted reply). A stall
  holds a streamed request open after ``message_start`` (a plain one before any
  byte) until the client goes.
- ``GET /_control/requests``: every request received, in order: ``method``,
  ``path``, ``model``, ``stream``, ``messages``, ``tools`` (names), ``system_chars``,
  ``max_tokens``, ``has_x_api_key``, ``has_authorization``, ``headers`` (the
  ``anthropic-*`` ones and ``user-agent``), ``outcome`` (``"ok"``,
  ``"fault:<status or kind>"``, ``"auth:401"``, ``"not_found"``), ``started_at``,
  ``first_token_at``; ``GET /_control/pending``; ``POST /_control/reset``;
  ``POST /_control/arrive/NAME`` (the test reaches barrier NAME: a reply held
  there with ``parties: 2`` goes);
  ``GET /_control/health``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.types import Receive

from tests.servers.serving import serve_app

MODELS = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5")
STALL_SECONDS = 600.0  # a stalled request is held open at most this long
DEFAULT_REPLY_WORDS = 8
LOGGED_HEADERS = ("anthropic-version", "anthropic-beta", "user-agent", "x-app")

# --------------------------------------------------------------------------- control API


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo in a test's script is an error


class ScriptedToolUse(_Strict):
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class ScriptedUsage(_Strict):
    """Overrides of the computed usage; a field left out keeps the computed value."""

    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    cache_read_input_tokens: int = Field(default=0, ge=0)
    cache_creation_input_tokens: int = Field(default=0, ge=0)


class ScriptItem(_Strict):
    text: str | None = None
    tool_uses: list[ScriptedToolUse] = Field(default_factory=list)
    usage: ScriptedUsage | None = None
    stop_reason: str | None = None  # default: "tool_use" with tool uses, else "end_turn"
    delay_ms: int | None = Field(default=None, ge=0)  # before the first byte
    chunk_delay_ms: int = Field(default=0, ge=0)  # between two stream events
    match: str | None = None
    model: str | None = None
    # answer only once ``parties`` requests with the same ``barrier`` name are in
    # flight at once: proves clients run concurrently (sequential ones never get there)
    barrier: str | None = None
    parties: int = Field(default=2, ge=1)


class Script(_Strict):
    responses: list[ScriptItem]


class Fault(_Strict):
    kind: Literal["status", "stall", "disconnect"]
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)  # seconds, as Retry-After
    error_type: str | None = None
    message: str | None = None
    times: int = Field(default=1, ge=1)
    match: str | None = None
    model: str | None = None

    @model_validator(mode="after")
    def _status_given(self) -> Fault:
        if (self.kind == "status") != (self.status is not None):
            raise ValueError('"status" is required with kind "status", and only there')
        return self

    @property
    def label(self) -> str:
        return f"fault:{self.status if self.kind == 'status' else self.kind}"


def _fits(rule: ScriptItem | Fault, model: str, messages_json: str) -> bool:
    return (rule.model is None or rule.model == model) and (
        rule.match is None or rule.match in messages_json
    )


@dataclass
class State:
    """Everything the server remembers; one instance, touched only from the event loop."""

    api_key: str | None = None
    delay_ms: int = 0
    queue: list[ScriptItem] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)  # ``times`` counts down in place
    log: list[dict[str, Any]] = field(default_factory=list)
    server: uvicorn.Server | None = None
    arrived: dict[str, int] = field(default_factory=dict)  # requests at each barrier

    def reset(self) -> None:
        self.arrived.clear()
        self.queue.clear()
        self.faults.clear()
        self.log.clear()

    def take_fault(self, model: str, messages_json: str) -> Fault | None:
        for fault in self.faults:
            if _fits(fault, model, messages_json):
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def take_item(self, model: str, messages_json: str) -> ScriptItem | None:
        for item in self.queue:
            if _fits(item, model, messages_json):
                self.queue.remove(item)
                return item
        return None

    @property
    def stopping(self) -> bool:
        return self.server is not None and self.server.should_exit


# --------------------------------------------------------------------------- replies

_ERROR_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error."),
    529: ("overloaded_error", "Overloaded"),
}


def _error(status: int, error_type: str | None = None, message: str | None = None) -> JSONResponse:
    default_type, default_message = _ERROR_DEFAULTS.get(
        status, ("invalid_request_error" if status < 500 else "api_error", "Error.")
    )
    body = {
        "type": "error",
        "error": {"type": error_type or default_type, "message": message or default_message},
    }
    return JSONResponse(body, status_code=status, headers={"request-id": "req_fake"})


def _status_fault(fault: Fault) -> JSONResponse:
    response = _error(fault.status or 500, fault.error_type, fault.message)
    if fault.retry_after is not None:
        seconds = fault.retry_after
        response.headers["Retry-After"] = str(int(seconds) if seconds.is_integer() else seconds)
    return response


def _invalid(exc: ValidationError) -> JSONResponse:
    """422 for a control body that does not validate, naming the fields."""
    return JSONResponse(
        {"detail": exc.errors(include_url=False, include_context=False)}, status_code=422
    )


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or blocks (text blocks kept, but not
    the ``<system-reminder>`` ones Claude Code puts before the user's words)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict)
            and block.get("type") == "text"
            and not str(block.get("text", "")).startswith("<system-reminder>")
        ).strip()
    return ""


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and (text := _text_of(message.get("content"))):
            return text
    return ""


def _default_text(messages: list[dict[str, Any]]) -> str:
    words = _last_user_text(messages).split()[:DEFAULT_REPLY_WORDS]
    return f"Done: {' '.join(words)}"


def _pieces(text: str) -> list[str]:
    """``text`` as stream deltas, one per word, spaces kept (joined they give ``text``)."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _json_pieces(text: str) -> list[str]:
    """A tool input's JSON in 2 to 4 fragments, as Anthropic streams ``partial_json``."""
    count = min(4, max(2, len(text) // 8))
    size = -(-len(text) // count)  # ceiling
    return [text[i : i + size] for i in range(0, len(text), size)]


def _count_tokens(body: dict[str, Any]) -> int:
    """A rough token count of a request: words of its messages and system prompt."""
    return max(1, len(json.dumps(body.get("messages", []), ensure_ascii=False).split()))


@dataclass
class Reply:
    """One message, ready to be sent plain or streamed."""

    n: int
    model: str
    blocks: list[dict[str, Any]]  # final content blocks (text / tool_use with input)
    stop_reason: str
    usage: dict[str, int]
    chunk_delay: float

    @property
    def id(self) -> str:
        return f"msg_fake{self.n:06d}"


def _build_reply(n: int, model: str, body: dict[str, Any], item: ScriptItem | None) -> Reply:
    messages: list[dict[str, Any]] = body["messages"]
    if item is None:
        item = ScriptItem(text=_default_text(messages))
    blocks: list[dict[str, Any]] = []
    if item.text:
        blocks.append({"type": "text", "text": item.text})
    for i, use in enumerate(item.tool_uses):
        id_ = use.id or f"toolu_fake{n:06d}_{i}"
        blocks.append({"type": "tool_use", "id": id_, "name": use.name, "input": use.input})
    usage = {
        "input_tokens": _count_tokens(body),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": max(1, len(_pieces(item.text or "")) + 10 * len(item.tool_uses)),
    }
    if item.usage is not None:
        for key, value in item.usage.model_dump().items():
            if value is not None:
                usage[key] = value
    stop_reason = item.stop_reason or ("tool_use" if item.tool_uses else "end_turn")
    return Reply(n, model, blocks, stop_reason, usage, item.chunk_delay_ms / 1000)


def _message(reply: Reply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": reply.blocks,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": reply.usage,
    }


def _sse(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def _events(reply: Reply) -> list[tuple[dict[str, Any], bool]]:
    """The stream's events after ``message_start``, each with whether it carries a
    content delta."""
    events: list[tuple[dict[str, Any], bool]] = []
    for index, block in enumerate(reply.blocks):
        if block["type"] == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            text = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in _json_pieces(text)]
        events.append(
            ({"type": "content_block_start", "index": index, "content_block": start}, False)
        )
        if index == 0:
            events.append(({"type": "ping"}, False))
        events += [
            ({"type": "content_block_delta", "index": index, "delta": delta}, True)
            for delta in deltas
        ]
        events.append(({"type": "content_block_stop", "index": index}, False))
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
        "usage": reply.usage,
    }
    events.append((message_delta, False))
    events.append(({"type": "message_stop"}, False))
    return events


def _message_start(reply: Reply) -> dict[str, Any]:
    usage = dict(reply.usage, output_tokens=1)
    message = dict(_message(reply), content=[], stop_reason=None, usage=usage)
    return {"type": "message_start", "message": message}


# --------------------------------------------------------------------------- the app


def create_app(state: State) -> FastAPI:
    app = FastAPI(title="fake Anthropic", docs_url=None, redoc_url=None, openapi_url=None)

    def unauthorized(request: Request) -> JSONResponse | None:
        if state.api_key is None:
            return None
        key = request.headers.get("x-api-key")
        bearer = request.headers.get("authorization")
        if key == state.api_key or bearer == f"Bearer {state.api_key}":
            return None
        return _error(401)

    def log_entry(request: Request, body: dict[str, Any] | None) -> dict[str, Any]:
        body = body or {}
        system = body.get("system")
        system_text = system if isinstance(system, str) else json.dumps(system or "")
        tools = body.get("tools")
        entry: dict[str, Any] = {
            "n": len(state.log) + 1,
            "method": request.method,
            "path": request.url.path,
            "query": str(request.url.query),
            "model": body.get("model"),
            "stream": bool(body.get("stream")),
            "max_tokens": body.get("max_tokens"),
            "messages": body.get("messages"),
            "tools": [t.get("name") for t in tools] if isinstance(tools, list) else None,
            "system_chars": len(system_text) if system else 0,
            "has_x_api_key": "x-api-key" in request.headers,
            "has_authorization": "authorization" in request.headers,
            "headers": {h: request.headers[h] for h in LOGGED_HEADERS if h in request.headers},
            "outcome": "ok",
            "started_at": time.time(),
            "first_token_at": None,
        }
        state.log.append(entry)
        return entry

    async def json_body(request: Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        entry = log_entry(request, None)
        if (denied := unauthorized(request)) is not None:
            entry["outcome"] = "auth:401"
            return denied
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in MODELS
        ]
        return JSONResponse({"data": data, "has_more": False, "first_id": MODELS[0]})

    @app.post("/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> Response:
        body = await json_body(request)
        entry = log_entry(request, body)
        if (denied := unauthorized(request)) is not None:
            entry["outcome"] = "auth:401"
            return denied
        if body is None:
            return _error(400, message="The request body is not valid JSON.")
        return JSONResponse({"input_tokens": _count_tokens(body)})

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        body = await json_body(request)
        entry = log_entry(request, body)
        if (denied := unauthorized(request)) is not None:
            entry["outcome"] = "auth:401"
            return denied
        if body is None or not isinstance(body.get("messages"), list):
            entry["outcome"] = "invalid"
            return _error(400, message="messages: Field required")
        model = str(body.get("model", ""))
        stream = bool(body.get("stream"))
        messages_json = json.dumps(body["messages"], ensure_ascii=False)
        fault = state.take_fault(model, messages_json)
        item = None if fault is not None else state.take_item(model, messages_json)
        delay_ms = item.delay_ms if item is not None and item.delay_ms is not None else None
        await asyncio.sleep((state.delay_ms if delay_ms is None else delay_ms) / 1000)
        if item is not None and item.barrier is not None:
            await _barrier(item.barrier, item.parties)

        reply = _build_reply(entry["n"], model, body, item)
        if fault is not None:
            entry["outcome"] = fault.label
            if fault.kind == "status":
                return _status_fault(fault)
            if fault.kind == "disconnect":
                return await _disconnect(request.receive)
            if fault.kind == "stall" and not stream:
                await _stall(request.receive)
                return Response(status_code=204)  # the client is gone; sends nothing

        def first_token() -> None:
            if entry["first_token_at"] is None:
                entry["first_token_at"] = time.time()

        if not stream:
            if reply.blocks:
                first_token()
            return JSONResponse(_message(reply), headers={"request-id": f"req_fake{reply.n}"})

        stall = fault is not None and fault.kind == "stall"

        async def events() -> AsyncIterator[bytes]:
            yield _sse(_message_start(reply))
            if stall:
                await _stall(request.receive)
                return
            for event, carries_token in _events(reply):
                if reply.chunk_delay:
                    await asyncio.sleep(reply.chunk_delay)
                if carries_token:
                    first_token()
                yield _sse(event)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "request-id": f"req_fake{reply.n}"},
        )

    async def _barrier(name: str, parties: int) -> None:
        """Wait until ``parties`` requests have reached barrier ``name`` (or the server stops)."""
        state.arrived[name] = state.arrived.get(name, 0) + 1
        deadline = time.monotonic() + STALL_SECONDS
        while state.arrived.get(name, 0) < parties and not state.stopping:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.01)

    async def _stall(receive: Receive) -> None:
        """Hold the request: until the client goes, the server stops or STALL_SECONDS pass."""
        deadline = time.monotonic() + STALL_SECONDS
        while time.monotonic() < deadline and not state.stopping:
            with anyio.move_on_after(0.1):
                if (await receive())["type"] == "http.disconnect":
                    return

    async def _disconnect(receive: Receive) -> Response:
        """Close the connection without a byte of response. uvicorn's ASGI ``receive``
        is a method of the request's cycle, which holds the connection's transport."""
        cycle = getattr(receive, "__self__", None)
        close = getattr(getattr(cycle, "transport", None), "close", None)
        if not callable(close):
            raise RuntimeError("disconnect fault: no transport (not uvicorn's httptools/h11?)")
        close()
        await asyncio.sleep(0.01)  # let the connection see it is lost: nothing is sent
        return Response(status_code=204)

    # Control bodies are read as JSON whatever their content type (curl -d sends a form's).
    @app.post("/_control/script")
    async def script(request: Request) -> Response:
        try:
            body = Script.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc)
        state.queue.extend(body.responses)
        return JSONResponse({"queued": len(state.queue)})

    @app.post("/_control/fault")
    async def fault(request: Request) -> Response:
        try:
            body = Fault.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc)
        state.faults.append(body)
        return JSONResponse({"faults": len(state.faults)})

    @app.get("/_control/requests")
    async def requests() -> list[dict[str, Any]]:
        return state.log

    @app.get("/_control/pending")
    async def pending() -> dict[str, Any]:
        return {
            "responses": [item.model_dump() for item in state.queue],
            "faults": [fault.model_dump() for fault in state.faults],
        }

    @app.post("/_control/arrive/{barrier}")
    async def arrive(barrier: str) -> dict[str, int]:
        """The test itself reaches ``barrier``: releases a reply held for it."""
        state.arrived[barrier] = state.arrived.get(barrier, 0) + 1
        return {"arrived": state.arrived[barrier]}

    @app.post("/_control/reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"ok": True}

    @app.get("/_control/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.api_route(
        "/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    )
    async def anything_else(request: Request, path: str) -> Response:
        """Logged, then 404: the log shows what else a client asked for."""
        entry = log_entry(request, await json_body(request) if request.method == "POST" else None)
        entry["outcome"] = "not_found"
        return _error(404, message=f"{request.method} /{path} is not served here")

    return app


# --------------------------------------------------------------------------- main


async def serve(state: State, host: str, port: int) -> None:
    """Serve on ``host:port`` (0: a free port); print the READY line once it is up."""

    def started(server: uvicorn.Server) -> None:
        state.server = server

    await serve_app(create_app(state), host, port, started=started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument(
        "--api-key", default=None, help="require 'x-api-key: KEY' (or 'Authorization: Bearer KEY')"
    )
    parser.add_argument(
        "--delay-ms", type=int, default=0, help="default delay before each response's first byte"
    )
    args = parser.parse_args(argv)
    state = State(api_key=args.api_key, delay_ms=args.delay_ms)
    asyncio.run(serve(state, args.host, args.port))


if __name__ == "__main__":
    main()
