"""One run per thread across processes (issue 15): the CLI, two workers of a server and
both HTTP APIs hammering one thread on one SQLite file take turns, so no update is lost
and the thread's history never forks; the multitask strategies apply to a run held by
another process (``reject`` is a 409, ``interrupt`` cancels it there)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import run_lgp, start_lgp
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess, use_postgres
from tests.workflows import copy_workflows

THREAD = "counted"


@pytest.fixture(params=["sqlite", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=100000)
    copy_workflows(project / "workflows", "increment.py", "slow.py")
    if request.param == "postgres":
        use_postgres(project, request.getfixturevalue("postgres_dsn"))
    return project


@pytest.fixture
def servers(project: Path) -> Iterator[list[ServerProcess]]:
    """Two workers of one server; on PostgreSQL also a second replica."""
    replicas = [ServerProcess(project, "workflows", "--workers", "2").launch()]
    if _dsn(project):
        replicas.append(ServerProcess(project, "workflows").launch())
    try:
        for srv in replicas:
            srv.wait_ready()
        yield replicas
    finally:
        for srv in replicas:
            srv.stop()


def _dsn(project: Path) -> str | None:
    text = (project / "config" / "hosted.yaml").read_text()
    return text.split("dsn: ", 1)[1].split()[0] if "dsn: " in text else None


def _forks(project: Path, thread_id: str) -> list[tuple[str, int]]:
    """Checkpoints of the thread with more than one child (a lost update's mark)."""
    query = (
        "SELECT parent_checkpoint_id, COUNT(*) FROM checkpoints WHERE thread_id = {0} "
        "AND checkpoint_ns = '' AND parent_checkpoint_id IS NOT NULL "
        "GROUP BY parent_checkpoint_id HAVING COUNT(*) > 1"
    )
    dsn = _dsn(project)
    if dsn:
        import psycopg

        with psycopg.connect(dsn) as pg:
            return list(pg.execute(query.format("%s"), (thread_id,)).fetchall())
    with sqlite3.connect(project / ".lgp" / "hosted.db") as conn:
        return conn.execute(query.format("?"), (thread_id,)).fetchall()


def test_cli_and_server_processes_through_both_apis_never_overlap_on_a_thread(
    project: Path, servers: list[ServerProcess]
) -> None:
    errors: list[str] = []

    def http_runs(api: str, count: int, srv: ServerProcess) -> None:
        with srv.client(API_KEY, timeout=120) as http:
            for _ in range(count):
                if api == "core":
                    r = http.post(
                        "/workflows/increment/invoke", json={"thread_id": THREAD, "input": {}}
                    )
                else:
                    r = http.post(
                        f"/threads/{THREAD}/runs/wait",
                        json={
                            "assistant_id": "increment",
                            "input": {},
                            "if_not_exists": "create",
                            "multitask_strategy": "enqueue",
                        },
                    )
                if r.status_code != 200:
                    errors.append(f"{api}: {r.status_code} {r.text[:200]}")

    def cli_runs(count: int) -> None:
        for _ in range(count):
            done = run_lgp(
                "run", "workflows/increment.py", "--env", "hosted", "--thread", THREAD,
                "--json", cwd=project, timeout=120,
            )  # fmt: skip
            if done.returncode != 0:
                errors.append(f"cli: {done.returncode} {done.stderr[-300:]}")

    workers = [
        threading.Thread(target=http_runs, args=(api, 6, servers[i % len(servers)]))
        for i, api in enumerate(("core", "lg") * 2)
    ]
    workers += [threading.Thread(target=cli_runs, args=(4,)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    total = 4 * 6 + 2 * 4
    with servers[-1].client(API_KEY) as http:
        values = http.get(f"/threads/{THREAD}/state").json()["values"]
        runs = http.get(f"/threads/{THREAD}/runs", params={"limit": 100}).json()
    assert values["n"] == total, f"{total - values['n']} of {total} updates were lost"
    assert _forks(project, THREAD) == []
    assert [r["status"] for r in runs] == ["success"] * total


def test_a_run_held_by_another_process_is_rejected_or_interrupted(
    project: Path, servers: list[ServerProcess]
) -> None:
    gate = project / "workflows" / "slow.open"
    cli = start_lgp(
        "run", "workflows/slow.py", "--env", "hosted", "--thread", "held", cwd=project
    )  # the CLI holds the thread until the gate opens
    try:
        cli.wait_for(lambda: any("Run:" in line for line in cli.stdout), 60, "the CLI's run")
        with servers[-1].client(API_KEY, timeout=60) as http:
            body = {"assistant_id": "slow", "input": {}, "if_not_exists": "create"}
            refused = http.post(
                "/threads/held/runs/wait", json={**body, "multitask_strategy": "reject"}
            )
            assert refused.status_code == 409, refused.text
            assert "already running" in refused.json()["detail"]
            answers: list[httpx.Response] = []
            replacing = threading.Thread(
                target=lambda: answers.append(
                    http.post(
                        "/threads/held/runs/wait", json={**body, "multitask_strategy": "interrupt"}
                    )
                )
            )
            replacing.start()
            assert cli.wait(60) == 130, cli.text  # cancelled in its own process
            assert any("replaced by a new run (interrupt)" in line for line in cli.stdout)
            gate.touch()  # the replacing run waits at the same gate
            replacing.join(60)
        assert answers and answers[0].status_code == 200, answers
    finally:
        cli.kill()
