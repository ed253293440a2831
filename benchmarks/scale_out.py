"""Scale-out: `lgp serve` replicas on one PostgreSQL vs `langgraph dev` and Aegra.

One run measures, under the same load, with the graph of server_throughput.py:

- `lgp serve` with 1, 2 and 4 replicas (separate processes on their own ports, all
  with `checkpointer: {backend: postgres, dsn: ...}` on one new database per replica
  count), the clients spread over the replicas round-robin as a load balancer would;
- `langgraph dev` (in-memory, as users run it);
- Aegra (`aegra-api`, the open-source Agent Server on PostgreSQL), one instance
  started as `aegra serve` does (uvicorn `aegra_api.main:app`), on a new database,
  auth off (its default `noop`), runs in-process (its default without Redis), log
  level WARNING so it is not slowed by its per-request INFO lines.

Each client creates a thread, waits for a run on it (`runs.wait` through the
official `langgraph_sdk`), and repeats for `--seconds`; runs/s, p50/p99 latency of
`runs.wait`, and errors for 8 and 32 clients. Then the scaling ratio (N replicas /
1), lgp per replica vs Aegra, vs langgraph dev, and the CPU cores the machine has,
the ones this process may use, and the cores each part (servers, PostgreSQL
backends of the benchmark's database, the load generator) kept busy: on a machine
with fewer cores than replicas + database + load generator, replicas cannot add
throughput, and the report says so.

`langgraph dev` (langgraph-cli[inmem]) and Aegra (aegra-api 0.11, Python >= 3.12)
are installed on first use into benchmarks/.venv-langgraph and benchmarks/.venv-aegra.
Every database made is dropped and every process stopped at the end, also on Ctrl+C.

    python benchmarks/scale_out.py [--seconds 10] [--clients 8,32] [--replicas 1,2,4]
        [--skip aegra,langgraph] [--backend postgres|sqlite] [--no-sync-commit]
        [--server postgresql://postgres@127.0.0.1:5432] [--keep]

Targets (issue 15): lgp >= 4x Aegra's runs/s per replica on PostgreSQL; >= 3x
scaling with 4 replicas where the cores allow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from _load import (
    AEGRA_REQUIREMENT,
    LoadResult,
    Server,
    aegra_python,
    bench_env,
    cpu_seconds,
    create_database,
    drop_database,
    free_port,
    langgraph_executable,
    load,
    machine_busy,
    start_all,
    with_database,
    write_project,
)

#: cores used by other processes above which a level is marked as measured on a busy machine
BUSY_CORES = 0.25


@dataclass
class Measure:
    result: LoadResult
    #: cores kept busy during the timed load (CPU seconds / wall seconds)
    servers: float
    database: float
    client: float
    machine: float

    #: connections the servers held to the benchmark's database at the end
    connections: int = 0
    #: transactions committed in the database per completed run (thread creation
    #: included); 0 when the server has no database
    commits_per_run: float = 0.0

    @property
    def others(self) -> float:
        """Cores kept busy by everything else on the machine meanwhile."""
        return max(0.0, self.machine - self.servers - self.database - self.client)


@dataclass
class Config:
    label: str
    kind: str  # lgp | langgraph | aegra
    replicas: int = 1
    startup: float = 0.0
    levels: dict[int, Measure] = field(default_factory=dict)
    failure: str = ""


def _name(dsn: str) -> str:
    return dsn.split("?")[0].rsplit("/", 1)[1]


class Postgres:
    """The benchmark's databases on one PostgreSQL server: made on demand, all
    dropped by :meth:`cleanup`."""

    def __init__(self, server: str, *, synchronous_commit: bool = True):
        self.server = server
        self.admin = with_database(server, "postgres")
        self.synchronous_commit = synchronous_commit
        self.made: list[str] = []

    def new(self, prefix: str) -> str:
        name = create_database(self.admin, prefix)
        self.made.append(name)
        if not self.synchronous_commit:
            import psycopg

            with psycopg.connect(self.admin, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        return with_database(self.server, name)

    def _query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True, connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def backend_pids(self, dsn: str) -> list[int]:
        rows = self._query("SELECT pid FROM pg_stat_activity WHERE datname = %s", _name(dsn))
        return [int(str(r[0])) for r in rows]

    def commits(self, dsn: str) -> int:
        """Transactions committed in the database so far (a backend reports its
        counts about once a second, so read this after a pause)."""
        rows = self._query(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", _name(dsn)
        )
        return int(str(rows[0][0])) if rows else 0

    def commit_ms(self, dsn: str, n: int = 100) -> float:
        """What one durable commit of one row costs on this server (ms): mostly the
        WAL flush (fsync) of the machine's disk."""
        import psycopg

        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute("CREATE TABLE commit_probe (x int)")
            t0 = time.perf_counter()
            for i in range(n):
                conn.execute("INSERT INTO commit_probe VALUES (%s)", (i,))
            return (time.perf_counter() - t0) / n * 1000

    def cleanup(self) -> None:
        while self.made:
            name = self.made.pop()
            try:
                drop_database(self.admin, name)
            except Exception as exc:  # noqa: BLE001 - reported, the others still dropped
                print(f"[bench] could not drop database {name}: {exc}", file=sys.stderr)


@contextmanager
def shielded() -> Iterator[None]:
    """Cleaning up is not cut short by a second Ctrl+C (or a SIGTERM)."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old[0])
        signal.signal(signal.SIGTERM, old[1])


def measure(
    servers: list[Server],
    clients: int,
    seconds: float,
    pg: Postgres | None,
    dsn: str | None,
) -> Measure:
    """One load level against these servers, with the CPU each part used meanwhile."""
    urls = [s.base_url for s in servers]
    server_pids = [p for s in servers for p in s.pids()]
    db_pids = pg.backend_pids(dsn) if pg and dsn else []
    before: dict[str, float] = {}

    # CPU counters are read around the timed part only: the warm-up (every client's
    # first run, which also grows the connection pools) is left out.
    def on_start() -> None:
        nonlocal db_pids
        if pg and dsn:
            time.sleep(1.2)  # the warm-up's commits are reported before counting
            before["commits"] = pg.commits(dsn)
            db_pids = pg.backend_pids(dsn)
        before["servers"] = cpu_seconds(server_pids)
        before["db"] = cpu_seconds(db_pids)
        before["busy"] = machine_busy()[0]
        before["wall"] = time.perf_counter()

    result = asyncio.run(load(urls, clients, seconds, new_thread_per_run=True, on_start=on_start))
    wall = time.perf_counter() - before["wall"]
    busy = machine_busy()[0]
    connections = len(pg.backend_pids(dsn)) if pg and dsn else 0
    commits = 0.0
    if pg and dsn and result.runs:
        time.sleep(1.2)
        commits = (pg.commits(dsn) - before["commits"]) / result.runs
    return Measure(
        result,
        servers=(cpu_seconds(server_pids) - before["servers"]) / wall,
        database=(cpu_seconds(db_pids) - before["db"]) / wall,
        client=result.client_cpu / wall,
        machine=(busy - before["busy"]) / wall,
        connections=connections,
        commits_per_run=commits,
    )


def lgp_servers(project: Path, replicas: int, env: dict[str, str], logs: Path) -> list[Server]:
    servers = []
    for i in range(replicas):
        port = free_port()
        servers.append(
            Server(
                f"lgp serve #{i + 1}",
                [
                    sys.executable,
                    "-m",
                    "lgp_engine",
                    "serve",
                    "langgraph.json",
                    "--port",
                    str(port),
                ],
                project,
                f"http://127.0.0.1:{port}/health",
                env,
                log=logs / f"lgp-{replicas}-{i + 1}.log",
            )
        )
    return servers


def run_config(
    cfg: Config,
    servers: list[Server],
    levels: list[int],
    seconds: float,
    pg: Postgres | None,
    dsn: str | None,
) -> None:
    print(f"[bench] starting {cfg.label} ...", flush=True)
    try:
        start_all(servers)
        cfg.startup = max(s.startup for s in servers)
        for n in levels:
            m = measure(servers, n, seconds, pg, dsn)
            cfg.levels[n] = m
            r = m.result
            print(
                f"[bench] {cfg.label:16s} {n:>2} clients: {r.rps:7.1f} runs/s  "
                f"p50 {r.p(0.5):7.1f} ms  p99 {r.p(0.99):7.1f} ms  errors {r.errors}  "
                f"cores: servers {m.servers:.2f} db {m.database:.2f} "
                f"load {m.client:.2f} others {m.others:.2f}"
                + (
                    f"  commits/run {m.commits_per_run:.1f}  db conns {m.connections}"
                    if dsn
                    else ""
                ),
                flush=True,
            )
            if r.first_error:
                print(f"[bench]   first error: {r.first_error}", flush=True)
    except Exception as exc:  # noqa: BLE001 - one config failing does not stop the others
        cfg.failure = f"{type(exc).__name__}: {exc}"
        print(f"[bench] {cfg.label} failed: {cfg.failure}", flush=True)
    finally:
        with shielded():
            for s in servers:
                s.stop()


def fmt(value: float, spec: str = ".1f") -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else format(value, spec)
    )


def report(
    configs: list[Config],
    levels: list[int],
    backend: str,
    seconds: float,
    sync_commit: bool,
    commit_ms: float | None,
) -> None:
    cpus = os.cpu_count() or 0
    affinity = sorted(os.sched_getaffinity(0))
    usable = len(affinity)
    print()
    print(
        f"Cores: os.cpu_count() = {cpus}, affinity mask = {{{','.join(map(str, affinity))}}} "
        f"({usable} usable). {seconds:.0f} s per level; lgp on {backend}."
    )
    if commit_ms is not None:
        kind = "durable single-row commit (WAL flush)" if sync_commit else "single-row commit"
        print(
            f"PostgreSQL: synchronous_commit {'on (the default)' if sync_commit else 'OFF'}; "
            f"one {kind} takes {commit_ms:.2f} ms here."
        )
    print(
        "runs/s: completed runs per second (each client: create thread, runs.wait, repeat); "
        "p50/p99: runs.wait in ms;\ncommits/run: transactions committed in the server's "
        "database per run (thread creation included);\ncores: CPU kept busy during the "
        "load by the servers, the PostgreSQL backends of their database, the load generator "
        "(this process), and everything else on the machine (others)."
    )
    print()
    head = (
        f"{'server':16s}{'clients':>8s}{'runs/s':>9s}{'p50 ms':>9s}{'p99 ms':>9s}{'errors':>7s}"
        f"{'commits/run':>12s} | {'cores: srv':>10s}{'db':>6s}{'load':>6s}{'others':>7s}"
        f"{'start s':>9s}"
    )
    print(head)
    print("-" * len(head))
    contended = False
    for cfg in configs:
        if cfg.failure:
            print(f"{cfg.label:16s}  FAILED: {cfg.failure[:200]}")
            continue
        for n in levels:
            m = cfg.levels.get(n)
            if m is None:
                print(f"{cfg.label:16s}{n:8d}  (not measured)")
                continue
            r = m.result
            others = m.others
            busy = others > BUSY_CORES
            contended = contended or busy
            print(
                f"{cfg.label:16s}{n:8d}{r.rps:9.1f}{fmt(r.p(0.5)):>9s}{fmt(r.p(0.99)):>9s}"
                f"{r.errors:7d}{fmt(m.commits_per_run or float('nan')):>12s} | "
                f"{m.servers:10.2f}{m.database:6.2f}{m.client:6.2f}{others:6.2f}"
                f"{'*' if busy else ' '}{cfg.startup:9.2f}"
            )

    if contended:
        print(
            f"* other processes on this machine kept more than {BUSY_CORES} cores busy during "
            "this level: it measured a shared machine (run again when it is quiet)."
        )

    def rps(kind: str, replicas: int, n: int) -> float | None:
        for cfg in configs:
            if cfg.kind == kind and cfg.replicas == replicas and n in cfg.levels:
                return cfg.levels[n].result.rps or None
        return None

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}x" if a and b else "-"

    lgp = sorted(c.replicas for c in configs if c.kind == "lgp" and c.levels)
    if lgp:
        print()
        head = (
            f"{'ratios':16s}{'clients':>8s}{'scaling':>9s}{'/ N':>7s}{'vs Aegra':>10s}"
            f"{'per replica':>12s}{'vs langgraph dev':>18s}"
        )
        print(head)
        print("-" * len(head))
        for k in lgp:
            for n in levels:
                mine, one = rps("lgp", k, n), rps("lgp", 1, n)
                aegra, dev = rps("aegra", 1, n), rps("langgraph", 1, n)
                linear = f"{mine / one / k:.2f}" if mine and one else "-"
                print(
                    f"{f'lgp x{k}':16s}{n:8d}{ratio(mine, one):>9s}{linear:>7s}"
                    f"{ratio(mine, aegra):>10s}{ratio(mine / k if mine else None, aegra):>12s}"
                    f"{ratio(mine, dev):>18s}"
                )
        print(
            "scaling: runs/s with N replicas / with 1 (/ N: 1.00 is linear); vs Aegra: "
            "lgp xN / one Aegra instance;\nper replica: (lgp xN / N) / Aegra; vs langgraph "
            "dev: lgp xN / langgraph dev (one in-memory process)."
        )

    print()
    for n in levels:
        one, aegra = rps("lgp", 1, n), rps("aegra", 1, n)
        if one and aegra:
            ok = "met" if one / aegra >= 4 else "NOT met"
            print(
                f"target lgp >= 4x Aegra per replica, {n} clients: "
                f"lgp x1 / Aegra = {one / aegra:.2f}x - {ok}"
            )
    for n in levels:
        four, one = rps("lgp", 4, n), rps("lgp", 1, n)
        if not (four and one):
            continue
        scaling = four / one
        if usable < 4:
            print(
                f"target >= 3x with 4 replicas, {n} clients: measured {scaling:.2f}x on "
                f"{usable} usable core{'s' if usable != 1 else ''} - 4 replicas, PostgreSQL "
                "and the load generator share them, so 4 replicas cannot scale 3x on this "
                "machine: not measurable here."
            )
        else:
            ok = "met" if scaling >= 3 else "NOT met"
            print(
                f"target >= 3x with 4 replicas, {n} clients: {scaling:.2f}x on "
                f"{usable} usable cores - {ok}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per level")
    parser.add_argument("--clients", default="8,32", help="concurrent clients per level")
    parser.add_argument("--replicas", default="1,2,4", help="lgp replica counts")
    parser.add_argument(
        "--skip", default="", help="comma-separated: aegra, langgraph, lgp (for quick runs)"
    )
    parser.add_argument(
        "--backend",
        choices=["postgres", "sqlite"],
        default="postgres",
        help="lgp's checkpointer (sqlite: the replicas share one SQLite file)",
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("LGP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
        help="PostgreSQL server (a database is made per configuration, dropped at the end)",
    )
    parser.add_argument(
        "--no-sync-commit",
        action="store_true",
        help="synchronous_commit = off on the benchmark's databases (lgp and Aegra alike): "
        "commits stop waiting for the WAL flush, to see what is not disk-bound",
    )
    parser.add_argument("--pool-size", type=int, default=10, help="lgp's PostgreSQL pool_size")
    parser.add_argument("--langgraph", help="path to a `langgraph` executable")
    parser.add_argument("--aegra-python", help="a python with aegra-api installed")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (server logs)")
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",") if x]
    replicas = [int(x) for x in args.replicas.split(",") if x]
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    unknown = skip - {"aegra", "langgraph", "lgp"}
    if unknown:
        parser.error(f"--skip: unknown {', '.join(sorted(unknown))} (aegra, langgraph, lgp)")

    # SIGTERM ends the run like Ctrl+C: the finally below stops servers, drops databases
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)

    tmp = Path(tempfile.mkdtemp(prefix="lgp-scale-"))
    logs = tmp / "logs"
    logs.mkdir()
    env = bench_env()
    pg = Postgres(args.server, synchronous_commit=not args.no_sync_commit)
    configs: list[Config] = []
    commit_ms: float | None = None
    try:
        needs_pg = "aegra" not in skip or ("lgp" not in skip and args.backend == "postgres")
        if needs_pg:
            try:
                commit_ms = pg.commit_ms(pg.new("lgp_scale_probe"))
                pg.cleanup()
            except Exception as exc:  # noqa: BLE001 - one line, not a traceback
                sys.exit(f"[bench] cannot use PostgreSQL at {args.server}: {exc}")

        if "lgp" not in skip:
            for k in replicas:
                project = tmp / f"lgp-{k}"
                project.mkdir()
                if args.backend == "postgres":
                    dsn: str | None = pg.new("lgp_scale")
                    checkpointer = (
                        f"  backend: postgres\n  dsn: {dsn}\n  pool_size: {args.pool_size}\n"
                    )
                else:
                    dsn = None
                    checkpointer = "  path: .lgp/bench.db\n"
                write_project(
                    project,
                    f"checkpointer:\n{checkpointer}server:\n  rate_limit_per_minute: 0\n",
                )
                cfg = Config(f"lgp x{k} ({'pg' if dsn else 'sqlite'})", "lgp", k)
                configs.append(cfg)
                run_config(
                    cfg,
                    lgp_servers(project, k, env, logs),
                    levels,
                    args.seconds,
                    pg if dsn else None,
                    dsn,
                )
                if dsn:
                    pg.cleanup()

        if "langgraph" not in skip:
            project = tmp / "langgraph"
            project.mkdir()
            write_project(project, "")
            cfg = Config("langgraph dev", "langgraph")
            configs.append(cfg)
            try:
                exe = langgraph_executable(args.langgraph)
            except Exception as exc:  # noqa: BLE001 - reported in the table
                cfg.failure = f"cannot install langgraph-cli[inmem]: {exc}"
            else:
                port = free_port()
                server = Server(
                    "langgraph dev",
                    [exe, "dev", "--port", str(port), "--no-browser"],
                    project,
                    f"http://127.0.0.1:{port}/ok",
                    env,
                    log=logs / "langgraph.log",
                )
                run_config(cfg, [server], levels, args.seconds, None, None)

        if "aegra" not in skip:
            project = tmp / "aegra"
            project.mkdir()
            write_project(project, "")
            (project / "aegra.json").write_text(
                json.dumps({"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}})
            )
            cfg = Config("Aegra", "aegra")
            configs.append(cfg)
            try:
                python = aegra_python(args.aegra_python)
            except Exception as exc:  # noqa: BLE001 - reported in the table
                cfg.failure = f"cannot install {AEGRA_REQUIREMENT}: {exc}"
            else:
                dsn = pg.new("aegra_scale")
                port = free_port()
                aegra_env = dict(
                    env,
                    AEGRA_CONFIG=str(project / "aegra.json"),
                    DATABASE_URL=dsn,
                    HOST="127.0.0.1",
                    PORT=str(port),
                    AUTH_TYPE="noop",
                    LOG_LEVEL="WARNING",
                    REDIS_BROKER_ENABLED="false",
                )
                server = Server(
                    "Aegra",
                    [python, "-m", "uvicorn", "aegra_api.main:app", "--port", str(port)],
                    project,
                    f"http://127.0.0.1:{port}/health",
                    aegra_env,
                    log=logs / "aegra.log",
                )
                run_config(cfg, [server], levels, args.seconds, pg, dsn)
                pg.cleanup()
    except KeyboardInterrupt:
        print("\n[bench] interrupted: stopping servers, dropping databases", flush=True)
        raise SystemExit(130) from None
    finally:
        with shielded():
            pg.cleanup()  # servers are stopped by run_config's finally
        if args.keep:
            print(f"[bench] logs kept in {logs}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    report(configs, levels, args.backend, args.seconds, not args.no_sync_commit, commit_ms)


if __name__ == "__main__":
    main()
