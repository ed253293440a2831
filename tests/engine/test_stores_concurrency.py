"""Several processes on one PostgreSQL database at once, as replicas of a server are:
the schema is made once, and runs, thread metadata and assistant versions written
concurrently all land (each process is a real one: tests/store_worker.py)."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Any

from lgp_engine.assistants import AssistantStore
from lgp_engine.backends.sql import open_database
from lgp_engine.runs import RunStore
from tests.processes import start_python

REPO = Path(__file__).resolve().parents[2]
WORKER = str(REPO / "tests" / "store_worker.py")


def start_together(argvs: list[list[str]], go: Path) -> list[dict[str, Any]]:
    """Start one worker per argv, let them go at once when all are ready, and
    return the JSON each printed last (failing with its output if one failed)."""
    workers = [start_python(WORKER, *argv, cwd=REPO) for argv in argvs]
    try:
        for worker in workers:
            worker.expect("^ready$", timeout=60)
        go.touch()
        outcomes = []
        for worker in workers:
            assert worker.wait(60) == 0, worker.text
            lines = worker.rest()
            assert lines, worker.text
            assert not worker.stderr, worker.text  # no warning, no traceback
            outcomes.append(json.loads(lines[-1]))
        return outcomes
    finally:
        for worker in workers:
            worker.kill()


def test_schema_is_made_once_when_processes_open_an_empty_database_together(
    postgres_dsn: str, tmp_path: Path
) -> None:
    outcomes = start_together([["open", postgres_dsn, str(tmp_path / "go")]] * 4, tmp_path / "go")
    assert outcomes == [{"opened": True}] * 4
    db = open_database(postgres_dsn)
    try:
        applied = db.fetchall(
            "SELECT name, version, COUNT(*) FROM lgp_migrations "
            "WHERE name IN ('runs', 'assistants') GROUP BY name, version ORDER BY name, version"
        )
    finally:
        db.close()
    assert applied == [("assistants", 1, 1), ("runs", 1, 1), ("runs", 2, 1), ("runs", 3, 1)]


def test_two_processes_create_and_transition_runs_on_one_database(
    postgres_dsn: str, tmp_path: Path
) -> None:
    runs_each, shared = 40, 30
    with (
        closing(RunStore(database=open_database(postgres_dsn))) as store,
        AssistantStore(database=open_database(postgres_dsn)) as assistants,
    ):
        for i in range(shared):
            store.create(f"shared-{i}", "t", "w")
        assistants.create("g", assistant_id="shared-assistant")
        go = tmp_path / "go"
        outcomes = start_together(
            [["work", postgres_dsn, str(go), name, str(runs_each), str(shared)] for name in "ab"],
            go,
        )

        # each process's own runs: all there, completed, with their events in order
        for name in "ab":
            own = store.list_runs(thread_id=f"thread-{name}", limit=1000)
            assert len(own) == runs_each
            assert {r.status for r in own} == {"completed"}
            assert {r.last_seq for r in own} == {3}
            assert [e.seq for e in store.events(f"{name}-7")] == [1, 2, 3]
        assert store.usage_summary()["calls"] == 2 * runs_each
        # every shared run was started exactly once, by one of the two
        won = [set(o["won"]) for o in outcomes]
        assert not won[0] & won[1]
        assert won[0] | won[1] == {f"shared-{i}" for i in range(shared)}
        owners = {o["owner"] for o in outcomes}
        for i in range(shared):
            run = store.get(f"shared-{i}")
            assert run.status == "running" and run.owner in owners
        # concurrent read-modify-writes lost nothing
        thread = store.get_thread("shared-thread")
        assert thread is not None and len(thread.metadata) == 2 * runs_each
        versions = assistants.versions("shared-assistant")
        assert [v.version for v in versions] == list(range(2 * runs_each + 1, 0, -1))
        assert assistants.require("shared-assistant").metadata == {
            "a": runs_each - 1,
            "b": runs_each - 1,
        }


def test_unreachable_server_is_one_line_without_the_password() -> None:
    from lgp_engine.errors import CheckpointError

    dsn = "postgresql://lgp:s3cret-pw@127.0.0.1:1/runs"
    try:
        RunStore(database=open_database(dsn))
    except CheckpointError as exc:
        text = str(exc)
    else:
        raise AssertionError("no error")
    assert "s3cret-pw" not in text and "\n" not in text
    assert "127.0.0.1:1" in text
