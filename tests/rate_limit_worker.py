"""A process that counts hits of one identity in a shared rate-limit store at the same
time as others (see tests/server/test_rate_limit_stores.py). It opens the store,
prints ``ready``, waits for the file GO to exist, makes HITS hits from CONCURRENCY
threads (tasks, on Redis) at once, then prints one JSON line: how many were
allowed, and the waits of the refused ones.

    python tests/rate_limit_worker.py KIND TARGET LIMIT HITS CONCURRENCY GO [PREFIX]

KIND is sqlite, postgres or redis; TARGET the SQLite file, the PostgreSQL URL or
the Redis URL; PREFIX the Redis key prefix.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

IDENTITY = "key:shared-by-processes"


def wait_for(go: str) -> None:
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            raise SystemExit("no go")
        time.sleep(0.001)


def main(argv: list[str]) -> None:
    kind, target, limit, hits, concurrency, go = argv[:6]
    prefix = argv[6] if len(argv) > 6 else "lgp:"
    if kind == "redis":
        waits = asyncio.run(_redis(target, int(limit), int(hits), int(concurrency), go, prefix))
    else:
        waits = _sql(kind, target, int(limit), int(hits), int(concurrency), go)
    print(json.dumps({"allowed": waits.count(0.0), "waits": [w for w in waits if w]}), flush=True)


def _sql(kind: str, target: str, limit: int, hits: int, concurrency: int, go: str) -> list[float]:
    from lgp_engine.backends.rate_limits import SqlRateLimits
    from lgp_engine.backends.sql import PostgresDatabase, SqliteDatabase

    def open_one() -> SqlRateLimits:
        if kind == "postgres":
            return SqlRateLimits(PostgresDatabase(target, pool_size=1), limit)
        return SqlRateLimits(SqliteDatabase(Path(target)), limit)

    stores = [open_one() for _ in range(concurrency)]  # a connection per thread
    wait_for(go)
    per = [hits // concurrency + (1 if i < hits % concurrency else 0) for i in range(concurrency)]
    with ThreadPoolExecutor(concurrency) as pool:
        parts = pool.map(lambda s, n: [s.hit(IDENTITY) for _ in range(n)], stores, per)
        return [w for part in parts for w in part]


async def _redis(
    url: str, limit: int, hits: int, concurrency: int, go: str, prefix: str
) -> list[float]:
    from lgp_engine.backends.rate_limits import RedisRateLimits

    store = RedisRateLimits(url, limit, prefix=prefix)
    await store.ping()
    wait_for(go)
    gate = asyncio.Semaphore(concurrency)

    async def one() -> float:
        async with gate:
            return await store.hit(IDENTITY)

    try:
        return list(await asyncio.gather(*(one() for _ in range(hits))))
    finally:
        await store.aclose()


if __name__ == "__main__":
    main(sys.argv[1:])
