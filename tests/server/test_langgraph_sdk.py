"""The official ``langgraph_sdk`` async client, unchanged, against a real ``lgp serve``.

One server for the module, in a project that also holds the workflows below (a fake chat
model, a subgraph with an interrupt, an interrupt inside a subgraph, a raw-value interrupt
and a slow, logging workflow for cancel/multitask). Each test makes its own threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
)

from tests.processes import run_lgp
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess
from tests.workflows import copy_workflows, open_gate

# One server for the module: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("server_sdk")

# The namespace LangGraph's Agent Server derives a graph's built-in assistant id from,
# uuid5(namespace, graph_id): it gives the well-known fe096781-5601-53d2-b2f6-0d3403f7e9ca
# for a graph named "agent".
REFERENCE_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")

# Shared test workflows (tests/workflows/) this module's server serves besides the
# server tests' own (burst, boom, slow, tiny).
SDK_WORKFLOWS = ("customs.py", "subflow.py", "subint.py", "asker.py", "napper.py")

STREAM_MODES = ["values", "updates", "custom", "messages-tuple", "events"]


@pytest.fixture(scope="module")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One authenticated server for this module, serving every workflow of its project."""
    project = make_server_project(
        tmp_path_factory.mktemp("sdk"),
        api_keys=[API_KEY],
        rate_limit_per_minute=100000,
        max_body_bytes=65536,
    )
    copy_workflows(project / "workflows", *SDK_WORKFLOWS)
    with ServerProcess(project, "workflows") as proc:
        yield proc


@pytest_asyncio.fixture
async def client(sdk_server: ServerProcess) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=sdk_server.url, api_key=API_KEY) as sdk:
        yield sdk


async def new_thread(client: LangGraphClient, **kw: Any) -> str:
    return (await client.threads.create(**kw))["thread_id"]


class Gates:
    """The gates of napper runs started with ``hold(tag)`` as input: their ``wait``
    node holds until ``release(tag)``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.held: set[str] = set()

    def hold(self, tag: str) -> dict[str, Any]:
        self.held.add(tag)
        return {"hold": True, "tag": tag}

    def release(self, tag: str) -> None:
        open_gate(self.folder / f"napper-{tag}.open")


@pytest.fixture
def gates(sdk_server: ServerProcess) -> Iterator[Gates]:
    """Every gate a test held is opened when it ends: no node thread is left
    waiting in the module's server."""
    g = Gates(sdk_server.project / "workflows")
    yield g
    for tag in g.held:
        g.release(tag)


def napper_log(server: ServerProcess, tag: str) -> list[str]:
    path = server.project / "workflows" / "napper_calls.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split(" ", 1)[1] for line in lines if line.split(" ", 1)[0] == tag]


async def status_of(call: Awaitable[Any]) -> int:
    """The HTTP status of the error ``call`` raises (``runs.wait`` raises plain httpx ones)."""
    with pytest.raises(httpx.HTTPStatusError) as err:
        await call
    return err.value.response.status_code


async def until(predicate: Any, timeout: float = 10) -> None:
    """Poll ``predicate()`` (sync or async) until true, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout} s")


async def still(predicate: Callable[[], bool], seconds: float) -> bool:
    """Whether ``predicate()`` holds for ``seconds`` (the event loop runs meanwhile):
    how to check that something does *not* happen, so keep ``seconds`` short."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not predicate():
            return False
        await asyncio.sleep(0.01)
    return predicate()


# --------------------------------------------------------------------------- assistants


@pytest.mark.asyncio
async def test_one_assistant_per_workflow_with_reference_ids(
    client: LangGraphClient, sdk_server: ServerProcess
) -> None:
    files = {p.stem for p in (sdk_server.project / "workflows").glob("*.py")}
    assert {"customs", "subflow", "asker", "napper", "boom", "tiny", "approval_workflow"} <= files

    assistants = await client.assistants.search(limit=100)
    assert sorted(a["graph_id"] for a in assistants) == sorted(files)  # one per workflow
    for a in assistants:
        assert a["assistant_id"] == str(uuid.uuid5(REFERENCE_NAMESPACE, a["graph_id"]))
        assert a["name"] == a["graph_id"]
    assert await client.assistants.count() == len(files)

    subflow_id = str(uuid.uuid5(REFERENCE_NAMESPACE, "subflow"))
    by_id = await client.assistants.get(subflow_id)
    by_name = await client.assistants.get("subflow")
    assert by_id["graph_id"] == "subflow" and by_id["version"] == 1
    assert by_name["assistant_id"] == subflow_id
    only = await client.assistants.search(graph_id="boom")
    assert [a["graph_id"] for a in only] == ["boom"]
    with pytest.raises(NotFoundError):
        await client.assistants.get("no-such-assistant")


@pytest.mark.asyncio
async def test_get_graph_nodes_and_edges(client: LangGraphClient) -> None:
    graph = await client.assistants.get_graph(str(uuid.uuid5(REFERENCE_NAMESPACE, "subflow")))
    assert [n["id"] for n in graph["nodes"]] == ["__start__", "step1", "subg", "ask", "__end__"]
    assert all("id" not in n.get("data", {}) for n in graph["nodes"])  # like the reference
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert edges == {("__start__", "step1"), ("step1", "subg"), ("subg", "ask"), ("ask", "__end__")}
    xray = await client.assistants.get_graph("subflow", xray=True)
    assert "subg:sub_a" in [n["id"] for n in xray["nodes"]]
    schemas = await client.assistants.get_schemas("subflow")
    assert schemas["graph_id"] == "subflow"
    assert {
        "input_schema",
        "output_schema",
        "state_schema",
        "config_schema",
        "context_schema",
    } <= set(schemas)
    # a typing.TypedDict state, which LangGraph cannot describe on Python 3.11: its
    # keys and plain types (Studio draws its input form from this)
    state = set(schemas["state_schema"]["properties"])
    for side in ("input_schema", "output_schema"):
        assert schemas[side]["type"] == "object"
        assert set(schemas[side]["properties"]) == state, schemas[side]


# --------------------------------------------------------------------------- threads + runs


@pytest.mark.asyncio
async def test_create_thread_and_wait(client: LangGraphClient) -> None:
    thread = await client.threads.create(metadata={"owner": "sdk-wait"})
    tid = thread["thread_id"]
    assert thread["status"] == "idle" and thread["values"] is None
    empty = await client.threads.get_state(tid)
    assert empty["values"] == {} and empty["next"] == []

    created: list[Any] = []
    result = await client.runs.wait(tid, "customs", input={"n": 2}, on_run_created=created.append)
    assert result["n"] == 2 and result["sent"] == 2
    assert [m["content"] for m in result["messages"]] == ["hello there friend"]
    assert created and created[0]["thread_id"] == tid

    after = await client.threads.get(tid)
    assert after["status"] == "idle"
    assert after["values"] == result
    assert after["metadata"]["owner"] == "sdk-wait"
    assert after["metadata"]["graph_id"] == "customs"
    run = await client.runs.get(tid, created[0]["run_id"])
    assert run["status"] == "success" and run["thread_id"] == tid


@pytest.mark.asyncio
async def test_stream_modes(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = [
        p
        async for p in client.runs.stream(tid, "customs", input={"n": 3}, stream_mode=STREAM_MODES)
    ]
    events = [p.event for p in parts]
    assert events[0] == "metadata"
    run_id = parts[0].data["run_id"]
    assert "end" not in events
    assert set(events) == {"metadata", "values", "updates", "custom", "messages", "events"}

    values = [p.data for p in parts if p.event == "values"]
    assert len(values) == 3  # the input, then after each of the two nodes
    assert values[0] == {"n": 3, "messages": []}
    assert values[1] == {"n": 3, "sent": 3, "messages": []}
    assert values[-1]["sent"] == 3
    assert [m["content"] for m in values[-1]["messages"]] == ["hello there friend"]
    updates = [p.data for p in parts if p.event == "updates"]
    assert [list(u) for u in updates] == [["emit"], ["chat"]]
    assert updates[0] == {"emit": {"sent": 3}}
    assert [p.data for p in parts if p.event == "custom"] == [{"i": 0}, {"i": 1}, {"i": 2}]

    tuples = [p.data for p in parts if p.event == "messages"]
    assert tuples and all(len(t) == 2 for t in tuples)
    assert "".join(chunk["content"] for chunk, _ in tuples) == "hello there friend"
    assert {meta["langgraph_node"] for _, meta in tuples} == {"chat"}

    run_events = [p.data for p in parts if p.event == "events"]  # LangChain's astream_events
    assert (run_events[0]["event"], run_events[0]["run_id"]) == ("on_chain_start", run_id)
    assert (run_events[-1]["event"], run_events[-1]["run_id"]) == ("on_chain_end", run_id)

    run = await client.runs.get(tid, run_id)
    assert run["status"] == "success"
    assert run["kwargs"]["stream_mode"] == STREAM_MODES
    assert [r["run_id"] for r in await client.runs.list(tid)] == [run_id]
    state = await client.threads.get_state(tid)
    assert state["values"] == values[-1]


@pytest.mark.asyncio
async def test_stream_messages_mode_and_v2(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = [
        p async for p in client.runs.stream(tid, "customs", input={"n": 0}, stream_mode="messages")
    ]
    assert any(p.event == "messages/metadata" for p in parts)
    partial = [p.data[0]["content"] for p in parts if p.event == "messages/partial"]
    assert partial[0] == "hello" and partial[-1] == "hello there friend"  # accumulates

    v2 = [
        p
        async for p in client.runs.stream(
            tid, "customs", input={"n": 2}, stream_mode=["values", "custom"], version="v2"
        )
    ]
    assert [p["data"] for p in v2 if p["type"] == "custom"] == [{"i": 0}, {"i": 1}]


@pytest.mark.asyncio
async def test_stream_debug_tasks_and_checkpoints(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = [
        p
        async for p in client.runs.stream(
            tid, "subflow", input={"x": 1}, stream_mode=["debug", "tasks", "checkpoints"]
        )
    ]
    assert {p.event for p in parts} == {"metadata", "debug", "tasks", "checkpoints"}
    debug = [p.data for p in parts if p.event == "debug"]
    assert {d["type"] for d in debug} == {"checkpoint", "task", "task_result"}
    assert all(isinstance(d["step"], int) and d["payload"] for d in debug)
    tasks = [p.data for p in parts if p.event == "tasks"]
    assert [t["name"] for t in tasks if "input" in t] == ["step1", "subg", "ask"]
    results = {t["name"]: t for t in tasks if "result" in t}
    assert results["subg"]["result"] == {"x": 12, "trail": ["step1", "sub_a"]}
    assert results["ask"]["interrupts"][0]["value"] == {"question": "continue?", "x": 12}
    checkpoints = [p.data for p in parts if p.event == "checkpoints"]
    assert [c["metadata"]["step"] for c in checkpoints] == [-1, 0, 1, 2]
    assert checkpoints[-1]["values"] == {"x": 12, "trail": ["step1", "sub_a"]}
    assert checkpoints[-1]["next"] == ["ask"]
    state = await client.threads.get_state(tid)
    assert (
        state["checkpoint"]["checkpoint_id"]
        == checkpoints[-1]["config"]["configurable"]["checkpoint_id"]
    )


@pytest.mark.asyncio
async def test_get_state_and_history(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    assert (await client.runs.wait(tid, "tiny", input={"n": 1})) == {"n": 7}  # (1+1)*2+3

    state = await client.threads.get_state(tid)
    assert state["values"] == {"n": 7} and state["next"] == []
    hist = await client.threads.get_history(tid, limit=100)
    assert [h["values"].get("n") for h in hist] == [7, 4, 2, 1, None]  # newest first
    assert [h["metadata"]["step"] for h in hist] == [3, 2, 1, 0, -1]
    assert hist[0]["checkpoint"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    for newer, older in itertools.pairwise(hist):
        assert newer["parent_checkpoint"]["checkpoint_id"] == older["checkpoint"]["checkpoint_id"]

    limited = await client.threads.get_history(tid, limit=2)
    assert [h["values"]["n"] for h in limited] == [7, 4]
    before = await client.threads.get_history(tid, limit=2, before=hist[1]["checkpoint"])
    assert [h["values"]["n"] for h in before] == [2, 1]
    before_id = await client.threads.get_history(tid, limit=10, before=hist[2]["checkpoint_id"])
    assert [h["metadata"]["step"] for h in before_id] == [0, -1]

    old = hist[2]
    at_id = await client.threads.get_state(tid, checkpoint_id=old["checkpoint"]["checkpoint_id"])
    assert at_id["values"] == {"n": 2} and at_id["next"] == ["b"]
    at_cp = await client.threads.get_state(tid, checkpoint=old["checkpoint"])
    assert at_cp["values"] == {"n": 2}
    picked = await client.threads.get_state(tid, select=["values.n", "next"])
    assert picked == {"values": {"n": 7}, "next": []}


@pytest.mark.asyncio
async def test_interrupt_then_resume_with_command(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    stopped = await client.runs.wait(tid, "asker", input={"topic": "v2"})
    assert stopped["log"] == ["prepare"]
    assert stopped["__interrupt__"][0]["value"] == {"question": "ship v2?"}
    assert stopped["__interrupt__"][0]["id"]

    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted" and thread["interrupts"]
    state = await client.threads.get_state(tid)
    assert state["next"] == ["ask"]
    assert state["tasks"][0]["name"] == "ask"
    assert state["tasks"][0]["interrupts"][0]["value"] == {"question": "ship v2?"}

    answer = {"approved": True, "by": "sdk"}
    done = await client.runs.wait(tid, "asker", command={"resume": answer})
    assert done["answer"] == answer  # the resume value reached the node as sent
    assert done["shipped"] is True
    assert done["log"] == ["prepare", "ask", "finish"]
    assert "__interrupt__" not in done
    assert (await client.threads.get(tid))["status"] == "idle"
    final = await client.threads.get_state(tid)
    assert final["values"] == done and final["next"] == []
    assert [r["status"] for r in await client.runs.list(tid)] == ["success", "interrupted"]


@pytest.mark.asyncio
async def test_interrupt_in_stream_with_subgraphs(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = [
        p
        async for p in client.runs.stream(
            tid, "subflow", input={"x": 1}, stream_mode=["values", "updates"], stream_subgraphs=True
        )
    ]
    events = [p.event for p in parts]
    assert any(e.startswith("values|subg:") for e in events)
    assert any(e.startswith("updates|subg:") for e in events)
    interrupts = [
        p.data["__interrupt__"] for p in parts if p.event == "updates" and "__interrupt__" in p.data
    ]
    assert interrupts[0][0]["value"] == {"question": "continue?", "x": 12}
    assert "__interrupt__" in [p.data for p in parts if p.event == "values"][-1]
    nested = await client.threads.get_state(tid, subgraphs=True)
    assert nested["values"]["x"] == 12 and nested["next"] == ["ask"]

    resumed = [
        p
        async for p in client.runs.stream(
            tid, "subflow", command={"resume": "yes"}, stream_mode="values"
        )
    ]
    assert resumed[-1].data["answer"] == "yes"
    assert resumed[-1].data["trail"] == ["step1", "sub_a", "ask"]


@pytest.mark.asyncio
async def test_interrupt_inside_a_subgraph(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    stopped = await client.runs.wait(tid, "subint", input={"x": 1})
    assert stopped["__interrupt__"][0]["value"] == {"inner": 2}
    nested = await client.threads.get_state(tid, subgraphs=True)
    task = nested["tasks"][0]
    assert task["name"] == "inner" and task["state"]["next"] == ["inner_ask"]
    flat = await client.threads.get_state(tid)
    assert flat["tasks"][0]["checkpoint"] is not None and flat["tasks"][0]["state"] is None
    parts = [
        p
        async for p in client.runs.stream(
            tid, "subint", command={"resume": "deep"}, stream_mode="updates", stream_subgraphs=True
        )
    ]
    assert any(p.event.startswith("updates|inner:") for p in parts)
    thread = await client.threads.get(tid)
    assert thread["values"]["answer"] == "deep" and thread["status"] == "idle"


@pytest.mark.asyncio
async def test_fork_with_update_state_then_continue(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    first = await client.runs.wait(tid, "subflow", input={"x": 1})
    assert first["x"] == 12 and "__interrupt__" in first
    original = await client.threads.get_history(tid, limit=100)
    original_ids = [h["checkpoint_id"] for h in original]
    after_step1 = next(h for h in original if h["next"] == ["subg"])
    assert after_step1["values"]["x"] == 2

    fork = await client.threads.update_state(
        tid, {"x": 100}, as_node="step1", checkpoint=after_step1["checkpoint"]
    )
    fork_id = fork["checkpoint"]["checkpoint_id"]
    assert fork_id not in original_ids
    forked = await client.threads.get_state(tid)
    assert forked["checkpoint"]["checkpoint_id"] == fork_id
    assert forked["values"]["x"] == 100 and forked["next"] == ["subg"]
    assert forked["parent_checkpoint"]["checkpoint_id"] == after_step1["checkpoint_id"]
    assert forked["metadata"]["source"] == "update"

    branch = await client.runs.wait(tid, "subflow", input=None)
    assert branch["x"] == 110  # the edit, then the subgraph's +10
    assert branch["__interrupt__"][0]["value"] == {"question": "continue?", "x": 110}

    hist = await client.threads.get_history(tid, limit=100)
    ids = [h["checkpoint_id"] for h in hist]
    assert set(original_ids) <= set(ids)  # the original branch is still there
    assert hist[0]["values"]["x"] == 110
    assert any(h["values"].get("x") == 12 and h["next"] == ["ask"] for h in hist)
    updates = await client.threads.get_history(tid, metadata={"source": "update"})
    assert [h["checkpoint_id"] for h in updates] == [fork_id]

    done = await client.runs.wait(tid, "subflow", command={"resume": "ok"})
    assert done["answer"] == "ok" and done["x"] == 110


@pytest.mark.asyncio
async def test_update_state_at_head_and_replay_from_a_checkpoint(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    await client.runs.wait(tid, "subflow", input={"x": 1})
    upd = await client.threads.update_state(tid, {"x": 100}, as_node="subg")
    assert upd["checkpoint"]["checkpoint_id"] == upd["checkpoint_id"]
    resumed = await client.runs.wait(tid, "subflow", input=None)
    assert resumed["x"] == 100 and "__interrupt__" in resumed  # still waits at ask
    done = await client.runs.wait(tid, "subflow", command={"resume": "first"})
    assert done["answer"] == "first" and done["x"] == 100

    hist = await client.threads.get_history(tid, limit=100)
    before_ask = next(h for h in hist if h["next"] == ["ask"])
    replay = await client.runs.wait(
        tid, "subflow", input=None, checkpoint_id=before_ask["checkpoint_id"]
    )
    assert replay["x"] == 100 and "__interrupt__" in replay
    again = await client.runs.wait(tid, "subflow", command={"resume": "again"})
    assert again["answer"] == "again"


@pytest.mark.asyncio
async def test_interrupt_before_and_goto_command(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    paused = await client.runs.wait(tid, "subflow", input={"x": 1}, interrupt_before=["subg"])
    assert paused == {"x": 2, "trail": ["step1"]}
    assert (await client.threads.get(tid))["status"] == "interrupted"
    assert (await client.threads.get_state(tid))["next"] == ["subg"]
    cont = await client.runs.wait(tid, "subflow", input=None)
    assert cont["x"] == 12 and "__interrupt__" in cont

    jumped = await client.runs.wait(tid, "subflow", command={"goto": "step1", "update": {"x": 50}})
    assert jumped["x"] == 51 and jumped["trail"][-1] == "step1"
    # a well-formed name the graph does not have: 400 (the request is not malformed)
    assert (
        await status_of(client.runs.wait(tid, "subflow", input={}, interrupt_before=["nope"]))
        == 400
    )


# --------------------------------------------------------------------------- create/join/cancel


@pytest.mark.asyncio
async def test_create_join_get_list(client: LangGraphClient, gates: Gates) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "napper", input=gates.hold("join"))
    assert run["status"] in ("pending", "running") and run["thread_id"] == tid
    gates.release("join")
    joined = await client.runs.join(tid, run["run_id"])
    assert joined["trail"] == ["first", "wait", "last"]
    got = await client.runs.get(tid, run["run_id"])
    assert got["status"] == "success"
    assert got["assistant_id"] == str(uuid.uuid5(REFERENCE_NAMESPACE, "napper"))
    assert (await client.runs.join(tid, run["run_id"]))["trail"] == joined["trail"]
    listed = await client.runs.list(tid)
    assert [(r["run_id"], r["status"]) for r in listed] == [(run["run_id"], "success")]
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, str(uuid.uuid4()))
    with pytest.raises(NotFoundError):  # a run is only found through its own thread
        await client.runs.get(await new_thread(client), run["run_id"])


@pytest.mark.asyncio
async def test_cancel_a_run_then_continue_the_thread(
    client: LangGraphClient, sdk_server: ServerProcess, gates: Gates
) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "napper", input=gates.hold("cancel"))
    await until(lambda: "wait-start" in napper_log(sdk_server, "cancel"))
    started = time.monotonic()
    stopped = await client.runs.cancel(tid, run["run_id"], wait=True)
    assert time.monotonic() - started < 1.2  # did not wait for the node (held at its gate)
    assert stopped["trail"] == ["first"]  # its values when stopped
    cancelled = await client.runs.get(tid, run["run_id"])
    assert cancelled["status"] == "interrupted"  # the official word for a cancelled run
    thread = await client.threads.get(tid)
    assert thread["status"] in ("idle", "interrupted")
    with pytest.raises(NotFoundError):  # nothing left to cancel
        await client.runs.cancel(tid, run["run_id"])

    more = await client.runs.wait(tid, "napper", input={"hold": False, "tag": "after"})
    assert more["trail"] == ["first", "first", "wait", "last"]  # the thread continues
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "interrupted"
    # the abandoned node thread finishes once its gate opens, but the cancelled run
    # never goes on: nothing more is logged for it
    gates.release("cancel")
    await until(lambda: "wait-end" in napper_log(sdk_server, "cancel"), timeout=5)
    assert await still(
        lambda: napper_log(sdk_server, "cancel") == ["first", "wait-start", "wait-end"], 0.3
    )
    assert (await client.threads.get_state(tid))["values"]["trail"] == more["trail"]


@pytest.mark.asyncio
async def test_cancel_without_wait_and_multitask_reject(
    client: LangGraphClient, gates: Gates
) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "napper", input=gates.hold("reject"))
    await until(_status_is(client, tid, "busy"))
    with pytest.raises(ConflictError):
        await client.runs.create(tid, "napper", input={"hold": False}, multitask_strategy="reject")
    assert await client.runs.cancel(tid, run["run_id"]) is None
    await until(_run_status_is(client, tid, run["run_id"], "interrupted"))


def _status_is(client: LangGraphClient, tid: str, status: str) -> Any:
    async def check() -> bool:
        return (await client.threads.get(tid))["status"] == status

    return check


def _run_status_is(client: LangGraphClient, tid: str, run_id: str, status: str) -> Any:
    async def check() -> bool:
        return (await client.runs.get(tid, run_id))["status"] == status

    return check


@pytest.mark.asyncio
async def test_multitask_enqueue_and_interrupt(
    client: LangGraphClient, sdk_server: ServerProcess, gates: Gates
) -> None:
    tid = await new_thread(client)
    r1 = await client.runs.create(tid, "napper", input=gates.hold("q1"))
    await until(lambda: "wait-start" in napper_log(sdk_server, "q1"))
    # enqueued (the create answers at once, the run pending): while r1 holds at its
    # gate, r2 does not start
    queued = asyncio.create_task(
        client.runs.create(tid, "napper", input={"hold": False, "tag": "q2"})
    )
    assert await still(lambda: napper_log(sdk_server, "q2") == [], 0.3)
    gates.release("q1")
    r2 = await queued
    out = await client.runs.join(tid, r2["run_id"])
    assert (await client.runs.get(tid, r1["run_id"]))["status"] == "success"
    assert out["trail"] == ["first", "wait", "last"] * 2  # the second ran after the first

    r3 = await client.runs.create(tid, "napper", input=gates.hold("q3"))
    await until(_run_status_is(client, tid, r3["run_id"], "running"))
    r4 = await client.runs.create(
        tid, "napper", input={"hold": False, "tag": "q4"}, multitask_strategy="interrupt"
    )
    await client.runs.join(tid, r4["run_id"])
    assert (await client.runs.get(tid, r3["run_id"]))["status"] == "interrupted"
    assert (await client.runs.get(tid, r4["run_id"]))["status"] == "success"
    interrupted = await client.runs.list(tid, status="interrupted")
    assert [r["run_id"] for r in interrupted] == [r3["run_id"]]
    picked = await client.threads.get_history(tid, limit=2, select=["checkpoint"])
    assert len(picked) == 2 and all(set(h) == {"checkpoint"} for h in picked)


@pytest.mark.asyncio
async def test_stream_disconnect_cancels_when_asked(client: LangGraphClient, gates: Gates) -> None:
    tid = await new_thread(client)
    run_id = None
    stream = client.runs.stream(
        tid,
        "napper",
        input=gates.hold("gone"),
        stream_mode="updates",
        on_disconnect="cancel",
    )
    async with contextlib.aclosing(stream):
        async for part in stream:
            if part.event == "metadata":
                run_id = part.data["run_id"]
            if part.event == "updates":
                break  # the client goes away after the first node
    assert run_id is not None
    await until(_run_status_is(client, tid, run_id, "interrupted"), timeout=5)


# --------------------------------------------------------------------------- errors


@pytest.mark.asyncio
async def test_failing_workflow(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    with pytest.raises(Exception, match=r"^ValueError: kaboom$"):
        await client.runs.wait(tid, "boom", input={})
    body = await client.runs.wait(tid, "boom", input={}, raise_error=False)
    assert body == {"__error__": {"error": "ValueError", "message": "kaboom"}}

    parts = [
        p
        async for p in client.runs.stream(tid, "boom", input={}, stream_mode=["values", "updates"])
    ]
    assert parts[0].event == "metadata"
    assert parts[-1].event == "error"
    assert parts[-1].data == {"error": "ValueError", "message": "kaboom"}
    assert {"ok": {"x": 1}} in [p.data for p in parts if p.event == "updates"]
    assert (await client.threads.get(tid))["status"] == "error"
    runs = await client.runs.list(tid)
    assert [r["status"] for r in runs] == ["error"] * 3
    assert (await client.runs.join(tid, runs[0]["run_id"]))["__error__"]["message"] == "kaboom"

    # the server keeps serving, and the thread is usable with another workflow
    assert (await client.runs.wait(tid, "tiny", input={"n": 0}))["n"] == 5


@pytest.mark.asyncio
async def test_wrong_or_missing_api_key_raises_401(sdk_server: ServerProcess) -> None:
    for key in ("wrong-key", None):
        async with get_client(url=sdk_server.url, api_key=key) as sdk:
            with pytest.raises(AuthenticationError) as err:
                await sdk.assistants.search()
            assert err.value.response.status_code == 401
            assert await status_of(sdk.runs.wait(None, "tiny", input={"n": 1})) == 401
            assert await status_of(sdk.threads.create()) == 401


@pytest.mark.asyncio
async def test_request_errors(client: LangGraphClient) -> None:
    assert await status_of(client.runs.wait(str(uuid.uuid4()), "customs", input={})) == 404
    created = await client.runs.wait(
        str(uuid.uuid4()), "tiny", input={"n": 1}, if_not_exists="create"
    )
    assert created == {"n": 7}
    assert (
        await status_of(
            client.runs.wait(
                None, "tiny", input={}, config={"configurable": {"a": 1}}, context={"b": 2}
            )
        )
        == 400
    )
    with pytest.raises(BadRequestError):  # no graph has run on it yet
        await client.threads.update_state(await new_thread(client), {"x": 1})
    assert await status_of(client.runs.wait(None, "no-such-workflow", input={})) == 404


# --------------------------------------------------------------------------- stateless


@pytest.mark.asyncio
async def test_stateless_runs(client: LangGraphClient) -> None:
    before = await client.threads.count()
    assert (await client.runs.wait(None, "customs", input={"n": 4}))["sent"] == 4
    assert (
        await client.runs.wait(
            None, "tiny", input={"n": 2}, config={"configurable": {"user": "u1"}}
        )
    ) == {"n": 9}
    parts = [
        p async for p in client.runs.stream(None, "customs", input={"n": 1}, stream_mode="custom")
    ]
    assert [p.event for p in parts] == ["metadata", "custom"]
    assert parts[1].data == {"i": 0}

    async def temporary_threads_gone() -> bool:
        return await client.threads.count() == before

    await until(temporary_threads_gone, timeout=5)  # deleted once each run has answered


# --------------------------------------------------------------------------- search/delete


@pytest.mark.asyncio
async def test_threads_search_and_delete(client: LangGraphClient) -> None:
    owner = f"search-{uuid.uuid4()}"
    mine = [await new_thread(client, metadata={"owner": owner}) for _ in range(3)]
    await client.runs.wait(mine[0], "approval_workflow", input={"topic": "x"})
    await client.runs.wait(mine[1], "tiny", input={"n": 1})

    found = await client.threads.search(metadata={"owner": owner}, sort_by="created_at")
    assert [t["thread_id"] for t in found] == mine[::-1]  # newest first
    touched = await client.threads.search(
        metadata={"owner": owner}, sort_by="updated_at", sort_order="asc"
    )
    assert [t["thread_id"] for t in touched] == [mine[2], mine[0], mine[1]]
    waiting = await client.threads.search(metadata={"owner": owner}, status="interrupted")
    assert [t["thread_id"] for t in waiting] == [mine[0]]
    assert await client.threads.count(metadata={"owner": owner}) == 3
    by_values = await client.threads.search(values={"n": 7}, metadata={"owner": owner})
    assert [t["thread_id"] for t in by_values] == [mine[1]]

    await client.runs.wait(mine[0], "approval_workflow", command={"resume": "yes"})
    published = await client.threads.search(values={"status": "published"})
    assert mine[0] in [t["thread_id"] for t in published]

    await client.threads.delete(mine[1])
    with pytest.raises(NotFoundError):
        await client.threads.get(mine[1])
    with pytest.raises(NotFoundError):
        await client.threads.get_state(mine[1])
    left = await client.threads.search(metadata={"owner": owner}, sort_by="created_at")
    assert [t["thread_id"] for t in left] == [mine[2], mine[0]]
    with pytest.raises(NotFoundError):
        await client.threads.delete(mine[1])


# --------------------------------------------------------------------------- CLI interop


@pytest.mark.asyncio
async def test_a_thread_made_by_the_cli(client: LangGraphClient, sdk_server: ServerProcess) -> None:
    tid = f"cli-{uuid.uuid4()}"
    out = await asyncio.to_thread(
        run_lgp,
        "run",
        "workflows/subflow.py",
        "--env",
        "hosted",
        "--input",
        '{"x": 2}',
        "--thread",
        tid,
        cwd=Path(sdk_server.project),
    )
    assert out.returncode == 0, out.stdout + out.stderr  # 0: stopped at the interrupt
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted" and thread["values"]["x"] == 13
    assert (await client.threads.get_state(tid))["next"] == ["ask"]
    assert len(await client.threads.get_history(tid)) >= 3
    done = await client.runs.wait(tid, "subflow", command={"resume": "cli"})
    assert done["answer"] == "cli" and done["trail"] == ["step1", "sub_a", "ask"]
