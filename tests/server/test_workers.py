"""``lgp serve --workers 2``: two processes on one port and one store (issue 10: it
crashed right after "Ready"). Both serve, run, and replay or follow any run's events,
and SIGTERM stops them all."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.processes import wait_until
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess, parse_sse

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[ServerProcess]:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=100000)
    shutil.copy(WORKFLOWS / "gated.py", project / "workflows" / "gated.py")
    srv = ServerProcess(project, "workflows", "--workers", "2")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def worker_of(http: httpx.Client) -> int:
    """The worker behind this client's (kept-alive) connection."""
    return int(http.get("/health").json()["worker"])


def client_on_worker(srv: ServerProcess, wanted: set[int], tries: int = 200) -> httpx.Client:
    """A client whose connection landed on one of ``wanted`` (connections are spread
    by the kernel, so open new ones until one does)."""
    for _ in range(tries):
        http = srv.client(API_KEY, timeout=30)
        if worker_of(http) in wanted:
            return http
        http.close()
    raise AssertionError(f"no connection reached worker(s) {wanted}")


def replay(http: httpx.Client, run_id: str) -> list[dict[str, object]]:
    with http.stream("GET", f"/runs/{run_id}/events") as r:
        assert r.status_code == 200
        return [json.loads(f["data"]) for f in parse_sse(r.iter_lines())]


def test_two_workers_serve_run_and_replay_any_run_and_stop_on_sigterm(
    two_workers: ServerProcess,
) -> None:
    srv = two_workers
    pids: set[int] = set()
    for _ in range(60):  # a new connection each time
        with srv.client(API_KEY) as http:
            pids.add(worker_of(http))
        if len(pids) == 2:
            break
    assert len(pids) == 2, pids
    assert srv.process is not None and srv.process.pid not in pids  # workers, not the supervisor

    with srv.client(API_KEY) as http:
        ran_on = worker_of(http)
        done = http.post("/workflows/burst/invoke", json={"input": {"count": 50}}).json()
    assert done["status"] == "completed"
    seen_by: set[int] = set()
    for pid in pids:  # each worker replays the run from the shared store
        with closing(client_on_worker(srv, {pid})) as http:
            events = replay(http, done["run_id"])
            seen_by.add(pid)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[-1]["type"] == "run.completed"
    assert seen_by == pids and ran_on in pids

    assert srv.stop(signal.SIGTERM) == 0, srv.text
    assert "Stopped" in srv.text
    for pid in pids:
        wait_until(lambda pid=pid: not _alive(pid), 10, f"worker {pid} to end after SIGTERM")


def test_a_run_on_one_worker_is_followed_live_from_the_other(
    two_workers: ServerProcess, tmp_path: Path
) -> None:
    srv = two_workers
    gate, started = tmp_path / "gate", tmp_path / "started"
    runner = srv.client(API_KEY, timeout=60)
    home = worker_of(runner)
    result: dict[str, object] = {}

    def run() -> None:
        payload = {"gate": str(gate), "started": str(started), "count": 3}
        result.update(runner.post("/workflows/gated/invoke", json={"input": payload}).json())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_until(started.exists, 30, "the run to start")
        with closing(client_on_worker(srv, {home})) as probe:
            [running] = [
                r
                for r in probe.post("/threads/search", json={"limit": 5}).json()
                if r["status"] == "busy"
            ]
            [run_record] = probe.get(f"/threads/{running['thread_id']}/runs").json()
        follower = client_on_worker(srv, _other_workers(srv, home))
        events_url = f"/runs/{run_record['run_id']}/events"
        with closing(follower), follower.stream("GET", events_url) as r:
            frames = parse_sse(r.iter_lines())
            first = json.loads(next(frames)["data"])
            assert first["type"] == "run.started"
            gate.touch()  # the run goes on in the other process...
            rest = [json.loads(f["data"]) for f in frames]  # ...and reaches us here
    finally:
        gate.touch()
        thread.join(30)
        runner.close()
    assert rest[-1]["type"] == "run.completed"
    assert [e["seq"] for e in [first, *rest]] == list(range(1, len(rest) + 2))
    assert result["status"] == "completed"


def _other_workers(srv: ServerProcess, pid: int) -> set[int]:
    others: set[int] = set()
    for _ in range(100):
        with srv.client(API_KEY) as http:
            seen = worker_of(http)
        if seen != pid:
            others.add(seen)
            return others
    raise AssertionError("only one worker answers")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is gone for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
