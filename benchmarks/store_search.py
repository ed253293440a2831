"""Store search: `lgp serve` vs `langgraph dev`, 10,000 items, through the official SDK.

Both servers are started as real processes on one small langgraph.json. The
benchmark loads the same 10,000 items into each long-term store with
``client.store.put_item`` (100 users x 100 memories under
``("users", USER, "memories")``, values with filterable fields), then runs the same
searches ``client.store.search_items(prefix, filter=..., limit=10)`` on both,
alternating which server goes first for each query so both share the machine's
noise. Three shapes, in turn:

  user+kind   ("users", u, "memories")  {"kind": k}                           10 of 100
  user+range  ("users", u)              {"kind": k, "priority": {"$gte": 3}}   6 of 100
  all+bucket  ("users",)                {"bucket": b}                         10 of 10,000

Each query matches at most ``limit`` items, so both servers must return exactly
the items the benchmark computes from its own data (keys and values, as sets: lgp
orders by ``updated_at`` and langgraph dev's in-memory store by insertion, so the
order is not compared). A mismatch fails the run.

It prints p50/p95/mean per server (overall and per shape), the server's CPU time
per query (its process tree, from /proc: steadier than latency on a busy machine),
the load rate, the ratios lgp / langgraph dev, and the load average. Goal: overall
p50 ratio <= 1x.

`langgraph dev` comes from `langgraph-cli[inmem]`, which is not a project
dependency: it is installed on first use into benchmarks/.venv-langgraph (shared
with server_throughput.py; a minute or two, printed as it happens), or pass
--langgraph PATH to an existing `langgraph` executable. It runs offline (tracing
and CLI analytics off, no LangSmith key needed).

    python benchmarks/store_search.py [--items 10000] [--queries 300] [--only lgp]

Exit status: 0 when measured (goal met or not, as printed); 1 when a server
returned wrong items; 2 when the baseline could not be installed or started (lgp's
figures are still printed, with the reason).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_throughput import Server, free_port, langgraph_executable

GRAPH = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class S(TypedDict, total=False):
    n: int


def step(state: S) -> S:
    return {"n": state.get("n", 0) + 1}


builder = StateGraph(S)
builder.add_node("step", step)
builder.add_edge(START, "step")
builder.add_edge("step", END)
graph = builder.compile()
"""

KINDS = ["fact", "preference", "event", "task", "note", "goal", "contact", "place", "idea", "log"]
PER_USER = 100
BUCKETS = 1000
LIMIT = 10
LOAD_CONCURRENCY = 32


# --------------------------------------------------------------------------- data


def dataset(items: int) -> list[tuple[tuple[str, ...], str, dict[str, Any]]]:
    """``items`` memories: 100 per user; kind cycles over 10, priority 1..5 (two
    of each per kind and user), bucket spreads them 10 to a bucket over all users."""
    out: list[tuple[tuple[str, ...], str, dict[str, Any]]] = []
    for n in range(items):
        u, i = divmod(n, PER_USER)
        value = {
            "kind": KINDS[i % len(KINDS)],
            "priority": (i // len(KINDS)) % 5 + 1,
            "bucket": n % BUCKETS,
            "user": f"u{u:03d}",
            "text": f"memory {i} of user {u}: " + "lorem ipsum dolor sit amet " * 3,
        }
        out.append((("users", f"u{u:03d}", "memories"), f"m{i:03d}", value))
    return out


Query = tuple[str, tuple[str, ...], dict[str, Any]]


def queries(count: int, users: int, seed: int = 14) -> list[Query]:
    import random

    rnd = random.Random(seed)
    shapes: list[Callable[[], Query]] = [
        lambda: (
            "user+kind",
            ("users", f"u{rnd.randrange(users):03d}", "memories"),
            {"kind": rnd.choice(KINDS)},
        ),
        lambda: (
            "user+range",
            ("users", f"u{rnd.randrange(users):03d}"),
            {"kind": rnd.choice(KINDS), "priority": {"$gte": 3}},
        ),
        lambda: ("all+bucket", ("users",), {"bucket": rnd.randrange(min(BUCKETS, users * 100))}),
    ]
    return [shapes[n % len(shapes)]() for n in range(count)]


def matches(value: dict[str, Any], flt: dict[str, Any]) -> bool:
    for key, want in flt.items():
        have = value.get(key)
        if isinstance(want, dict):
            if any(op != "$gte" or not (have is not None and have >= v) for op, v in want.items()):
                return False
        elif have != want:
            return False
    return True


def expected(
    data: list[tuple[tuple[str, ...], str, dict[str, Any]]], query: Query
) -> dict[tuple[tuple[str, ...], str], dict[str, Any]]:
    _, prefix, flt = query
    return {
        (ns, key): value
        for ns, key, value in data
        if ns[: len(prefix)] == prefix and matches(value, flt)
    }


# --------------------------------------------------------------------------- servers


class LoggedServer(Server):
    """A server whose output goes to a log file, shown when it fails to start."""

    def __init__(self, *args: Any, log: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log = log

    def start(self) -> None:
        import httpx

        t0 = time.perf_counter()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                if httpx.get(self.health, timeout=0.5).status_code == 200:
                    self.startup = time.perf_counter() - t0
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer {self.health} within 120 s")

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    " + line for line in text[-lines:])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants so far."""
    total, queue = 0, [pid]
    while queue:
        current = queue.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        queue += [int(c) for c in children]
    return total / os.sysconf("SC_CLK_TCK")


def project(tmp: Path) -> None:
    (tmp / "agent.py").write_text(GRAPH)
    (tmp / "langgraph.json").write_text(
        json.dumps({"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}})
    )
    (tmp / "config").mkdir()
    (tmp / "config" / "hosted.yaml").write_text(
        "checkpointer:\n  path: .lgp/bench.db\nserver:\n  rate_limit_per_minute: 0\n"
    )


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LGP_", "LANGSMITH"))}
    env.update(
        {
            "LANGGRAPH_API_KEY": "",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


# --------------------------------------------------------------------------- workload


async def load(sdk: Any, data: list[tuple[tuple[str, ...], str, dict[str, Any]]]) -> float:
    """Put every item (at most LOAD_CONCURRENCY in flight); items/s."""
    gate = asyncio.Semaphore(LOAD_CONCURRENCY)

    async def put(ns: tuple[str, ...], key: str, value: dict[str, Any]) -> None:
        async with gate:
            await sdk.store.put_item(list(ns), key=key, value=value)

    t0 = time.perf_counter()
    await asyncio.gather(*(put(ns, key, value) for ns, key, value in data))
    return len(data) / (time.perf_counter() - t0)


async def search(sdk: Any, query: Query) -> tuple[float, list[dict[str, Any]]]:
    _, prefix, flt = query
    t0 = time.perf_counter()
    found = await sdk.store.search_items(list(prefix), filter=flt, limit=LIMIT)
    return time.perf_counter() - t0, found["items"]


def check(name: str, query: Query, items: list[dict[str, Any]], want: dict) -> str | None:
    got = {(tuple(i["namespace"]), i["key"]): i["value"] for i in items}
    if len(items) != len(got):
        return f"{name}: duplicate items for {query}"
    if got != want:
        missing = sorted(set(want) - set(got))[:3]
        extra = sorted(set(got) - set(want))[:3]
        changed = [k for k in set(got) & set(want) if got[k] != want[k]][:3]
        return (
            f"{name}: {query[0]} {list(query[1])} {query[2]}: {len(got)} items, "
            f"expected {len(want)}; missing {missing} extra {extra} changed values {changed}"
        )
    return None


async def bench(
    sdks: dict[str, Any],
    pids: dict[str, int],
    data: list[tuple[tuple[str, ...], str, dict[str, Any]]],
    count: int,
    warmup: int,
) -> tuple[dict[str, float], dict[str, list[tuple[str, float]]], dict[str, float], list[str]]:
    users = max(1, len(data) // PER_USER)
    rates = {}
    for name, sdk in sdks.items():
        print(f"[bench] loading {len(data):,} items into {name} ...", flush=True)
        rates[name] = await load(sdk, data)
        print(f"[bench]   {rates[name]:,.0f} items/s", flush=True)

    names = list(sdks)
    for query in queries(warmup, users, seed=1):
        for name in names:
            await search(sdks[name], query)

    timings: dict[str, list[tuple[str, float]]] = {name: [] for name in names}
    errors: list[str] = []
    cpu = {name: cpu_seconds(pids[name]) for name in names}
    for n, query in enumerate(queries(count, users)):
        want = expected(data, query)
        for name in names if n % 2 == 0 else reversed(names):
            elapsed, items = await search(sdks[name], query)
            timings[name].append((query[0], elapsed))
            problem = check(name, query, items, want)
            if problem:
                errors.append(problem)
    # server CPU per query (the whole process tree; checking results is client-side)
    cpu = {name: (cpu_seconds(pids[name]) - cpu[name]) / count for name in names}
    return rates, timings, cpu, errors


# --------------------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def stats(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 0.5):7.2f} ms  p95 {pct(values, 0.95):7.2f} ms  "
        f"mean {statistics.fmean(values) * 1000:7.2f} ms"
    )


def report(
    timings: dict[str, list[tuple[str, float]]],
    rates: dict[str, float],
    cpu: dict[str, float],
    items: int,
) -> None:
    shapes = list(dict.fromkeys(shape for shape, _ in next(iter(timings.values()))))
    count = len(next(iter(timings.values())))
    print()
    print(f"store search, {items:,} items, {count} queries (limit {LIMIT}), through the SDK:")
    for name, rows in timings.items():
        print(f"  {name:14s} all          {stats([t for _, t in rows])}")
        for shape in shapes:
            print(f"  {name:14s} {shape:12s} {stats([t for s, t in rows if s == shape])}")
        print(f"  {name:14s} server CPU   {cpu[name] * 1000:7.2f} ms/query")
        print(f"  {name:14s} load         {rates[name]:7,.0f} items/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000, help="items loaded, 100 per user")
    parser.add_argument("--queries", type=int, default=300, help="searches per server")
    parser.add_argument("--warmup", type=int, default=30, help="searches before measuring")
    parser.add_argument("--langgraph", help="path to a `langgraph` executable")
    parser.add_argument("--only", choices=["lgp"], help="measure lgp alone")
    args = parser.parse_args()
    if args.items < PER_USER:
        parser.error(f"--items must be at least {PER_USER}")

    from langgraph_sdk import get_client

    tmp = Path(tempfile.mkdtemp(prefix="lgp-store-bench-"))
    project(tmp)
    env = server_env()
    servers: list[LoggedServer] = []
    baseline_problem = "skipped (--only lgp)" if args.only else None
    port = free_port()
    servers.append(
        LoggedServer(
            "lgp serve",
            [sys.executable, "-m", "lgp_engine", "serve", "langgraph.json", "--port", str(port)],
            tmp,
            f"http://127.0.0.1:{port}/health",
            env,
            log=tmp / "lgp.log",
        )
    )
    if not args.only:
        try:
            exe = langgraph_executable(args.langgraph)
        except (OSError, subprocess.CalledProcessError) as exc:
            baseline_problem = f"could not install langgraph-cli[inmem]: {exc}"
        else:
            port = free_port()
            servers.append(
                LoggedServer(
                    "langgraph dev",
                    [exe, "dev", "--port", str(port), "--no-browser"],
                    tmp,
                    f"http://127.0.0.1:{port}/ok",
                    env,
                    log=tmp / "langgraph-dev.log",
                )
            )

    started: list[LoggedServer] = []
    status = 0
    try:
        for server in servers:
            try:
                server.start()
            except (OSError, RuntimeError) as exc:
                if server.name == "lgp serve":
                    print(f"[bench] {exc}\n{server.tail()}", file=sys.stderr)
                    return 1
                baseline_problem = f"{exc}\n{server.tail()}"
                continue
            started.append(server)
            print(f"[bench] {server.name} up in {server.startup:.2f} s", flush=True)

        sdks = {s.name: get_client(url=s.health.rsplit("/", 1)[0], api_key=None) for s in started}
        pids = {s.name: s.proc.pid for s in started if s.proc is not None}
        data = dataset(args.items)
        rates, timings, cpu, errors = asyncio.run(
            bench(sdks, pids, data, args.queries, args.warmup)
        )
        report(timings, rates, cpu, len(data))

        if errors:
            print(f"\nWRONG RESULTS ({len(errors)} queries):", file=sys.stderr)
            for line in errors[:5]:
                print("  " + line, file=sys.stderr)
            status = 1
        else:
            both = " and ".join(sdks)
            print(f"results: every query returned exactly the expected items on {both}")

        if "langgraph dev" in timings:
            ours, theirs = timings["lgp serve"], timings["langgraph dev"]
            print()
            for shape in ["all", *dict.fromkeys(s for s, _ in ours)]:
                a = [t for s, t in ours if shape in ("all", s)]
                b = [t for s, t in theirs if shape in ("all", s)]
                ratio = pct(a, 0.5) / pct(b, 0.5)
                print(f"ratio p50 {shape:12s} (lgp / langgraph dev): {ratio:5.2f}x")
            overall = pct([t for _, t in ours], 0.5) / pct([t for _, t in theirs], 0.5)
            cpu_ratio = cpu["lgp serve"] / cpu["langgraph dev"]
            print(f"ratio {'server CPU/query':16s} (lgp / langgraph dev): {cpu_ratio:5.2f}x")
            print(f"goal: overall p50 ratio <= 1x: {'met' if overall <= 1 else 'MISSED'}")
        else:
            print(f"\nno baseline: langgraph dev {baseline_problem}", file=sys.stderr)
            if not args.only and status == 0:
                status = 2
        load1, load5, _ = os.getloadavg()
        print(f"machine: {os.cpu_count()} CPUs, load average {load1:.1f} (1 min), {load5:.1f} (5)")
    finally:
        for server in started:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
