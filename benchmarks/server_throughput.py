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
import shutil
import sys
import tempfile
from pathlib import Path

from _load import (
    Server,
    bench_env,
    free_port,
    langgraph_executable,
    load,
    pct,
    rss_mb,
    write_project,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per level")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--langgraph", help="path to a `langgraph` executable")
    parser.add_argument("--only", choices=["lgp", "langgraph"], help="measure one server")
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="lgp-bench-"))
    write_project(
        tmp, "checkpointer:\n  path: .lgp/bench.db\nserver:\n  rate_limit_per_minute: 0\n"
    )
    env = bench_env()

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
        base = server.base_url
        row: dict[str, object] = {"startup": server.startup}
        try:
            for n in levels:
                result = asyncio.run(load(base, n, args.seconds))
                rps, lat, errors = result.rps, result.latencies, result.errors
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
