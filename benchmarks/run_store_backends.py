"""The run store on SQLite vs PostgreSQL: what a run costs the store on each.

Appends ``--events`` events to one run one by one (as the executor does: each is
persisted before anyone sees it), reads them back, then records ``--runs`` runs
(create, running, completed), the same on a SQLite file (WAL mode) and on a new
PostgreSQL database, with ``--threads`` threads appending to runs of their own at
once (the server's case: PostgreSQL's pool lets them overlap, SQLite's one
connection takes them in turn). Each measure is the best of ``--rounds`` (fresh
stores each round, the backends alternating). Prints seconds and the ratio
PostgreSQL / SQLite.

    python benchmarks/run_store_backends.py [--events 10000] [--runs 500] [--threads 4]
        [--rounds 3] [--server postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lgp_engine.backends.sql import open_database
from lgp_engine.events import RunEvent
from lgp_engine.runs import RunStore
from lgp_engine.status import RunStatus


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(store: RunStore, events: int, runs: int, threads: int) -> dict[str, float]:
    payload = {"node": "n", "update": {"messages": ["x" * 80], "count": 3}, "path": []}
    store.create("r", "t", "w", status=RunStatus.RUNNING)

    def append() -> None:
        for seq in range(1, events + 1):
            store.append(RunEvent("r", seq, "node.finished", "t", payload, node="n"))

    def lifecycle() -> None:
        for i in range(runs):
            store.create(f"run-{i}", "t", "w")
            store.transition(f"run-{i}", RunStatus.RUNNING)
            store.transition(f"run-{i}", RunStatus.COMPLETED, usage={"calls": 1})

    def parallel() -> None:
        each = events // threads

        def work(k: int) -> None:
            store.create(f"p{k}", "t", "w", status=RunStatus.RUNNING)
            for seq in range(1, each + 1):
                store.append(RunEvent(f"p{k}", seq, "custom", "t", payload))

        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    return {
        f"append {events} events": timed(append),
        "read them (events())": timed(lambda: store.events("r")),
        f"{runs} runs created+running+completed": timed(lifecycle),
        f"append {events} events from {threads} threads": timed(parallel),
    }


def on_sqlite(events: int, runs: int, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs.db")
        try:
            return measure(store, events, runs, threads)
        finally:
            store.close()


def on_postgres(server: str, events: int, runs: int, threads: int) -> dict[str, float]:
    import psycopg

    name = f"lgp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        store = RunStore(database=open_database(f"{server}/{name}", pool_size=threads))
        try:
            return measure(store, events, runs, threads)
        finally:
            store.close()
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    sizes = (args.events, args.runs, args.threads)

    lite: dict[str, float] = {}
    post: dict[str, float] = {}
    for _ in range(args.rounds):
        for key, seconds in on_sqlite(*sizes).items():
            lite[key] = min(seconds, lite.get(key, seconds))
        for key, seconds in on_postgres(args.server, *sizes).items():
            post[key] = min(seconds, post.get(key, seconds))

    width = max(len(k) for k in lite)
    print(f"{'':{width}}  {'sqlite':>8}  {'postgres':>8}  ratio")
    for key, seconds in lite.items():
        print(f"{key:{width}}  {seconds:7.3f}s  {post[key]:7.3f}s  {post[key] / seconds:5.2f}")


if __name__ == "__main__":
    main()
