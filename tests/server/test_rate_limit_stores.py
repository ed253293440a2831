"""The shared rate-limit stores (lgp_engine/backends/rate_limits.py) and the limiter
that falls back to this process when one fails (lgp_engine/server/ratelimit.py).

Expiry is tested without waiting a minute: the SQLite store takes a clock, and on
Redis and PostgreSQL old buckets are written straight into the store."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.backends.rate_limits import (
    RedisRateLimits,
    SqlRateLimits,
    display_redis_url,
    identity_hash,
    retry_after,
)
from lgp_engine.backends.sql import PostgresDatabase, SqliteDatabase
from lgp_engine.config import CheckpointerSettings, ServerSettings, Settings
from lgp_engine.server.ratelimit import MemoryLimiter, SharedLimiter, build_limiter, store_kind
from tests import redis_server
from tests.processes import start_python
from tests.server.server_process import free_port

REPO = Path(__file__).resolve().parents[2]
WORKER = str(REPO / "tests" / "rate_limit_worker.py")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    redis_server.require()
    prefix = redis_server.fresh_prefix()
    yield prefix
    redis_server.drop_prefix(prefix)


# -- the algorithm -------------------------------------------------------------------


def test_retry_after_is_when_enough_old_buckets_have_expired() -> None:
    # 10 hits in buckets 100 (4), 130 (3), 150 (3); limit 10 at t=155.5
    buckets = [(100, 4), (130, 3), (150, 3)]
    assert retry_after(buckets, 10, 155.5, 60) == pytest.approx(4.5)  # bucket 100 leaves at 160
    # limit 6: 5 must leave, so bucket 130 too (at 190)
    assert retry_after(buckets, 6, 155.5, 60) == pytest.approx(34.5)


def test_sqlite_counts_a_minute_and_forgets_expired_buckets(tmp_path: Path) -> None:
    now = [1000.25]
    store = SqlRateLimits(SqliteDatabase(tmp_path / "x.db"), 3, clock=lambda: now[0])
    assert [store.hit("key:a") for _ in range(3)] == [0, 0, 0]
    assert store.hit("key:a") == pytest.approx(60 - 0.25)
    assert store.hit("key:b") == 0  # per identity
    now[0] = 1059.9
    assert store.hit("key:a") == pytest.approx(0.1)  # refused hits are not counted
    now[0] = 1060.0  # bucket 1000 has left the window
    assert [store.hit("key:a") for _ in range(4)][:3] == [0, 0, 0]
    rows = store.db.fetchall("SELECT key, bucket, hits FROM lgp_rate_limits ORDER BY key, bucket")
    assert (identity_hash("key:a"), 1060, 3) in rows
    assert all("key:" not in key for key, _, _ in rows)  # identities are hashed
    now[0] = 2000.0
    assert store.sweep() == 2  # every identity's expired buckets
    store.close()


def test_postgres_function_counts_prunes_and_tells_the_wait(postgres_dsn: str) -> None:
    store = SqlRateLimits(PostgresDatabase(postgres_dsn, pool_size=1), 3)
    key = identity_hash("key:a")
    now = time.time()
    # 2 hits 30 s ago, 5 hits 2 minutes ago (expired)
    store.db.execute(
        "INSERT INTO lgp_rate_limits (key, bucket, hits) VALUES (?, ?, 2), (?, ?, 5)",
        (key, int(now) - 30, key, int(now) - 120),
    )
    assert store.hit("key:a") == 0
    wait = store.hit("key:a")
    assert 28 <= wait <= 31  # the hits of 30 s ago leave in ~30 s
    rows = store.db.fetchall("SELECT bucket FROM lgp_rate_limits WHERE key = ?", (key,))
    assert int(now) - 120 not in {r[0] for r in rows}  # pruned
    # counts need not survive a crash: no WAL, so a hit does not wait for the disk
    persistence = store.db.fetchone(
        "SELECT relpersistence FROM pg_class WHERE relname = 'lgp_rate_limits'"
    )
    assert persistence == ("u",)
    store.close()


def test_redis_script_counts_prunes_and_tells_the_wait(redis_prefix: str) -> None:
    import redis

    async def scenario() -> tuple[float, float, dict[bytes, bytes], int]:
        store = RedisRateLimits(redis_server.URL, 3, prefix=redis_prefix)
        raw = redis.asyncio.Redis.from_url(redis_server.URL)
        key = store.key("key:a")
        sec = int((await raw.time())[0])
        await raw.hset(key, mapping={str(sec - 30): 2, str(sec - 120): 5})
        first = await store.hit("key:a")
        second = await store.hit("key:a")
        fields, ttl = await raw.hgetall(key), await raw.ttl(key)
        await raw.aclose()
        await store.aclose()
        return first, second, fields, ttl

    first, second, fields, ttl = asyncio.run(scenario())
    assert first == 0
    assert 28 <= second <= 31
    assert len(fields) == 2 and all(int(v) in (1, 2) for v in fields.values())  # pruned
    assert 0 < ttl <= 61  # forgotten a window after its last hit


def test_a_burst_larger_than_the_redis_pool_waits_for_connections(redis_prefix: str) -> None:
    async def burst() -> list[float]:
        store = RedisRateLimits(redis_server.URL, 150, prefix=redis_prefix, max_connections=4)
        try:
            return list(await asyncio.gather(*(store.hit("key:a") for _ in range(200))))
        finally:
            await store.aclose()

    waits = asyncio.run(burst())
    assert waits.count(0.0) == 150 and all(w > 0 for w in waits if w)


def test_redis_key_is_the_identitys_hash_under_the_prefix() -> None:
    store = RedisRateLimits("redis://127.0.0.1:6379/0", 5, prefix="p:")
    assert store.key("key:secret-key") == f"p:ratelimit:{identity_hash('key:secret-key')}"
    assert "secret" not in store.key("key:secret-key")
    assert display_redis_url("redis://:pw@h:6379/0") == "redis://h:6379/0"
    assert display_redis_url("redis://user:pw@h:6379/0") == "redis://user@h:6379/0"
    assert store.where == "Redis at redis://127.0.0.1:6379/0"


# -- several processes at once -------------------------------------------------------


def hits_from_processes(
    kind: str, target: str, tmp_path: Path, *extra: str, processes: int = 2
) -> list[dict[str, Any]]:
    """LIMIT 20, 30 hits from 4 threads in each of ``processes`` processes at once."""
    go = tmp_path / "go"
    workers = [
        start_python(WORKER, kind, target, "20", "30", "4", str(go), *extra, cwd=REPO)
        for _ in range(processes)
    ]
    try:
        for worker in workers:
            worker.expect("^ready$", timeout=60)
        go.touch()
        outcomes = []
        for worker in workers:
            assert worker.wait(60) == 0, worker.text
            outcomes.append(json.loads(worker.rest()[-1]))
        return outcomes
    finally:
        for worker in workers:
            worker.kill()


def assert_exactly_the_limit(outcomes: list[dict[str, Any]]) -> None:
    assert sum(o["allowed"] for o in outcomes) == 20, outcomes
    waits = [w for o in outcomes for w in o["waits"]]
    assert len(waits) == 2 * 30 - 20
    assert all(0 < w <= 60 for w in waits)


def test_two_processes_share_a_postgres_limit(postgres_dsn: str, tmp_path: Path) -> None:
    SqlRateLimits(PostgresDatabase(postgres_dsn, pool_size=1), 20).close()  # the schema
    assert_exactly_the_limit(hits_from_processes("postgres", postgres_dsn, tmp_path))


def test_two_processes_share_a_sqlite_limit(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    assert_exactly_the_limit(hits_from_processes("sqlite", db, tmp_path))


def test_two_processes_share_a_redis_limit(redis_prefix: str, tmp_path: Path) -> None:
    outcomes = hits_from_processes("redis", redis_server.URL, tmp_path, redis_prefix)
    assert_exactly_the_limit(outcomes)


# -- which store, and failing over -----------------------------------------------------


def settings_with(workers_store: str = "auto", **checkpointer: Any) -> Settings:
    return Settings(
        checkpointer=CheckpointerSettings(**checkpointer),
        server=ServerSettings(rate_limit_store=workers_store),  # type: ignore[arg-type]
    )


def test_the_store_is_chosen_from_the_settings_and_workers() -> None:
    sqlite = settings_with()
    assert store_kind(sqlite, 1) == "memory"  # one process: nothing to share
    assert store_kind(sqlite, 2) == "sqlite"
    assert store_kind(settings_with("database"), 1) == "sqlite"
    assert store_kind(settings_with("memory"), 4) == "memory"
    assert store_kind(settings_with(backend="memory"), 2) == "memory"  # no file to share
    pg = settings_with(backend="postgres", dsn="postgresql://u:pw@h/db")
    assert store_kind(pg, 1) == "postgres"
    redis = Settings(server=ServerSettings(redis_url="redis://h:6379/0"))
    assert store_kind(redis, 1) == "redis"
    unset = Settings(server=ServerSettings(redis_url=""))  # ${LGP_REDIS_URL:-} unset
    assert store_kind(unset, 1) == "memory"
    off = Settings(server=ServerSettings(rate_limit_per_minute=0, redis_url="redis://h"))
    assert build_limiter(off) is None
    assert isinstance(build_limiter(sqlite), MemoryLimiter)


def test_a_bad_redis_url_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="redis_url must start with redis://"):
        ServerSettings(redis_url="http://h:6379")
    with pytest.raises(ValueError, match="needs a redis_url"):
        ServerSettings(rate_limit_store="redis")


def test_a_redis_that_dies_and_comes_back_is_followed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server.RedisProcess(free_port(), tmp_path / "redis").start()
    caplog.set_level(logging.WARNING, logger="lgp.server")

    async def scenario() -> None:
        limiter = SharedLimiter(3, RedisRateLimits(server.url, 3), timeout_s=0.5, retry_s=0.05)
        await limiter.start()
        assert not limiter.down
        assert [await limiter.hit("key:a") for _ in range(4)][:3] == [0, 0, 0]
        server.stop()
        # counted in this process meanwhile (its window starts empty), said once
        assert [await limiter.hit("key:a") for _ in range(5)] == [0, 0, 0, 60, 60]
        assert limiter.down
        server.start()
        deadline = time.monotonic() + 20
        while limiter.down and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert not limiter.down
        assert await limiter.hit("key:b") == 0  # in the new Redis
        await limiter.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    lines = [r.getMessage() for r in caplog.records if "rate limit:" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "failed" in lines[0] and "counting requests in this process" in lines[0]
    assert "answers again" in lines[1]


def test_an_unreachable_postgres_falls_back_at_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="lgp.server")
    settings = settings_with(
        backend="postgres", dsn=f"postgresql://u:s3cret@127.0.0.1:{free_port()}/db"
    )

    async def scenario() -> list[int]:
        limiter = build_limiter(settings, 1)
        assert isinstance(limiter, SharedLimiter)
        started = time.monotonic()
        await limiter.start()
        assert time.monotonic() - started < 5
        try:
            return [await limiter.hit("key:a") for _ in range(101)]
        finally:
            await limiter.aclose()

    waits = asyncio.run(scenario())
    assert waits[:100] == [0] * 100 and waits[100] > 0
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert text.count("rate limit:") == 1 and "PostgreSQL at postgresql://u@127.0.0.1" in text
    assert "s3cret" not in text
