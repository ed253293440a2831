"""Tests for lgp_engine.checkpointing: the SQLite/memory savers and their listings.

Checkpoints are produced by real runs of small workflows written into ``tmp_path``
(through the :class:`Executor`), then read back through :class:`CheckpointStore`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import json
import sqlite3
import textwrap
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.checkpointing import CheckpointStore, checkpoint_time, open_checkpoints
from lgp_engine.config import Settings
from lgp_engine.errors import CheckpointError, NotFoundError
from lgp_engine.executor import Executor, RunResult
from lgp_engine.loader import LoadedWorkflow, load_workflow, resolve_target

CHAIN = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int
    trail: list


def a(state):
    return {"x": state["x"] + 1, "trail": [*state.get("trail", []), "a"]}


def b(state):
    return {"x": state["x"] * 2, "trail": [*state.get("trail", []), "b"]}


def c(state):
    return {"x": state["x"] - 3, "trail": [*state.get("trail", []), "c"]}


workflow = StateGraph(State)
workflow.add_node("a", a)
workflow.add_node("b", b)
workflow.add_node("c", c)
workflow.add_edge(START, "a")
workflow.add_edge("a", "b")
workflow.add_edge("b", "c")
workflow.add_edge("c", END)
"""

# A loop of 298 "step" runs: input + step 0 + 298 = 300 checkpoints on one thread.
LOOP_300 = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int


def step(state):
    return {"x": state.get("x", 0) + 1}


def again(state):
    return "step" if state["x"] < 298 else END


builder = StateGraph(State)
builder.add_node("step", step)
builder.add_edge(START, "step")
builder.add_conditional_edges("step", again, ["step", END])
workflow = builder.compile().with_config(recursion_limit=1000)
"""

# Both processes reach node "gate" and wait there for each other, so that their
# 20 checkpoint writes each really overlap.
GATED = """
import os
import time
from pathlib import Path
from typing import TypedDict

from langgraph.graph import START, StateGraph


class State(TypedDict, total=False):
    x: int


def gate(state, config):
    here = Path(os.environ["GATE_DIR"])
    (here / (config["configurable"]["thread_id"] + ".ready")).touch()
    deadline = time.monotonic() + 30
    while len(list(here.glob("*.ready"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    return {"x": 0}


def bump(state):
    return {"x": state["x"] + 1}


workflow = StateGraph(State)
workflow.add_node("gate", gate)
workflow.add_edge(START, "gate")
prev = "gate"
for i in range(20):
    workflow.add_node(f"n{i}", bump)
    workflow.add_edge(prev, f"n{i}")
    prev = f"n{i}"
"""


# --------------------------------------------------------------------------- helpers


def load_src(tmp_path: Path, name: str, source: str) -> LoadedWorkflow:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    importlib.invalidate_caches()
    return load_workflow(resolve_target(str(path), project_dir=tmp_path))


def run(store: CheckpointStore, loaded: LoadedWorkflow, thread_id: str, x: int = 1) -> RunResult:
    result = Executor(loaded, store).invoke({"x": x}, thread_id=thread_id)
    assert result.status == "completed", result.error
    return result


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def event_checkpoint_ids(result: RunResult) -> list[str]:
    return [
        e.data["checkpoint_id"]
        for e in result.events
        if e.type == "checkpoint" and not e.data.get("path")
    ]


BACKENDS = ["sqlite", "memory"]


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CheckpointStore]:
    settings = Settings(project_dir=tmp_path, checkpointer={"backend": request.param})
    with open_checkpoints(settings) as store:
        yield store


# --------------------------------------------------------------------------- sqlite file


def test_sqlite_file_created_at_configured_path_in_wal_mode(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, checkpointer={"path": "data/state/cp.db"})
    db = tmp_path / "data" / "state" / "cp.db"
    assert not db.exists()
    with open_checkpoints(settings) as store:
        assert db.is_file()
        assert store.db_path == db
        assert store.backend == "sqlite"
        assert store.location == str(db)
        (mode,) = store.saver.conn.execute("PRAGMA journal_mode").fetchone()
        assert mode.lower() == "wal"
    assert not (tmp_path / ".lgp" / "checkpoints.db").exists()
    with sqlite3.connect(db) as conn:  # persisted, seen by any other connection
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert mode.lower() == "wal"
    assert {"checkpoints", "writes"} <= tables


def test_absolute_checkpoint_path(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "abs.db"
    settings = Settings(project_dir=tmp_path / "project", checkpointer={"path": str(db)})
    with open_checkpoints(settings) as store:
        assert store.db_path == db
    assert db.is_file()


@pytest.mark.parametrize("timeout_ms", [5000, 1234, 0])
def test_busy_timeout_is_honoured(tmp_path: Path, timeout_ms: int) -> None:
    settings = Settings(project_dir=tmp_path, checkpointer={"busy_timeout_ms": timeout_ms})
    with open_checkpoints(settings) as store:
        (value,) = store.saver.conn.execute("PRAGMA busy_timeout").fetchone()
    assert value == timeout_ms


def test_default_busy_timeout_is_5000(tmp_path: Path) -> None:
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        (value,) = store.saver.conn.execute("PRAGMA busy_timeout").fetchone()
    assert value == Settings().checkpointer.busy_timeout_ms == 5000


# --------------------------------------------------------------------------- threads


def test_threads_listing_paging_and_times(any_store: CheckpointStore, tmp_path: Path) -> None:
    loaded = load_src(tmp_path, "chain_threads", CHAIN)
    before = now()
    for tid in ("t-a", "t-b", "t-c"):
        run(any_store, loaded, tid)
    run(any_store, loaded, "t-a")  # t-a becomes the most recently updated
    after = now()

    listed = any_store.threads()
    assert [t.thread_id for t in listed] == ["t-a", "t-c", "t-b"]
    per_run = 5  # input, start, a, b, c
    assert [t.checkpoints for t in listed] == [2 * per_run, per_run, per_run]
    assert any_store.count_threads() == 3

    assert [t.thread_id for t in any_store.threads(limit=2)] == ["t-a", "t-c"]
    assert [t.thread_id for t in any_store.threads(limit=2, offset=2)] == ["t-b"]
    assert [t.thread_id for t in any_store.threads(limit=1, offset=1)] == ["t-c"]
    assert any_store.threads(limit=10, offset=3) == []

    slack = dt.timedelta(seconds=5)
    for info in listed:
        assert info.created_at is not None and info.updated_at is not None
        assert info.created_at.tzinfo is not None
        assert info.created_at <= info.updated_at
        assert before - slack <= info.created_at <= after + slack
        assert before - slack <= info.updated_at <= after + slack
    t_a, t_c = listed[0], listed[1]
    assert t_a.updated_at > t_c.updated_at
    assert t_a.created_at < t_c.created_at  # t-a was created first, updated last

    one = any_store.thread("t-b")
    assert one == listed[2]
    with pytest.raises(NotFoundError, match="nope"):
        any_store.thread("nope")


def test_checkpoint_time_of_a_fresh_checkpoint_is_now(tmp_path: Path) -> None:
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        result = run(store, load_src(tmp_path, "chain_time", CHAIN), "clock")
    ids = event_checkpoint_ids(result)
    newest = checkpoint_time(ids[-1])
    assert newest is not None
    assert abs((now() - newest).total_seconds()) < 5
    times = [checkpoint_time(i) for i in ids]
    assert times == sorted(times)
    assert checkpoint_time(str(uuid.uuid4())) is None  # not a UUIDv6
    assert checkpoint_time("not-a-uuid") is None


def test_checkpoint_time_reads_every_spelling_of_a_uuid_alike(tmp_path: Path) -> None:
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        result = run(store, load_src(tmp_path, "chain_spell", CHAIN), "spell")
    cid = event_checkpoint_ids(result)[-1]
    expected = checkpoint_time(cid)
    assert expected is not None
    u = uuid.UUID(cid)
    for spelling in (cid.upper(), u.hex, "{" + cid + "}", u.urn):
        assert checkpoint_time(spelling) == expected, spelling
    bad_variant = cid[:19] + "c" + cid[20:]  # Microsoft variant: no UUID version
    wrong_version = cid[:14] + "1" + cid[15:]
    for bad in (bad_variant, wrong_version, cid[:-1] + "g", cid[:-1] + "_", ""):
        assert checkpoint_time(bad) is None, bad


# --------------------------------------------------------------------------- history


def test_history_newest_first_with_steps_writes_next_and_parents(
    any_store: CheckpointStore, tmp_path: Path
) -> None:
    result = run(any_store, load_src(tmp_path, "chain_hist", CHAIN), "h1")
    history = any_store.history("h1")
    assert [c.step for c in history] == [3, 2, 1, 0, -1]
    assert [c.checkpoint_id for c in history] == event_checkpoint_ids(result)[::-1]
    assert [c.source for c in history] == ["loop", "loop", "loop", "loop", "input"]

    for newer, older in itertools.pairwise(history):
        assert newer.parent_id == older.checkpoint_id
        assert newer.created_at is not None and older.created_at is not None
        assert newer.created_at >= older.created_at
    assert history[-1].parent_id is None

    by_step = {c.step: c for c in history}
    assert by_step[1].writes == ("a",)  # the checkpoint after node a
    assert by_step[1].next == ("b",)  # ... is the one before node b
    assert by_step[2].writes == ("b",)
    assert by_step[2].next == ("c",)
    assert by_step[3].writes == ("c",)
    assert by_step[3].next == ()
    assert by_step[0].next == ("a",)
    assert by_step[-1].writes == ("__input__",)

    assert [c.step for c in any_store.history("h1", limit=2)] == [3, 2]
    assert [c.step for c in any_store.history("h1", limit=2, offset=2)] == [1, 0]
    assert [c.step for c in any_store.history("h1", limit=2, offset=4)] == [-1]
    assert any_store.history("h1", offset=5) == []
    assert any_store.history("unknown-thread") == []


def test_history_spans_runs_on_one_thread(any_store: CheckpointStore, tmp_path: Path) -> None:
    loaded = load_src(tmp_path, "chain_runs", CHAIN)
    first = run(any_store, loaded, "twice")
    second = run(any_store, loaded, "twice")
    history = any_store.history("twice")
    assert len(history) == 10
    assert [c.step for c in history] == [8, 7, 6, 5, 4, 3, 2, 1, 0, -1]
    ids = [c.checkpoint_id for c in history]
    assert ids == (event_checkpoint_ids(first) + event_checkpoint_ids(second))[::-1]
    # the second run's input checkpoint continues the first run's last one
    second_input = next(c for c in history if c.step == 4)
    assert second_input.source == "input"
    assert second_input.parent_id == event_checkpoint_ids(first)[-1]


def test_history_reads_a_page_in_a_few_queries_whatever_its_size(tmp_path: Path) -> None:
    """No query per checkpoint: a run's last checkpoint (no task ran from it) is read
    with the others in a batch, so a page of 100 costs what a page of 10 does."""
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        loaded = load_src(tmp_path, "chain_batch", CHAIN)
        for _ in range(20):  # 100 checkpoints, 20 of them the last of a run
            run(store, loaded, "batch")
        queries: list[str] = []
        scan = store._scan

        def counted(sql: str, *args: Any, **kwargs: Any) -> None:
            queries.append(sql)
            scan(sql, *args, **kwargs)

        store._scan = counted  # type: ignore[method-assign]
        small = store.history("batch", limit=10)
        few = len(queries)
        queries.clear()
        page = store.history("batch", limit=100)
        assert len(page) == 100 and len(small) == 10
        assert len(queries) <= few <= 4, queries
        assert [c.next for c in page if c.step is not None and c.step % 5 == 3] == [()] * 20
        assert {c.next for c in page if c.source == "input"} == {("__start__",)}


def test_three_hundred_checkpoints_page_by_hundred(tmp_path: Path) -> None:
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        result = Executor(load_src(tmp_path, "loop300", LOOP_300), store).invoke(
            {"x": 0}, thread_id="big"
        )
        assert result.status == "completed", result.error
        assert result.output == {"x": 298}
        assert store.thread("big").checkpoints == 300
        pages = [store.history("big", limit=100, offset=o) for o in (0, 100, 200)]
        assert store.history("big", limit=100, offset=300) == []
        with sqlite3.connect(store.db_path) as conn:
            all_ids = [
                r[0]
                for r in conn.execute(
                    "SELECT checkpoint_id FROM checkpoints WHERE thread_id = 'big' "
                    "AND checkpoint_ns = '' ORDER BY checkpoint_id DESC"
                )
            ]
    assert [len(p) for p in pages] == [100, 100, 100]
    ids = [c.checkpoint_id for page in pages for c in page]
    assert len(set(ids)) == 300  # no overlap
    assert ids == all_ids  # together, every id, newest first
    assert set(ids) == set(event_checkpoint_ids(result))
    steps = [c.step for page in pages for c in page]
    assert steps == list(range(298, -2, -1))
    assert pages[0][-1].parent_id == pages[1][0].checkpoint_id  # pages join up


# --------------------------------------------------------------------------- memory


def test_memory_backend_writes_no_file(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, checkpointer={"backend": "memory"})
    with open_checkpoints(settings) as store:
        assert store.backend == "memory"
        assert store.location == "memory"
        run(store, load_src(tmp_path, "chain_mem", CHAIN), "m1")
        assert store.count_threads() == 1
    assert not (tmp_path / ".lgp").exists()
    with open_checkpoints(settings) as fresh:  # memory does not outlive the store
        assert fresh.threads() == []


def test_memory_and_sqlite_histories_agree(tmp_path: Path) -> None:
    loaded = load_src(tmp_path, "chain_same", CHAIN)
    shapes = {}
    for backend in BACKENDS:
        settings = Settings(project_dir=tmp_path, checkpointer={"backend": backend})
        with open_checkpoints(settings) as store:
            run(store, loaded, "same")
            shapes[backend] = [(c.step, c.source, c.writes, c.next) for c in store.history("same")]
    assert shapes["memory"] == shapes["sqlite"]


# --------------------------------------------------------------------------- readonly


def test_readonly_without_database_creates_nothing(tmp_path: Path, tree_snapshot) -> None:
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    before = tree_snapshot(tmp_path)
    settings = Settings(project_dir=tmp_path)
    with open_checkpoints(settings, readonly=True) as store:
        assert store.threads() == []
        assert store.count_threads() == 0
        assert store.history("t1") == []
        with pytest.raises(NotFoundError, match="t1"):
            store.thread("t1")
    assert tree_snapshot(tmp_path) == before
    assert not (tmp_path / ".lgp").exists()


def test_readonly_lists_what_a_writer_stored(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path)
    with open_checkpoints(settings) as store:
        run(store, load_src(tmp_path, "chain_ro", CHAIN), "ro")
        expected = store.history("ro")
    with open_checkpoints(settings, readonly=True) as ro:
        assert [t.thread_id for t in ro.threads()] == ["ro"]
        assert ro.thread("ro").checkpoints == 5
        assert ro.history("ro") == expected


# --------------------------------------------------------------------------- corrupt file


def corrupt_db(tmp_path: Path) -> Settings:
    db = tmp_path / ".lgp" / "checkpoints.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not an sqlite database\x00\xff" * 200)
    return Settings(project_dir=tmp_path)


def test_corrupt_database_is_a_checkpoint_error(tmp_path: Path) -> None:
    settings = corrupt_db(tmp_path)
    with pytest.raises(CheckpointError) as info, open_checkpoints(settings):
        pass
    err = info.value
    assert not isinstance(err, sqlite3.Error)
    assert str(tmp_path / ".lgp" / "checkpoints.db") in str(err)
    assert "not a database" in str(err)
    assert err.exit_code == 2


def test_corrupt_database_readonly_listing_is_a_checkpoint_error(tmp_path: Path) -> None:
    settings = corrupt_db(tmp_path)
    with open_checkpoints(settings, readonly=True) as store:
        for listing in (store.threads, store.count_threads, lambda: store.history("t1")):
            with pytest.raises(CheckpointError) as info:
                listing()
            assert not isinstance(info.value, sqlite3.Error)
            assert str(tmp_path / ".lgp" / "checkpoints.db") in str(info.value)


def test_cli_run_on_a_corrupt_database_is_one_clear_line(tmp_path: Path, lgp) -> None:
    corrupt_db(tmp_path)
    (tmp_path / "chain.py").write_text(textwrap.dedent(CHAIN).lstrip("\n"), encoding="utf-8")
    proc = lgp("run", "chain.py", "--input", '{"x": 1}', cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("[lgp] ❌ Checkpoint error:"), lines[0]
    assert "checkpoints.db" in lines[0] and "not a database" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_threads_on_a_corrupt_database_is_a_checkpoint_error(tmp_path: Path, lgp) -> None:
    corrupt_db(tmp_path)
    proc = lgp("threads", cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("[lgp] ❌ Checkpoint error:"), proc.stderr
    assert "checkpoints.db" in proc.stderr


# --------------------------------------------------------------------------- concurrency


def test_eight_threads_share_one_store(tmp_path: Path) -> None:
    loaded = load_src(tmp_path, "chain_conc", CHAIN)
    barrier = threading.Barrier(8)

    def worker(i: int) -> list[RunResult]:
        ex = Executor(loaded, store)
        barrier.wait(timeout=10)
        return [ex.invoke({"x": i}, thread_id=f"w{i}") for _ in range(3)]

    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(worker, range(8)))
        for i, runs in enumerate(results):
            for r in runs:
                assert r.status == "completed", r.error
                assert r.thread_id == f"w{i}"
            assert runs[-1].output["trail"] == ["a", "b", "c"] * 3
            assert store.thread(f"w{i}").checkpoints == 15
        assert store.count_threads() == 8


def test_two_processes_write_one_database(tmp_path: Path, lgp) -> None:
    (tmp_path / "gated.py").write_text(textwrap.dedent(GATED).lstrip("\n"), encoding="utf-8")
    gate_dir = tmp_path / "gate"
    gate_dir.mkdir()

    def one(thread_id: str) -> Any:
        return lgp(
            "run",
            "gated.py",
            "--thread",
            thread_id,
            "--json",
            cwd=tmp_path,
            env={"GATE_DIR": str(gate_dir)},
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(one, ["p1", "p2"]))
    for proc in procs:
        assert proc.returncode == 0, proc.stderr
        assert "locked" not in proc.stderr + proc.stdout
        last = json.loads(proc.stdout.splitlines()[-1])
        assert last["type"] == "run.completed", last
        assert last["data"]["output"] == {"x": 20}
    assert sorted(p.name for p in gate_dir.iterdir()) == ["p1.ready", "p2.ready"]
    with open_checkpoints(Settings(project_dir=tmp_path), readonly=True) as store:
        assert store.count_threads() == 2
        assert store.thread("p1").checkpoints == store.thread("p2").checkpoints == 23
