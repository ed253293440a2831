"""Nothing lost on kill -9 of a server (issue 15): another server process on the same
database takes over the runs it was executing (from their thread's newest checkpoint,
finished nodes not run again, the run recorded with its attempts) and the runs it had
queued; a follower on a third process sees the events live."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import stays
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess, parse_sse, use_postgres
from tests.server.server_process import replicas as started
from tests.servers.serving import start_server
from tests.workflows import copy_workflows


@pytest.fixture(params=["sqlite", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=100000)
    copy_workflows(project / "workflows", "slow.py", "increment.py")
    if request.param == "postgres":  # three replicas on one database
        use_postgres(project, request.getfixturevalue("postgres_dsn"))
    with (project / "config" / "hosted.yaml").open("a") as f:
        f.write("runs:\n  lease_s: 3\n")  # look for orphans every half second
        f.write('webhooks:\n  allowed_hosts: ["127.0.0.1"]\n')
    return project


@pytest.fixture
def replicas(project: Path) -> Iterator[list[ServerProcess]]:
    # the third only answers (as lgp deploy's health check runs): it takes nothing over
    with started(project, [{}, {}, {"LGP_SERVE_PASSIVE": "1"}]) as servers:
        yield servers


def _status(http: httpx.Client, thread_id: str, run_id: str) -> str:
    return str(http.get(f"/threads/{thread_id}/runs/{run_id}").json()["status"])


def _until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _blocked_and_queued(http: httpx.Client, log: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run of ``slow`` on thread t1, once it blocks in ``wait``, and one queued behind it."""
    body = {"assistant_id": "slow", "input": {}, "if_not_exists": "create"}
    running = http.post("/threads/t1/runs", json=body).json()
    _until(lambda: log.exists() and "wait" in log.read_text(), 30, "the run to block")
    queued = http.post("/threads/t1/runs", json={**body, "multitask_strategy": "enqueue"}).json()
    return running, queued


def test_a_killed_servers_runs_go_on_elsewhere_and_a_third_follows_them_live(
    project: Path, replicas: list[ServerProcess]
) -> None:
    a, b, c = replicas
    log = project / "workflows" / "slow_calls.log"
    with a.client(API_KEY) as on_a, b.client(API_KEY) as on_b, c.client(API_KEY) as on_c:
        running, queued = _blocked_and_queued(on_a, log)
        assert _status(on_b, "t1", queued["run_id"]) == "pending"
        # a follower on a third process joins the running run's stream
        with on_c.stream("GET", f"/runs/{running['run_id']}/events", timeout=60) as followed:
            a.stop(signal.SIGKILL)
            _until(
                lambda: any("taking it over" in line for line in b.output),
                20,
                "another server to take the runs over:\n" + b.text + c.text,
            )
            (project / "workflows" / "slow.open").touch()
            frames = [json.loads(f["data"]) for f in parse_sse(followed.iter_lines())]
        assert not any("taking it over" in line for line in c.output), c.text
        types = [f["type"] for f in frames]
        assert types[-1] == "run.completed", types
        retrying = [f for f in frames if f["type"] == "run.retrying"]
        assert len(retrying) == 1 and "stopped" in retrying[0]["data"]["message"]
        _until(lambda: _status(on_b, "t1", queued["run_id"]) == "success", 30, "the queued run")
        assert _status(on_c, "t1", running["run_id"]) == "success"
        trail = on_b.get("/threads/t1/state").json()["values"]["trail"]
    calls = log.read_text().splitlines()
    assert calls.count("first") == 2  # once per run: the killed one's was not run again
    assert trail == ["first", "wait", "last"] * 2


def test_a_stopped_servers_runs_go_on_elsewhere(
    project: Path, replicas: list[ServerProcess]
) -> None:
    """A stop signal (a rolling deploy) hands the runs over as a crash would, with
    nothing cancelled: the running one goes on from its newest checkpoint in another
    process, the one waiting for its thread goes back to the queue and runs there."""
    a, b, _ = replicas
    log = project / "workflows" / "slow_calls.log"
    with a.client(API_KEY) as on_a, b.client(API_KEY) as on_b:
        running, queued = _blocked_and_queued(on_a, log)
        started = time.monotonic()
        assert a.stop(signal.SIGTERM) == 0, a.text
        assert time.monotonic() - started < 10
        _until(
            lambda: any("taking it over" in line for line in b.output),
            20,
            "another server to take the runs over:\n" + b.text,
        )
        (project / "workflows" / "slow.open").touch()
        _until(lambda: _status(on_b, "t1", queued["run_id"]) == "success", 30, "the queued run")
        assert _status(on_b, "t1", running["run_id"]) == "success"
        events = on_b.get(f"/runs/{running['run_id']}/events").text
        trail = on_b.get("/threads/t1/state").json()["values"]["trail"]
    assert "run.cancelled" not in events
    assert "run.retrying" in events and "stopped" in events
    calls = log.read_text().splitlines()
    assert calls.count("first") == 2  # once per run: the stopped one's was not run again
    assert trail == ["first", "wait", "last"] * 2


def test_a_run_that_ends_within_the_shutdown_grace_ends_where_it_ran(tmp_path: Path) -> None:
    """With server.shutdown_grace_s, a stop lets the runs in flight end first: one that
    ends meanwhile is recorded as usual (no hand-over, no retry), then the server exits."""
    project = make_server_project(
        tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=100000, shutdown_grace_s=30
    )
    copy_workflows(project / "workflows", "slow.py")
    log = project / "workflows" / "slow_calls.log"
    server = ServerProcess(project, "workflows").start()
    try:
        with server.client(API_KEY) as http:
            body = {"assistant_id": "slow", "input": {}, "if_not_exists": "create"}
            running = http.post("/threads/t1/runs", json=body).json()
            _until(lambda: log.exists() and "wait" in log.read_text(), 30, "the run to block")
        assert server.process is not None
        server.process.proc.send_signal(signal.SIGTERM)
        assert server.process.returncode is None  # it waits for the run
        (project / "workflows" / "slow.open").touch()
        assert server.stop(signal.SIGTERM, timeout=30) == 0, server.text
    finally:
        if server.process is not None and server.process.returncode is None:
            server.stop(signal.SIGKILL)
    with ServerProcess(project, "workflows") as again, again.client(API_KEY) as http:
        assert _status(http, "t1", running["run_id"]) == "success"
        events = http.get(f"/runs/{running['run_id']}/events").text
    assert "run.retrying" not in events and "run.cancelled" not in events
    assert log.read_text().splitlines() == ["first", "wait", "last"]


def test_a_stopped_servers_stateless_run_goes_on_elsewhere_and_calls_its_webhook_once(
    project: Path, replicas: list[ServerProcess]
) -> None:
    """A run without a thread (its thread is temporary) handed over by a stopping
    server: the stopping one neither deletes its thread nor calls its webhook (the run
    has not ended); the one that goes on with it does both, once, when it ends."""
    receiver, url = start_server("tests.servers.webhook_receiver")
    a, b, _ = replicas
    log = project / "workflows" / "slow_calls.log"
    try:
        with a.client(API_KEY) as on_a:
            body = {"assistant_id": "slow", "input": {}, "webhook": f"{url}/hook/handed"}
            made = on_a.post("/runs", json=body).json()
            _until(lambda: log.exists() and "wait" in log.read_text(), 30, "the run to block")
        assert a.stop(signal.SIGTERM) == 0, a.text
        _until(lambda: any("taking it over" in line for line in b.output), 20, "the takeover")
        (project / "workflows" / "slow.open").touch()

        def hooked() -> list[dict[str, Any]]:
            calls = httpx.get(f"{url}/_control/calls").json()
            return [c for c in calls if c["path"] == "/hook/handed"]

        _until(lambda: hooked(), 30, "the webhook")
        assert stays(lambda: len(hooked()) == 1, 2)  # once, from the process that ended it
        [call] = hooked()
        assert call["body"]["run_id"] == made["run_id"]
        assert call["body"]["status"] == "success", call["body"]
        assert call["body"]["values"]["trail"] == ["first", "wait", "last"]
        with b.client(API_KEY) as on_b:  # its thread goes once it ended
            _until(lambda: on_b.get(f"/threads/{made['thread_id']}").status_code == 404, 20, "gone")
    finally:
        receiver.kill()
    # `first` was not run again; `wait`, cut short by the stop, was
    assert log.read_text().splitlines() == ["first", "wait", "wait", "last"]


def test_a_wait_on_a_stopping_server_answers_the_runs_end_elsewhere(
    project: Path, replicas: list[ServerProcess]
) -> None:
    """``runs.wait`` on a server that stops while the run executes: the run is handed
    over, and the waiting client gets its end from the process that finishes it (not
    the state the run had reached when it was handed over)."""
    a, b, _ = replicas
    log = project / "workflows" / "slow_calls.log"
    answer: dict[str, Any] = {}

    def wait() -> None:
        with a.client(API_KEY, timeout=60) as on_a:
            body = {"assistant_id": "slow", "input": {}, "if_not_exists": "create"}
            reply = on_a.post("/threads/t9/runs/wait", json=body)
            answer.update(status=reply.status_code, body=reply.json())

    waiting = threading.Thread(target=wait, daemon=True)
    waiting.start()
    _until(lambda: log.exists() and "wait" in log.read_text(), 30, "the run to block")
    assert a.process is not None
    a.process.proc.send_signal(signal.SIGTERM)
    _until(lambda: any("taking it over" in line for line in b.output), 20, "the takeover")
    (project / "workflows" / "slow.open").touch()
    waiting.join(30)
    assert answer["status"] == 200
    assert answer["body"]["trail"] == ["first", "wait", "last"], answer
    assert a.stop(signal.SIGTERM, timeout=30) == 0, a.text
