"""What counting a request for the rate limit costs, per store: this process's memory,
the SQLite file (``--workers N``), PostgreSQL (replicas) and Redis (``redis_url``).

Each store is used through the server's own limiter (``build_limiter``, what the
guard middleware awaits on every request), on uvloop as in ``lgp serve``:

1. latency: HITS hits one after the other from one event loop (the time a request
   waits for its check), with their CPU time in this process;
2. load: two processes (as two workers) together making RATE hits per second for
   DURATION seconds, each hit started on time whether or not the previous ones are
   done: the rate reached, the latency under it, the CPU per hit;
3. through HTTP: REQUESTS ``GET /workflows`` in a row to a real ``lgp serve`` counting
   in each store, the p50 added to the in-memory one's.

Every hit is allowed (a huge limit), the usual case. PostgreSQL's and Redis's own
CPU is not counted (other processes); the database and Redis are the machine's
(127.0.0.1), so a network round trip to another host adds to their numbers.

    python benchmarks/rate_limit_overhead.py [--hits 3000] [--rate 2000] [--duration 4]
        [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lgp_engine.config import CheckpointerSettings, ServerSettings, Settings  # noqa: E402
from lgp_engine.server.ratelimit import SharedLimiter, build_limiter  # noqa: E402

LIMIT = 1_000_000_000
KINDS = ("memory", "sqlite", "postgres", "redis")


def settings_for(kind: str, target: str, prefix: str) -> Settings:
    if kind == "sqlite":
        return Settings(
            checkpointer=CheckpointerSettings(path=target),
            server=ServerSettings(rate_limit_per_minute=LIMIT, rate_limit_store="database"),
        )
    if kind == "postgres":
        return Settings(
            checkpointer=CheckpointerSettings(backend="postgres", dsn=target),  # type: ignore[arg-type]
            server=ServerSettings(rate_limit_per_minute=LIMIT),
        )
    if kind == "redis":
        server = ServerSettings(
            rate_limit_per_minute=LIMIT,
            redis_url=target,  # type: ignore[arg-type]
            redis_key_prefix=prefix,
        )
        return Settings(server=server)
    return Settings(server=ServerSettings(rate_limit_per_minute=LIMIT))


async def open_limiter(kind: str, target: str, prefix: str) -> Any:
    limiter = build_limiter(settings_for(kind, target, prefix))
    assert limiter is not None
    await limiter.start()
    if isinstance(limiter, SharedLimiter) and limiter.down:
        raise SystemExit(f"{kind}: the store cannot be reached")
    return limiter


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def latency(kind: str, target: str, prefix: str, hits: int) -> dict[str, float]:
    limiter = await open_limiter(kind, target, prefix)
    try:
        for i in range(200):  # warm up: connections, prepared script, pages
            await limiter.hit(f"key:warm{i % 10}")
        times = []
        cpu0 = time.process_time()
        for i in range(hits):
            t0 = time.perf_counter()
            wait = await limiter.hit(f"key:k{i % 20}")
            times.append(time.perf_counter() - t0)
            assert wait == 0
        cpu = time.process_time() - cpu0
    finally:
        await limiter.aclose()
    return {
        "mean_us": statistics.fmean(times) * 1e6,
        "p50_us": percentile(times, 0.50) * 1e6,
        "p99_us": percentile(times, 0.99) * 1e6,
        "cpu_us": cpu / hits * 1e6,
    }


async def paced(
    kind: str, target: str, prefix: str, rate: float, duration: float
) -> dict[str, Any]:
    """Hits started at ``rate`` per second for ``duration`` s (one process's share)."""
    limiter = await open_limiter(kind, target, prefix)
    times: list[float] = []
    refused = 0

    async def one(i: int) -> None:
        nonlocal refused
        t0 = time.perf_counter()
        if await limiter.hit(f"key:k{i % 20}"):
            refused += 1
        times.append(time.perf_counter() - t0)

    try:
        for i in range(100):
            await limiter.hit(f"key:warm{i % 10}")
        total = int(rate * duration)
        tasks = []
        start = time.perf_counter()
        cpu0 = time.process_time()
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    finally:
        await limiter.aclose()
    return {
        "hits": total,
        "elapsed": elapsed,
        "times": [round(t * 1e6, 1) for t in times],
        "cpu_s": cpu,
        "refused": refused,
    }


def run_child(argv: list[str]) -> None:
    import uvloop

    kind, target, prefix, rate, duration = argv
    result = uvloop.run(paced(kind, target, prefix, float(rate), float(duration)))
    print(json.dumps(result), flush=True)


def load(kind: str, target: str, prefix: str, rate: float, duration: float) -> dict[str, float]:
    """Two processes at ``rate / 2`` hits per second each, at once."""
    children = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                kind,
                target,
                prefix,
                str(rate / 2),
                str(duration),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=120 + duration)
        assert child.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    times = [t / 1e6 for r in results for t in r["times"]]
    hits = sum(r["hits"] for r in results)
    return {
        "rate": hits / max(r["elapsed"] for r in results),
        "p50_us": percentile(times, 0.50) * 1e6,
        "p99_us": percentile(times, 0.99) * 1e6,
        "cpu_us": sum(r["cpu_s"] for r in results) / hits * 1e6,
        "refused": sum(r["refused"] for r in results),
    }


def through_http(kind: str, target: str, prefix: str, tmp: Path, requests: int) -> list[float]:
    """Latencies of ``requests`` GET /workflows, one after the other on one kept-alive
    connection, to a real ``lgp serve`` (one process) counting in ``kind``."""
    from tests.server.conftest import make_server_project
    from tests.server.server_process import ServerProcess

    server: dict[str, object] = {"api_keys": ["bench-key"], "rate_limit_per_minute": LIMIT}
    if kind == "sqlite":
        server["rate_limit_store"] = "database"
    elif kind == "redis":
        server.update(redis_url=target, redis_key_prefix=f'"{prefix}"')
    project = make_server_project(tmp / f"http-{kind}", **server)
    if kind == "postgres":
        config = project / "config" / "hosted.yaml"
        config.write_text(
            config.read_text().replace(
                "  backend: sqlite\n  path: .lgp/hosted.db\n",
                f"  backend: postgres\n  dsn: {target}\n",
            )
        )
    with ServerProcess(project, "workflows/tiny.py") as srv, srv.client("bench-key") as http:
        for _ in range(200):
            http.get("/workflows")
        times = []
        for _ in range(requests):
            t0 = time.perf_counter()
            response = http.get("/workflows")
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.text
        assert "failed" not in srv.text, srv.text  # counted in the store, not alone
    return times


def targets(tmp: Path) -> tuple[dict[str, str], list[Any]]:
    """The store of each kind that can be reached here, and what to clean up."""
    from tests import postgres, redis_server

    found = {"memory": "", "sqlite": str(tmp / "limits.db")}
    cleanup: list[Any] = []
    if postgres.available() is None:
        dsn, name = postgres.create_database()
        found["postgres"] = dsn
        cleanup.append(lambda: postgres.drop_database(name))
    else:
        print(f"postgres: skipped ({postgres.available()})")
    if redis_server.available() is None:
        found["redis"] = redis_server.URL
    else:
        print(f"redis: skipped ({redis_server.available()})")
    return found, cleanup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--duration", type=float, default=4)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return
    import uvloop

    from tests import redis_server

    prefix = redis_server.fresh_prefix()
    with tempfile.TemporaryDirectory() as tmp:
        found, cleanup = targets(Path(tmp))
        try:
            print(f"1. latency of one check, {args.hits} one after the other (µs)")
            print(f"{'store':10} {'mean':>8} {'p50':>8} {'p99':>8} {'cpu':>8}")
            for kind, target in found.items():
                r = uvloop.run(latency(kind, target, prefix, args.hits))
                print(
                    f"{kind:10} {r['mean_us']:8.0f} {r['p50_us']:8.0f} {r['p99_us']:8.0f} "
                    f"{r['cpu_us']:8.0f}"
                )
            print(f"\n2. {args.rate:.0f} checks/s from 2 processes for {args.duration:g} s (µs)")
            print(f"{'store':10} {'rate/s':>8} {'p50':>8} {'p99':>8} {'cpu':>8}")
            for kind, target in found.items():
                r = load(kind, target, prefix, args.rate, args.duration)
                print(
                    f"{kind:10} {r['rate']:8.0f} {r['p50_us']:8.0f} {r['p99_us']:8.0f} "
                    f"{r['cpu_us']:8.0f}"
                    + (f"  ({r['refused']:.0f} refused!)" if r["refused"] else "")
                )
            print(f"\n3. GET /workflows on lgp serve (one process), {args.requests} in a row (µs)")
            print(f"{'store':10} {'p50':>8} {'p99':>8} {'added':>8}")
            base = 0.0
            for kind, target in found.items():
                times = through_http(kind, target, prefix, Path(tmp), args.requests)
                p50 = percentile(times, 0.5) * 1e6
                base = base or p50
                print(
                    f"{kind:10} {p50:8.0f} {percentile(times, 0.99) * 1e6:8.0f} {p50 - base:+8.0f}"
                )
        finally:
            redis_server.drop_prefix(prefix)
            for step in cleanup:
                step()


if __name__ == "__main__":
    main()
