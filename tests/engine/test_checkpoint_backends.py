"""One conformance suite for the checkpoint backends that persist: SQLite and
PostgreSQL (issue 15).

Every test runs real LangGraph workflows through the executor or the runner on each
backend and reads the result back through :class:`CheckpointStore`, the long-term
store and the node cache; a few compare the two backends' answers for the same runs.
The PostgreSQL cases get a database of their own (``postgres_dsn``, skipped when the
machine has no server).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine import Runner, Settings, load_workflow, resolve_target
from lgp_engine.backends.memory_store import MemoryStores
from lgp_engine.backends.node_cache import NodeCacheDb
from lgp_engine.checkpointing import CheckpointStore, open_async_checkpoints, open_checkpoints
from lgp_engine.errors import AmbiguousError, CheckpointError, ConfigError, NotFoundError
from lgp_engine.events import RunEvent
from lgp_engine.executor import Executor
from lgp_engine.loader import LoadedWorkflow
from lgp_engine.providers.redact import REDACTED
from lgp_engine.timetravel import state_at
from tests.engine.test_checkpointing import CHAIN, event_checkpoint_ids, load_src, run
from tests.processes import process_env, wait_until
from tests.workflows import copy_workflows

BACKENDS = ["sqlite", "postgres"]

# A node that remembers what it saw in the long-term store (LangGraph injects it).
REMEMBERS = """
from typing import TypedDict

from langgraph.graph import START, StateGraph
from langgraph.store.base import BaseStore


class S(TypedDict, total=False):
    text: str
    seen: int


def remember(state: S, *, store: BaseStore) -> dict:
    store.put(("notes",), state["text"], {"text": state["text"]})
    return {"seen": len(store.search(("notes",), limit=100))}


b = StateGraph(S)
b.add_node("remember", remember)
b.add_edge(START, "remember")
graph = b.compile()
"""

EMBED = """
async def embed(texts):
    return [[float("tea" in t), float("cat" in t), 1.0] for t in texts]
"""

# enrich has a cache policy; each of its executions adds a line to a file.
CACHED = """
from typing import TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import CachePolicy

COUNTER = {counter!r}


class S(TypedDict, total=False):
    x: int
    y: int
    z: int


def enrich(state: S) -> dict:
    with open(COUNTER, "a", encoding="utf-8") as f:
        f.write("enrich\\n")
    return {{"y": state["x"] * 3}}


def total(state: S) -> dict:
    return {{"z": state["y"] + 1}}


b = StateGraph(S)
b.add_node("enrich", enrich, cache_policy=CachePolicy(ttl=3600))
b.add_node("total", total)
b.add_edge(START, "enrich")
b.add_edge("enrich", "total")
graph = b.compile()
"""


# --------------------------------------------------------------------------- fixtures


def settings_for(backend: str, project: Path, dsn: str | None = None, **extra: Any) -> Settings:
    checkpointer: dict[str, Any] = {"backend": backend}
    if backend == "postgres":
        checkpointer["dsn"] = dsn
    return Settings(project_dir=project, checkpointer=checkpointer, **extra)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    dsn = request.getfixturevalue("postgres_dsn") if backend == "postgres" else None
    return settings_for(backend, tmp_path, dsn)


@pytest.fixture
def store(settings: Settings) -> Iterator[CheckpointStore]:
    with open_checkpoints(settings) as opened:
        yield opened


@pytest.fixture
def runner(settings: Settings) -> Iterator[Runner]:
    with Runner.open(settings) as opened:
        yield opened


def shared(name: str, tmp_path: Path) -> LoadedWorkflow:
    (path,) = copy_workflows(tmp_path, name)
    return load_workflow(resolve_target(str(path), project_dir=tmp_path))


def pg_rows(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def tables(dsn: str) -> set[str]:
    return {
        r[0]
        for r in pg_rows(
            dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    }


def outcome(events: list[RunEvent]) -> RunEvent:
    assert events, "no events"
    return events[-1]


# --------------------------------------------------------------------------- the store itself


def test_location_and_backend_say_where_without_a_password(
    settings: Settings, store: CheckpointStore, backend: str
) -> None:
    assert store.backend == backend
    if backend == "postgres":
        assert store.db_path is None
        assert store.dsn == settings.checkpointer.postgres_dsn
        assert store.location.startswith("postgresql://postgres@127.0.0.1")
        assert store.location.endswith(store.dsn.rsplit("/", 1)[1])
    else:
        assert store.dsn is None
        assert store.location == str(store.db_path)


def test_threads_history_paging_and_lookups(store: CheckpointStore, tmp_path: Path) -> None:
    loaded = load_src(tmp_path, "chain_b", CHAIN)
    results = {tid: run(store, loaded, tid) for tid in ("t-a", "t-b", "t-c")}
    second = run(store, loaded, "t-a")  # t-a becomes the most recently updated

    listed = store.threads()
    assert [(t.thread_id, t.checkpoints) for t in listed] == [("t-a", 10), ("t-c", 5), ("t-b", 5)]
    assert store.count_threads() == 3
    assert [t.thread_id for t in store.threads(limit=1, offset=1)] == ["t-c"]
    assert store.thread("t-b") == listed[2]
    with pytest.raises(NotFoundError, match="nope"):
        store.thread("nope")

    history = store.history("t-a")
    ids = event_checkpoint_ids(results["t-a"]) + event_checkpoint_ids(second)
    assert [c.checkpoint_id for c in history] == ids[::-1]
    assert [c.step for c in history] == [8, 7, 6, 5, 4, 3, 2, 1, 0, -1]
    assert [(c.writes, c.next) for c in history[:5]] == [
        (("c",), ()),
        (("b",), ("c",)),
        (("a",), ("b",)),
        (("__start__",), ("a",)),
        (("__input__",), ("__start__",)),
    ]
    assert history[4].parent_id == ids[4]  # the second run continues the first
    assert [c.step for c in store.history("t-a", limit=3, offset=7)] == [1, 0, -1]
    assert store.history("t-a", offset=10) == []
    assert store.history("unknown") == []
    assert store.checkpoint("t-a", ids[2]) == history[-3]
    assert store.checkpoint("t-a", "nope") is None
    assert store.namespaces("t-a") == [""]

    newest = ids[-1]
    assert store.find_checkpoint("t-a", newest) == newest
    assert store.find_checkpoint("t-a", newest[-12:]) == newest  # a unique part
    with pytest.raises(AmbiguousError):
        store.find_checkpoint("t-a", newest[:8])  # the time part all of them share
    with pytest.raises(NotFoundError):
        store.find_checkpoint("t-a", "zzzzzzzz")


def test_a_history_page_costs_a_few_queries_whatever_its_size(
    store: CheckpointStore, tmp_path: Path
) -> None:
    loaded = load_src(tmp_path, "chain_q", CHAIN)
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
    assert {c.next for c in page if c.source == "input"} == {("__start__",)}


def test_send_fan_out_subgraphs_and_interrupts_read_alike_on_both_backends(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """The same runs give the same listings on SQLite and PostgreSQL: the nodes a
    checkpoint's Send packets go to, subgraph namespaces, interrupted heads."""
    fan = shared("fan_out.py", tmp_path)
    sub = shared("subflow.py", tmp_path)
    seen: dict[str, Any] = {}
    for name, dsn in (("sqlite", None), ("postgres", postgres_dsn)):
        with open_checkpoints(settings_for(name, tmp_path, dsn)) as store:
            assert Executor(fan, store).invoke({}, thread_id="fan").status == "completed"
            assert Executor(sub, store).invoke({"x": 1}, thread_id="sub").status == "interrupted"
            namespaces = store.namespaces("sub")
            heads = store.heads(["fan", "sub", "none"])
            seen[name] = {
                "fan": [(c.step, c.source, c.writes, c.next) for c in store.history("fan")],
                "sub": [(c.step, c.source, c.writes, c.next) for c in store.history("sub")],
                "namespaces": len(namespaces),
                "inner": [
                    [(c.step, c.writes, c.next) for c in store.history("sub", checkpoint_ns=ns)]
                    for ns in namespaces
                    if ns
                ],
                "heads": {
                    tid: (
                        h.next,
                        h.checkpoint["channel_values"].get("x"),
                        sorted(w[1] for w in h.pending_writes),
                        h.metadata.get("source"),
                    )
                    for tid, h in heads.items()
                },
            }
    assert seen["postgres"] == seen["sqlite"]
    fan_history = seen["sqlite"]["fan"]
    assert fan_history[0][2] == ("work",)  # the Send tasks ran
    assert any(c[3] == ("work",) for c in fan_history)  # ... from the packets' checkpoint
    assert seen["sqlite"]["heads"]["sub"][0] == ("ask",)
    assert seen["sqlite"]["heads"]["sub"][1] == 12  # 1 + 1 (step1) + 10 (sub_a)
    assert "__interrupt__" in seen["sqlite"]["heads"]["sub"][2]
    assert seen["sqlite"]["namespaces"] == 2 and seen["sqlite"]["inner"][0]
    assert set(seen["sqlite"]["heads"]) == {"fan", "sub"}


# --------------------------------------------------------------------------- fork, copy, delete


def test_fork_lineage_and_state_at(runner: Runner, tmp_path: Path) -> None:
    wf = load_src(tmp_path, "chain_fork", CHAIN)
    first = list(runner.start(wf, {"x": 1}, thread_id="f"))
    assert outcome(first).data["output"]["x"] == 1  # ((1 + 1) * 2) - 3
    after_a = next(c for c in runner.store.history("f") if c.writes == ("a",))
    forked = list(runner.fork(wf, "f", after_a.checkpoint_id, {"x": 10}, as_node="a"))
    assert outcome(forked).type == "run.completed", outcome(forked).data
    assert outcome(forked).data["output"]["x"] == 17  # (10 * 2) - 3
    children = [c for c in runner.store.history("f") if c.parent_id == after_a.checkpoint_id]
    assert sorted(c.source or "" for c in children) == ["loop", "update"]
    head = state_at(runner.store, "f")
    assert head.values["x"] == 17
    steps = runner.store.lineage_steps("f", head.checkpoint_id)
    assert {run for _, run in steps} == {first[0].run_id, forked[0].run_id}
    old_head = event_checkpoint_ids_of(first)[-1]
    assert {run for _, run in runner.store.lineage_steps("f", old_head)} == {first[0].run_id}
    assert state_at(runner.store, "f", old_head).values["x"] == 1


def event_checkpoint_ids_of(events: list[RunEvent]) -> list[str]:
    return [
        e.data["checkpoint_id"] for e in events if e.type == "checkpoint" and not e.data["path"]
    ]


def test_copy_thread_copies_the_whole_history_and_goes_on_alone(
    runner: Runner, tmp_path: Path
) -> None:
    wf = shared("subflow.py", tmp_path)
    list(runner.start(wf, {"x": 1}, thread_id="orig"))  # stops at ask (interrupted)
    before = runner.store.history("orig")
    runner.store.copy_thread("orig", "copy")
    assert runner.store.history("copy") == before
    assert runner.store.namespaces("copy") == runner.store.namespaces("orig")
    assert state_at(runner.store, "copy").values == state_at(runner.store, "orig").values
    assert runner.store.heads(["copy"])["copy"].next == ("ask",)

    done = list(runner.resume(wf, "copy", "yes"))
    assert outcome(done).type == "run.completed", outcome(done).data
    assert state_at(runner.store, "copy").values["answer"] == "yes"
    assert runner.store.history("orig") == before  # the original did not move
    assert runner.store.heads(["orig"])["orig"].next == ("ask",)
    assert runner.store.count_threads() == 2


def test_delete_runs_takes_the_thread_back_to_before_them(
    runner: Runner, tmp_path: Path, settings: Settings
) -> None:
    wf = load_src(tmp_path, "chain_del", CHAIN)
    first = list(runner.start(wf, {"x": 1}, thread_id="d"))
    blobs_after_first = blob_count(settings, "d")
    second = list(runner.start(wf, {"x": 5}, thread_id="d"))
    third = list(runner.start(wf, {"x": 7}, thread_id="other"))
    assert runner.store.thread("d").checkpoints == 10

    runner.store.delete_runs([second[0].run_id], thread_id="d")
    assert runner.store.thread("d").checkpoints == 5
    assert [c.checkpoint_id for c in runner.store.history("d")] == (
        event_checkpoint_ids_of(first)[::-1]
    )
    assert state_at(runner.store, "d").values["x"] == 1  # what the first run left
    assert blob_count(settings, "d") == blobs_after_first  # the second's blobs went too

    runner.store.delete_runs([third[0].run_id])  # without a thread: found anywhere
    assert runner.store.history("other") == []
    assert runner.store.thread("d").checkpoints == 5
    again = list(runner.start(wf, {"x": 2}, thread_id="d"))  # the thread goes on
    assert outcome(again).data["output"]["x"] == 3  # ((2 + 1) * 2) - 3
    assert runner.store.thread("d").checkpoints == 10

    runner.forget_runs([again[0].run_id])  # as a rollback does: checkpoints and record
    assert runner.store.thread("d").checkpoints == 5
    with pytest.raises(NotFoundError):
        runner.runs.get(again[0].run_id)


def blob_count(settings: Settings, thread_id: str) -> int | None:
    """PostgreSQL keeps channel values apart from checkpoints (``checkpoint_blobs``)."""
    if settings.checkpointer.backend != "postgres":
        return None
    rows = pg_rows(
        settings.checkpointer.postgres_dsn,
        "SELECT COUNT(*) FROM checkpoint_blobs WHERE thread_id = %s",
        (thread_id,),
    )
    return int(rows[0][0])


def test_a_secret_in_the_configurable_is_masked_in_the_checkpoints(
    store: CheckpointStore, tmp_path: Path, settings: Settings
) -> None:
    secret = "sk-conformance-secret-5e1d"
    loaded = load_src(tmp_path, "chain_secret", CHAIN)
    result = Executor(loaded, store).invoke(
        {"x": 1},
        thread_id="s",
        config={"configurable": {"api_key": secret, "user_id": "u7"}},
    )
    assert result.status == "completed", result.error
    saved = list(store.reader().list({"configurable": {"thread_id": "s"}}))
    assert len(saved) == 5
    for tup in saved:
        assert tup.metadata.get("api_key") == REDACTED
        assert tup.metadata.get("user_id") == "u7"
    if settings.checkpointer.backend == "postgres":
        dsn = settings.checkpointer.postgres_dsn
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
            dump = pg_rows(dsn, f"SELECT COALESCE(string_agg(t::text, ''), '') FROM {table} t")
            assert secret not in dump[0][0], table
    else:
        assert store.db_path is not None
        with sqlite3.connect(store.db_path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert secret.encode() not in store.db_path.read_bytes()


# --------------------------------------------------------------------------- PostgreSQL only


def test_readonly_on_postgres_connects_and_creates_no_table(
    tmp_path: Path, postgres_dsn: str
) -> None:
    settings = settings_for("postgres", tmp_path, postgres_dsn)
    with open_checkpoints(settings, readonly=True) as store:
        assert store.threads() == [] and store.count_threads() == 0
        assert store.history("t1") == [] and store.namespaces("t1") == []
        assert store.heads(["t1"]) == {}
        with pytest.raises(NotFoundError, match="t1"):
            store.thread("t1")
    assert tables(postgres_dsn) == set()
    with open_checkpoints(settings) as writer:
        run(writer, load_src(tmp_path, "chain_ro", CHAIN), "ro")
        expected = writer.history("ro")
    with open_checkpoints(settings, readonly=True) as store:
        assert [t.thread_id for t in store.threads()] == ["ro"]
        assert store.history("ro") == expected
        assert state_at(store, "ro").values["x"] == 1
    assert not (tmp_path / ".lgp").exists()  # nothing on disk either


def test_a_steps_writes_are_one_statement_with_langgraphs_rows(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """Our saver writes a task's writes in one multi-row statement; the rows, and what
    a write again does (kept for ordinary channels, replaced for special ones, the
    last of two writes to one special channel winning), are LangGraph's saver's."""
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    calls: list[tuple[list[tuple[str, Any]], str]] = [
        ([("a", 1), ("b", {"x": [1, 2]}), ("branch:to:c", None)], "t1"),
        ([("a", 2), ("b", "again")], "t1"),  # same keys: kept as first written
        ([("__error__", "boom"), ("__interrupt__", {"v": 1})], "t2"),
        ([("__error__", "boom2"), ("__interrupt__", {"v": 2})], "t2"),  # replaced
        ([("__interrupt__", {"v": 3}), ("__interrupt__", {"v": 4})], "t3"),  # one idx
    ]

    def rows(thread_id: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(postgres_dsn) as conn:
            return conn.execute(
                "SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, "
                "blob FROM checkpoint_writes WHERE thread_id = %s ORDER BY task_id, idx",
                (thread_id,),
            ).fetchall()

    settings = settings_for("postgres", tmp_path, postgres_dsn)
    with (
        open_checkpoints(settings) as store,
        psycopg.connect(
            postgres_dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row
        ) as conn,
    ):
        stock = PostgresSaver(conn)
        for saver, thread_id in ((store.saver, "ours"), (stock, "stock")):
            for writes, task in calls:
                config = {
                    "configurable": {
                        "thread_id": thread_id,
                        "checkpoint_ns": "",
                        "checkpoint_id": "cp-1",
                    }
                }
                saver.put_writes(config, writes, task, "path")
    assert rows("ours") == rows("stock")
    # t1: a, b, branch (the second call's a and b kept as first written); t2: error,
    # interrupt (replaced); t3: one interrupt (the last)
    assert [(r[2], r[5]) for r in rows("ours")] == [
        ("t1", "a"),
        ("t1", "b"),
        ("t1", "branch:to:c"),
        ("t2", "__interrupt__"),
        ("t2", "__error__"),
        ("t3", "__interrupt__"),
    ]


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    dsn = "postgresql://lgp:s3cret-pw@127.0.0.1:1/nowhere"
    settings = settings_for("postgres", tmp_path, dsn)
    for opening in (
        lambda: open_checkpoints(settings).__enter__(),
        lambda: open_checkpoints(settings, readonly=True).__enter__(),
        lambda: NodeCacheDb(settings, None),
        lambda: MemoryStores(settings, None).default(),
    ):
        with pytest.raises(CheckpointError) as info:
            opening()
        message = str(info.value)
        assert "s3cret" not in message and "\n" not in message, message
        assert "postgresql://lgp@127.0.0.1:1/nowhere" in message, message
        assert info.value.exit_code == 2


def test_async_calls_wait_off_the_event_loop(tmp_path: Path, postgres_dsn: str) -> None:
    """A query that waits (here on a lock another session holds) does not stop the
    event loop: other coroutines keep running meanwhile."""
    import psycopg

    settings = settings_for("postgres", tmp_path, postgres_dsn)

    async def measure() -> tuple[int, float]:
        async with open_async_checkpoints(settings) as store:
            config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
            assert await store.saver.aget_tuple(config) is None
            with psycopg.connect(postgres_dsn) as locker:
                locker.execute("BEGIN")
                locker.execute("LOCK TABLE checkpoints IN ACCESS EXCLUSIVE MODE")
                ticks = 0

                async def ticker() -> None:
                    nonlocal ticks
                    while True:
                        await asyncio.sleep(0.01)
                        ticks += 1

                ticking = asyncio.create_task(ticker())
                started = time.monotonic()
                query = asyncio.create_task(store.saver.aget_tuple(config))
                await asyncio.sleep(0.5)
                locker.execute("COMMIT")
                assert await query is None
                waited = time.monotonic() - started
                ticking.cancel()
                return ticks, waited

    ticks, waited = asyncio.run(measure())
    assert waited >= 0.5
    assert ticks >= 20, ticks  # ~50 with a free loop, 0 if the query held it


SETUP_ALL = """
import sys, time
from pathlib import Path
from lgp_engine import Settings
from lgp_engine.backends.memory_store import MemoryStores
from lgp_engine.backends.node_cache import NodeCacheDb
from lgp_engine.checkpointing import open_checkpoints

here = Path(sys.argv[1])
store = {{"index": {{"dims": 3, "embed": "./emb.py:embed"}}}} if {index} else {{}}
settings = Settings(
    project_dir=here,
    checkpointer={{"backend": "postgres", "dsn": sys.argv[2]}},
    store=dict(store, ttl={{"default_ttl": 5}}),
)
(here / f"ready-{{sys.argv[3]}}").touch()
while not (here / "go").exists():
    time.sleep(0.002)
with open_checkpoints(settings) as checkpoints:
    memory = MemoryStores(settings, None)
    memory.default().put(("p",), sys.argv[3], {{"text": "tea"}})
    cache = NodeCacheDb(settings, None)
    cache.close()
    memory.close()
    print("ok", checkpoints.count_threads())
"""


def pgvector_available() -> bool:
    from tests import postgres

    postgres.require()
    return bool(
        pg_rows(
            f"{postgres.SERVER}/postgres",
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'",
        )
    )


def test_processes_setting_up_an_empty_database_at_once_all_succeed(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """Three processes open the checkpoints, the long-term store (with an index when
    the server has pgvector, whose setup creates indexes concurrently) and the node
    cache on one empty database at the same moment: each succeeds, the schema is
    made once."""
    index = pgvector_available()
    (tmp_path / "emb.py").write_text(textwrap.dedent(EMBED), encoding="utf-8")
    script = tmp_path / "setup_all.py"
    script.write_text(SETUP_ALL.format(index=index), encoding="utf-8")
    env = process_env({"PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), postgres_dsn, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(3)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < 3 and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        (tmp_path / "go").touch()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert out.strip() == "ok 0", (out, err)
    from langgraph.checkpoint.postgres.base import MIGRATIONS

    assert pg_rows(postgres_dsn, "SELECT COUNT(*), MAX(v) FROM checkpoint_migrations") == [
        (len(MIGRATIONS), len(MIGRATIONS) - 1)
    ]
    assert pg_rows(postgres_dsn, "SELECT name, version FROM lgp_migrations") == [("node_cache", 1)]
    assert pg_rows(postgres_dsn, "SELECT key FROM store ORDER BY key") == [("0",), ("1",), ("2",)]
    if index:
        assert pg_rows(postgres_dsn, "SELECT COUNT(*) FROM store_vectors") == [(3,)]


# --------------------------------------------------------------------------- long-term store


def test_the_long_term_store_with_an_index_and_a_ttl(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "postgres" and not pgvector_available():
        pytest.skip("the PostgreSQL server has no pgvector extension (store.index needs it)")
    dsn = request.getfixturevalue("postgres_dsn") if backend == "postgres" else None
    app = tmp_path / "app"
    app.mkdir()
    (app / "emb.py").write_text(textwrap.dedent(EMBED), encoding="utf-8")
    (app / "graph.py").write_text(textwrap.dedent(REMEMBERS), encoding="utf-8")
    config = {
        "graphs": {"g": "./graph.py:graph"},
        "store": {
            "index": {"dims": 3, "embed": "./emb.py:embed", "fields": ["text"]},
            "ttl": {"default_ttl": 60, "sweep_interval_minutes": 1},
        },
    }
    (app / "langgraph.json").write_text(json.dumps(config), encoding="utf-8")
    wf = load_workflow(resolve_target("app/langgraph.json", project_dir=tmp_path))
    with Runner.open(settings_for(backend, tmp_path, dsn)) as runner:
        store = runner.long_term_store(wf)
        assert store is runner.long_term_store(wf)  # one per store section
        assert store._ttl_sweeper_thread is not None
        for text, seen in (("likes tea", 1), ("has a cat", 2)):
            events = list(runner.start(wf, {"text": text}))
            assert outcome(events).type == "run.completed", outcome(events).data
            assert outcome(events).data["output"]["seen"] == seen

        async def search() -> list[str]:
            found = await store.asearch(("notes",), query="a cat", limit=1)
            return [i.key for i in found]

        assert asyncio.run(search()) == ["has a cat"]
        assert [i.key for i in store.search(("notes",), query="tea", limit=1)] == ["likes tea"]
        store.put(("notes",), "brief", {"text": "gone soon"}, ttl=0.0005)  # 30 ms
        assert store.get(("notes",), "brief") is not None
        # SQLite keeps expiry times to the second: the sweep deletes it within ~1 s
        wait_until(lambda: store.sweep_ttl() == 1, timeout=5, what="the sweep", interval=0.05)
        assert store.get(("notes",), "brief") is None
        assert store.get(("notes",), "has a cat") is not None
    if backend == "postgres":
        assert pg_rows(str(dsn), "SELECT COUNT(*) FROM store") == [(2,)]
    with Runner.open(settings_for(backend, tmp_path, dsn)) as again:  # it persists
        kept = again.long_term_store(wf)
        assert [i.key for i in kept.search(("notes",), query="cat", limit=1)] == ["has a cat"]


def test_an_index_without_pgvector_is_a_config_error(tmp_path: Path, postgres_dsn: str) -> None:
    if pgvector_available():
        pytest.skip("this server has pgvector")
    (tmp_path / "emb.py").write_text(textwrap.dedent(EMBED), encoding="utf-8")
    settings = settings_for(
        "postgres", tmp_path, postgres_dsn, store={"index": {"dims": 3, "embed": "./emb.py:embed"}}
    )
    memory = MemoryStores(settings, None)
    try:
        with pytest.raises(ConfigError, match="pgvector"):
            memory.default()
    finally:
        memory.close()


# --------------------------------------------------------------------------- node cache


def test_the_node_cache_serves_a_second_run_and_clears(runner: Runner, tmp_path: Path) -> None:
    counter = tmp_path / "executions.txt"
    path = tmp_path / "cached.py"
    path.write_text(CACHED.format(counter=str(counter)), encoding="utf-8")
    wf = load_workflow(resolve_target(str(path), project_dir=tmp_path))

    def executions() -> int:
        return len(counter.read_text(encoding="utf-8").splitlines()) if counter.exists() else 0

    first = list(runner.start(wf, {"x": 2}))
    second = list(runner.start(wf, {"x": 2}))
    assert outcome(first).data["output"]["z"] == outcome(second).data["output"]["z"] == 7
    assert executions() == 1
    assert [e.node for e in second if e.type == "node.cached"] == ["enrich"]
    assert runner.node_cache is not None
    entries = runner.node_cache.entries()
    assert [(w, n, c) for w, n, _fp, c, _size in entries] == [(wf.name, "enrich", 1)]
    assert entries[0][4] > 0
    list(runner.start(wf, {"x": 3}))  # another input: runs
    assert executions() == 2
    assert runner.node_cache.clear(wf.name) == 2
    assert runner.node_cache.entries() == []
    list(runner.start(wf, {"x": 2}))
    assert executions() == 3


def test_the_node_cache_drops_expired_and_stale_entries(settings: Settings, tmp_path: Path) -> None:
    db = NodeCacheDb(settings, settings.resolve(settings.checkpointer.path))
    try:
        db.set("wf", "fp1", [("enrich", "k1", "enrich", time.time() + 60, "json", b"1")])
        db.set("wf", "fp1", [("enrich", "k2", "enrich", time.time() - 1, "json", b"2")])
        assert db.get("wf", "fp1", [(("enrich",), "k1")]) == {"enrich\0k1": ("json", b"1")}
        assert db.get("wf", "fp1", [(("enrich",), "k2")]) == {}  # expired: deleted
        assert db.get("wf", "fp2", [(("enrich",), "k1")]) == {}  # other code
        db.set("wf", "fp2", [("enrich", "k3", "enrich", None, "json", b"3")])
        assert [(n, fp, c) for _w, n, fp, c, _b in db.entries("wf")] == [("enrich", "fp2", 1)]
        assert db.clear() == 1
    finally:
        db.close()


def test_a_store_api_call_whose_connection_died_is_a_short_503(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """The store API maps PostgreSQL's errors as it maps SQLite's: a 503 whose text
    has no SQL, not a 500."""
    from fastapi import HTTPException

    from lgp_engine.server.langgraph.store_routes import _call

    memory = MemoryStores(settings_for("postgres", tmp_path, postgres_dsn), None)
    try:
        store = memory.default()
        assert store is not None
        store.put(("p",), "k", {"v": 1})
        database = postgres_dsn.rsplit("/", 1)[1]
        pg_rows(  # the server drops the store's connections (a restart, a failover)
            postgres_dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
        with pytest.raises(HTTPException) as info:
            asyncio.run(_call(store.aget(("p",), "k")))
        assert info.value.status_code == 503
        assert "SELECT" not in str(info.value.detail)
        assert store.get(("p",), "k") is not None  # the pool replaced the dead connection
    finally:
        memory.close()
