"""Threads and runs of the Agent Server API that ``langgraph_sdk`` reaches beyond the
basics, with the official client against a real ``lgp serve``: ``threads.copy``,
``runs.delete``, the multitask strategies (``enqueue`` answering at once, ``rollback``),
``runs.join_stream`` / ``threads.join_stream`` resuming after ``Last-Event-ID``, the
``events`` stream mode in LangChain's ``astream_events`` shape; and, in-process, that
``threads.search`` reads a page in a fixed number of SQL statements.

One server for the module (``napper`` runs hold at a gate while a test acts on them).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError

from lgp_engine import load_settings
from lgp_engine.server.background import BackgroundServer
from lgp_engine.server.catalog import build_catalog
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess
from tests.server.test_langgraph_sdk import Gates, napper_log, until
from tests.workflows import copy_workflows

pytestmark = pytest.mark.xdist_group("server_sdk_runs")


@pytest.fixture(scope="module")
def lg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    project = make_server_project(
        tmp_path_factory.mktemp("sdkrt"),
        api_keys=[API_KEY],
        rate_limit_per_minute=100000,
        max_body_bytes=65536,
    )
    copy_workflows(project / "workflows", "napper.py", "evented.py", "customs.py")
    with ServerProcess(project, "workflows") as proc:
        yield proc


@pytest_asyncio.fixture
async def client(lg_server: ServerProcess) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=lg_server.url, api_key=API_KEY) as sdk:
        yield sdk


@pytest.fixture
def gates(lg_server: ServerProcess) -> Iterator[Gates]:
    g = Gates(lg_server.project / "workflows")
    yield g
    for tag in g.held:
        g.release(tag)


async def new_thread(client: LangGraphClient, **kw: Any) -> str:
    return (await client.threads.create(**kw))["thread_id"]


def started(server: ServerProcess, tag: str) -> Any:
    return lambda: "wait-start" in napper_log(server, tag)


# --------------------------------------------------------------------------- threads.copy


@pytest.mark.asyncio
async def test_copy_a_thread_with_its_history_and_metadata(client: LangGraphClient) -> None:
    tid = await new_thread(client, metadata={"owner": "copier"})
    await client.runs.wait(tid, "tiny", input={"n": 1})
    copied = await client.threads.copy(tid)
    assert copied["thread_id"] != tid
    assert copied["metadata"]["owner"] == "copier" and copied["metadata"]["graph_id"] == "tiny"
    assert copied["values"] == {"n": 7} and copied["status"] == "idle"
    cid = copied["thread_id"]
    original = [h["checkpoint_id"] for h in await client.threads.get_history(tid)]
    history = await client.threads.get_history(cid)
    assert [h["checkpoint_id"] for h in history] == original  # the same checkpoints
    assert {h["checkpoint"]["thread_id"] for h in history} == {cid}
    assert await client.runs.list(cid) == []  # the runs stay with the original

    more = await client.runs.wait(cid, "tiny", input={"n": 2})  # the copy goes on alone
    assert more == {"n": 9}
    assert (await client.threads.get_state(tid))["values"] == {"n": 7}
    assert len(await client.threads.get_history(cid)) == len(original) + 5
    with pytest.raises(NotFoundError):
        await client.threads.copy(str(uuid.uuid4()))


# --------------------------------------------------------------------------- runs.delete


@pytest.mark.asyncio
async def test_delete_a_run(
    client: LangGraphClient, lg_server: ServerProcess, gates: Gates
) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "napper", input=gates.hold("del"))
    await until(started(lg_server, "del"))
    with pytest.raises(ConflictError):  # not while it runs
        await client.runs.delete(tid, run["run_id"])
    gates.release("del")
    await client.runs.join(tid, run["run_id"])
    await client.runs.delete(tid, run["run_id"])
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, run["run_id"])
    assert await client.runs.list(tid) == []
    assert (await client.threads.get_state(tid))["values"]["trail"] == ["first", "wait", "last"]
    with pytest.raises(NotFoundError):
        await client.runs.delete(tid, run["run_id"])


# --------------------------------------------------------------------------- multitask


@pytest.mark.asyncio
async def test_enqueued_runs_answer_at_once_and_run_in_order(
    client: LangGraphClient, lg_server: ServerProcess, gates: Gates
) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(tid, "napper", input=gates.hold("e0"))
    await until(started(lg_server, "e0"))
    queued = []
    for tag in ("e1", "e2", "e3"):  # the first holds the thread: each create answers at once
        run = await asyncio.wait_for(
            client.runs.create(
                tid, "napper", input={"hold": False, "tag": tag}, multitask_strategy="enqueue"
            ),
            timeout=5,
        )
        assert run["status"] == "pending"
        queued.append(run)
    assert (await client.runs.get(tid, queued[0]["run_id"]))["status"] == "pending"
    assert (await client.threads.get(tid))["status"] == "busy"
    gates.release("e0")
    out = await client.runs.join(tid, queued[-1]["run_id"])
    assert out["trail"] == ["first", "wait", "last"] * 4
    for tag in ("e1", "e2", "e3"):
        assert napper_log(lg_server, tag) == ["first", "wait-start", "wait-end", "last"]
    log = (lg_server.project / "workflows" / "napper_calls.log").read_text().splitlines()
    lasts = [line.split()[0] for line in log if line.endswith(" last")]
    assert [t for t in lasts if t in ("e0", "e1", "e2", "e3")] == ["e0", "e1", "e2", "e3"]
    runs = await client.runs.list(tid)
    assert [r["status"] for r in runs] == ["success"] * 4
    assert {r["run_id"] for r in runs} == {first["run_id"], *(r["run_id"] for r in queued)}


@pytest.mark.asyncio
async def test_a_queued_run_can_be_cancelled_before_it_starts(
    client: LangGraphClient, lg_server: ServerProcess, gates: Gates
) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(tid, "napper", input=gates.hold("c0"))
    await until(started(lg_server, "c0"))
    waiting = await client.runs.create(tid, "napper", input={"hold": False, "tag": "c1"})
    assert waiting["status"] == "pending"
    await client.runs.cancel(tid, waiting["run_id"], wait=True)
    assert (await client.runs.get(tid, waiting["run_id"]))["status"] == "interrupted"
    gates.release("c0")
    await client.runs.join(tid, first["run_id"])
    assert napper_log(lg_server, "c1") == []  # it never ran


@pytest.mark.asyncio
async def test_rollback_deletes_the_run_in_progress_and_its_checkpoints(
    client: LangGraphClient, lg_server: ServerProcess, gates: Gates
) -> None:
    tid = await new_thread(client)
    await client.runs.wait(tid, "napper", input={"tag": "r0"})
    before = await client.threads.get_history(tid)
    doomed = await client.runs.create(tid, "napper", input=gates.hold("r1"))
    await until(started(lg_server, "r1"))  # "first" ran: the run wrote checkpoints
    assert len(await client.threads.get_history(tid)) > len(before)
    run = await client.runs.create(
        tid, "napper", input={"hold": False, "tag": "r2"}, multitask_strategy="rollback"
    )
    with pytest.raises(NotFoundError):  # deleted before the new run started
        await client.runs.get(tid, doomed["run_id"])
    out = await client.runs.join(tid, run["run_id"])
    assert out["trail"] == ["first", "wait", "last"] * 2  # r0's and r2's: nothing of r1
    history = await client.threads.get_history(tid, limit=100)
    assert {h["checkpoint_id"] for h in before} <= {h["checkpoint_id"] for h in history}
    assert all(h["metadata"].get("lgp_run_id") != doomed["run_id"] for h in history)
    listed = await client.runs.list(tid)
    assert len(listed) == 2 and listed[0]["run_id"] == run["run_id"]


# --------------------------------------------------------------------------- join streams


async def _read(stream: AsyncIterator[Any], until_event: str | None = None) -> list[Any]:
    """Parts of ``stream`` up to (and with) the first ``until_event`` one (or all)."""
    parts = []
    async with contextlib.aclosing(stream):  # type: ignore[type-var]
        async for part in stream:
            parts.append(part)
            if part.event == until_event:
                break
    return parts


@pytest.mark.asyncio
async def test_join_a_run_stream_after_the_last_event_id(
    client: LangGraphClient, lg_server: ServerProcess, gates: Gates
) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(
        tid,
        "napper",
        input=gates.hold("js"),
        stream_mode=["values", "updates"],
        stream_resumable=True,
    )
    rid = run["run_id"]
    head = await _read(client.runs.join_stream(tid, rid), until_event="updates")
    assert head[0].event == "metadata" and head[-1].event == "updates"
    assert [int(p.id) for p in head[1:]] == list(range(1, len(head)))
    assert head[-1].data == {"first": {"trail": ["first"]}}

    gates.release("js")
    rest = await _read(client.runs.join_stream(tid, rid, last_event_id=head[-1].id))
    assert rest[0].event != "metadata"  # a resumed stream goes on where it was
    assert [int(p.id) for p in rest] == list(range(len(head), len(head) + len(rest)))
    assert [p.data for p in rest if p.event == "updates"] == [
        {"wait": {"trail": ["wait"]}},
        {"last": {"trail": ["last"]}},
    ]
    # a resumable run's stream is kept after it ended: only its updates, again
    again = await _read(client.runs.join_stream(tid, rid, stream_mode="updates"))
    assert [p.event for p in again] == ["metadata", "updates", "updates", "updates"]
    assert (await client.runs.get(tid, rid))["kwargs"]["resumable"] is True


@pytest.mark.asyncio
async def test_stream_parts_have_ids_and_a_location_to_rejoin(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = [
        p async for p in client.runs.stream(tid, "tiny", input={"n": 1}, stream_mode="updates")
    ]
    assert parts[0].event == "metadata" and parts[0].id is None
    assert [p.id for p in parts[1:]] == ["1", "2", "3"]


@pytest.mark.asyncio
async def test_join_a_thread_stream(
    client: LangGraphClient, lg_server: ServerProcess, gates: Gates
) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(
        tid, "napper", input=gates.hold("ts"), stream_mode="updates", stream_resumable=True
    )
    await until(started(lg_server, "ts"))
    seen: list[Any] = []
    lifecycle: list[Any] = []

    async def collect(into: list[Any], mode: str) -> None:
        stream = await client.threads.join_stream(tid, stream_mode=mode)  # type: ignore[arg-type]
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for part in stream:
                into.append(part)
                if sum(p.event == "run_done" for p in into) == 2:
                    return

    readers = [
        asyncio.create_task(collect(seen, "run_modes")),
        asyncio.create_task(collect(lifecycle, "lifecycle")),
    ]
    await until(lambda: len(seen) >= 2 and len(lifecycle) >= 1)  # the run in flight joined
    second = await client.runs.create(
        tid,
        "napper",
        input={"hold": False, "tag": "ts2"},
        stream_mode="updates",
        stream_resumable=True,
    )
    gates.release("ts")
    await asyncio.wait_for(asyncio.gather(*readers), timeout=15)

    runs = [p.data["run_id"] for p in seen if p.event == "metadata"]
    assert runs == [first["run_id"], second["run_id"]]
    assert [p.event for p in seen] == ["metadata", *["updates"] * 3, "run_done"] * 2
    assert [p.data for p in seen if p.event == "run_done"] == [
        {"run_id": first["run_id"], "status": "success"},
        {"run_id": second["run_id"], "status": "success"},
    ]
    assert seen[1].id == f"{first['run_id']}:1"
    assert [p.event for p in lifecycle] == ["metadata", "run_done"] * 2

    # rejoin after an event: the rest of that run, then the next (kept: resumable)
    stream = await client.threads.join_stream(tid, last_event_id=seen[2].id)
    rest: list[Any] = []
    async with contextlib.aclosing(stream):  # type: ignore[type-var]
        async for part in stream:
            rest.append(part)
            if part.event == "run_done" and part.data["run_id"] == second["run_id"]:
                break
    assert [p.id for p in rest if p.id] == [p.id for p in seen[3:] if p.id]


# --------------------------------------------------------------------------- events mode


@pytest.mark.asyncio
async def test_events_mode_is_langchains_astream_events(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = [
        p
        async for p in client.runs.stream(
            tid, "evented", input={"a": 3}, stream_mode=["events", "values"]
        )
    ]
    run_id = parts[0].data["run_id"]
    events = [p.data for p in parts if p.event == "events"]
    assert all(
        set(e) >= {"event", "name", "run_id", "parent_ids", "tags", "metadata", "data"}
        for e in events
    )
    kinds = [(e["event"], e["name"]) for e in events]
    assert kinds[0] == ("on_chain_start", "LangGraph") and events[0]["run_id"] == run_id
    assert kinds[-1] == ("on_chain_end", "LangGraph")
    for expected in [
        ("on_chain_start", "use_tool"),
        ("on_tool_start", "add"),
        ("on_tool_end", "add"),
        ("on_custom_event", "progress"),
        ("on_chain_end", "use_tool"),
        ("on_chain_start", "chat"),
        ("on_chat_model_start", "GenericFakeChatModel"),
        ("on_chat_model_stream", "GenericFakeChatModel"),
        ("on_chat_model_end", "GenericFakeChatModel"),
        ("on_chain_end", "chat"),
    ]:
        assert expected in kinds, expected
    assert kinds.index(("on_tool_end", "add")) < kinds.index(("on_chain_start", "chat"))
    by_name = {(e["event"], e["name"]): e for e in events}
    tool_end = by_name["on_tool_end", "add"]
    assert tool_end["data"]["output"] == 5 and tool_end["parent_ids"][0] == run_id
    assert by_name["on_custom_event", "progress"]["data"] == {"total": 5}
    assert by_name["on_chain_start", "use_tool"]["metadata"]["langgraph_node"] == "use_tool"
    tokens = [e["data"]["chunk"]["content"] for e in events if e["event"] == "on_chat_model_stream"]
    assert "".join(tokens) == "the sum is ready"
    assert ("on_chain_stream", "LangGraph") not in kinds  # the root's stream is the other modes
    values = [p.data for p in parts if p.event == "values"]
    assert values[-1]["total"] == 5  # the other modes, from the same run
    assert [m["content"] for m in values[-1]["messages"]] == ["the sum is ready"]
    assert (await client.threads.get_state(tid))["values"]["total"] == 5


# --------------------------------------------------------------------------- search cost


@pytest.fixture(scope="module")
def inprocess(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    """The same app on a thread of this process, so its SQLite connections can be traced."""
    project = make_server_project(tmp_path_factory.mktemp("search"), api_keys=[API_KEY])
    settings = load_settings("hosted", project_dir=project)
    catalog = build_catalog(settings, str(Path(project) / "workflows" / "tiny.py"))
    server = BackgroundServer(settings, catalog, host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Statements:
    """Counts the SQL statements every connection of the server's stores runs."""

    def __init__(self, ctx: Any) -> None:
        runner = ctx.runner
        self.conns: list[sqlite3.Connection] = [
            runner.runs._db._conn,
            runner.store.saver.conn,
            runner.store._read_conn,
        ]
        self.count = 0

    def __enter__(self) -> Statements:
        for conn in self.conns:
            conn.set_trace_callback(self._seen)
        return self

    def _seen(self, _sql: str) -> None:
        self.count += 1

    def __exit__(self, *exc: object) -> None:
        for conn in self.conns:
            conn.set_trace_callback(None)


@pytest.mark.asyncio
async def test_thread_search_reads_a_page_in_a_fixed_number_of_statements(
    inprocess: BackgroundServer,
) -> None:
    async with get_client(url=inprocess.url, api_key=API_KEY) as sdk:

        async def threads(n: int, start: int) -> None:
            """``n`` threads of owner "o", every other one run (from ``start + i``)."""
            for i in range(n):
                tid = await new_thread(sdk, metadata={"owner": "o"})
                if i % 2 == 0:
                    await sdk.runs.wait(tid, "tiny", input={"n": start + i})

        searches = [
            {"metadata": {"owner": "o"}, "limit": 100},
            {"metadata": {"owner": "o"}, "values": {"n": 7}, "limit": 100},
            {"status": "idle", "sort_by": "thread_id", "limit": 100},
        ]

        async def cost() -> list[int]:
            counts = []
            for body in searches:
                with Statements(inprocess.ctx) as seen:
                    found = await sdk.threads.search(**body)  # type: ignore[arg-type]
                assert found
                counts.append(seen.count)
            return counts

        await threads(3, -1)  # the second run ends with n = 7
        await sdk.threads.search()  # the read connection opens on first use
        few = await cost()
        await threads(12, 20)
        many = await cost()
        assert many == few, (few, many)
        assert max(many) <= 12
        page = await sdk.threads.search(metadata={"owner": "o"}, values={"n": 7}, limit=100)
        assert len(page) == 1 and page[0]["status"] == "idle"
        assert page[0] == await sdk.threads.get(page[0]["thread_id"])


# --------------------------------------------------------------------------- store


@pytest.mark.asyncio
async def test_the_long_term_store_through_the_sdk(client: LangGraphClient) -> None:
    """``client.store.*`` against the store the served graphs use (issue 14)."""
    ns = ["users", f"u-{uuid.uuid4().hex[:8]}", "memories"]
    await client.store.put_item(ns, "tea", {"text": "likes green tea", "n": 3})
    await client.store.put_item(ns, "cat", {"text": "has a cat", "n": 7}, ttl=60)
    item = await client.store.get_item(ns, "tea")
    assert (item["namespace"], item["key"], item["value"]) == (
        ns,
        "tea",
        {"text": "likes green tea", "n": 3},
    )
    assert item["created_at"].endswith("+00:00")

    found = await client.store.search_items(ns[:2], filter={"n": {"$gt": 5}})
    assert [i["key"] for i in found["items"]] == ["cat"]
    names = await client.store.list_namespaces(prefix=ns[:2])
    assert names["namespaces"] == [ns]

    await client.store.delete_item(ns, "tea")
    with pytest.raises(NotFoundError):
        await client.store.get_item(ns, "tea")
    with pytest.raises(ValueError, match="periods"):  # the SDK refuses it before sending
        await client.store.put_item(["a.b"], "k", {})


@pytest.mark.asyncio
async def test_a_config_naming_another_thread_is_refused_not_replaced(
    client: LangGraphClient,
) -> None:
    tid = await new_thread(client)
    other = {"configurable": {"thread_id": "other"}}
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.runs.wait(tid, "tiny", input={}, config=other)
    assert refused.value.response.status_code == 400
    assert "configurable.thread_id is 'other'" in refused.value.response.text
    with pytest.raises(httpx.HTTPStatusError) as stateless:
        await client.runs.wait(None, "tiny", input={}, config={"configurable": {"thread_id": tid}})
    assert "a new thread" in stateless.value.response.text
    # its own thread id is no conflict
    same = {"configurable": {"thread_id": tid}}
    assert await client.runs.wait(tid, "tiny", input={}, config=same) is not None


@pytest.mark.asyncio
async def test_a_secret_in_the_run_config_is_not_kept(
    client: LangGraphClient, lg_server: ServerProcess
) -> None:
    """A value named like a secret in ``configurable`` reaches the graph but is masked
    on the run record, in the checkpoints' metadata (LangGraph copies configurable
    values there) and in the events."""
    tid = await new_thread(client)
    secret = "sk-run-config-secret-81f2"
    config = {"configurable": {"api_key": secret, "user_id": "u1"}}
    run = await client.runs.create(tid, "tiny", input={}, config=config)
    await client.runs.join(tid, run["run_id"])
    kept = await client.runs.get(tid, run["run_id"])
    assert kept["kwargs"]["config"]["configurable"] == {"api_key": "[redacted]", "user_id": "u1"}
    history = await client.threads.get_history(tid)
    assert secret not in str(history) and "u1" in str(history)
    db = next((lg_server.project / ".lgp").glob("*.db"))
    assert secret.encode() not in db.read_bytes()
