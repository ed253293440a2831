"""Request guards as plain ASGI middleware: API keys, throttles, body checks, errors.

Plain ASGI (not BaseHTTPMiddleware) so streaming responses pass through untouched.
Every refusal is a JSON body in the API's one error shape (``{"detail": ...}``).
Keys are compared in constant time and never logged: URLs in the access log are
masked (:class:`RedactingFilter`).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from .json_guard import BodyProblem, check_json_body
from .metrics import Metrics

if TYPE_CHECKING:
    from .ratelimit import Limiter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("lgp.server")

#: Answered without a key: liveness, metrics, and the API's own description.
#: Answered without a key. ``/info`` too, as the Agent Server answers it: LangGraph
#: Studio asks it first (it tells versions and feature flags, nothing of the project).
OPEN_PATHS = frozenset({"/health", "/info", "/metrics", "/openapi.json", "/docs", "/redoc"})
OPEN_PREFIXES = ("/docs/assets/",)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})  # DELETE /store/items has one
KEY_HINT = "send 'Authorization: Bearer KEY' or 'x-api-key: KEY'"


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
            return str(value.decode("latin-1"))
    return None


def presented_key(scope: Scope) -> str | None:
    """The API key a request carries: ``Authorization: Bearer K`` or ``x-api-key: K``."""
    auth = _header(scope, b"authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return _header(scope, b"x-api-key")


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class SlidingWindow:
    """At most ``limit`` events per identity in any 60 seconds."""

    def __init__(self, limit: int, *, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def retry_after(self, identity: str) -> int:
        """Seconds until ``identity`` may act again (0: it may now)."""
        hits = self._prune(identity, time.monotonic())
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window - time.monotonic()))
        return 0

    def hit(self, identity: str) -> int:
        """Count one event unless over the limit; the seconds to wait if it is."""
        now = time.monotonic()
        hits = self._prune(identity, now)
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window - now))
        hits.append(now)
        return 0

    def _prune(self, identity: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(identity, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(self._hits) > 10_000:  # forget clients that went quiet
            for ident in [i for i, h in self._hits.items() if not h or h[-1] <= now - self.window]:
                del self._hits[ident]
        return hits


class GuardMiddleware:
    """Auth, throttles, body size and content, request metrics and the last-resort 500,
    in one pass.

    Args:
        app: The wrapped app.
        api_keys: Accepted keys; empty means no authentication.
        limiter: Counts requests per key (or client address); None: no limit
            (:mod:`lgp_engine.server.ratelimit`: in memory, Redis or the database).
        auth_failures: Missing or wrong keys per client address per minute before
            that address gets 429 (whatever key it sends) until the minute is over.
        max_body: Largest request body in bytes.
        metrics: Where request counts go.
        cors_origins: The web pages allowed to call the API from a browser.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: list[str],
        limiter: Limiter | None,
        auth_failures: int,
        max_body: int,
        metrics: Metrics,
        cors_origins: list[str] | None = None,
    ) -> None:
        self.app = app
        #: Pages whose JSON sent as text/plain is read as JSON (see _json_sent_as_text).
        self.origins = frozenset(o.encode() for o in cors_origins or ())
        self.keys = [k.encode() for k in api_keys if k]
        self.limiter = limiter
        self.failures = SlidingWindow(auth_failures)
        self.max_body = max_body
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"status": 500, "started": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
            await send(message)

        try:
            await self._guarded(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not state["started"]:
                # answered here (not re-raised to uvicorn), so a pooled keep-alive
                # connection stays usable; no traceback or host path reaches the client
                await send_json(tracking_send, 500, {"detail": "internal server error"})
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or (
                scope["path"] if is_open(scope["path"]) else "unmatched"
            )
            self.metrics.requests.labels(scope["method"], label, str(state["status"])).inc()

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_open(scope["path"]) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        key = presented_key(scope)
        if self.keys:
            wait = self.failures.retry_after(f"ip:{client}")
            if wait:
                await self._too_many(
                    send,
                    wait,
                    "too many requests with a missing or wrong API key from this address",
                )
                return
            ok = key is not None and any(hmac.compare_digest(key.encode(), k) for k in self.keys)
            if not ok:
                self.failures.hit(f"ip:{client}")
                await send_json(
                    send,
                    401,
                    {"detail": "missing or invalid API key", "hint": KEY_HINT},
                    [(b"www-authenticate", b"Bearer")],
                )
                return
        if self.limiter is not None:
            # a presented key only identifies a client when keys are checked
            identity = f"key:{key}" if self.keys and key else f"ip:{client}"
            wait = await self.limiter.hit(identity)
            if wait:
                await self._too_many(
                    send, wait, f"rate limit of {self.limiter.limit} requests per minute exceeded"
                )
                return
        if scope["method"] in BODY_METHODS:
            body = await self._read_body(receive, send)
            if body is None:
                return
            receive = _replay(body, receive)
            scope = _json_sent_as_text(scope, body, self.origins)
        await self.app(scope, receive, send)

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole request body, or None when it was refused (413/422 sent)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await send_json(
                    send, 413, {"detail": f"request body larger than {self.max_body} bytes"}
                )
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            check_json_body(body)
        except BodyProblem as problem:
            await send_json(
                send,
                422,
                {
                    "detail": str(problem),
                    "errors": [
                        {
                            "loc": ["body", *_loc(problem.where)],
                            "msg": problem.reason,
                            "type": "value_error",
                        }
                    ],
                },
            )
            return None
        return body

    @staticmethod
    async def _too_many(send: Send, wait: int, detail: str) -> None:
        await send_json(
            send,
            429,
            {"detail": detail, "retry_after": wait},
            [(b"retry-after", str(wait).encode())],
        )


def _json_sent_as_text(scope: Scope, body: bytes, origins: frozenset[bytes]) -> Scope:
    """A JSON body sent as ``text/plain`` (LangGraph Studio's browser client does, to
    spare a CORS preflight) is read as the JSON it is, as the Agent Server reads it:
    from a client that is not a web page (no ``Origin``) or from a page in
    ``server.cors_origins``. From any other page it stays text (the route refuses it
    with 422): a text/plain POST needs no preflight, so reading it would let any site
    a user visits start runs on a server on their machine."""
    headers = scope.get("headers") or []
    kind = next((v for k, v in headers if k == b"content-type"), b"")
    if not kind.lower().startswith(b"text/plain") or not body.strip():
        return scope
    origin = next((v for k, v in headers if k == b"origin"), None)
    if origin is not None and origin not in origins:
        return scope
    try:
        json.loads(body)
    except ValueError:
        return scope  # really text: the route answers it
    rest = [(k, v) for k, v in headers if k != b"content-type"]
    return {**scope, "headers": [*rest, (b"content-type", b"application/json")]}


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then the client's own messages
    (so a streaming response still hears the client disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _loc(where: str) -> list[str | int]:
    """``input.items[3]`` -> ``["input", "items", 3]``."""
    out: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return out


# -- the access log never shows a key ---------------------------------------------

SECRET_PARAMS = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "x-api-key",
        "key",
        "token",
        "access_token",
        "auth",
        "authorization",
        "password",
        "secret",
    }
)


def redact_url(path: str, keys: Iterable[str] = ()) -> str:
    """``path?query`` with secret-looking query values and any known key masked."""
    for key in keys:
        if key:
            path = path.replace(key, "***")
    head, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [(k, "***" if k.lower() in SECRET_PARAMS else v) for k, v in pairs]
    return f"{head}?{urlencode(masked, safe='*/:@')}"


class RedactingFilter(logging.Filter):
    """Masks keys in uvicorn's access lines (``"GET /x?api_key=... HTTP/1.1"``)."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        super().__init__()
        self.keys = [k for k in keys if k]

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_url(args[2], self.keys), *args[3:])
        return True


def install_access_log_redaction(keys: Iterable[str]) -> None:
    """Mask keys in uvicorn's access log of this process (once per key set)."""
    logger = logging.getLogger("uvicorn.access")
    for existing in list(logger.filters):
        if isinstance(existing, RedactingFilter):
            logger.removeFilter(existing)
    logger.addFilter(RedactingFilter(keys))
