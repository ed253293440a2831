"""Concurrency, crash and shutdown behaviour of a real server process."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import wait_until
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess
from tests.workflows import open_gate

CLIENTS = 32
SECONDS = 20


@pytest.mark.slow  # a 20 s soak: CI runs it, `make test` does not
def test_32_clients_for_20_seconds_no_5xx_no_lost_runs(tmp_path: Path) -> None:
    project = make_server_project(
        tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=1_000_000
    )
    with ServerProcess(project, "workflows/tiny.py") as server:
        deadline = time.monotonic() + SECONDS

        def client(i: int) -> tuple[list[str], list[int]]:
            run_ids, bad = [], []
            with server.client(API_KEY) as http:
                n = 0
                while time.monotonic() < deadline:
                    r = http.post(
                        "/workflows/tiny/invoke",
                        json={"input": {"n": n}, "thread_id": f"client-{i}"},
                    )
                    if r.status_code >= 500:
                        bad.append(r.status_code)
                        continue
                    assert r.status_code == 200, r.text
                    run_ids.append(r.json()["run_id"])
                    n += 1
            return run_ids, bad

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(client, range(CLIENTS)))
        run_ids = [r for ids, _ in results for r in ids]
        errors = [c for _, bad in results for c in bad]
        assert errors == []
        assert len(run_ids) > CLIENTS * 5
        assert all(ids for ids, _ in results)  # every client got through
        with server.client(API_KEY) as http:
            statuses = {http.get(f"/runs/{r}").json()["status"] for r in run_ids}
            threads = [http.get(f"/sessions/client-{i}").json() for i in range(CLIENTS)]
        assert statuses == {"completed"}
        for i, (ids, _) in enumerate(results):
            # each run adds 5 checkpoints to its client's thread: none was lost
            assert threads[i]["checkpoints"] == 5 * len(ids)
        assert "database is locked" not in server.text


def _start_slow(server: ServerProcess, thread_id: str) -> threading.Thread:
    """Invoke the gated ``slow`` workflow on a thread of its own (the server goes away)."""

    def call() -> None:
        try:
            with server.client(API_KEY, timeout=60) as http:
                http.post("/workflows/slow/invoke", json={"input": {}, "thread_id": thread_id})
        except httpx.HTTPError:
            pass  # the server goes away on purpose

    t = threading.Thread(target=call, daemon=True)
    t.start()
    return t


def test_kill_9_loses_no_committed_checkpoint_and_the_thread_resumes(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY])
    log = project / "workflows" / "slow_calls.log"
    server = ServerProcess(project, "workflows").start()
    try:
        _start_slow(server, "crash")
        # `wait` holds at its gate; once the checkpoint after `first` is committed,
        # nothing more can be written until the gate opens: that is what must survive
        wait_until(lambda: log.exists() and "wait" in log.read_text().split(), what="`wait`")
        with server.client(API_KEY) as http:
            before = wait_until(
                lambda: _trail_is(http.get("/sessions/crash").json(), ["first"]),
                what="the checkpoint after `first`",
            )
    finally:
        server.stop(signal.SIGKILL)

    open_gate(project / "workflows" / "slow.open")  # the rerun of `wait` may finish
    with ServerProcess(project, "workflows") as restarted:
        with restarted.client(API_KEY, timeout=60) as http:
            after = http.get("/sessions/crash").json()
            assert after["checkpoints"] == before["checkpoints"]  # nothing committed was lost
            assert after["latest_state"]["trail"] == ["first"]
            runs = http.get("/sessions/crash/runs").json()
            assert runs[0]["status"] == "abandoned"
            done = http.post("/sessions/crash/resume", json={})
        assert done.status_code == 200, done.text
        # `first` is not run again; `wait` reran (it never finished), then `last`
        assert done.json()["result"]["trail"] == ["first", "wait", "last"]
        assert log.read_text().split() == ["first", "wait", "wait", "last"]


def _trail_is(session: dict[str, Any], trail: list[str]) -> dict[str, Any] | None:
    """``session`` when its latest state's trail is ``trail``."""
    latest = session.get("latest_state") or {}
    return session if latest.get("trail") == trail else None


def test_sigterm_cancels_in_flight_runs_cleanly(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY])
    log = project / "workflows" / "slow_calls.log"
    with ServerProcess(project, "workflows") as server:
        _start_slow(server, "term")  # its gate never opens: only the shutdown ends it
        wait_until(lambda: log.exists() and "wait" in log.read_text().split(), what="`wait`")
        started = time.monotonic()
        code = server.stop(signal.SIGTERM)
        assert time.monotonic() - started < 15
        assert code == 0, server.text
    with ServerProcess(project, "workflows") as restarted, restarted.client(API_KEY) as http:
        runs = http.get("/sessions/term/runs").json()
        assert runs[0]["status"] == "cancelled"
        events = http.get(f"/runs/{runs[0]['run_id']}").json()
        assert events["status"] == "cancelled"
