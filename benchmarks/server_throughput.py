"""Server throughput: `lgp serve` vs `langgraph dev`, driven by the official SDK.

Both servers serve the same trivial 3-node graph (one langgraph.json). For 1, 8
and 32 concurrent clients (one thread per client, `runs.wait` through
`langgraph_sdk`), it measures runs/s and p50/p95 latency, plus each server's
startup time (process start to first answer) and resident memory after the load.
It prints both and the ratios lgp / langgraph dev.

`langgraph dev` comes from `langgraph-cli[inmem]`, which is not a project
dependency: it is installed on first use into benchmarks/.venv-langgraph (or
pass --langgraph PATH to an existing `langgraph` executable).

    python benchmarks/server_throughput.py [--seconds 10] [--clients 1,8,32]

Targets: single-client p50 < 20 ms; at least 2x langgraph dev's runs/s at 8 and
32 clients; start < 1 s; under half its memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
LG_VENV = HERE / ".venv-langgraph"

GRAPH = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class S(TypedDict, total=False):
    n: int


def a(state: S) -> S:
    return {"n": state.get("n", 0) + 1}


def b(state: S) -> S:
    return {"n": state["n"] * 2}


def c(state: S) -> S:
    return {"n": state["n"] + 3}


builder = StateGraph(S)
builder.add_node("a", a)
builder.add_node("b", b)
builder.add_node("c", c)
builder.add_edge(START, "a")
builder.add_edge("a", "b")
builder.add_edge("b", "c")
builder.add_edge("c", END)
graph = builder.compile()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def langgraph_executable(given: str | None) -> str:
    if given:
        return given
    exe = LG_VENV / "bin" / "langgraph"
    if not exe.exists():
        print(
            "[bench] installing langgraph-cli[inmem] into benchmarks/.venv-langgraph ...",
            flush=True,
        )
        subprocess.run([sys.executable, "-m", "venv", str(LG_VENV)], check=True)
        subprocess.run(
            [str(LG_VENV / "bin" / "pip"), "install", "-q", "langgraph-cli[inmem]"], check=True
        )
    return str(exe)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (MB)."""
    total = 0
    pids, queue = [pid], [pid]
    while queue:
        try:
            out = subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(queue.pop())], capture_output=True, text=True
            ).stdout
        except OSError:
            break
        children = [int(p) for p in out.split()]
        pids += children
        queue += children
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Server:
    def __init__(self, name: str, cmd: list[str], cwd: Path, health: str, env: dict[str, str]):
        self.name, self.cmd, self.cwd, self.health, self.env = name, cmd, cwd, health, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup = 0.0

    def start(self) -> None:
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                if httpx.get(self.health, timeout=0.5).status_code == 200:
                    self.startup = time.perf_counter() - t0
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


async def load(url: str, clients: int, seconds: float) -> tuple[float, list[float], int]:
    from langgraph_sdk import get_client

    sdk = get_client(url=url, api_key=None)
    threads = [(await sdk.threads.create())["thread_id"] for _ in range(clients)]
    for t in threads:  # warm up
        await sdk.runs.wait(t, "agent", input={"n": 1})
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(thread_id: str) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                out = await sdk.runs.wait(thread_id, "agent", input={"n": 1})
                assert out["n"] == 7, out
                latencies.append(time.perf_counter() - t0)
            except Exception:  # noqa: BLE001 - counted, reported
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client(t) for t in threads))
    elapsed = time.perf_counter() - t0
    return len(latencies) / elapsed, latencies, errors


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per level")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--langgraph", help="path to a `langgraph` executable")
    parser.add_argument("--only", choices=["lgp", "langgraph"], help="measure one server")
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="lgp-bench-"))
    (tmp / "agent.py").write_text(textwrap.dedent(GRAPH))
    (tmp / "langgraph.json").write_text(
        json.dumps({"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}})
    )
    (tmp / "config").mkdir()
    (tmp / "config" / "hosted.yaml").write_text(
        "checkpointer:\n  path: .lgp/bench.db\nserver:\n  rate_limit_per_minute: 0\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LGP_", "LANGSMITH"))}
    env.update(
        {
            "LANGGRAPH_API_KEY": "",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )

    servers = []
    if args.only != "langgraph":
        port = free_port()
        servers.append(
            Server(
                "lgp serve",
                [
                    sys.executable,
                    "-m",
                    "lgp_engine",
                    "serve",
                    "langgraph.json",
                    "--port",
                    str(port),
                ],
                tmp,
                f"http://127.0.0.1:{port}/health",
                env,
            )
        )
    if args.only != "lgp":
        port = free_port()
        exe = langgraph_executable(args.langgraph)
        # as users run it: with its file watcher (the reloader is part of its footprint)
        servers.append(
            Server(
                "langgraph dev",
                [exe, "dev", "--port", str(port), "--no-browser"],
                tmp,
                f"http://127.0.0.1:{port}/ok",
                env,
            )
        )

    results: dict[str, dict[str, object]] = {}
    for server in servers:
        server.start()
        base = server.health.rsplit("/", 1)[0]
        row: dict[str, object] = {"startup": server.startup}
        try:
            for n in levels:
                rps, lat, errors = asyncio.run(load(base, n, args.seconds))
                row[n] = (rps, pct(lat, 0.5), pct(lat, 0.95), errors)
                print(
                    f"[bench] {server.name:13s} {n:>2} clients: {rps:7.1f} runs/s  "
                    f"p50 {pct(lat, 0.5):7.1f} ms  p95 {pct(lat, 0.95):7.1f} ms  "
                    f"errors {errors}",
                    flush=True,
                )
            assert server.proc is not None
            row["rss"] = rss_mb(server.proc.pid)
        finally:
            server.stop()
        results[server.name] = row

    print()
    print(
        f"{'':16s}{'startup':>9s}{'RSS MB':>9s}"
        + "".join(f"{f'{n} cl. runs/s':>15s}{'p50 ms':>9s}{'p95 ms':>9s}" for n in levels)
    )
    for name, row in results.items():
        line = f"{name:16s}{row['startup']:8.2f}s{row['rss']:9.0f}"
        for n in levels:
            rps, p50, p95, _ = row[n]  # type: ignore[misc]
            line += f"{rps:15.1f}{p50:9.1f}{p95:9.1f}"
        print(line)
    if len(results) == 2:
        ours, theirs = results["lgp serve"], results["langgraph dev"]
        print()
        for n in levels:
            ratio = ours[n][0] / theirs[n][0]  # type: ignore[index]
            print(f"ratio runs/s at {n:>2} clients (lgp / langgraph dev): {ratio:6.2f}x")
        print(f"ratio startup (lgp / langgraph dev): {ours['startup'] / theirs['startup']:.2f}")
        print(f"ratio memory  (lgp / langgraph dev): {ours['rss'] / theirs['rss']:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
