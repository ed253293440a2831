"""Run webhooks (issue 15, single process): a run created with a ``webhook`` calls it
once when it ends, retrying a receiver that is briefly down; URLs outside the config's
allow-list are refused when the run is created."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client

from tests.processes import Process
from tests.server.conftest import make_server_project
from tests.server.server_process import ServerProcess
from tests.servers.serving import start_server

TOKEN = "hook-secret-5b1e0c"


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    """The local receiver; its first call is refused (503) to exercise the retry."""
    process: Process
    process, url = start_server("tests.servers.webhook_receiver", "--fail", "1")
    yield url
    process.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    project = make_server_project(tmp_path_factory.mktemp("hooks"), rate_limit_per_minute=100000)
    with (project / "config" / "hosted.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "webhooks:\n"
            '  allowed_hosts: ["127.0.0.1"]\n'
            '  headers: {X-Hook-Token: "${HOOK_TOKEN}"}\n'
            "  max_attempts: 3\n"
        )
    with ServerProcess(project, "workflows", env={"HOOK_TOKEN": TOKEN}) as proc:
        yield proc


def calls(receiver: str, n: int, timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        got: list[dict[str, Any]] = httpx.get(f"{receiver}/_control/calls").json()
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_each_finished_run_calls_its_webhook_once(server: ServerProcess, receiver: str) -> None:
    client = get_sync_client(url=server.url)
    thread = client.threads.create()["thread_id"]
    done = client.runs.wait(
        thread, "basic_workflow", input={"input": "ping"}, webhook=f"{receiver}/hook/ok"
    )
    failed = client.runs.create(None, "boom", input={}, webhook=f"{receiver}/hook/boom")
    got = calls(receiver, 2)
    # the receiver refused the first call (503): it was tried again, and counted once
    assert sorted(c["path"] for c in got) == ["/hook/boom", "/hook/ok"]
    ok = next(c for c in got if c["path"] == "/hook/ok")
    assert ok["headers"]["x-hook-token"] == TOKEN
    assert ok["body"]["status"] == "success" and ok["body"]["thread_id"] == thread
    assert ok["body"]["values"] == done and ok["body"]["run_ended_at"]
    boom = next(c for c in got if c["path"] == "/hook/boom")
    assert boom["body"]["run_id"] == failed["run_id"] and boom["body"]["status"] == "error"
    assert "kaboom" in str(boom["body"]["error"])
    assert TOKEN not in server.text  # the secret header never reaches the log


@pytest.mark.parametrize(
    ("url", "status", "why"),
    [
        ("https://hooks.example.com/x", 400, "is not allowed"),
        ("http://localhost:1/x", 400, "is not allowed"),
        ("http://100.100.100.200/latest/meta-data", 400, "is not allowed"),
        ("ftp://127.0.0.1/x", 422, "webhook"),  # not http(s): malformed
        ("/threads", 422, "webhook"),  # a path of this server: never
    ],
)
def test_a_webhook_outside_the_allow_list_is_refused(
    server: ServerProcess, url: str, status: int, why: str
) -> None:
    with server.client() as http:
        answer = http.post("/runs", json={"assistant_id": "tiny", "input": {}, "webhook": url})
    assert answer.status_code == status, answer.text
    assert why in answer.text
