"""A local Langfuse trace receiver (OTLP/HTTP) for tests and benchmarks.

    python -m tests.servers.otlp_receiver --port 0 --public-key PK --secret-key SK

prints ``READY http://127.0.0.1:PORT`` once it accepts connections. It takes what the
Langfuse SDK exports: ``POST /api/public/otel/v1/traces`` with an
``ExportTraceServiceRequest`` as protobuf (gzip or plain), with Basic auth checked
against the keys given (401 otherwise), and decodes it into spans.

Its control API, under ``/_control/``:

- ``GET /_control/spans``: every span received (with good keys), in order, as JSON:
  ``name``, ``trace_id``, ``span_id``, ``parent_span_id`` (hex; null for none),
  ``start_ns``, ``end_ns``, ``status`` ``{"code", "message"}``, ``attributes`` (plain
  values: strings, numbers, booleans, lists), ``scope`` ``{"name", "version",
  "attributes"}`` and ``resource`` (attributes).
- ``GET /_control/requests``: every export request: ``auth`` (``ok``, ``bad``,
  ``missing``), ``encoding``, ``size`` (bytes as sent), ``raw_size`` (decoded),
  ``spans`` (taken in), ``status`` (what it answered; null while held), ``at``
  (``time.time()`` as it arrived).
- ``GET /_control/raw``: the bodies of every request, as sent and decoded, one after
  the other (``application/octet-stream``), to look for what must not be there.
- ``POST /_control/mode`` ``{"mode": "normal" | "hang" | "status", "status": N}``:
  ``hang`` takes each export in (and keeps what it holds) but never answers, until
  the mode changes, a reset or the server stops (then 503); ``status`` answers each
  with HTTP ``status``.
- ``POST /_control/reset``: forget everything, back to ``normal``;
  ``GET /_control/health``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import gzip
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from pydantic import BaseModel, ConfigDict, Field

from tests.servers.serving import serve_app

TRACES_PATH = "/api/public/otel/v1/traces"
Mode = Literal["normal", "hang", "status"]


class ModeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode
    status: int | None = Field(default=None, ge=200, le=599)


@dataclass
class State:
    """Everything the server remembers; touched only from the event loop."""

    public_key: str
    secret_key: str
    mode: Mode = "normal"
    status: int = 500
    spans: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends held requests

    def set_mode(self, mode: Mode, status: int | None) -> None:
        self.release.set()  # a held request answers now
        self.release = asyncio.Event()
        self.mode = mode
        self.status = status or 500

    def reset(self) -> None:
        self.set_mode("normal", None)
        self.spans.clear()
        self.requests.clear()
        self.raw.clear()


# --------------------------------------------------------------------------- decoding


def plain(value: AnyValue) -> Any:
    """An OTLP attribute value as a plain Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(items: Any) -> dict[str, Any]:
    pairs: list[KeyValue] = list(items)
    return {kv.key: plain(kv.value) for kv in pairs}


def decode(raw: bytes) -> list[dict[str, Any]]:
    """The spans of an ``ExportTraceServiceRequest``, as plain dicts."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(raw)
    out = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = {
                "name": scope_spans.scope.name,
                "version": scope_spans.scope.version,
                "attributes": attributes(scope_spans.scope.attributes),
            }
            for span in scope_spans.spans:
                out.append(
                    {
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "status": {"code": span.status.code, "message": span.status.message},
                        "attributes": attributes(span.attributes),
                        "scope": scope,
                        "resource": resource,
                    }
                )
    return out


def inflate(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def check_auth(header: str | None, state: State) -> str:
    """``ok``, ``bad`` or ``missing``: the Basic credentials against the keys."""
    if not header:
        return "missing"
    scheme, _, token = header.partition(" ")
    try:
        decoded = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "bad"
    expected = f"{state.public_key}:{state.secret_key}"
    return "ok" if scheme.lower() == "basic" and decoded == expected else "bad"


# --------------------------------------------------------------------------- the app


def receive(
    state: State, entry: dict[str, Any], body: bytes, encoding: str, auth: str | None
) -> Response:
    """Check, decode and keep one export request (described in ``entry``); the answer."""
    entry.update(auth=check_auth(auth, state), encoding=encoding or None, size=len(body), spans=0)
    try:
        raw = inflate(body, encoding)
    except (OSError, zlib.error) as exc:
        return JSONResponse({"message": f"cannot decode the body: {exc}"}, status_code=400)
    state.raw += body + raw
    entry["raw_size"] = len(raw)
    if entry["auth"] != "ok":
        return JSONResponse({"message": "Invalid credentials"}, status_code=401)
    if state.mode == "status":
        return JSONResponse({"message": "as told"}, status_code=state.status)
    spans = decode(raw)
    state.spans.extend(spans)
    entry["spans"] = len(spans)
    return _otlp_ok()


def _otlp_ok() -> Response:
    body = ExportTraceServiceResponse().SerializeToString()
    return Response(body, media_type="application/x-protobuf")


def create_app(state: State) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post(TRACES_PATH)
    async def traces(request: Request) -> Response:
        body = await request.body()
        entry: dict[str, Any] = {"at": time.time(), "status": None}
        state.requests.append(entry)
        headers = request.headers
        encoding = headers.get("content-encoding", "").lower()
        response = receive(state, entry, body, encoding, headers.get("authorization"))
        if state.mode == "hang":  # what it sent is kept; it never hears back
            await state.release.wait()
            response = JSONResponse({"message": "gave up"}, status_code=503)
        entry["status"] = response.status_code
        return response

    @app.get("/_control/spans")
    async def spans() -> list[dict[str, Any]]:
        return state.spans

    @app.get("/_control/requests")
    async def requests() -> list[dict[str, Any]]:
        return state.requests

    @app.get("/_control/raw")
    async def raw() -> Response:
        return Response(bytes(state.raw), media_type="application/octet-stream")

    @app.post("/_control/mode")
    async def mode(body: ModeBody) -> dict[str, Any]:
        state.set_mode(body.mode, body.status)
        return {"mode": state.mode}

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
    try:
        await serve_app(create_app(state), host, port)
    finally:
        state.release.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--public-key", required=True)
    parser.add_argument("--secret-key", required=True)
    args = parser.parse_args(argv)

    async def run() -> None:  # the state's asyncio.Event belongs to this loop
        await serve(State(args.public_key, args.secret_key), args.host, args.port)

    asyncio.run(run())


if __name__ == "__main__":
    main()
