"""A local OpenAI-compatible HTTP server for tests and benchmarks.

    python -m tests.servers.openai_server --port 0 [--api-key KEY] [--delay-ms N]

prints ``READY http://127.0.0.1:PORT`` once it accepts connections. It answers
``GET /v1/models``, ``POST /v1/chat/completions`` (plain and streamed, with
usage and tool calls shaped as OpenAI sends them) and ``POST /v1/embeddings``
(word-count vectors: texts sharing words are near each other), so real clients (``openai``,
LangChain's ``ChatOpenAI``) talk to it over real sockets.

What it answers is scripted through a JSON control API under ``/_control/``:

- ``POST /_control/script`` ``{"responses": [ITEM, ...]}`` queues replies. ITEM:
  ``{"content", "tool_calls": [{"name", "arguments": {...}}], "usage":
  {"prompt_tokens", "completion_tokens", "cached_tokens"}, "delay_ms",
  "chunk_delay_ms", "match", "model"}`` (all optional). A request takes the first
  queued item whose ``match`` (a substring of its messages as JSON) and ``model``
  fit; with none, the default reply ``"<model> says: <first 8 words of the last
  user message>"``.
- ``POST /_control/fault`` ``{"kind": "status" | "stall" | "malformed_json" |
  "disconnect", "status", "retry_after", "code", "message", "times", "match",
  "model"}``: the next ``times`` matching requests fail that way (before any
  scripted reply).
- ``GET /_control/requests``: every chat request received, in order, with its
  ``outcome`` (``"ok"``, ``"fault:<status or kind>"``, ``"auth:401"``), ``started_at``
  and ``first_token_at`` (``time.time()`` as the first content or tool-call delta is
  written; for a plain response, as its body is; null when none is);
  ``GET /_control/pending``: what is still queued; ``POST /_control/reset``: forget
  everything; ``GET /_control/health``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
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

MODELS = ("gpt-4o-mini", "gpt-4o", "fake-model")
STALL_SECONDS = 600.0  # a stalled request is held open at most this long
DEFAULT_REPLY_WORDS = 8

# --------------------------------------------------------------------------- control API


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo in a test's script is an error


class ScriptedToolCall(_Strict):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptedUsage(_Strict):
    """Overrides of the computed usage; a field left out keeps the computed value."""

    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    cached_tokens: int = Field(default=0, ge=0)


class ScriptItem(_Strict):
    content: str | None = None
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    usage: ScriptedUsage | None = None
    delay_ms: int | None = Field(default=None, ge=0)  # before the first byte
    chunk_delay_ms: int = Field(default=0, ge=0)  # between two stream chunks
    match: str | None = None
    model: str | None = None


class Script(_Strict):
    responses: list[ScriptItem]


class Fault(_Strict):
    kind: Literal["status", "stall", "malformed_json", "disconnect"]
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)  # seconds, as Retry-After
    code: str | None = None
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

    def reset(self) -> None:
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


def _error(status: int, message: str, type_: str, code: str | None) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)


_ERROR_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to use this model.", "permission_error", None),
    404: ("The model does not exist.", "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached. Please try again later.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded.", "server_error", None),
}
CONTEXT_LENGTH_MESSAGE = (
    "This model's maximum context length is 128000 tokens. However, your messages "
    "resulted in 131072 tokens. Please reduce the length of the messages."
)


def _status_fault(fault: Fault) -> JSONResponse:
    status = fault.status or 500
    message, type_, code = _ERROR_DEFAULTS.get(
        status, ("Error.", "invalid_request_error" if status < 500 else "server_error", None)
    )
    code = fault.code or code
    if fault.message:
        message = fault.message
    elif code == "context_length_exceeded":
        message = CONTEXT_LENGTH_MESSAGE
    response = _error(status, message, type_, code)
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
    """The text of a message's content: a string, or a list of parts (text parts kept)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        ).strip()
    return ""


def _default_content(model: str, messages: list[dict[str, Any]]) -> str:
    last_user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    words = _text_of(last_user.get("content")).split()[:DEFAULT_REPLY_WORDS]
    return f"{model} says: {' '.join(words)}"


def _pieces(text: str) -> list[str]:
    """``text`` as stream deltas, one per word, spaces kept (joined they give ``text``)."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _argument_pieces(arguments: str) -> list[str]:
    """A tool call's JSON arguments in 2 to 4 fragments, as OpenAI streams them."""
    count = min(4, max(2, len(arguments) // 8))
    size = -(-len(arguments) // count)  # ceiling
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


@dataclass
class Reply:
    """One chat completion, ready to be sent plain or streamed."""

    n: int
    model: str
    content: str | None
    tool_calls: list[tuple[str, str, str]]  # (id, name, JSON arguments)
    usage: dict[str, Any]
    chunk_delay: float

    @property
    def id(self) -> str:
        return f"chatcmpl-fake{self.n:06d}"

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def _build_reply(
    n: int, model: str, messages: list[dict[str, Any]], item: ScriptItem | None
) -> Reply:
    if item is None:
        item = ScriptItem(content=_default_content(model, messages))
    content_deltas = len(_pieces(item.content or ""))
    prompt = max(1, sum(len(_text_of(m.get("content")).split()) for m in messages))
    completion = content_deltas
    cached = 0
    if item.usage is not None:
        prompt = prompt if item.usage.prompt_tokens is None else item.usage.prompt_tokens
        completion = (
            completion if item.usage.completion_tokens is None else item.usage.completion_tokens
        )
        cached = item.usage.cached_tokens
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    calls = [
        (f"call_fake{n:06d}_{i}", call.name, json.dumps(call.arguments))
        for i, call in enumerate(item.tool_calls)
    ]
    return Reply(n, model, item.content, calls, usage, item.chunk_delay_ms / 1000)


def _completion(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}
            for id_, name, arguments in reply.tool_calls
        ]
    return {
        "id": reply.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": reply.usage,
    }


def _sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def _chunks(reply: Reply, include_usage: bool) -> list[tuple[dict[str, Any], bool]]:
    """The stream's chunks, each with whether it carries content or a tool call."""
    created = int(time.time())

    def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": reply.id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": reply.model,
            "system_fingerprint": None,
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            body["usage"] = reply.usage if delta is None else None
        return body

    role = {"role": "assistant", "content": None if reply.content is None else "", "refusal": None}
    chunks = [(chunk(role), False)]
    chunks += [(chunk({"content": piece}), True) for piece in _pieces(reply.content or "")]
    for index, (id_, name, arguments) in enumerate(reply.tool_calls):
        start = {
            "index": index,
            "id": id_,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        chunks.append((chunk({"tool_calls": [start]}), True))
        chunks += [
            (chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}), True)
            for piece in _argument_pieces(arguments)
        ]
    chunks.append((chunk({}, reply.finish_reason), False))
    if include_usage:
        chunks.append((chunk(None), False))
    return chunks


# --------------------------------------------------------------------------- the app


def _embed(text: str, dims: int) -> list[float]:
    vector = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.sha1(word.encode()).hexdigest(), 16) % dims] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def create_app(state: State) -> FastAPI:
    app = FastAPI(title="fake OpenAI", docs_url=None, redoc_url=None, openapi_url=None)

    def unauthorized(request: Request) -> JSONResponse | None:
        if state.api_key is None:
            return None
        if request.headers.get("authorization") == f"Bearer {state.api_key}":
            return None
        message, type_, code = _ERROR_DEFAULTS[401]
        return _error(401, message, type_, code)

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        if (denied := unauthorized(request)) is not None:
            return denied
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in MODELS]
        return JSONResponse({"object": "list", "data": data})

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        started_at = time.time()
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "The request body is not valid JSON.", "invalid_request_error", None)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "'messages' is required.", "invalid_request_error", None)
        model = str(body.get("model", ""))
        messages: list[dict[str, Any]] = body["messages"]
        stream = bool(body.get("stream"))
        stream_options = body.get("stream_options")
        entry: dict[str, Any] = {
            "n": len(state.log) + 1,
            "model": model,
            "stream": stream,
            "messages": messages,
            "tools": body.get("tools"),
            "stream_options": stream_options,
            "response_format": body.get("response_format"),
            "authorization": request.headers.get("authorization"),
            "outcome": "ok",
            "started_at": started_at,
            "first_token_at": None,
        }
        state.log.append(entry)

        if (denied := unauthorized(request)) is not None:
            entry["outcome"] = "auth:401"
            return denied
        messages_json = json.dumps(messages, ensure_ascii=False)
        fault = state.take_fault(model, messages_json)
        item = None if fault is not None else state.take_item(model, messages_json)
        delay_ms = item.delay_ms if item is not None and item.delay_ms is not None else None
        await asyncio.sleep((state.delay_ms if delay_ms is None else delay_ms) / 1000)

        reply = _build_reply(entry["n"], model, messages, item)
        if fault is not None:
            entry["outcome"] = fault.label
            if fault.kind == "status":
                return _status_fault(fault)
            if fault.kind == "disconnect":
                return await _disconnect(request.receive)
            if fault.kind == "stall" and not stream:
                await _stall(request.receive)
                return Response(status_code=204)  # the client is gone; sends nothing
            if fault.kind == "malformed_json" and not stream:
                return Response(b"{not json", media_type="application/json")

        def first_token() -> None:
            if entry["first_token_at"] is None:
                entry["first_token_at"] = time.time()

        if not stream:
            if reply.content or reply.tool_calls:
                first_token()
            return JSONResponse(_completion(reply))

        include_usage = isinstance(stream_options, dict) and bool(
            stream_options.get("include_usage")
        )
        chunks = _chunks(reply, include_usage)
        kind = fault.kind if fault is not None else None

        async def events() -> AsyncIterator[bytes]:
            if kind == "stall":
                await _stall(request.receive)
                return
            for i, (chunk, carries_token) in enumerate(chunks):
                if i and reply.chunk_delay:
                    await asyncio.sleep(reply.chunk_delay)
                if carries_token:
                    first_token()
                yield _sse(chunk)
                if kind == "malformed_json" and carries_token:
                    yield _sse("{not json")
                    return
            if kind == "malformed_json":  # no delta to put it after: right away
                yield _sse("{not json")
                return
            yield _sse("[DONE]")

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

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
    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        """OpenAI's embeddings: each text becomes a unit vector of ``dimensions``
        (default 64) counting its words in hashed buckets, so texts sharing words are
        near each other and a search ranks them first."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "The request body is not valid JSON.", "invalid_request_error", None)
        texts = body.get("input") if isinstance(body, dict) else None
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _error(
                400, "'input' must be a string or a list of strings.", "invalid_request_error", None
            )
        state.log.append(
            {
                "n": len(state.log) + 1,
                "model": str(body.get("model", "")),
                "embeddings": texts,
                "outcome": "ok",
                "authorization": request.headers.get("authorization"),
            }
        )
        if (denied := unauthorized(request)) is not None:
            state.log[-1]["outcome"] = "auth:401"
            return denied
        dims = int(body.get("dimensions") or 64)
        data = [
            {"object": "embedding", "index": i, "embedding": _embed(text, dims)}
            for i, text in enumerate(texts)
        ]
        words = sum(len(t.split()) for t in texts)
        usage = {"prompt_tokens": words, "total_tokens": words}
        return JSONResponse(
            {"object": "list", "data": data, "model": body.get("model"), "usage": usage}
        )

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

    @app.post("/_control/reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"ok": True}

    @app.get("/_control/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

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
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument(
        "--delay-ms", type=int, default=0, help="default delay before each response's first byte"
    )
    args = parser.parse_args(argv)
    state = State(api_key=args.api_key, delay_ms=args.delay_ms)
    asyncio.run(serve(state, args.host, args.port))


if __name__ == "__main__":
    main()
