"""Hot reload: `lgp run --watch` vs `langgraph dev`, from file write to new code.

One small graph whose node returns ``VALUE``. The benchmark rewrites the file with
a new ``VALUE`` N times (default 20) and measures, from the moment it wrote the
file (wall clock, ``time.time()``, shared by the processes on this machine):

  lgp run --watch --json   (a) change detected     reload.started  data.detected_at
                           (b) new version loaded  reload.succeeded ts
                           (c) rerun started       run.started ts
                           (d) rerun returned      run.completed ts (new value)
  langgraph dev            time until a run (POST /runs/wait, polled) returns the
                           new value; it restarts its worker process on a change

and prints median/p95 of each and the ratio langgraph dev / lgp for (d).

`langgraph dev` comes from `langgraph-cli[inmem]`, installed on first use into
benchmarks/.venv-langgraph (see server_throughput.py), or pass --langgraph PATH.

    python benchmarks/hot_reload.py [--edits 20] [--only lgp|langgraph]

Targets: (a) < 100 ms, (c) < 300 ms median, and (d) at least 10x faster than
`langgraph dev` to the first run on new code.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_throughput import Server, free_port, langgraph_executable

GRAPH = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

VALUE = {value!r}


class S(TypedDict, total=False):
    value: str


def node(state: S) -> S:
    return {{"value": VALUE}}


builder = StateGraph(S)
builder.add_node("node", node)
builder.add_edge(START, "node")
builder.add_edge("node", END)
graph = builder.compile()
"""


def write_graph(path: Path, value: str) -> float:
    """Write the graph with ``value``; the wall-clock time the write began."""
    text = textwrap.dedent(GRAPH.format(value=value))
    t = time.time()
    path.write_text(text, encoding="utf-8")
    return t


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    median, p95 = statistics.median(values) * 1000, pct(values, 0.95) * 1000
    return f"median {median:8.1f} ms   p95 {p95:8.1f} ms"


def project(tmp: Path) -> Path:
    (tmp / "config").mkdir(parents=True)
    (tmp / "config" / "experiment.yaml").write_text("checkpointer:\n  path: .lgp/bench.db\n")
    (tmp / "langgraph.json").write_text(
        json.dumps({"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}})
    )
    write_graph(tmp / "agent.py", "edit-0")
    return tmp


def bench_lgp(tmp: Path, edits: int, env: dict[str, str]) -> dict[str, list[float]]:
    """20 edits under `lgp run --watch --json`; latencies in seconds per stage."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lgp_engine",
            "run",
            "agent.py",
            "--watch",
            "--json",
            "--thread",
            "bench",
        ],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    lines: queue.Queue[str | None] = queue.Queue()
    ready = threading.Event()

    def pump_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "Ctrl+C to stop" in line:
                ready.set()

    threading.Thread(target=pump_out, daemon=True).start()
    threading.Thread(target=pump_err, daemon=True).start()
    stages: dict[str, list[float]] = {"detected": [], "loaded": [], "rerun": [], "returned": []}
    try:
        while True:  # the first run, before any edit
            line = lines.get(timeout=60)
            if line is None:
                raise RuntimeError("lgp run --watch exited")
            if json.loads(line)["type"] == "run.completed":
                break
        if not ready.wait(60):
            raise RuntimeError("lgp run --watch did not start watching")
        for i in range(1, edits + 1):
            value = f"edit-{i}"
            written = write_graph(tmp / "agent.py", value)
            seen: dict[str, float] = {}
            deadline = time.monotonic() + 30
            while "returned" not in seen:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                if line is None:
                    raise RuntimeError("lgp run --watch exited")
                event = json.loads(line)
                kind = event["type"]
                if kind == "reload.started":
                    seen["detected"] = event["data"]["detected_at"]
                elif kind == "reload.succeeded":
                    seen["loaded"] = event["ts"]
                elif kind == "reload.failed":
                    raise RuntimeError(f"reload failed: {event['data']['error']}")
                elif kind == "run.started":
                    seen["rerun"] = event["ts"]
                elif kind == "run.completed":
                    if event["data"]["output"].get("value") != value:
                        raise RuntimeError(f"rerun returned {event['data']['output']}")
                    seen["returned"] = event["ts"]
            for stage, ts in seen.items():
                stages[stage].append(ts - written)
            print(
                f"[bench] lgp edit {i:2d}: detected {(seen['detected'] - written) * 1000:6.1f} "
                f"loaded {(seen['loaded'] - written) * 1000:6.1f} "
                f"rerun {(seen['rerun'] - written) * 1000:6.1f} "
                f"returned {(seen['returned'] - written) * 1000:6.1f} ms",
                flush=True,
            )
            time.sleep(0.3)
    finally:
        proc.send_signal(2)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return stages


def bench_langgraph(tmp: Path, edits: int, env: dict[str, str], exe: str) -> list[float]:
    """Write → first POST /runs/wait that returns the new value, per edit (seconds)."""
    port = free_port()
    server = Server(
        "langgraph dev",
        [exe, "dev", "--port", str(port), "--no-browser"],
        tmp,
        f"http://127.0.0.1:{port}/ok",
        env,
    )
    server.start()
    url = f"http://127.0.0.1:{port}/runs/wait"
    times: list[float] = []
    try:
        with httpx.Client(timeout=30) as client:

            def value() -> str | None:
                try:
                    r = client.post(url, json={"assistant_id": "agent", "input": {}})
                    return r.json().get("value") if r.status_code == 200 else None
                except (httpx.HTTPError, ValueError):
                    return None

            for i in range(1, edits + 1):
                want = f"edit-{i}"
                written = write_graph(tmp / "agent.py", want)
                deadline = time.monotonic() + 60
                while value() != want:
                    if time.monotonic() > deadline:
                        raise RuntimeError("langgraph dev never served the new code")
                    time.sleep(0.02)
                times.append(time.time() - written)
                print(
                    f"[bench] langgraph dev edit {i:2d}: new value after "
                    f"{times[-1] * 1000:7.1f} ms",
                    flush=True,
                )
                time.sleep(0.3)
    finally:
        server.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--langgraph", help="path to a `langgraph` executable")
    parser.add_argument("--only", choices=["lgp", "langgraph"], help="measure one side")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LGP_", "LANGSMITH"))}
    env.update(
        {
            "LANGGRAPH_API_KEY": "",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )

    lgp: dict[str, list[float]] = {}
    lg: list[float] = []
    if args.only != "langgraph":
        tmp = project(Path(tempfile.mkdtemp(prefix="lgp-reload-")))
        try:
            lgp = bench_lgp(tmp, args.edits, env)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.only != "lgp":
        exe = langgraph_executable(args.langgraph)
        tmp = project(Path(tempfile.mkdtemp(prefix="lgp-reload-lg-")))
        try:
            lg = bench_langgraph(tmp, args.edits, env, exe)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"hot reload over {args.edits} edits, from the file write:")
    if lgp:
        print(f"  lgp run --watch (a) change detected    {summary(lgp['detected'])}")
        print(f"  lgp run --watch (b) new version loaded {summary(lgp['loaded'])}")
        print(f"  lgp run --watch (c) rerun started     {summary(lgp['rerun'])}")
        print(f"  lgp run --watch (d) rerun returned    {summary(lgp['returned'])}")
    if lg:
        print(f"  langgraph dev   run returns new value {summary(lg)}")
    if lgp and lg:
        ratio = statistics.median(lg) / statistics.median(lgp["returned"])
        print(f"ratio to first run on new code (langgraph dev / lgp, medians): {ratio:.1f}x")
        ok_a = statistics.median(lgp["detected"]) < 0.100
        ok_c = statistics.median(lgp["rerun"]) < 0.300
        print(
            f"targets: (a) < 100 ms {'met' if ok_a else 'MISSED'}; (c) < 300 ms "
            f"{'met' if ok_c else 'MISSED'}; >= 10x {'met' if ratio >= 10 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
