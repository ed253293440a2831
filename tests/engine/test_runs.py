"""Tests for lgp_engine.runs: run records, the status machine, event logs, retention, reaping.

Every store test runs twice: on a real SQLite file in ``tmp_path`` (WAL mode, like the
project's ``.lgp/checkpoints.db``) and on a PostgreSQL database of its own (the
``postgres`` backend several replicas share); process ownership is checked against
real processes.
"""

from __future__ import annotations

import itertools
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lgp_engine.backends.sql import DuplicateError
from lgp_engine.errors import AmbiguousError, NotFoundError
from lgp_engine.events import RunEvent
from lgp_engine.runs import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    RunStore,
    ThreadMerge,
    owner_alive,
    owner_token,
)
from tests.databases import BACKENDS, StoreDb, postgres_module_dsn, store_db  # noqa: F401
from tests.processes import Process, run_python, start_python

STATUSES = list(TRANSITIONS)
ALL_PAIRS = list(itertools.product(STATUSES, STATUSES))
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in TRANSITIONS[a]]


# --------------------------------------------------------------------------- helpers


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> StoreDb:
    return store_db(request, tmp_path)


@pytest.fixture
def store(db: StoreDb) -> Iterator[RunStore]:
    s = db.runs()
    yield s
    s.close()


def event(run_id: str, seq: int, type_: str = "custom", **data: object) -> RunEvent:
    return RunEvent(run_id, seq, type_, "thread-1", {"i": seq, **data}, node=f"n{seq}")


def set_created_at(db: StoreDb, run_id: str, created_at: float) -> None:
    db.sql("UPDATE lgp_runs SET created_at = ? WHERE run_id = ?", (created_at, run_id))


def set_owner(db: StoreDb, run_id: str, owner: str | None) -> None:
    db.sql("UPDATE lgp_runs SET owner = ? WHERE run_id = ?", (owner, run_id))


def event_count(db: StoreDb, run_id: str) -> int:
    return int(db.sql("SELECT COUNT(*) FROM lgp_events WHERE run_id = ?", (run_id,))[0][0])


def idle_process() -> Process:
    """Another live process (idle until killed), for its pid."""
    return start_python("-c", "import time; time.sleep(60)", cwd=Path(__file__).parent)


def dead_pid_token() -> str:
    """The owner token of a process that has exited (taken while it was alive)."""
    with idle_process() as p:
        token = owner_token(p.pid)
    assert not token.endswith(":?"), "the start time of a live process must be known"
    return token


# --------------------------------------------------------------------------- records


def test_create_and_get_round_trip(store: RunStore, db: StoreDb) -> None:
    rec = store.create(
        "run-1",
        "thread-1",
        "flow",
        target="flow.py",
        kind="replay",
        input={"x": [1, 2]},
        checkpoint_id="cp-1",
    )
    assert db.path is None or db.path.is_file()
    assert rec == store.get("run-1")
    assert (rec.run_id, rec.thread_id, rec.workflow, rec.target, rec.kind) == (
        "run-1",
        "thread-1",
        "flow",
        "flow.py",
        "replay",
    )
    assert rec.status == "queued"
    assert rec.input == {"x": [1, 2]}
    assert rec.checkpoint_id == "cp-1"
    assert rec.owner == store.owner == owner_token()
    assert rec.last_seq == 0 == store.last_seq("run-1")
    assert rec.started_at is None and rec.ended_at is None
    assert not rec.is_terminal


def test_create_with_status(store: RunStore) -> None:
    assert store.create("r", "t", "w", status="running").status == "running"


def test_get_unknown_run_is_not_found(store: RunStore) -> None:
    with pytest.raises(NotFoundError, match="unknown run 'nope'"):
        store.get("nope")


def test_find_by_full_id_and_unique_prefix(store: RunStore) -> None:
    store.create("abcdef-111", "t", "w")
    store.create("abcdef-222", "t", "w")
    store.create("zzz", "t", "w")
    assert store.find("abcdef-111").run_id == "abcdef-111"
    assert store.find("abcdef-2").run_id == "abcdef-222"
    assert store.find("zzz").run_id == "zzz"  # an exact id may be short


def test_find_refuses_short_ambiguous_and_unknown_prefixes(store: RunStore) -> None:
    store.create("abcdef-111", "t", "w")
    store.create("abcdef-222", "t", "w")
    with pytest.raises(NotFoundError, match="unknown run"):
        store.find("abcde")  # shorter than 6 characters: exact ids only
    with pytest.raises(AmbiguousError, match="ambiguous"):
        store.find("abcdef")
    with pytest.raises(NotFoundError, match="unknown run"):
        store.find("abcdef-3")


def test_list_newest_first_with_filters_and_paging(store: RunStore, db: StoreDb) -> None:
    base = time.time() - 100
    for i, (thread, status) in enumerate(
        [("t1", "queued"), ("t2", "running"), ("t1", "running"), ("t2", "queued"), ("t1", "queued")]
    ):
        store.create(f"r{i}", thread, "w", status=status)
        set_created_at(db, f"r{i}", base + i)
    assert [r.run_id for r in store.list_runs()] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in store.list_runs(thread_id="t1")] == ["r4", "r2", "r0"]
    assert [r.run_id for r in store.list_runs(status="running")] == ["r2", "r1"]
    assert [r.run_id for r in store.list_runs(thread_id="t1", status="queued")] == ["r4", "r0"]
    assert [r.run_id for r in store.list_runs(limit=2, offset=1)] == ["r3", "r2"]
    assert store.list_runs(thread_id="unknown") == []
    assert store.latest_for_thread("t2").run_id == "r3"
    assert store.latest_for_thread("unknown") is None


def test_list_same_timestamp_falls_back_to_insertion_order(store: RunStore, db: StoreDb) -> None:
    for name in ("first", "second", "third"):
        store.create(name, "t", "w")
        set_created_at(db, name, 1000.0)
    assert [r.run_id for r in store.list_runs()] == ["third", "second", "first"]


# --------------------------------------------------------------------------- status machine


def test_transition_table_is_the_documented_machine() -> None:
    assert TRANSITIONS["queued"] >= {"running"}
    assert TRANSITIONS["running"] >= {"interrupted", "completed", "failed", "cancelled"}
    assert "running" in TRANSITIONS["interrupted"]
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset(), status
    assert "interrupted" not in TERMINAL and "running" not in TERMINAL


@pytest.mark.parametrize(("src", "dst"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_legal_transition(store: RunStore, src: str, dst: str) -> None:
    store.create("r", "t", "w", status=src)  # type: ignore[arg-type]
    rec = store.transition("r", dst, duration_ms=12.5)  # type: ignore[arg-type]
    assert rec.status == dst == store.get("r").status
    assert rec.duration_ms == 12.5
    if dst == "running":
        assert rec.started_at is not None and rec.ended_at is None
        assert rec.owner == store.owner
    if dst in TERMINAL or dst == "interrupted":
        assert rec.ended_at is not None


@pytest.mark.parametrize(("src", "dst"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_illegal_transition_is_refused(store: RunStore, src: str, dst: str) -> None:
    before = store.create("r", "t", "w", status=src)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransition, match=f"is {src}; it cannot become {dst}"):
        store.transition("r", dst)  # type: ignore[arg-type]
    assert store.get("r") == before


def test_resume_cycle_keeps_started_at_and_clears_ended_at(store: RunStore) -> None:
    store.create("r", "t", "w")
    first = store.transition("r", "running")
    paused = store.transition("r", "interrupted")
    assert paused.ended_at is not None
    again = store.transition("r", "running")
    assert again.started_at == first.started_at
    assert again.ended_at is None
    done = store.transition(
        "r", "failed", error={"error_type": "ValueError", "message": "x"}, usage={"tokens": 3}
    )
    assert done.error == {"error_type": "ValueError", "message": "x"}
    assert done.usage == {"tokens": 3}
    assert done.is_terminal


def test_transition_of_unknown_run_is_not_found(store: RunStore) -> None:
    with pytest.raises(NotFoundError):
        store.transition("nope", "running")


# --------------------------------------------------------------------------- usage


def usage_of(*calls: tuple[str, int, int, float]) -> dict[str, object]:
    """A run's usage total (the runner's shape) from ``(provider:model, in, out, $)`` calls."""
    from lgp_engine.providers.base import sum_usage

    return dict(
        sum_usage(
            [
                {
                    "provider": name.split(":")[0],
                    "model": name.split(":")[1],
                    "input_tokens": i,
                    "output_tokens": o,
                    "total_tokens": i + o,
                    "cache_read_tokens": 1,
                    "cost_usd": cost,
                }
                for name, i, o, cost in calls
            ]
        )
    )


def finished(store: RunStore, run_id: str, workflow: str, usage: object = None) -> None:
    store.create(run_id, "t", workflow, status="running")  # type: ignore[arg-type]
    fields = {"usage": usage} if usage is not None else {}
    store.transition(run_id, "completed", **fields)  # type: ignore[arg-type]


def test_usage_summary_sums_totals_models_and_workflows(store: RunStore, db: StoreDb) -> None:
    finished(store, "a", "team", usage_of(("openai:gpt-4o-mini", 100, 20, 0.25)))
    finished(
        store,
        "b",
        "team",
        usage_of(("openai:gpt-4o-mini", 10, 5, 0.5), ("ollama:llama3.2", 7, 3, 0.0)),
    )
    finished(store, "c", "basic")  # no model calls: counts, adds nothing
    finished(store, "d", "basic", {"tokens": 3})  # an older shape: no known keys
    store.create("e", "t", "team")  # still queued, no usage yet
    got = store.usage_summary()
    assert got["runs"] == 5 and got["runs_with_usage"] == 2
    assert (got["calls"], got["input_tokens"], got["output_tokens"]) == (3, 117, 28)
    assert (got["total_tokens"], got["cache_read_tokens"], got["cache_write_tokens"]) == (145, 3, 0)
    assert got["cost_usd"] == pytest.approx(0.75)
    assert list(got["by_model"]) == ["openai:gpt-4o-mini", "ollama:llama3.2"]  # costliest first
    mini = got["by_model"]["openai:gpt-4o-mini"]
    assert (mini["runs"], mini["calls"], mini["input_tokens"], mini["output_tokens"]) == (
        2,
        2,
        110,
        25,
    )
    assert mini["cost_usd"] == pytest.approx(0.75)
    assert got["by_model"]["ollama:llama3.2"]["runs"] == 1
    assert list(got["by_workflow"]) == ["team", "basic"]
    assert got["by_workflow"]["team"]["runs"] == 3 and got["by_workflow"]["team"]["calls"] == 3
    assert got["by_workflow"]["basic"] == {
        "runs": 2,
        "calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cost_usd": 0.0,
    }


def test_usage_summary_filters_by_workflow_and_since(store: RunStore, db: StoreDb) -> None:
    finished(store, "old", "team", usage_of(("openai:gpt-4o", 1000, 1000, 2.0)))
    set_created_at(db, "old", time.time() - 10 * 86400)
    finished(store, "new", "team", usage_of(("openai:gpt-4o", 10, 10, 0.02)))
    finished(store, "other", "basic", usage_of(("openai:gpt-4o", 5, 5, 0.01)))
    week = datetime.now(UTC) - timedelta(days=7)
    recent = store.usage_summary(since=week)
    assert (recent["runs"], recent["total_tokens"]) == (2, 30)
    assert recent["cost_usd"] == pytest.approx(0.03)
    team = store.usage_summary(workflow="team")
    assert (team["runs"], team["total_tokens"], list(team["by_workflow"])) == (2, 2020, ["team"])
    both = store.usage_summary(workflow="team", since=week.timestamp())
    assert (both["runs"], both["total_tokens"]) == (1, 20)
    assert both["by_model"]["openai:gpt-4o"]["cost_usd"] == pytest.approx(0.02)
    none = store.usage_summary(workflow="nope")
    assert none["runs"] == 0 and none["by_model"] == {} and none["by_workflow"] == {}
    assert none["cost_usd"] == 0.0


def test_usage_summary_skips_damaged_usage(store: RunStore, db: StoreDb) -> None:
    finished(store, "ok", "team", usage_of(("openai:gpt-4o", 1, 2, 0.5)))
    finished(store, "bad", "team", usage_of(("openai:gpt-4o", 1, 2, 0.5)))
    db.sql("UPDATE lgp_runs SET usage = 'not json{' WHERE run_id = 'bad'")
    db.sql(
        "INSERT INTO lgp_runs (run_id, thread_id, workflow, status, created_at, usage) "
        "VALUES ('odd', 't', 'team', 'completed', ?, ?)",
        (time.time(), '{"calls": 1, "total_tokens": 4, "by_model": [1, 2]}'),
    )
    got = store.usage_summary()
    assert (got["runs"], got["runs_with_usage"], got["total_tokens"]) == (3, 2, 7)
    assert list(got["by_model"]) == ["openai:gpt-4o"]


# --------------------------------------------------------------------------- events


def test_events_after_seq_are_exactly_the_later_ones_in_order(store: RunStore) -> None:
    store.create("r", "t", "w")
    store.create("other", "t", "w")
    for seq in range(1, 11):
        store.append(event("r", seq))
        store.append(event("other", seq, note="x"))
    assert store.last_seq("r") == 10
    assert store.last_seq("other") == 10
    assert store.transition("r", "running").last_seq == 10  # refreshed on status changes
    for after in range(0, 12):
        got = store.events("r", after)
        assert [e.seq for e in got] == list(range(after + 1, 11)), after
        assert all(e.run_id == "r" and e.thread_id == "t" for e in got)
    assert [e.seq for e in store.events("r", 3, limit=2)] == [4, 5]


def test_event_fields_round_trip(store: RunStore) -> None:
    store.create("r", "t", "w")
    original = RunEvent(
        "r",
        1,
        "node.finished",
        "t",
        {"node": "a", "update": {"x": [1, {"y": None}]}, "path": ["sub"]},
        node="a",
        ts=1234.5,
    )
    store.append(original)
    (back,) = store.events("r")
    assert (back.seq, back.type, back.node, back.ts, back.data) == (
        1,
        "node.finished",
        "a",
        1234.5,
        original.data,
    )


def test_append_out_of_order_keeps_highest_last_seq(store: RunStore) -> None:
    store.create("r", "t", "w")
    store.append(event("r", 2))
    store.append(event("r", 1))
    assert store.last_seq("r") == 2
    assert [e.seq for e in store.events("r")] == [1, 2]


def test_duplicate_seq_is_refused(store: RunStore) -> None:
    store.create("r", "t", "w")
    store.append(event("r", 1))
    with pytest.raises(DuplicateError):
        store.append(event("r", 1))
    with pytest.raises(DuplicateError):  # the same goes for a run id
        store.create("r", "t", "w")
    assert [e.seq for e in store.events("r")] == [1]


def test_append_many_writes_the_events_of_several_runs_all_or_none(store: RunStore) -> None:
    store.create("a", "t", "w")
    store.create("b", "t", "w")
    store.append_many([event("a", 1), event("b", 1), event("a", 2)])
    assert [e.seq for e in store.events("a")] == [1, 2]
    assert [(e.seq, e.data) for e in store.events("b")] == [(1, {"i": 1})]
    with pytest.raises(DuplicateError):  # b's seq 1 is taken: nothing of the batch lands
        store.append_many([event("a", 3), event("b", 1), event("b", 2)])
    assert [e.seq for e in store.events("a")] == [1, 2]
    assert [e.seq for e in store.events("b")] == [1]
    store.append_many([])


def test_group_commit_batches_concurrent_appends_and_fails_only_the_bad_one(
    store: RunStore,
) -> None:
    """The runner's group commit: events that arrive while a statement is in flight
    go together in the next one; a batch with a bad event is written again one by
    one, so only that event's caller gets the error."""
    import asyncio

    from lgp_engine.runner import _GroupCommit

    for run in ("a", "b", "c"):
        store.create(run, "t", "w")
    store.append(event("b", 1))  # b's first append below is a duplicate
    batches: list[int] = []
    append_many = store.append_many

    def counted(events: list[RunEvent]) -> None:
        batches.append(len(events))
        append_many(events)

    store.append_many = counted  # type: ignore[method-assign]

    async def main() -> list[BaseException | None]:
        group = _GroupCommit(store, asyncio.get_running_loop())
        appends = [event(run, seq) for seq in (1, 2, 3) for run in ("a", "b", "c")]
        return await asyncio.gather(*(group.append(e) for e in appends), return_exceptions=True)

    outcomes = asyncio.run(main())
    failed = [i for i, o in enumerate(outcomes) if o is not None]
    assert failed == [1] and isinstance(outcomes[1], DuplicateError)  # b's seq 1
    assert batches == [9] + [1] * 9  # all in one statement, then again one by one
    for run in ("a", "b", "c"):
        assert [e.seq for e in store.events(run)] == [1, 2, 3]


def test_a_transition_appends_the_event_that_ends_the_run(store: RunStore) -> None:
    """transition(event=...) appends the event and counts it in last_seq (one
    statement on PostgreSQL); a refused move still leaves the event appended."""
    store.create("r", "t", "w")
    store.transition("r", "running")
    store.append(event("r", 1))
    done = store.transition("r", "completed", event=event("r", 2, "run.completed"))
    assert done.status == "completed" and done.last_seq == 2
    assert [(e.seq, e.type) for e in store.events("r")] == [(1, "custom"), (2, "run.completed")]
    with pytest.raises(IllegalTransition):
        store.transition("r", "failed", event=event("r", 3, "run.failed"))
    assert [e.seq for e in store.events("r")] == [1, 2, 3]
    assert store.get("r").status == "completed"
    with pytest.raises(DuplicateError):  # a taken seq: nothing happens
        store.create("q", "t", "w")
        store.transition("q", "running")
        store.append(event("q", 1))
        store.transition("q", "completed", event=event("q", 1, "run.completed"))
    assert store.get("q").status == "running"


def test_a_transition_writes_its_also_statement_whether_the_move_is_refused_or_not(
    store: RunStore,
) -> None:
    """transition(also=...) writes another table's statement with the move (one
    statement on PostgreSQL: a run's end gives its thread lease up this way), also
    when the move is refused."""
    for thread in ("t1", "t2"):
        store.create_thread(thread)
    store.create("r", "t", "w")
    store.transition("r", "running")
    gone = ("DELETE FROM lgp_threads WHERE thread_id = ?", ("t1",))
    done = store.transition("r", "completed", event=event("r", 1, "run.completed"), also=gone)
    assert done.status == "completed" and done.last_seq == 1
    assert store.get_thread("t1") is None and store.get_thread("t2") is not None
    with pytest.raises(IllegalTransition):
        store.transition(
            "r", "failed", also=("DELETE FROM lgp_threads WHERE thread_id = ?", ("t2",))
        )
    assert store.get_thread("t2") is None and store.get("r").status == "completed"


def test_start_if_moves_a_run_to_running_only_when_its_statement_returns_a_row(
    store: RunStore,
) -> None:
    """start_if(run, taken): the run starts when ``taken`` (a thread lease taken)
    returns a row, in one statement on PostgreSQL; not when it returns none; a refused
    start raises, and what ``taken`` wrote stays (the caller undoes it)."""
    store.create_thread("t")
    take = "UPDATE lgp_threads SET metadata = ? WHERE thread_id = ? RETURNING thread_id"
    store.create("r", "t", "w")
    assert store.start_if("r", (take, ('{"x": 1}', "nope"))) is None
    assert store.get("r").status == "queued"
    running = store.start_if("r", (take, ('{"x": 2}', "t")), meta={"version": "v1"})
    assert running is not None and running.status == "running" and running.started_at
    assert running.meta == {"version": "v1"} and running.owner == store.owner
    thread = store.get_thread("t")
    assert thread is not None and thread.metadata == {"x": 2}
    store.transition("r", "cancelled")
    with pytest.raises(IllegalTransition):
        store.start_if("r", (take, ('{"x": 3}', "t")))
    thread = store.get_thread("t")
    assert thread is not None and thread.metadata == {"x": 3}
    assert store.get("r").status == "cancelled"


def test_a_run_recorded_with_a_thread_merge_names_its_graph_on_the_thread(store: RunStore) -> None:
    """create(thread=ThreadMerge(...)) merges metadata into the thread's record (on
    PostgreSQL in the statement that records the run): from the record as read, again
    from the stored one when it changed meanwhile, and a new record when there is none."""
    made = store.create_thread("t", {"a": 1})
    assert made is not None
    store.create("r1", "t", "w", thread=ThreadMerge({"graph_id": "w"}, made))
    fresh = store.get_thread("t")
    assert fresh is not None and fresh.metadata == {"a": 1, "graph_id": "w"}
    assert fresh.updated_at >= made.updated_at
    store.put_thread("t", {"b": 2})  # `fresh` is stale now
    store.create("r2", "t", "w2", thread=ThreadMerge({"graph_id": "w2"}, fresh))
    merged = store.get_thread("t")
    assert merged is not None and merged.metadata == {"a": 1, "b": 2, "graph_id": "w2"}
    store.create("r3", "new", "w", thread=ThreadMerge({"graph_id": "w"}))
    new = store.get_thread("new")
    assert new is not None and new.metadata == {"graph_id": "w"}
    assert [store.get(r).thread_id for r in ("r1", "r2", "r3")] == ["t", "t", "new"]


def test_events_of_unknown_run_is_not_found(store: RunStore) -> None:
    with pytest.raises(NotFoundError):
        store.events("nope")


def test_events_survive_close_and_reopen(db: StoreDb) -> None:
    first = db.runs()
    first.create("r", "t", "w")
    first.transition("r", "running")
    for seq in range(1, 6):
        first.append(event("r", seq))
    first.close()
    second = db.runs()
    try:
        assert second.last_seq("r") == 5
        assert [e.seq for e in second.events("r", 2)] == [3, 4, 5]
        assert [e.data["i"] for e in second.events("r")] == [1, 2, 3, 4, 5]
    finally:
        second.close()


def test_store_uses_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with closing(RunStore(db)), closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_in_memory_store(tmp_path: Path) -> None:
    s = RunStore(None)
    try:
        s.create("r", "t", "w")
        s.append(event("r", 1))
        assert [e.seq for e in s.events("r")] == [1]
    finally:
        s.close()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- retention


def make_runs(
    store: RunStore, db: StoreDb, statuses: list[str], *, start: float, tag: str = ""
) -> list[str]:
    """One run per status, created one second apart from ``start``, with 3 events each."""
    ids = []
    for i, status in enumerate(statuses):
        run_id = f"{tag}{status}-{i}"
        store.create(run_id, "t", "w", status=status)  # type: ignore[arg-type]
        set_created_at(db, run_id, start + i)
        for seq in (1, 2, 3):
            store.append(event(run_id, seq))
        ids.append(run_id)
    return ids


def test_prune_by_max_runs_keeps_newest_finished_and_every_live_run(
    store: RunStore, db: StoreDb
) -> None:
    now = time.time()
    live = make_runs(store, db, ["running", "interrupted", "queued"], start=now - 1000)
    done = make_runs(
        store, db, ["completed", "failed", "cancelled", "abandoned", "completed"], start=now - 500
    )
    assert store.prune(max_runs=2) == 3
    left = {r.run_id for r in store.list_runs()}
    assert left == set(live) | set(done[-2:])
    for run_id in done[:3]:
        assert event_count(db, run_id) == 0
        with pytest.raises(NotFoundError):
            store.get(run_id)
    for run_id in [*live, *done[-2:]]:
        assert event_count(db, run_id) == 3


def test_prune_by_max_age_deletes_only_old_finished_runs(store: RunStore, db: StoreDb) -> None:
    now = time.time()
    old = make_runs(
        store, db, ["completed", "failed", "cancelled", "abandoned"], start=now - 5 * 86400
    )
    old_live = make_runs(store, db, ["running", "interrupted"], start=now - 5 * 86400, tag="live-")
    recent = make_runs(store, db, ["completed"], start=now - 60, tag="recent-")
    assert store.prune(max_age_days=1) == len(old)
    assert {r.run_id for r in store.list_runs()} == set(old_live) | set(recent)
    assert all(event_count(db, r) == 0 for r in old)
    assert all(event_count(db, r) == 3 for r in [*old_live, *recent])


def test_prune_without_limits_or_with_room_deletes_nothing(store: RunStore, db: StoreDb) -> None:
    ids = make_runs(store, db, ["completed", "failed"], start=time.time() - 10)
    assert store.prune() == 0
    assert store.prune(max_runs=5, max_age_days=30) == 0
    assert {r.run_id for r in store.list_runs()} == set(ids)


def test_prune_counts_a_run_matching_both_limits_once(store: RunStore, db: StoreDb) -> None:
    make_runs(store, db, ["completed", "completed"], start=time.time() - 10 * 86400)
    assert store.prune(max_runs=1, max_age_days=1) == 2
    assert store.list_runs() == []


# --------------------------------------------------------------------------- ownership


def test_owner_token_identifies_this_process() -> None:
    token = owner_token()
    host, pid, start = token.rsplit(":", 2)
    assert host == socket.gethostname()
    assert int(pid) == os.getpid()
    assert start.isdigit()
    assert owner_alive(token)


def test_owner_alive_for_dead_reused_foreign_and_bad_tokens() -> None:
    assert not owner_alive(dead_pid_token())
    host, pid, _start = owner_token().rsplit(":", 2)
    assert not owner_alive(f"{host}:{pid}:1")  # same pid, another start time: pid reused
    assert owner_alive("some-other-host.example:1:1")  # cannot tell: leave it alone
    assert not owner_alive(None)
    assert not owner_alive("")
    assert not owner_alive("garbage")


def test_reap_marks_runs_of_a_dead_process_abandoned(store: RunStore, db: StoreDb) -> None:
    store.create("dead-running", "t", "w", status="running")
    store.create("dead-queued", "t", "w", status="queued")
    token = dead_pid_token()
    set_owner(db, "dead-running", token)
    set_owner(db, "dead-queued", token)
    store.append(event("dead-running", 1))
    store.append(event("dead-running", 2))
    reaped = store.reap_abandoned()
    assert {r.run_id for r in reaped} == {"dead-running", "dead-queued"}
    for run_id in ("dead-running", "dead-queued"):
        rec = store.get(run_id)
        assert rec.status == "abandoned"
        assert rec.ended_at is not None
        assert rec.error["error_type"] == "Abandoned"
    assert store.get("dead-running").last_seq == 2
    assert store.reap_abandoned() == []  # once is enough


def test_reap_treats_a_reused_pid_as_dead(store: RunStore, db: StoreDb) -> None:
    store.create("r", "t", "w", status="running")
    host, pid, start = owner_token().rsplit(":", 2)
    set_owner(db, "r", f"{host}:{pid}:{int(start) + 1}")
    assert [r.run_id for r in store.reap_abandoned()] == ["r"]
    assert store.get("r").status == "abandoned"


def test_reap_treats_a_missing_owner_as_dead(store: RunStore, db: StoreDb) -> None:
    store.create("r", "t", "w", status="running")
    set_owner(db, "r", None)
    assert [r.run_id for r in store.reap_abandoned()] == ["r"]


def test_reap_leaves_live_owners_and_paused_runs_alone(store: RunStore, db: StoreDb) -> None:
    store.create("mine", "t", "w", status="running")
    store.create("live-other", "t", "w", status="running")
    store.create("foreign-host", "t", "w", status="running")
    store.create("dead-interrupted", "t", "w", status="interrupted")
    store.create("dead-completed", "t", "w", status="completed")
    dead = dead_pid_token()
    set_owner(db, "dead-interrupted", dead)
    set_owner(db, "dead-completed", dead)
    set_owner(db, "foreign-host", "elsewhere.example:4242:1")
    with idle_process() as sleeper:
        set_owner(db, "live-other", owner_token(sleeper.pid))
        assert store.reap_abandoned() == []
        # a second store of this process (same owner) does not reap this process's runs
        other = db.runs()
        try:
            assert other.reap_abandoned() == []
        finally:
            other.close()
    statuses = {r.run_id: r.status for r in store.list_runs()}
    assert statuses == {
        "mine": "running",
        "live-other": "running",
        "foreign-host": "running",
        "dead-interrupted": "interrupted",
        "dead-completed": "completed",
    }
    # once the other process is gone, its run is reaped
    assert [r.run_id for r in store.reap_abandoned()] == ["live-other"]


def test_reap_on_reopen_after_owner_died(db: StoreDb) -> None:
    """A store opened by a new process finds the dead process's running run."""
    code = (
        "import sys; from lgp_engine.runs import RunStore; "
        "from lgp_engine.backends.sql import open_database; "
        "s = RunStore(database=open_database(sys.argv[1])); "
        "s.create('r', 't', 'w', status='running'); s.close()"
    )
    done = run_python("-c", code, str(db.target), cwd=Path(__file__).parent)
    assert done.returncode == 0, done.stderr
    store = db.runs()
    try:
        assert store.get("r").status == "running"
        assert [r.run_id for r in store.reap_abandoned()] == ["r"]
        assert store.get("r").status == "abandoned"
    finally:
        store.close()
