"""Request counts shared by every server process and replica: Redis or the database.

One algorithm everywhere: hits are counted in one-second buckets per identity, and a
hit is allowed while the buckets of the last ``window`` seconds hold fewer than
``limit`` hits. A refused hit is not counted, and learns how long until enough old
buckets have expired for one more (the Retry-After). Each check is one atomic step
against the shared store, with its clock (Redis ``TIME``, PostgreSQL
``clock_timestamp()``; the machine's clock for a SQLite file, which only processes of
one machine share):

* :class:`RedisRateLimits`: one ``EVALSHA`` of a Lua script per hit (a hash of
  buckets per identity, which expires with its window).
* :class:`SqlRateLimits`: PostgreSQL runs one ``SELECT lgp_rate_hit(...)`` per hit
  (a function that locks the identity, prunes, counts and adds); SQLite one
  ``BEGIN IMMEDIATE`` transaction, in the project's file.

Identities are hashed before they are stored (an API key never leaves the process).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any

from .sql import Database

#: Seconds of history a limit counts ("per minute").
WINDOW_S = 60
#: How often a process deletes every identity's expired buckets from a SQL table
#: (an identity's own are deleted as it comes back).
SWEEP_EVERY_S = 60.0


def identity_hash(identity: str) -> str:
    """What the shared stores key an identity (``key:K`` or ``ip:A``) by."""
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def retry_after(buckets: list[tuple[int, int]], limit: int, now: float, window: int) -> float:
    """Seconds until the live ``buckets`` ((second, hits), oldest first) hold fewer
    than ``limit`` hits."""
    excess = sum(h for _, h in buckets) - limit + 1
    seen = 0
    for second, hits in buckets:
        seen += hits
        if seen >= excess:
            return max(0.0, second + window - now)
    return 0.0


# -- Redis ------------------------------------------------------------------------

#: KEYS[1]: the identity's hash of buckets; ARGV: limit, window (s).
#: Returns {1, 0} for an allowed hit, {0, milliseconds to wait} for a refused one.
REDIS_SCRIPT = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local sec = tonumber(t[1])
local all = redis.call('HGETALL', key)
local live = {}
local total = 0
for i = 1, #all, 2 do
  local bucket = tonumber(all[i])
  if bucket <= sec - window then
    redis.call('HDEL', key, all[i])
  else
    local hits = tonumber(all[i + 1])
    total = total + hits
    live[#live + 1] = {bucket, hits}
  end
end
if total < limit then
  redis.call('HINCRBY', key, sec, 1)
  redis.call('EXPIRE', key, window + 1)
  return {1, 0}
end
table.sort(live, function(a, b) return a[1] < b[1] end)
local excess = total - limit + 1
local seen = 0
for _, b in ipairs(live) do
  seen = seen + b[2]
  if seen >= excess then
    return {0, math.max(0, (b[1] + window) * 1000 - now_ms)}
  end
end
return {0, 0}
"""


def display_redis_url(url: str) -> str:
    """``url`` without its password (``redis://host:6379/0``, ``redis://user@host``)."""
    shown = re.sub(r"(://[^:/@]*):[^@]*@", r"\1@", url)
    shown = shown.replace("://@", "://")
    return re.sub(r"(password=)[^&]*", r"\1***", shown)


class RedisRateLimits:
    """Counts in Redis at ``url`` (``redis.asyncio``; created in the loop that uses it).

    ``timeout_s`` bounds connecting, waiting for one of the ``max_connections`` and
    each answer: an unreachable Redis is an exception soon, not a hung request.
    """

    def __init__(
        self,
        url: str,
        limit: int,
        *,
        prefix: str = "lgp:",
        window: int = WINDOW_S,
        timeout_s: float = 1.0,
        max_connections: int = 32,
    ) -> None:
        import redis.asyncio as aioredis

        self.limit = limit
        self.window = window
        self.prefix = f"{prefix}ratelimit:"
        self.where = f"Redis at {display_redis_url(url)}"
        # blocking: a burst of more concurrent hits than connections waits for one
        # (a plain pool refuses them with "Too many connections")
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
        )
        self._client = aioredis.Redis.from_pool(pool)
        self._script: Any = self._client.register_script(REDIS_SCRIPT)

    def key(self, identity: str) -> str:
        return self.prefix + identity_hash(identity)

    async def hit(self, identity: str) -> float:
        """Count one hit of ``identity`` unless over the limit: 0, or the seconds to wait."""
        allowed, wait_ms = await self._script(
            keys=[self.key(identity)], args=[self.limit, self.window]
        )
        return 0.0 if int(allowed) else int(wait_ms) / 1000

    async def ping(self) -> None:
        await self._client.ping()

    async def aclose(self) -> None:
        await self._client.aclose()


# -- SQL (PostgreSQL or the SQLite file) ---------------------------------------------

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgp_rate_limits (
    key TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, bucket)
) WITHOUT ROWID;
"""

#: Numbered steps of the ``rate_limits`` schema on PostgreSQL (see Database.migrate).
PG_STEPS = (
    # UNLOGGED: counts need not survive a crash, and a hit then commits without waiting
    # for the WAL to reach the disk (measured here: 5 ms a hit with it, 0.3 ms without)
    """
    CREATE UNLOGGED TABLE IF NOT EXISTS lgp_rate_limits (
        key TEXT NOT NULL,
        bucket BIGINT NOT NULL,
        hits INTEGER NOT NULL,
        PRIMARY KEY (key, bucket)
    )
    """,
    # One call per hit: the identity's advisory lock (held to the end of the call's
    # transaction) orders concurrent hits of one identity, and each statement after it
    # sees what the hits before committed (READ COMMITTED takes a snapshot per
    # statement). Returns 0 (counted) or the seconds to wait (not counted).
    """
    CREATE OR REPLACE FUNCTION lgp_rate_hit(k TEXT, lim INTEGER, win INTEGER)
    RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
    DECLARE
        now_s DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
        sec BIGINT := floor(now_s);
        total BIGINT;
        freed BIGINT;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('lgp_rate:' || k, 0));
        DELETE FROM lgp_rate_limits WHERE key = k AND bucket <= sec - win;
        SELECT COALESCE(SUM(hits), 0) INTO total FROM lgp_rate_limits WHERE key = k;
        IF total < lim THEN
            INSERT INTO lgp_rate_limits (key, bucket, hits) VALUES (k, sec, 1)
            ON CONFLICT (key, bucket) DO UPDATE SET hits = lgp_rate_limits.hits + 1;
            RETURN 0;
        END IF;
        SELECT b INTO freed FROM (
            SELECT bucket AS b, SUM(hits) OVER (ORDER BY bucket) AS seen
            FROM lgp_rate_limits WHERE key = k
        ) AS running WHERE seen >= total - lim + 1 ORDER BY b LIMIT 1;
        RETURN GREATEST(0, freed + win - now_s);
    END
    $$
    """,
)


class SqlRateLimits:
    """Counts in the ``lgp_rate_limits`` table of ``db`` (its own connection or pool:
    synchronous; the server calls it from a thread of its own).

    ``clock`` is the SQLite backend's clock (PostgreSQL uses the server's).
    """

    def __init__(
        self,
        db: Database,
        limit: int,
        *,
        window: int = WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.limit = limit
        self.window = window
        self.clock = clock
        self.where = (
            f"PostgreSQL at {db.where}" if db.backend == "postgres" else f"SQLite file {db.where}"
        )
        self._swept = 0.0
        db.migrate("rate_limits", SQLITE_SCHEMA, PG_STEPS)

    def hit(self, identity: str) -> float:
        """Count one hit of ``identity`` unless over the limit: 0, or the seconds to wait."""
        key = identity_hash(identity)
        if self.db.backend == "postgres":
            row = self.db.fetchone("SELECT lgp_rate_hit(?, ?, ?)", (key, self.limit, self.window))
            wait = float(row[0]) if row else 0.0
        else:
            wait = self._sqlite_hit(key)
        if time.monotonic() - self._swept > SWEEP_EVERY_S:
            self.sweep()
        return wait

    def _sqlite_hit(self, key: str) -> float:
        db = self.db
        with db.transaction():  # BEGIN IMMEDIATE: other processes' hits wait
            now = self.clock()
            sec = int(now)
            db.execute(
                "DELETE FROM lgp_rate_limits WHERE key = ? AND bucket <= ?",
                (key, sec - self.window),
            )
            rows = db.fetchall(
                "SELECT bucket, hits FROM lgp_rate_limits WHERE key = ? ORDER BY bucket", (key,)
            )
            if sum(int(h) for _, h in rows) < self.limit:
                db.execute(
                    "INSERT INTO lgp_rate_limits (key, bucket, hits) VALUES (?, ?, 1) "
                    "ON CONFLICT (key, bucket) DO UPDATE SET hits = hits + 1",
                    (key, sec),
                )
                return 0.0
        return retry_after([(int(b), int(h)) for b, h in rows], self.limit, now, self.window)

    def sweep(self) -> int:
        """Delete the expired buckets of every identity; how many."""
        self._swept = time.monotonic()
        if self.db.backend == "postgres":
            cutoff = "floor(extract(epoch FROM clock_timestamp()))::BIGINT - ?"
            return self.db.execute(
                f"DELETE FROM lgp_rate_limits WHERE bucket <= {cutoff}", (self.window,)
            )
        return self.db.execute(
            "DELETE FROM lgp_rate_limits WHERE bucket <= ?", (int(self.clock()) - self.window,)
        )

    def ping(self) -> None:
        self.db.fetchone("SELECT 1")

    def close(self) -> None:
        self.db.close()
