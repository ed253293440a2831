"""Request guards as plain ASGI middleware: API keys, rate limit, body size, metrics.

Plain ASGI (not BaseHTTPMiddleware) so streaming responses pass through untouched.
Every refusal is a JSON body. Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from .metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/health", "/metrics"})


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def presented_key(scope: Scope) -> str | None:
    """The API key a request carries: ``Authorization: Bearer K`` or ``x-api-key: K``."""
    auth = _header(scope, b"authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return _header(scope, b"x-api-key")


class GuardMiddleware:
    """Auth, rate limit, body size and request metrics in one pass.

    Args:
        app: The wrapped app.
        api_keys: Accepted keys; empty means no authentication.
        rate_limit: Requests per key (or client address) per minute; 0 disables it.
        max_body: Largest request body in bytes.
        metrics: Where request counts go.
    """

    def __init__(
        self, app: ASGIApp, *, api_keys: list[str], rate_limit: int, max_body: int, metrics: Metrics
    ) -> None:
        self.app = app
        self.keys = [k.encode() for k in api_keys if k]
        self.rate_limit = rate_limit
        self.max_body = max_body
        self.metrics = metrics
        self._hits: dict[str, deque[float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status_box = {"status": 500}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box["status"] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, tracking_send)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or (
                "unmatched" if scope["path"] not in OPEN_PATHS else scope["path"]
            )
            self.metrics.requests.labels(scope["method"], label, str(status_box["status"])).inc()

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path in OPEN_PATHS or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        key = presented_key(scope)
        if self.keys:
            ok = key is not None and any(hmac.compare_digest(key.encode(), k) for k in self.keys)
            if not ok:
                await send_json(
                    send,
                    401,
                    {
                        "detail": "missing or invalid API key",
                        "hint": "send 'Authorization: Bearer KEY' or 'x-api-key: KEY'",
                    },
                    [(b"www-authenticate", b"Bearer")],
                )
                return
        if self.rate_limit:
            client = scope.get("client") or ("?", 0)
            # a presented key only identifies a client when keys are checked
            identity = f"key:{key}" if self.keys and key else f"ip:{client[0]}"
            retry = self._limited(identity)
            if retry:
                await send_json(
                    send,
                    429,
                    {
                        "detail": f"rate limit of {self.rate_limit} requests per minute exceeded",
                        "retry_after": retry,
                    },
                    [(b"retry-after", str(retry).encode())],
                )
                return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await send_json(send, 413, self._too_large())
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge(self.max_body)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if not started:
                await send_json(send, 413, self._too_large())

    def _too_large(self) -> dict[str, Any]:
        return {"detail": f"request body larger than {self.max_body} bytes"}

    def _limited(self, identity: str) -> int:
        """Seconds to wait if ``identity`` is over the limit, else 0 (and count it)."""
        now = time.monotonic()
        hits = self._hits.setdefault(identity, deque())
        while hits and hits[0] <= now - 60:
            hits.popleft()
        if len(self._hits) > 10_000:  # forget clients that went quiet
            for ident in [i for i, h in self._hits.items() if not h or h[-1] <= now - 60]:
                del self._hits[ident]
        if len(hits) >= self.rate_limit:
            return max(1, math.ceil(hits[0] + 60 - now))
        hits.append(now)
        return 0


class _TooLarge(HTTPException):
    """Raised while reading a body past the limit; FastAPI re-raises HTTP errors."""

    def __init__(self, limit: int = 0) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")
