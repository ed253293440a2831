"""Crons (issue 15): ``client.crons`` of the official langgraph_sdk against real ``lgp
serve`` processes, each tick run by exactly one process, its webhook called once per
finished run.

Ticks come once a minute at most, so these tests do not wait for the clock: a cron is
made due by moving its next tick into the past in the database (what the scheduler
finds when it wakes), and the scheduler of every process, which looks at the table at
least every 5 s, runs it. The claim that makes a tick run once is raced by real
processes over hundreds of ticks, on SQLite and on PostgreSQL; three ``lgp serve``
replicas on one PostgreSQL run a due tick once, and the ticks missed while all three
were down once. The minute-by-minute run across three replicas is a slow test (CI).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import BadRequestError, NotFoundError

from lgp_engine.backends.sql import open_database
from lgp_engine.ops.crons import (
    NOT_RUN,
    ORPHAN_CHECK_S,
    ORPHAN_GRACE_S,
    ORPHAN_MAX_AGE_S,
    CronScheduler,
    CronStore,
)
from tests.conftest import REPO
from tests.processes import Process, run_lgp, start_python, stays, wait_until
from tests.server.conftest import make_server_project
from tests.server.server_process import ServerProcess
from tests.servers.serving import start_server
from tests.workflows import copy_workflows

#: A schedule that does not fire during a test (once a year): ticks are forced.
YEARLY = "0 0 1 1 *"


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    """The local webhook receiver (a process): every call it gets, by path."""
    process: Process
    process, url = start_server("tests.servers.webhook_receiver")
    yield url
    process.kill()


def _allow_webhooks(project: Path) -> None:
    with (project / "config" / "hosted.yaml").open("a", encoding="utf-8") as f:
        f.write('webhooks:\n  allowed_hosts: ["127.0.0.1"]\n')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    project = make_server_project(tmp_path_factory.mktemp("crons"), rate_limit_per_minute=100000)
    _allow_webhooks(project)
    with ServerProcess(project, "workflows") as proc:
        yield proc


def calls(receiver: str, prefix: str) -> list[dict[str, Any]]:
    """The webhook calls whose path starts with ``prefix``."""
    got: list[dict[str, Any]] = httpx.get(f"{receiver}/_control/calls").json()
    return [c for c in got if c["path"].startswith(prefix)]


def make_due(target: Path | str, *cron_ids: str, ago: float = 1) -> None:
    """Move the crons' next tick ``ago`` seconds into the past, as if the time had come."""
    db = open_database(target)
    try:
        for cron_id in cron_ids:
            db.execute(
                "UPDATE lgp_crons SET next_run_date = ? WHERE cron_id = ?",
                (int(time.time() - ago), cron_id),
            )
    finally:
        db.close()


def claims(target: Path | str, cron_id: str) -> list[tuple[Any, ...]]:
    db = open_database(target)
    try:
        return db.fetchall(
            "SELECT tick, owner, run_id FROM lgp_cron_claims WHERE cron_id = ? ORDER BY tick",
            (cron_id,),
        )
    finally:
        db.close()


def _db(server: ServerProcess) -> Path:
    return server.project / ".lgp" / "hosted.db"


# --------------------------------------------------------------------------- the API


def test_the_sdk_creates_searches_counts_updates_and_deletes_crons(server: ServerProcess) -> None:
    client = get_sync_client(url=server.url)
    tag = {"test": "crud"}
    thread = client.threads.create()["thread_id"]
    daily = client.crons.create(
        "tiny",
        schedule="0 9 * * MON-FRI",
        input={},
        metadata={**tag, "n": 1},
        timezone="Europe/Paris",
        on_run_completed="keep",
        end_time=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
    )
    assert daily["thread_id"] is None and daily["on_run_completed"] == "keep"
    assert daily["enabled"] is True and daily["timezone"] == "Europe/Paris"
    assert daily["end_time"].startswith("2100-01-01") and daily["payload"]["input"] == {}
    paris = dt.datetime.fromisoformat(daily["next_run_date"]).astimezone(ZoneInfo("Europe/Paris"))
    assert (paris.hour, paris.minute) == (9, 0) and paris.weekday() < 5
    assert paris > dt.datetime.now(dt.UTC)
    hourly = client.crons.create_for_thread(
        thread, "basic_workflow", schedule="0 * * * *", input={"input": "x"}, metadata=tag
    )
    assert hourly["thread_id"] == thread and hourly["on_run_completed"] is None
    ids = [daily["cron_id"], hourly["cron_id"]]

    # search: filters, order, paging, select; count
    assert [c["cron_id"] for c in client.crons.search(metadata=tag, sort_order="asc")] == ids
    assert [c["cron_id"] for c in client.crons.search(metadata=tag)] == ids[::-1]  # newest first
    assert [c["cron_id"] for c in client.crons.search(thread_id=thread)] == ids[1:]
    by_graph = client.crons.search(assistant_id="tiny", metadata=tag)
    assert [c["cron_id"] for c in by_graph] == ids[:1]
    by_id = client.crons.search(assistant_id=daily["assistant_id"], metadata=tag)
    assert [c["cron_id"] for c in by_id] == ids[:1]
    page = client.crons.search(metadata=tag, limit=1, offset=1, sort_order="asc")
    assert [c["cron_id"] for c in page] == ids[1:]
    picked = client.crons.search(metadata=tag, select=["cron_id", "schedule"])
    assert {tuple(sorted(c)) for c in picked} == {("cron_id", "schedule")}
    assert client.crons.count(metadata=tag) == 2
    assert client.crons.count(thread_id=thread) == 1

    # update: what is given replaces (metadata merges), end_time None clears it
    updated = client.crons.update(
        daily["cron_id"], schedule="30 7 * * *", enabled=False, metadata={"n": 2}, end_time=None
    )
    assert updated["schedule"] == "30 7 * * *" and updated["enabled"] is False
    assert updated["metadata"] == {**tag, "n": 2} and updated["end_time"] is None
    paris = dt.datetime.fromisoformat(updated["next_run_date"]).astimezone(ZoneInfo("Europe/Paris"))
    assert (paris.hour, paris.minute) == (7, 30)
    assert [c["cron_id"] for c in client.crons.search(enabled=False, metadata=tag)] == ids[:1]
    with server.client() as http:
        assert http.get(f"/runs/crons/{daily['cron_id']}").json() == updated

    # delete: gone from search and count; a second delete is a 404
    for cron_id in ids:
        client.crons.delete(cron_id)
    assert client.crons.count(metadata=tag) == 0
    with pytest.raises(NotFoundError):
        client.crons.delete(ids[0])
    with server.client() as http:
        assert http.get(f"/runs/crons/{ids[0]}").status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"schedule": "every minute"}, 422, "5 fields"),
        ({"schedule": "* * * * * *"}, 422, "5 fields"),  # croniter would read seconds
        ({"schedule": "99 * * * *"}, 400, "out of range"),
        ({"schedule": "0 0 30 2 *"}, 400, "never fires"),
        ({"timezone": "Mars/Olympus_Mons"}, 400, "unknown time zone 'Mars/Olympus_Mons'"),
        ({"end_time": "next tuesday"}, 422, "date-time"),
        ({"assistant_id": "no_such_graph"}, 404, "not found"),
        ({"webhook": "https://hooks.example.com/x"}, 400, "is not allowed"),
        ({"input": "not an object"}, 400, "must be an object"),
    ],
)
def test_a_cron_the_server_cannot_run_is_refused_with_a_message(
    server: ServerProcess, change: dict[str, Any], status: int, words: str
) -> None:
    tag = {"test": "refused"}
    body = {"assistant_id": "tiny", "schedule": YEARLY, "input": {}, "metadata": tag, **change}
    with server.client() as http:
        answer = http.post("/runs/crons", json=body)
        assert answer.status_code == status, answer.text
        assert words in answer.json()["detail"] and "Traceback" not in answer.text
        assert http.post("/runs/crons/count", json={"metadata": tag}).json() == 0  # not kept


def test_the_sdk_sees_the_reason_and_an_update_is_checked_too(server: ServerProcess) -> None:
    client = get_sync_client(url=server.url)
    with pytest.raises(BadRequestError) as refused:
        client.crons.create("tiny", schedule="0 9 * * *", timezone="Europe/Pariss")
    assert "unknown time zone 'Europe/Pariss'" in refused.value.response.text
    with pytest.raises(NotFoundError):  # a thread's cron needs the thread
        client.crons.create_for_thread("no-such-thread", "tiny", schedule=YEARLY)
    cron = client.crons.create("tiny", schedule=YEARLY, input={})
    with pytest.raises(BadRequestError) as refused:
        client.crons.update(cron["cron_id"], schedule="0 0 31 4 *")  # April has 30 days
    assert "never fires" in refused.value.response.text
    with server.client() as http:
        assert http.get(f"/runs/crons/{cron['cron_id']}").json()["schedule"] == YEARLY
    client.crons.delete(cron["cron_id"])


# --------------------------------------------------------------------------- ticks


def test_a_due_tick_runs_its_workflow_once_and_calls_its_webhook_once(
    server: ServerProcess, receiver: str
) -> None:
    client = get_sync_client(url=server.url)
    new_thread = client.crons.create(
        "tiny",
        schedule=YEARLY,
        input={},
        metadata={"test": "tick"},
        webhook=f"{receiver}/hook/tick-new",
    )
    thread = client.threads.create()["thread_id"]
    on_thread = client.crons.create_for_thread(
        thread,
        "basic_workflow",
        schedule=YEARLY,
        input={"input": "ping"},
        webhook=f"{receiver}/hook/tick-thread",
    )
    make_due(_db(server), new_thread["cron_id"], on_thread["cron_id"])

    got = wait_until(lambda: len(c := calls(receiver, "/hook/tick-")) >= 2 and c, 20, "2 calls")
    # each run once, its webhook once: nothing more comes
    assert stays(lambda: len(calls(receiver, "/hook/tick-")) == 2, 3)
    assert sorted(c["path"] for c in got) == ["/hook/tick-new", "/hook/tick-thread"]
    for call in got:
        assert call["body"]["status"] == "success", call["body"]
    hooked = {c["path"]: c["body"] for c in got}
    assert hooked["/hook/tick-new"]["metadata"] == {
        "test": "tick",
        "cron_id": new_thread["cron_id"],
    }
    # on a thread: one run there, the state its webhook was sent
    runs = client.runs.list(thread)
    assert [r["run_id"] for r in runs] == [hooked["/hook/tick-thread"]["run_id"]]
    assert runs[0]["metadata"]["cron_id"] == on_thread["cron_id"]
    assert client.threads.get_state(thread)["values"] == hooked["/hook/tick-thread"]["values"]
    # on a new thread: deleted once its run ended (on_run_completed: delete)
    gone = hooked["/hook/tick-new"]["thread_id"]
    assert gone != thread

    def deleted() -> bool:
        try:
            client.threads.get(gone)
        except NotFoundError:
            return True
        return False

    wait_until(deleted, 10, "the tick's thread to be deleted")
    # the next tick is next year's; each tick's claim names its run
    for cron, hook in ((new_thread, "/hook/tick-new"), (on_thread, "/hook/tick-thread")):
        with server.client() as http:
            after = http.get(f"/runs/crons/{cron['cron_id']}").json()
        assert after["next_run_date"] == cron["next_run_date"]
        [(_, _, run_id)] = claims(_db(server), cron["cron_id"])
        assert run_id == hooked[hook]["run_id"]


def test_a_thread_cron_goes_with_its_thread(server: ServerProcess) -> None:
    client = get_sync_client(url=server.url)
    thread = client.threads.create()["thread_id"]
    cron = client.crons.create_for_thread(thread, "tiny", schedule=YEARLY, input={})
    client.threads.delete(thread)
    make_due(_db(server), cron["cron_id"])
    wait_until(lambda: client.crons.count(thread_id=thread) == 0, 20, "the cron to be deleted")
    assert claims(_db(server), cron["cron_id"]) == []  # its tick ran nothing


# --------------------------------------------------------------------------- exactly once


def _target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_dsn"))
    return str(tmp_path / "crons.db")


def _race(target: str, tmp_path: Path, *args: str, processes: int = 3) -> list[Process]:
    """Start the workers (tests/cron_worker.py ARGS), all at once once each is ready."""
    go = tmp_path / "go"
    workers = [
        start_python("tests/cron_worker.py", args[0], target, str(go), *args[1:], cwd=REPO)
        for _ in range(processes)
    ]
    for worker in workers:
        worker.expect(r"^ready$", 60)
    go.touch()
    return workers


def _won(workers: list[Process], timeout: float = 60) -> list[int]:
    lines = [line for w in workers for line in w.rest(timeout)]
    assert all(w.returncode == 0 for w in workers), "\n".join(w.text for w in workers)
    return [int(line.split()[2]) for line in lines if line.startswith("won ")]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_each_tick_is_claimed_by_exactly_one_of_three_processes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = _target(backend, tmp_path, request)
    store = CronStore(database=open_database(target))
    cron = store.create("assistant", "* * * * *")
    first, count = 1_800_000_000, 300
    workers = _race(target, tmp_path, "claim", cron.cron_id, str(first), str(count))
    won = _won(workers)
    assert sorted(won) == [first + 60 * i for i in range(count)]  # each once, none lost
    claimed = store.claims(cron.cron_id)
    assert len(claimed) == count
    assert {int(c.owner.split(":")[1]) for c in claimed} <= {w.pid for w in workers}
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_three_schedulers_run_each_due_tick_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The scheduler's own pass (read due crons, claim, move on, fire) in three
    processes polling one table, for 25 ticks made due one after another."""
    target = _target(backend, tmp_path, request)
    store = CronStore(database=open_database(target))
    cron = store.create("assistant", YEARLY)
    workers = _race(target, tmp_path, "schedule")
    base = int(time.time()) - 3600
    for i in range(25):
        tick = base + i
        make_due(target, cron.cron_id, ago=time.time() - tick)
        wait_until(lambda t=tick: any(c.tick == t for c in store.claims()), 10, f"tick {i}")
        # moved on to next year's tick by whoever saw it
        wait_until(lambda: (store.get(cron.cron_id).next_run_date or 0) > time.time(), 10)
    (tmp_path / "go.stop").touch()
    won = _won(workers)
    assert sorted(won) == [base + i for i in range(25)]
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_tick_whose_claimer_died_before_starting_its_run_is_run_by_another(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A process claims a due tick and dies before its run starts: another process's
    scheduler takes the claim over (once) and runs the tick; a live claimer's tick is
    left alone."""
    target = _target(backend, tmp_path, request)
    store = CronStore(database=open_database(target))
    cron = store.create("assistant", YEARLY)
    tick = int(time.time()) - 60
    claim = (
        "import sys; from lgp_engine.backends.sql import open_database; "
        "from lgp_engine.ops.crons import CronStore; "
        "store = CronStore(database=open_database(sys.argv[1])); "
        "won = store.claim(sys.argv[2], int(sys.argv[3]), None); "
        "sys.argv[4:] and store.started(sys.argv[2], int(sys.argv[3]), sys.argv[4]); "
        "print(won)"
    )
    dead = start_python("-c", claim, target, cron.cron_id, str(tick), cwd=REPO)
    assert dead.rest(30) == ["True"] and dead.returncode == 0  # claimed, then gone
    [orphan] = store.claims(cron.cron_id)
    assert orphan.run_id is None and int(orphan.owner.split(":")[1]) == dead.pid
    mine = store.create("assistant", YEARLY)
    assert store.claim(mine.cron_id, tick, None)  # claimed by this (live) process

    fired: list[tuple[str, int]] = []

    async def fire(record: Any, at: int, _link: Any) -> str:
        fired.append((record.cron_id, at))
        return f"run-{len(fired)}"

    async def look(now: float) -> list[Any]:
        scheduler = CronScheduler(store, fire, clock=lambda: now)
        won = await scheduler.run_due()
        await asyncio.gather(*scheduler._firing)
        return won

    soon = time.time() + 1  # within the grace: the claimer may still be starting it
    assert asyncio.run(look(soon)) == [] and fired == []
    later = time.time() + ORPHAN_GRACE_S + 1
    taken = asyncio.run(look(later))
    assert [(c.cron_id, t) for c, t in taken] == [(cron.cron_id, tick)]
    assert fired == [(cron.cron_id, tick)]  # run here, the live claimer's tick not
    [adopted] = store.claims(cron.cron_id)
    assert (adopted.owner, adopted.run_id) == (store.owner, "run-1")
    assert asyncio.run(look(later + ORPHAN_CHECK_S)) == []  # once

    # a tick its claimer chose not to run is no orphan (another dead claimer's is)
    skipped, other = store.create("assistant", YEARLY), store.create("assistant", YEARLY)
    for made, told in ((skipped, [NOT_RUN]), (other, [])):
        gone = start_python("-c", claim, target, made.cron_id, str(tick), *told, cwd=REPO)
        assert gone.rest(30) == ["True"]
    taken = asyncio.run(look(later + 2 * ORPHAN_CHECK_S))
    assert [(c.cron_id, t) for c, t in taken] == [(other.cron_id, tick)]
    # and one claimed longer ago than a tick may run late is left (the next one runs)
    late = store.create("assistant", YEARLY)
    gone = start_python("-c", claim, target, late.cron_id, str(tick), cwd=REPO)
    assert gone.rest(30) == ["True"]
    assert asyncio.run(look(time.time() + ORPHAN_MAX_AGE_S + 60)) == []
    assert late.cron_id not in {cron_id for cron_id, _ in fired}
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_ticks_run_and_its_claims_link_commit_together(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The run of a claimed tick is recorded in the transaction that names it on the
    claim: no moment exists where the run is there and the claim still looks
    orphaned (another process would run the tick again), and a claim that is not
    this process's any more records no run."""
    from lgp_engine.errors import ConflictError
    from lgp_engine.runs import RunStore

    target = _target(backend, tmp_path, request)
    store = CronStore(database=open_database(target))
    runs = RunStore(database=open_database(target))
    cron = store.create("assistant", YEARLY)
    tick = int(time.time()) - 60
    assert store.claim(cron.cron_id, tick, None)
    run = runs.create("run-linked", "thread-1", "wf", along=store.linker(cron.cron_id, tick))
    [linked] = store.claims(cron.cron_id)
    assert (linked.owner, linked.run_id) == (store.owner, run.run_id)
    store.started(cron.cron_id, tick, NOT_RUN)  # a claim that names its run keeps it
    assert store.claims(cron.cron_id)[0].run_id == run.run_id

    # a claim another process holds now: the run is not recorded, the claim unchanged
    other = CronStore(database=open_database(target))
    other.owner = "elsewhere:1"
    assert other.claim(cron.cron_id, tick + 60, None)
    with pytest.raises(ConflictError):
        runs.create("run-refused", "thread-1", "wf", along=store.linker(cron.cron_id, tick + 60))
    assert [r.run_id for r in runs.list_runs(thread_id="thread-1")] == ["run-linked"]
    assert store.claims(cron.cron_id)[1].run_id is None
    for closing in (runs, store, other):
        closing.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_tick_given_back_is_claimed_and_run_by_another(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A process that claimed a tick but is stopping gives it back: its claim goes and
    the cron's next tick is that tick again, for another process to claim; a scheduler
    that is not claiming (its server stops) takes no tick at all."""
    target = _target(backend, tmp_path, request)
    store = CronStore(database=open_database(target))
    cron = store.create("assistant", YEARLY)
    tick = int(time.time()) - 60
    make_due(target, cron.cron_id, ago=time.time() - tick)
    fired: list[int] = []

    async def fire(_cron: Any, at: int, _link: Any) -> str:
        fired.append(at)
        return "run-1"

    stopping = CronScheduler(store, fire, claiming=lambda: False)
    assert asyncio.run(stopping.run_due()) == [] and store.claims() == []
    assert store.claim(cron.cron_id, tick, tick + 3600)
    assert store.get(cron.cron_id).next_run_date == tick + 3600
    other = CronStore(database=open_database(target))
    other.owner = "elsewhere:1"
    assert not other.give_back(cron.cron_id, tick)  # not its claim
    assert store.give_back(cron.cron_id, tick)
    assert store.claims() == [] and store.get(cron.cron_id).next_run_date == tick

    async def look() -> list[Any]:
        scheduler = CronScheduler(other, fire)
        won = await scheduler.run_due()
        await asyncio.gather(*scheduler._firing)
        return won

    assert [t for _, t in asyncio.run(look())] == [tick] and fired == [tick]
    [claim] = store.claims()
    assert (claim.owner, claim.run_id) == ("elsewhere:1", "run-1")
    store.close()
    other.close()


def test_a_stopping_server_leaves_a_due_tick_to_the_next_one(tmp_path: Path) -> None:
    """A tick that comes due while a server waits for its runs to end (it is stopping)
    is not claimed there, where it could not start: the next server runs it."""
    project = make_server_project(tmp_path / "p", rate_limit_per_minute=100000, shutdown_grace_s=60)
    copy_workflows(project / "workflows", "slow.py")
    log = project / "workflows" / "slow_calls.log"
    first = ServerProcess(project, "workflows").start()
    try:
        client = get_sync_client(url=first.url)
        cron = client.crons.create("tiny", schedule=YEARLY, input={})
        thread = client.threads.create()["thread_id"]
        client.runs.create(thread, "slow", input={})
        wait_until(lambda: log.exists() and "wait" in log.read_text(), 30, "the slow run")
        assert first.process is not None
        first.process.proc.send_signal(signal.SIGTERM)  # it waits for the slow run
        wait_until(lambda: any("stopping:" in line for line in first.output), 20, "the stop")
        make_due(_db(first), cron["cron_id"])
        assert stays(lambda: claims(_db(first), cron["cron_id"]) == [], 6)  # > reread_s
        (project / "workflows" / "slow.open").touch()
        assert first.stop(signal.SIGTERM, timeout=30) == 0, first.text
    finally:
        if first.process is not None and first.process.returncode is None:
            first.stop(signal.SIGKILL)
    with ServerProcess(project, "workflows"):
        # claimed, then its run recorded (the claim names it)
        ran = wait_until(
            lambda: [c for c in claims(_db(first), cron["cron_id"]) if c[2]], 20, "the tick's run"
        )
        [(_, _, run_id)] = ran
        assert run_id != NOT_RUN


def _replicas(project: Path, n: int = 3) -> list[ServerProcess]:
    replicas = [ServerProcess(project, "workflows").launch() for _ in range(n)]
    for replica in replicas:
        replica.wait_ready(60)
    return replicas


def _postgres_project(root: Path, dsn: str) -> Path:
    project = make_server_project(root)
    (project / "config" / "hosted.yaml").write_text(
        textwrap.dedent(
            f"""\
            environment: hosted
            checkpointer:
              backend: postgres
              dsn: {dsn}
            server:
              rate_limit_per_minute: 100000
            webhooks:
              allowed_hosts: ["127.0.0.1"]
            """
        )
    )
    return project


def test_three_replicas_on_one_postgres_run_a_due_tick_once(
    tmp_path: Path, postgres_dsn: str, receiver: str
) -> None:
    project = _postgres_project(tmp_path / "project", postgres_dsn)
    replicas = _replicas(project)
    try:
        client = get_sync_client(url=replicas[1].url)
        cron = client.crons.create(
            "tiny", schedule=YEARLY, input={}, webhook=f"{receiver}/hook/replicas"
        )
        for replica in replicas:  # one table, seen by every replica
            assert get_sync_client(url=replica.url).crons.count() == 1
        make_due(postgres_dsn, cron["cron_id"])
        wait_until(lambda: calls(receiver, "/hook/replicas"), 20, "the tick's webhook")
        # every replica looks at the table again within 5 s: none runs the tick again
        assert stays(lambda: len(calls(receiver, "/hook/replicas")) == 1, 5)
        [(_, owner, run_id)] = claims(postgres_dsn, cron["cron_id"])
        assert run_id == calls(receiver, "/hook/replicas")[0]["body"]["run_id"]
        assert int(owner.split(":")[1]) in {r.process.pid for r in replicas if r.process}
    finally:
        for replica in replicas:
            replica.stop()


def test_ticks_missed_while_every_replica_was_down_run_once_at_startup(
    tmp_path: Path, postgres_dsn: str, receiver: str
) -> None:
    project = _postgres_project(tmp_path / "project", postgres_dsn)
    store = CronStore(database=open_database(postgres_dsn))
    assistant = "3330969d-1bd6-5dfc-80e9-91e7dbf68c4e"  # tiny's own (uuid5 of its name)
    cron = store.create(
        assistant,
        "* * * * *",
        payload={"input": {}, "webhook": f"{receiver}/hook/missed"},
    )
    make_due(postgres_dsn, cron.cron_id, ago=600)  # ten ticks missed while all were down
    started = time.time()
    replicas = _replicas(project)
    try:
        wait_until(lambda: calls(receiver, "/hook/missed"), 20, "the missed tick's webhook")
        time.sleep(5)  # every replica has looked at the table again meanwhile
        ticks = [row[0] for row in claims(postgres_dsn, cron.cron_id)]
        missed = [t for t in ticks if t < started]
        assert len(missed) == 1 and missed[0] <= started - 590  # once, the oldest
        # the next tick is the next minute (a real one that came meanwhile ran, once)
        assert all(t % 60 == 0 for t in ticks[1:]) and len(ticks) <= 2
        wait_until(lambda: len(calls(receiver, "/hook/missed")) == len(ticks), 20)
        after = store.get(cron.cron_id).next_run_date
        assert after is not None and time.time() < after <= time.time() + 60
    finally:
        for replica in replicas:
            replica.stop()
        store.close()


@pytest.mark.slow  # waits for three real minute ticks: CI runs it, `make test` does not
def test_an_every_minute_cron_across_three_replicas_runs_once_per_minute(
    tmp_path: Path, postgres_dsn: str, receiver: str
) -> None:
    project = _postgres_project(tmp_path / "project", postgres_dsn)
    replicas = _replicas(project)
    try:
        client = get_sync_client(url=replicas[0].url)
        cron = client.crons.create(
            "tiny", schedule="* * * * *", input={}, webhook=f"{receiver}/hook/minutely"
        )
        first = dt.datetime.fromisoformat(cron["next_run_date"]).timestamp()
        end = first + 2 * 60 + 10  # three ticks, and time for the last one's webhook
        time.sleep(max(0.0, end - time.time()))
        got = calls(receiver, "/hook/minutely")
        ticks = [row[0] for row in claims(postgres_dsn, cron["cron_id"])]
        assert ticks == [int(first) + 60 * i for i in range(3)]
        assert len(got) == 3 and {c["body"]["status"] for c in got} == {"success"}
        assert len({c["body"]["run_id"] for c in got}) == 3
    finally:
        for replica in replicas:
            replica.stop()


# --------------------------------------------------------------------------- CLI


def test_lgp_crons_lists_the_crons_of_the_project(server: ServerProcess) -> None:
    client = get_sync_client(url=server.url)
    cron = client.crons.create("tiny", schedule="15 6 * * *", input={}, timezone="Asia/Tokyo")
    try:
        listed = run_lgp("crons", "--json", cwd=server.project)
        assert listed.returncode == 0, listed.stderr
        [row] = [r for r in json.loads(listed.stdout) if r["cron_id"] == cron["cron_id"]]
        assert row["graph_id"] == "tiny" and row["thread_id"] is None
        assert row["schedule"] == "15 6 * * *" and row["timezone"] == "Asia/Tokyo"
        assert row["next_run_date"] == cron["next_run_date"] and row["state"] == "active"
        shown = run_lgp("crons", cwd=server.project)
        assert shown.returncode == 0, shown.stderr
        line = next(x for x in shown.stdout.splitlines() if cron["cron_id"] in x)
        assert "tiny" in line and "15 6 * * * (Asia/Tokyo)" in line and "new" in line
    finally:
        client.crons.delete(cron["cron_id"])
