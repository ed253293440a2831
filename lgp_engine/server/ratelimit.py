"""The per-key request limit, counted where every process of the API sees it.

``server.rate_limit_store`` (``auto`` by default) picks the store:

* Redis when ``server.redis_url`` is set;
* else the checkpointer's PostgreSQL (replicas share it);
* else, with several workers (``lgp serve --workers N``), the project's SQLite file;
* else this process's memory (one process: nothing to share, and the fastest).

A shared store that fails (unreachable, too slow, an error) never takes the API down:
the hit is counted in this process instead, the problem is logged once, and the
store is tried again in the background every few seconds until it answers (logged
once too). The request path never waits more than ``timeout_s`` for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from ..config import Settings
from .security import SlidingWindow

log = logging.getLogger("lgp.server")

#: Longest wait for the shared store on the request path before counting locally.
TIMEOUT_S = 1.0
#: How long a starting server waits for the shared store (connecting, migrating).
STARTUP_TIMEOUT_S = 10.0
#: How often a failed shared store is tried again (in the background).
RETRY_S = 5.0


class Limiter(Protocol):
    """What the guard middleware asks: count one request of ``identity``."""

    #: Requests per minute.
    limit: int

    @property
    def where(self) -> str:
        """Where requests are counted, fit to show (no password)."""
        ...

    async def start(self) -> None:
        """Reach the store (when the app starts: connect, create the table)."""
        ...

    async def hit(self, identity: str) -> int:
        """0 when the request may go on, else the seconds to wait (>= 1)."""
        ...

    async def aclose(self) -> None: ...


class MemoryLimiter:
    """This process's own sliding window."""

    where = "this process's memory"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.window = SlidingWindow(limit)

    async def start(self) -> None:
        return None

    async def hit(self, identity: str) -> int:
        return self.window.hit(identity)

    async def aclose(self) -> None:
        return None


class _Store(Protocol):
    where: str

    async def hit(self, identity: str) -> float: ...
    async def ping(self) -> None: ...
    async def aclose(self) -> None: ...


class _ThreadedSql:
    """A :class:`~lgp_engine.backends.rate_limits.SqlRateLimits` opened and called on a
    thread of its own (never the runs' pool: busy runs must not delay a request's
    check, and a blocking database call must not stop the event loop)."""

    def __init__(self, open_store: Callable[[], Any], where: str, threads: int) -> None:
        self._open = open_store
        self._store: Any = None
        self._opening = threading.Lock()
        self.where = where
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="lgp-ratelimit")

    def _call(self, method: str, *args: Any) -> Any:
        if self._store is None:
            with self._opening:
                if self._store is None:
                    self._store = self._open()  # connects and migrates, once
                    self.where = self._store.where
        return getattr(self._store, method)(*args)

    async def hit(self, identity: str) -> float:
        loop = asyncio.get_running_loop()
        return float(await loop.run_in_executor(self._pool, self._call, "hit", identity))

    async def ping(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._call, "ping")

    async def aclose(self) -> None:
        store = self._store

        def close() -> None:
            if store is not None:
                store.close()

        with contextlib.suppress(Exception):
            await asyncio.get_running_loop().run_in_executor(self._pool, close)
        self._pool.shutdown(wait=False, cancel_futures=True)


class SharedLimiter:
    """Counts in a shared ``store``; in this process's memory while it fails."""

    def __init__(
        self,
        limit: int,
        store: _Store,
        *,
        timeout_s: float = TIMEOUT_S,
        retry_s: float = RETRY_S,
    ) -> None:
        self.limit = limit
        self.store = store
        self.local = SlidingWindow(limit)
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.down = False
        self._probe: asyncio.Task[None] | None = None

    @property
    def where(self) -> str:
        return self.store.where

    async def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Reach the store now (connect; create its table), so the first requests do
        not wait for it; one that does not answer is retried in the background."""
        try:
            await asyncio.wait_for(self.store.ping(), timeout_s)
        except Exception as exc:  # noqa: BLE001 - counted here until it answers
            self._failed(exc)

    async def hit(self, identity: str) -> int:
        if self.down:
            return self.local.hit(identity)
        try:
            wait = await asyncio.wait_for(self.store.hit(identity), self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - any failure of the store: count here
            self._failed(exc)
            return self.local.hit(identity)
        return 0 if wait <= 0 else max(1, math.ceil(wait))

    def _failed(self, exc: BaseException) -> None:
        if self.down:
            return
        self.down = True
        reason = _reason(exc)
        log.warning(
            "rate limit: %s failed (%s); counting requests in this process until it "
            "answers again (tried every %gs)",
            self.store.where,
            reason,
            self.retry_s,
        )
        self._probe = asyncio.get_running_loop().create_task(
            self._until_back(), name="lgp-ratelimit-probe"
        )

    async def _until_back(self) -> None:
        while True:
            await asyncio.sleep(self.retry_s)
            try:
                await asyncio.wait_for(self.store.ping(), self.timeout_s)
            except Exception:  # noqa: BLE001 - still down: said once already
                continue
            self.down = False
            log.warning("rate limit: %s answers again; requests are counted there", self.where)
            return

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(BaseException):
                await self._probe
        await self.store.aclose()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def store_kind(settings: Settings, workers: int = 1) -> str:
    """``memory``, ``redis``, ``postgres`` or ``sqlite``: where ``settings`` count."""
    server = settings.server
    choice = server.rate_limit_store
    if choice == "memory":
        return "memory"
    if choice == "redis" or (choice == "auto" and server.redis is not None):
        return "redis"
    backend = settings.checkpointer.backend
    if backend == "postgres":
        return "postgres"
    if backend == "sqlite" and (choice == "database" or workers > 1):
        return "sqlite"
    return "memory"


def describe(settings: Settings, workers: int = 1) -> str:
    """Where requests are counted, for the start banner (no password): ``shared in
    Redis at redis://host:6379/0``, ``counted in this process``..."""
    kind = store_kind(settings, workers)
    if kind == "redis":
        from ..backends.rate_limits import display_redis_url

        return f"shared in Redis at {display_redis_url(settings.server.redis or '')}"
    if kind == "postgres":
        from ..backends.postgres import display_dsn

        return f"shared in PostgreSQL at {display_dsn(settings.checkpointer.postgres_dsn)}"
    if kind == "sqlite":
        return "shared in the SQLite file"
    return "counted in this process" if workers == 1 else "counted in each worker process"


def build_limiter(settings: Settings, workers: int = 1) -> Limiter | None:
    """The limiter of ``settings`` for a server of ``workers`` processes (None: off).

    Nothing connects here: a shared store is reached on the first request (from the
    event loop that serves it).
    """
    limit = settings.server.rate_limit_per_minute
    if not limit:
        return None
    kind = store_kind(settings, workers)
    if kind == "redis":
        from ..backends.rate_limits import RedisRateLimits

        url = settings.server.redis
        assert url is not None
        return SharedLimiter(
            limit, RedisRateLimits(url, limit, prefix=settings.server.redis_key_prefix)
        )
    if kind in ("postgres", "sqlite"):
        return SharedLimiter(limit, _sql_store(settings, limit, kind))
    return MemoryLimiter(limit)


def _sql_store(settings: Settings, limit: int, kind: str) -> _ThreadedSql:
    from ..backends import postgres
    from ..backends.rate_limits import SqlRateLimits
    from ..backends.sql import PostgresDatabase, SqliteDatabase

    checkpointer = settings.checkpointer
    if kind == "postgres":
        dsn = checkpointer.postgres_dsn
        where = f"PostgreSQL at {postgres.display_dsn(dsn)}"

        def open_store() -> SqlRateLimits:
            return SqlRateLimits(PostgresDatabase(dsn, pool_size=2, timeout_s=TIMEOUT_S), limit)

        return _ThreadedSql(open_store, where, threads=2)
    path = settings.resolve(checkpointer.path)

    def open_sqlite() -> SqlRateLimits:
        db = SqliteDatabase(path, busy_timeout_ms=checkpointer.busy_timeout_ms)
        return SqlRateLimits(db, limit)

    return _ThreadedSql(open_sqlite, f"SQLite file {path}", threads=1)
