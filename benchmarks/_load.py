"""What the server benchmarks share: the graph they serve, the servers they start
(`lgp serve`, `langgraph dev`, Aegra) and the SDK-driven load generator.

Not a benchmark itself (`server_throughput.py` and `scale_out.py` import it).
`langgraph dev` and Aegra are not project dependencies: they are installed on first
use into git-ignored venvs beside this file (`.venv-langgraph`, `.venv-aegra`).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
LG_VENV = HERE / ".venv-langgraph"
AEGRA_VENV = HERE / ".venv-aegra"
#: Aegra needs Python >= 3.12; the project's venv is 3.11.
AEGRA_BASE_PYTHON = os.environ.get("AEGRA_PYTHON", "/root/.pyenv/versions/3.12.1/bin/python3.12")
AEGRA_REQUIREMENT = "aegra-api==0.11.*"

#: The graph every server serves: three trivial nodes, {"n": 1} -> {"n": 7}.
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
EXPECTED_N = 7


def write_project(root: Path, hosted_yaml: str) -> None:
    """The graph as `agent` in a langgraph.json (read by all three servers) and lgp's
    config/hosted.yaml."""
    (root / "agent.py").write_text(textwrap.dedent(GRAPH))
    (root / "langgraph.json").write_text(
        json.dumps({"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}})
    )
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "hosted.yaml").write_text(hosted_yaml)


def bench_env() -> dict[str, str]:
    """The environment the servers run in: no lgp settings or tracing leaking in from
    the caller's shell, no bytecode written into the temp project."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LGP_", "LANGSMITH"))}
    env.update(
        {
            "LANGGRAPH_API_KEY": "",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def langgraph_executable(given: str | None) -> str:
    """`langgraph` (langgraph-cli[inmem]), installed on first use."""
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


def aegra_python(given: str | None) -> str:
    """A Python with `aegra-api` (the open-source Agent Server on PostgreSQL),
    installed on first use into benchmarks/.venv-aegra (it needs Python >= 3.12)."""
    if given:
        return given
    exe = AEGRA_VENV / "bin" / "python"
    ok = exe.exists() and (
        subprocess.run([str(exe), "-c", "import aegra_api"], capture_output=True).returncode == 0
    )
    if not ok:
        if not Path(AEGRA_BASE_PYTHON).exists():
            raise RuntimeError(
                f"Aegra needs Python >= 3.12: {AEGRA_BASE_PYTHON} not found "
                "(set AEGRA_PYTHON, or pass --aegra-python to a venv's python with aegra-api)"
            )
        print(f"[bench] installing {AEGRA_REQUIREMENT} into benchmarks/.venv-aegra ...", flush=True)
        subprocess.run([AEGRA_BASE_PYTHON, "-m", "venv", str(AEGRA_VENV)], check=True)
        subprocess.run(
            [str(AEGRA_VENV / "bin" / "pip"), "install", "-q", AEGRA_REQUIREMENT], check=True
        )
    return str(exe)


# -- processes ------------------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """A process and all its descendants."""
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
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (MB)."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (seconds)."""
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICK, sum(values) / _TICK


class Server:
    """A server process in its own session (so it and its children stop together),
    ready once `health` answers 200. Its output goes to `log` (a file) when given,
    and the last lines are shown if it fails to start."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        cwd: Path,
        health: str,
        env: dict[str, str],
        *,
        log: Path | None = None,
        timeout: float = 60,
    ):
        self.name, self.cmd, self.cwd, self.health, self.env = name, cmd, cwd, health, env
        self.log, self.timeout = log, timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup = 0.0

    @property
    def base_url(self) -> str:
        return self.health.rsplit("/", 1)[0]

    def spawn(self) -> None:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT if self.log else subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            if self.log:
                out.close()  # type: ignore[union-attr]
        self._t0 = time.perf_counter()

    def wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}{self._log_tail()}"
                )
            try:
                if httpx.get(self.health, timeout=0.5).status_code == 200:
                    self.startup = time.perf_counter() - self._t0
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not start in {self.timeout:.0f} s{self._log_tail()}")

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def _log_tail(self) -> str:
        if not self.log or not self.log.exists():
            return ""
        lines = deque(self.log.read_text(errors="replace").splitlines(), maxlen=15)
        return ":\n  " + "\n  ".join(lines) if lines else ""

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass


def start_all(servers: list[Server]) -> None:
    """Start servers side by side (replicas start at once, as a deployment would);
    if one fails the others are stopped."""
    try:
        for s in servers:
            s.spawn()
        for s in servers:
            s.wait_ready()
    except BaseException:
        for s in servers:
            s.stop()
        raise


# -- PostgreSQL -----------------------------------------------------------------------
def with_database(dsn: str, name: str) -> str:
    """The URL `dsn` pointing at database `name`."""
    base, _, query = dsn.partition("?")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{name}" + (f"?{query}" if query else "")


def create_database(admin_dsn: str, prefix: str) -> str:
    """A new empty database on the server of `admin_dsn`; returns its name."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(admin_dsn: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- load -----------------------------------------------------------------------------
@dataclass
class LoadResult:
    clients: int
    seconds: float
    runs: int
    latencies: list[float]
    errors: int
    first_error: str = ""
    #: CPU seconds the load generator (this process) used while loading
    client_cpu: float = 0.0

    @property
    def rps(self) -> float:
        return self.runs / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return pct(self.latencies, q)


async def load(
    urls: str | list[str],
    clients: int,
    seconds: float,
    *,
    new_thread_per_run: bool = False,
    on_start: Callable[[], None] | None = None,
) -> LoadResult:
    """`clients` concurrent SDK clients calling `runs.wait` on the `agent` graph for
    `seconds`. Client i talks to urls[i % len(urls)] (round-robin, as a load balancer
    spreading connections would). With `new_thread_per_run` each run is on a thread
    the client has just created (create thread, wait for a run, repeat); otherwise
    each client reuses one thread. Latency is the `runs.wait` call; runs/s counts
    completed runs over the whole time (thread creation included). Each client runs
    once before the clock starts (warm-up); `on_start` is called as it starts."""
    from langgraph_sdk import get_client

    urls = [urls] if isinstance(urls, str) else urls
    sdks = [get_client(url=u, api_key=None) for u in urls]
    latencies: list[float] = []
    errors = 0
    first_error = ""

    async def one_run(sdk: Any, thread_id: str) -> None:
        out = await sdk.runs.wait(thread_id, "agent", input={"n": 1})
        if not isinstance(out, dict) or out.get("n") != EXPECTED_N:
            raise AssertionError(f"unexpected output {out!r}"[:200])

    async def warm_up(i: int) -> str:
        sdk = sdks[i % len(sdks)]
        thread_id: str = (await sdk.threads.create())["thread_id"]
        await one_run(sdk, thread_id)
        return thread_id

    async def client(i: int, thread_id: str, deadline: float) -> None:
        nonlocal errors, first_error
        sdk = sdks[i % len(sdks)]
        while time.perf_counter() < deadline:
            try:
                if new_thread_per_run:
                    thread_id = (await sdk.threads.create())["thread_id"]
                t0 = time.perf_counter()
                await one_run(sdk, thread_id)
                latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted, reported
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]

    try:
        threads = await asyncio.gather(*(warm_up(i) for i in range(clients)))
        if on_start:
            on_start()
        t0, c0 = time.perf_counter(), time.process_time()
        deadline = t0 + seconds
        await asyncio.gather(*(client(i, t, deadline) for i, t in enumerate(threads)))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        for sdk in sdks:
            await sdk.aclose()
    return LoadResult(clients, elapsed, len(latencies), latencies, errors, first_error, cpu)


def pct(values: list[float], q: float) -> float:
    """The q-quantile of latencies in seconds, in milliseconds (nan when none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
