"""Checkpoints on SQLite vs PostgreSQL: run overhead, event-loop stalls, listings.

Three measurements, each on the project's own checkpoint store (``open_checkpoints``)
with real LangGraph runs:

1. Run overhead: a 20-node chain run ``--runs`` times (after a warm-up), median ms
   per run, on SQLite, on PostgreSQL with the saver's async calls on its threads
   (what lgp does), and on PostgreSQL with them inline on the event loop.
2. Event-loop stall: 8 such runs at once in one event loop while a ticker sleeps
   5 ms at a time; the longest gap between its ticks, with and without a query that
   waits (a lock another session holds for 300 ms on the checkpoints table).
3. Listings of one 5,000-checkpoint thread (a loop graph): the first history page,
   the whole history in one page, the thread's summary, the thread list, its head,
   its lineage, a checkpoint found by a part of its id.

PostgreSQL: the server of ``LGP_TEST_POSTGRES`` (default
postgresql://postgres@127.0.0.1:5432); a database is created and dropped.

    python benchmarks/checkpoint_backends.py [--runs 40] [--checkpoints 5000]

Exit status 0 when measured, 2 when there is no PostgreSQL server to measure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lgp_engine.checkpointing import _postgres_checkpointer_class, open_checkpoints
from lgp_engine.config import Settings
from lgp_engine.executor import Executor
from lgp_engine.loader import load_workflow, resolve_target

SERVER = os.environ.get("LGP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")

CHAIN = """
from typing import TypedDict
from langgraph.graph import START, StateGraph

class S(TypedDict, total=False):
    x: int
    notes: list

def bump(state):
    return {"x": state.get("x", 0) + 1, "notes": [*state.get("notes", []), "n"]}

workflow = StateGraph(S)
prev = START
for i in range(20):
    workflow.add_node(f"n{i}", bump)
    workflow.add_edge(prev, f"n{i}")
    prev = f"n{i}"
"""

LOOP = """
from typing import TypedDict
from langgraph.graph import END, START, StateGraph

class S(TypedDict, total=False):
    x: int
    notes: list

def step(state):
    return {{"x": state.get("x", 0) + 1, "notes": [state.get("x", 0)]}}

def again(state):
    return "step" if state["x"] < {steps} else END

b = StateGraph(S)
b.add_node("step", step)
b.add_edge(START, "step")
b.add_conditional_edges("step", again, ["step", END])
workflow = b.compile().with_config(recursion_limit={limit})
"""


def load(folder: Path, name: str, source: str) -> Any:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return load_workflow(resolve_target(str(path), project_dir=folder))


def timed(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Median ms of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run_overhead(settings: Settings, chain: Any, runs: int) -> float:
    with open_checkpoints(settings) as store:
        executor = Executor(chain, store)
        for i in range(3):
            executor.invoke({"x": 0}, thread_id=f"warm-{i}")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = executor.invoke({"x": 0}, thread_id=f"r-{uuid.uuid4().hex}")
            times.append((time.perf_counter() - start) * 1000)
            assert result.status == "completed", result.error
        return statistics.median(times)


def loop_stall(settings: Settings, chain: Any, dsn: str | None) -> tuple[float, float]:
    """The longest gap (ms) between 5 ms ticks during 8 concurrent runs: without and
    with a 300 ms lock on the checkpoints table taken by another session."""

    async def measure(lock: bool) -> float:
        with open_checkpoints(settings) as store:
            executor = Executor(chain, store)
            worst = 0.0
            stop = False

            async def ticker() -> None:
                nonlocal worst
                last = time.perf_counter()
                while not stop:
                    await asyncio.sleep(0.005)
                    now = time.perf_counter()
                    worst = max(worst, (now - last) * 1000 - 5)
                    last = now

            async def one(i: int) -> None:
                async for _event in executor.astream({"x": 0}, thread_id=f"s-{i}-{lock}"):
                    pass

            locker = None
            if lock and dsn:
                import psycopg

                locker = psycopg.connect(dsn)
                locker.execute("BEGIN")
                locker.execute("LOCK TABLE checkpoints IN ACCESS EXCLUSIVE MODE")
                # released by a timer thread: a loop blocked by an inline query never would
                threading.Timer(0.3, locker.execute, ("COMMIT",)).start()
            tick = asyncio.create_task(ticker())
            await asyncio.gather(*(one(i) for i in range(8)))
            stop = True
            await tick
            if locker is not None:
                locker.close()
            return worst

    return asyncio.run(measure(False)), asyncio.run(measure(True))


def listings(settings: Settings, loop: Any, checkpoints: int) -> dict[str, float]:
    with open_checkpoints(settings) as store:
        start = time.perf_counter()
        result = Executor(loop, store).invoke({"x": 0}, thread_id="big")
        built = time.perf_counter() - start
        assert result.status == "completed", result.error
        assert store.thread("big").checkpoints == checkpoints, store.thread("big")
        head = store.history("big", limit=1)[0].checkpoint_id
        token = head[-12:]
        out = {
            "build (s)": built,
            "history page 100": timed(lambda: store.history("big", limit=100)),
            "history page 100 at 4,900": timed(
                lambda: store.history("big", limit=100, offset=4900)
            ),
            f"history all {checkpoints}": timed(lambda: store.history("big", limit=checkpoints), 3),
            "thread()": timed(lambda: store.thread("big")),
            "threads()": timed(lambda: store.threads()),
            "heads()": timed(lambda: store.heads(["big"])),
            "lineage_steps()": timed(lambda: store.lineage_steps("big", head), 3),
            "find_checkpoint(part)": timed(lambda: store.find_checkpoint("big", token)),
        }
        assert len(store.history("big", limit=checkpoints)) == checkpoints
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--checkpoints", type=int, default=5000)
    args = parser.parse_args()

    import psycopg

    name = f"lgp_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"no PostgreSQL at {SERVER}: {str(exc).strip().splitlines()[0]}")
        return 2
    dsn = f"{SERVER}/{name}"
    cls = _postgres_checkpointer_class()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            chain = load(folder, "chain", CHAIN)
            steps = args.checkpoints - 2  # the input checkpoint and step 0
            loop = load(folder, "loop", LOOP.format(steps=steps, limit=steps + 100))
            sqlite = Settings(project_dir=folder, checkpointer={"backend": "sqlite"})
            postgres = Settings(
                project_dir=folder, checkpointer={"backend": "postgres", "dsn": dsn}
            )

            print(f"1. run overhead: 20-node chain, median of {args.runs} runs (ms/run)")
            figures = {"sqlite": run_overhead(sqlite, chain, args.runs)}
            cls.inline_async = True
            figures["postgres, async inline"] = run_overhead(postgres, chain, args.runs)
            cls.inline_async = False
            figures["postgres, async on threads (lgp)"] = run_overhead(postgres, chain, args.runs)
            for label, ms in figures.items():
                print(f"   {label:34} {ms:8.1f}")

            print("2. event loop: longest stall during 8 concurrent runs (ms), free / lock 300 ms")
            for label, inline in (
                ("postgres, async inline", True),
                ("postgres, on threads", False),
            ):
                cls.inline_async = inline
                free, locked = loop_stall(postgres, chain, dsn)
                print(f"   {label:34} {free:8.1f} {locked:8.1f}")
            cls.inline_async = False
            free, _ = loop_stall(sqlite, chain, None)
            print(f"   {'sqlite':34} {free:8.1f}        -")

            print(f"3. listings of a {args.checkpoints}-checkpoint thread (median ms)")
            results = {
                "sqlite": listings(sqlite, loop, args.checkpoints),
                "postgres": listings(postgres, loop, args.checkpoints),
            }
            print(f"   {'':30} {'sqlite':>10} {'postgres':>10}")
            for key in results["sqlite"]:
                print(
                    f"   {key:30} {results['sqlite'][key]:10.1f} {results['postgres'][key]:10.1f}"
                )
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
