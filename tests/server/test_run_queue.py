"""The shared run queue (issue 15): a background run that finds its server process
full waits in the database, and any server process with a free slot takes it; the
runs of a thread keep their order; a queued run can be cancelled from any process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess, replicas, use_postgres
from tests.workflows import copy_workflows


@pytest.fixture(params=["sqlite", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    # one run slot per process (N_JOBS = 1): the second background run is queued
    project = make_server_project(
        tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=100000, max_concurrent_runs=1
    )
    copy_workflows(project / "workflows", "pid_gated.py")
    if request.param == "postgres":
        use_postgres(project, request.getfixturevalue("postgres_dsn"))
    return project


@pytest.fixture
def two(project: Path) -> Iterator[list[ServerProcess]]:
    with replicas(project, [{}, {}]) as servers:
        yield servers


def _until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Gated:
    """Runs of pid_gated, each with its own gate and started file."""

    def __init__(self, http: httpx.Client, folder: Path) -> None:
        self.http, self.folder = http, folder

    def create(self, name: str, thread_id: str) -> dict[str, object]:
        body = {
            "assistant_id": "pid_gated",
            "input": {"gate": str(self.gate(name)), "started": str(self.started(name))},
            "if_not_exists": "create",
            "multitask_strategy": "enqueue",
        }
        r = self.http.post(f"/threads/{thread_id}/runs", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def gate(self, name: str) -> Path:
        return self.folder / f"{name}.open"

    def started(self, name: str) -> Path:
        return self.folder / f"{name}.pid"

    def pid(self, name: str, timeout: float = 30) -> int:
        path = self.started(name)
        _until(lambda: path.exists() and path.read_text(), timeout, f"run {name} to start")
        return int(path.read_text())


def _status(http: httpx.Client, run: dict[str, object]) -> str:
    return str(http.get(f"/threads/{run['thread_id']}/runs/{run['run_id']}").json()["status"])


def test_a_full_servers_runs_are_taken_by_another_and_cancelled_from_any(
    two: list[ServerProcess], tmp_path: Path
) -> None:
    a, b = two
    with a.client(API_KEY) as on_a, b.client(API_KEY) as on_b:
        pid_a, pid_b = (c.get("/health").json()["worker"] for c in (on_a, on_b))
        runs = Gated(on_a, tmp_path)
        first = runs.create("r1", "t1")
        assert runs.pid("r1") == pid_a  # a free slot: it starts where it was created
        second = runs.create("r2", "t2")  # a is full: the queue, then b (free) takes it
        assert runs.pid("r2") == pid_b
        third = runs.create("r3", "t3")  # both full: it waits in the queue
        assert _status(on_b, third) == "pending"
        r = on_b.post(f"/threads/t3/runs/{third['run_id']}/cancel")  # from the other process
        assert r.status_code == 202, r.text
        _until(lambda: _status(on_a, third) == "interrupted", 10, "the queued run's cancel")
        fourth = runs.create("r4", "t4")
        assert _status(on_b, fourth) == "pending"
        runs.gate("r2").touch()  # b's slot frees: b takes the fourth run
        assert runs.pid("r4") == pid_b
        assert not runs.started("r3").exists()  # the cancelled one never ran
        for name in ("r1", "r4"):
            runs.gate(name).touch()
        for run in (first, second, fourth):
            joined = on_b.get(f"/threads/{run['thread_id']}/runs/{run['run_id']}/join")
            assert joined.status_code == 200 and "pid" in joined.json(), joined.text
            assert _status(on_a, run) == "success"


def test_the_runs_of_a_thread_keep_their_order_through_the_queue(
    project: Path, tmp_path: Path
) -> None:
    with ServerProcess(project, "workflows") as srv, srv.client(API_KEY) as http:
        runs = Gated(http, tmp_path)
        runs.create("busy", "other")
        runs.pid("busy")  # the only slot is taken
        queued = [runs.create(f"q{i}", "t") for i in range(3)]  # the queue, in order
        assert [_status(http, run) for run in queued] == ["pending"] * 3
        late = runs.create("late", "t")  # runs of t wait in the queue: so does this one
        runs.gate("busy").touch()
        for i in range(len(queued)):
            runs.pid(f"q{i}")
            # the thread's later runs wait their turn
            assert not any(runs.started(f"q{j}").exists() for j in range(i + 1, 3))
            assert not runs.started("late").exists()
            runs.gate(f"q{i}").touch()
        runs.pid("late")
        runs.gate("late").touch()
        joined = http.get(f"/threads/t/runs/{late['run_id']}/join")
        assert joined.status_code == 200, joined.text
        history = http.get("/threads/t/runs").json()
        assert [r["status"] for r in history] == ["success"] * 4
