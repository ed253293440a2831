"""Tests for lgp_engine.executor: the RunEvent stream of real LangGraph runs.

Every workflow is written as a file into ``tmp_path``, loaded with
``load_workflow(resolve_target(...))`` and run by an :class:`Executor` on a SQLite
checkpoint file opened with ``open_checkpoints(Settings(project_dir=tmp_path))``.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from lgp_engine.checkpointing import CheckpointStore, open_checkpoints
from lgp_engine.config import Settings
from lgp_engine.events import EVENT_TYPES, RunEvent
from lgp_engine.executor import Executor
from lgp_engine.loader import LoadedWorkflow, load_workflow, resolve_target
from tests.processes import stays, wait_until

# --------------------------------------------------------------------------- workflows

THREE_NODES = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int
    a: int
    b: int
    c: int


def node_a(state):
    return {"a": state["x"] + 1}


def node_b(state):
    return {"b": state["a"] * 2}


def node_c(state):
    return {"c": state["b"] + 100}


workflow = StateGraph(State)
workflow.add_node("a", node_a)
workflow.add_node("b", node_b)
workflow.add_node("c", node_c)
workflow.add_edge(START, "a")
workflow.add_edge("a", "b")
workflow.add_edge("b", "c")
workflow.add_edge("c", END)
"""

CUSTOM_EVENTS = """
from typing import TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    n: int
    done: bool


def talker(state):
    write = get_stream_writer()
    for i in range(state["n"]):
        write({"i": i})
    return {"done": True}


def after(state):
    return {"done": True}


workflow = StateGraph(State)
workflow.add_node("talker", talker)
workflow.add_node("after", after)
workflow.add_edge(START, "talker")
workflow.add_edge("talker", "after")
workflow.add_edge("after", END)
"""

FAILING = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    done_a: bool


def node_a(state):
    return {"done_a": True}


def explode_in_b(state):
    raise ValueError("boom from node b")


workflow = StateGraph(State)
workflow.add_node("a", node_a)
workflow.add_node("b", explode_in_b)
workflow.add_edge(START, "a")
workflow.add_edge("a", "b")
workflow.add_edge("b", END)
"""

COUNTER = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    count: int


def bump(state):
    return {"count": state.get("count", 0) + 1}


workflow = StateGraph(State)
workflow.add_node("bump", bump)
workflow.add_edge(START, "bump")
workflow.add_edge("bump", END)
"""

ASYNC_NODES = """
import asyncio
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int
    y: int
    z: int


async def slow_double(state):
    await asyncio.sleep(0.01)
    return {"y": state["x"] * 2}


def plus_one(state):
    return {"z": state["y"] + 1}


workflow = StateGraph(State)
workflow.add_node("double", slow_double)
workflow.add_node("plus", plus_one)
workflow.add_edge(START, "double")
workflow.add_edge("double", "plus")
workflow.add_edge("plus", END)
"""

CONTEXT = """
from dataclasses import dataclass
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime


@dataclass
class Ctx:
    user: str
    lang: str = "en"


class State(TypedDict, total=False):
    greeting: str


def greet(state, runtime: Runtime[Ctx]):
    ctx = runtime.context
    return {"greeting": f"{type(ctx).__name__}:{ctx.user}:{ctx.lang}"}


workflow = StateGraph(State, context_schema=Ctx)
workflow.add_node("greet", greet)
workflow.add_edge(START, "greet")
workflow.add_edge("greet", END)
"""

INTERRUPTING = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    x: int
    answer: str
    done: bool


def ask(state):
    answer = interrupt({"q": 1})
    return {"answer": answer}


def finish(state):
    return {"done": True}


workflow = StateGraph(State)
workflow.add_node("ask", ask)
workflow.add_node("finish", finish)
workflow.add_edge(START, "ask")
workflow.add_edge("ask", "finish")
workflow.add_edge("finish", END)
"""

BREAKPOINT = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int
    ran: list


def a(state):
    return {"x": state["x"] + 1, "ran": [*state.get("ran", []), "a"]}


def b(state):
    return {"x": state["x"] * 10, "ran": [*state.get("ran", []), "b"]}


workflow = StateGraph(State)
workflow.add_node("a", a)
workflow.add_node("b", b)
workflow.add_edge(START, "a")
workflow.add_edge("a", "b")
workflow.add_edge("b", END)
"""

SUBGRAPH = """
import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    items: Annotated[list, operator.add]
    done: bool


def inner_one(state):
    return {"items": ["one"]}


def inner_two(state):
    return {"items": ["two"]}


def after(state):
    return {"done": True}


inner = StateGraph(State)
inner.add_node("inner_one", inner_one)
inner.add_node("inner_two", inner_two)
inner.add_edge(START, "inner_one")
inner.add_edge("inner_one", "inner_two")
inner.add_edge("inner_two", END)

workflow = StateGraph(State)
workflow.add_node("sub", inner.compile())
workflow.add_node("after", after)
workflow.add_edge(START, "sub")
workflow.add_edge("sub", "after")
workflow.add_edge("after", END)
"""

FAN_OUT = """
import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send


class State(TypedDict, total=False):
    n: int
    results: Annotated[list, operator.add]


class Branch(TypedDict):
    k: int


def fan_out(state):
    return [Send("work", {"k": k}) for k in range(state["n"])]


def work(state: Branch):
    return {"results": [state["k"] * 10]}


workflow = StateGraph(State)
workflow.add_node("work", work)
workflow.add_conditional_edges(START, fan_out, ["work"])
workflow.add_edge("work", END)
"""

COMMAND_GOTO = """
import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command


class State(TypedDict, total=False):
    route: str
    trail: Annotated[list, operator.add]


def router(state) -> Command:
    return Command(goto=state["route"], update={"trail": ["router"]})


def left(state):
    return {"trail": ["left"]}


def right(state):
    return {"trail": ["right"]}


workflow = StateGraph(State)
workflow.add_node("router", router, destinations=("left", "right"))
workflow.add_node("left", left)
workflow.add_node("right", right)
workflow.add_edge(START, "router")
workflow.add_edge("left", END)
workflow.add_edge("right", END)
"""

ODD_VALUES = """
import datetime as dt
from dataclasses import dataclass
from typing import Any, TypedDict

from pydantic import BaseModel
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph


class Point(BaseModel):
    x: int
    y: int


@dataclass
class Box:
    width: int


class Opaque:
    def __repr__(self):
        return "<Opaque thing>"


class BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr for you")


class State(TypedDict, total=False):
    x: int
    tags: Any
    raw: Any
    point: Any
    when: Any
    box: Any
    opaque: Any


WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)


def odd(state):
    get_stream_writer()({"opaque": Opaque(), "bad": BadRepr(), "tags": {3, 1, 2}})
    return {
        "tags": {"b", "a"},
        "raw": b"bytes\\xff",
        "point": Point(x=1, y=2),
        "when": WHEN,
        "box": Box(width=3),
    }


def opaque(state):
    return {"opaque": Opaque()}


workflow = StateGraph(State)
workflow.add_node("odd", odd)
workflow.add_edge(START, "odd")
workflow.add_edge("odd", END)

unserializable = StateGraph(State)
unserializable.add_node("opaque", opaque)
unserializable.add_edge(START, "opaque")
unserializable.add_edge("opaque", END)
"""

SLOW_SECOND = """
import asyncio
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

RAN = []
LOOPS = []


class State(TypedDict, total=False):
    x: int


async def first(state, config):
    LOOPS.append(asyncio.get_running_loop())
    RAN.append(("first", config["configurable"]["thread_id"]))
    return {"x": state["x"] + 1}


def second(state, config):
    RAN.append(("second", config["configurable"]["thread_id"]))
    return {"x": state["x"] + 1}


workflow = StateGraph(State)
workflow.add_node("first", first)
workflow.add_node("second", second)
workflow.add_edge(START, "first")
workflow.add_edge("first", "second")
workflow.add_edge("second", END)
"""


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CheckpointStore]:
    with open_checkpoints(Settings(project_dir=tmp_path)) as s:
        yield s


def load_src(tmp_path: Path, name: str, source: str, attr: str | None = None) -> LoadedWorkflow:
    """Write ``source`` as ``tmp_path/NAME.py`` and load it (``:attr`` if given)."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    importlib.invalidate_caches()
    target = f"{path}:{attr}" if attr else str(path)
    return load_workflow(resolve_target(target, project_dir=tmp_path))


def executor(tmp_path: Path, store: CheckpointStore, name: str, source: str, **kw: Any) -> Executor:
    return Executor(load_src(tmp_path, name, source, kw.pop("attr", None)), store, **kw)


def of_type(events: list[RunEvent], type_: str) -> list[RunEvent]:
    return [e for e in events if e.type == type_]


def node_events(events: list[RunEvent]) -> list[tuple[str, str | None]]:
    return [(e.type, e.node) for e in events if e.type in ("node.started", "node.finished")]


def assert_round_trips(events: list[RunEvent]) -> None:
    """Every event serializes to JSON and rebuilds to the same event."""
    for e in events:
        text = e.to_json()
        raw = json.loads(text)
        back = RunEvent.from_dict(raw)
        assert (back.run_id, back.seq, back.type, back.thread_id, back.node, back.data) == (
            e.run_id,
            e.seq,
            e.type,
            e.thread_id,
            e.node,
            e.data,
        ), text
        assert back.ts == pytest.approx(e.ts, abs=1e-5)
        assert back.to_dict() == raw


# --------------------------------------------------------------------------- event sequence


def test_event_sequence_of_a_three_node_graph(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "three", THREE_NODES, environment="testenv")
    events = list(ex.stream({"x": 1}, thread_id="seq-thread"))

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {e.type for e in events} <= set(EVENT_TYPES)
    assert len({e.run_id for e in events}) == 1
    assert {e.thread_id for e in events} == {"seq-thread"}
    assert [e.is_terminal for e in events] == [False] * (len(events) - 1) + [True]

    first = events[0]
    assert first.type == "run.started"
    assert first.data["workflow"] == "three"
    assert first.data["input"] == {"x": 1}
    assert first.data["thread_id"] == "seq-thread"
    assert first.data["environment"] == "testenv"

    expected_updates = {"a": {"a": 2}, "b": {"b": 4}, "c": {"c": 104}}
    order = []
    for node, update in expected_updates.items():
        started = [i for i, e in enumerate(events) if e.type == "node.started" and e.node == node]
        finished = [i for i, e in enumerate(events) if e.type == "node.finished" and e.node == node]
        assert len(started) == 1 and len(finished) == 1, node_events(events)
        assert started[0] < finished[0]
        done = events[finished[0]]
        assert done.data["node"] == node
        assert done.data["update"] == update
        assert isinstance(done.data["duration_ms"], int | float)
        assert not isinstance(done.data["duration_ms"], bool)
        assert done.data["duration_ms"] >= 0
        order.append(started[0])
    assert order == sorted(order)  # a, then b, then c

    checkpoints = of_type(events, "checkpoint")
    assert len(checkpoints) >= 4
    for cp in checkpoints:
        assert {"checkpoint_id", "parent_id", "step", "next"} <= cp.data.keys()
        assert isinstance(cp.data["checkpoint_id"], str) and cp.data["checkpoint_id"]
        assert isinstance(cp.data["step"], int)
        assert isinstance(cp.data["next"], list)
    assert checkpoints[0].data["parent_id"] is None
    for prev, cur in itertools.pairwise(checkpoints):
        assert cur.data["parent_id"] == prev.data["checkpoint_id"]
        assert cur.data["step"] == prev.data["step"] + 1
    by_step = {cp.data["step"]: cp.data for cp in checkpoints}
    assert by_step[1]["next"] == ["b"]  # after a, before b
    assert by_step[max(by_step)]["next"] == []
    # the checkpoint events are the checkpoints the store holds
    head = store.history("seq-thread", limit=1)[0]
    assert head.checkpoint_id == checkpoints[-1].data["checkpoint_id"]

    last = events[-1]
    assert last.type == "run.completed"
    final = {"x": 1, "a": 2, "b": 4, "c": 104}
    assert last.data["output"] == final
    state = ex.graph().get_state({"configurable": {"thread_id": "seq-thread"}})
    assert state.values == final
    assert isinstance(last.data["duration_ms"], int | float)

    assert_round_trips(events)


def test_invoke_summarizes_the_stream(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "three_inv", THREE_NODES)
    result = ex.invoke({"x": 5}, thread_id="inv")
    assert result.status == "completed"
    assert result.output == {"x": 5, "a": 6, "b": 12, "c": 112}
    assert result.thread_id == "inv"
    assert result.events[0].type == "run.started"
    assert result.events[-1].type == "run.completed"
    assert result.error is None


# --------------------------------------------------------------------------- custom events


def test_custom_events_arrive_in_order_inside_their_node(
    tmp_path: Path, store: CheckpointStore
) -> None:
    ex = executor(tmp_path, store, "custom_few", CUSTOM_EVENTS)
    events = list(ex.stream({"n": 3}, thread_id="c1"))
    assert events[-1].type == "run.completed", events[-1].data
    kinds = [
        (e.type, e.node) for e in events if e.type in ("node.started", "node.finished", "custom")
    ]
    assert kinds == [
        ("node.started", "talker"),
        ("custom", "talker"),  # the node that wrote them (LangGraph's part does not say)
        ("custom", "talker"),
        ("custom", "talker"),
        ("node.finished", "talker"),
        ("node.started", "after"),
        ("node.finished", "after"),
    ]
    assert [e.data["value"] for e in of_type(events, "custom")] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert all(e.data["path"] == [] for e in of_type(events, "custom"))
    assert_round_trips(events)


def test_a_thousand_custom_events_from_one_node(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "custom_many", CUSTOM_EVENTS)
    events = list(ex.stream({"n": 1000}, thread_id="c1000"))
    assert events[-1].type == "run.completed"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    custom = of_type(events, "custom")
    assert [e.data["value"]["i"] for e in custom] == list(range(1000))
    start = next(i for i, e in enumerate(events) if e.type == "node.started" and e.node == "talker")
    end = next(i for i, e in enumerate(events) if e.type == "node.finished" and e.node == "talker")
    assert all(start < events.index(e) < end for e in (custom[0], custom[-1]))


# --------------------------------------------------------------------------- failures


def test_failing_node_ends_with_run_failed(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "failing", FAILING)
    events = list(ex.stream({}, thread_id="fail-1"))  # no exception escapes

    last = events[-1]
    assert last.type == "run.failed"
    assert last.node == "b"
    assert last.data["node"] == "b"
    assert last.data["error_type"] == "ValueError"
    assert last.data["message"] == "boom from node b"
    assert "explode_in_b" in last.data["traceback"]
    assert "Traceback" in last.data["traceback"]
    assert sum(e.type == "run.failed" for e in events) == 1
    assert not of_type(events, "run.completed")
    assert ("node.finished", "a") in node_events(events)
    assert_round_trips(events)

    # what was checkpointed before the failure is still there
    history = store.history("fail-1")
    ids = {c.checkpoint_id for c in history}
    assert {e.data["checkpoint_id"] for e in of_type(events, "checkpoint")} <= ids
    after_a = [c for c in history if c.writes == ("a",)]
    assert len(after_a) == 1
    assert after_a[0].next == ("b",)

    result = ex.invoke({}, thread_id="fail-2")
    assert result.status == "failed"
    assert result.error is not None and result.error["node"] == "b"


# --------------------------------------------------------------------------- threads


def test_thread_id_generated_when_omitted_and_reused_when_given(
    tmp_path: Path, store: CheckpointStore
) -> None:
    ex = executor(tmp_path, store, "counter", COUNTER)
    first = ex.invoke({})
    assert str(uuid.UUID(first.thread_id)) == first.thread_id
    assert {e.thread_id for e in first.events} == {first.thread_id}
    assert first.events[0].data["thread_id"] == first.thread_id
    assert first.output == {"count": 1}
    other = ex.invoke({})
    assert other.thread_id != first.thread_id
    assert other.output == {"count": 1}

    again = ex.invoke({}, thread_id=first.thread_id)
    assert again.thread_id == first.thread_id
    assert again.run_id != first.run_id
    assert again.output == {"count": 2}  # saw the first run's state

    named = [ex.invoke({}, thread_id="mine").output["count"] for _ in range(3)]
    assert named == [1, 2, 3]
    # input, start and bump checkpoints per run
    assert store.thread(first.thread_id).checkpoints == 2 * 3
    assert store.thread("mine").checkpoints == 3 * 3


# --------------------------------------------------------------------------- async


@pytest.mark.asyncio
async def test_astream_and_ainvoke_match_the_sync_api(tmp_path: Path) -> None:
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        ex = executor(tmp_path, store, "three_async", THREE_NODES)
        sync_events = await asyncio.to_thread(lambda: list(ex.stream({"x": 1}, thread_id="s")))
        async_events = [e async for e in ex.astream({"x": 1}, thread_id="a")]
        result = await ex.ainvoke({"x": 1}, thread_id="ai")

    shape = [(e.type, e.node) for e in sync_events]
    assert [(e.type, e.node) for e in async_events] == shape
    assert [(e.type, e.node) for e in result.events] == shape
    assert [e.seq for e in async_events] == list(range(1, len(async_events) + 1))
    expected = {"x": 1, "a": 2, "b": 4, "c": 104}
    assert sync_events[-1].data["output"] == expected
    assert async_events[-1].data["output"] == expected
    assert result.status == "completed"
    assert result.output == expected
    assert result.thread_id == "ai"


def test_async_node_in_sync_api(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "async_sync", ASYNC_NODES)
    result = ex.invoke({"x": 4}, thread_id="t")
    assert result.status == "completed", result.error
    assert result.output == {"x": 4, "y": 8, "z": 9}
    assert ("node.finished", "double") in node_events(result.events)
    finished = [e for e in result.events if e.type == "node.finished" and e.node == "double"]
    assert finished[0].data["update"] == {"y": 8}


@pytest.mark.asyncio
async def test_async_node_in_async_api(tmp_path: Path) -> None:
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        ex = executor(tmp_path, store, "async_async", ASYNC_NODES)
        result = await ex.ainvoke({"x": 4}, thread_id="t")
        events = [e async for e in ex.astream({"x": 1}, thread_id="t2")]
    assert result.status == "completed", result.error
    assert result.output == {"x": 4, "y": 8, "z": 9}
    assert events[-1].data["output"] == {"x": 1, "y": 2, "z": 3}
    assert [n for t, n in node_events(events) if t == "node.finished"] == ["double", "plus"]


@pytest.mark.asyncio
async def test_stream_inside_a_running_loop_raises_clearly(
    tmp_path: Path, store: CheckpointStore
) -> None:
    ex = executor(tmp_path, store, "three_loop", THREE_NODES)
    with pytest.raises(RuntimeError, match="running event loop"):
        next(iter(ex.stream({"x": 1}, thread_id="loop")))
    with pytest.raises(RuntimeError, match="running event loop"):
        ex.invoke({"x": 1}, thread_id="loop")
    # nothing was run
    assert store.history("loop") == []


# --------------------------------------------------------------------------- context


def test_context_reaches_the_node_through_runtime(tmp_path: Path, store: CheckpointStore) -> None:
    loaded = load_src(tmp_path, "ctx_flow", CONTEXT)
    ctx_cls = loaded.module.Ctx
    ex = Executor(loaded, store)
    result = ex.invoke({}, thread_id="ctx", context=ctx_cls(user="ann", lang="fr"))
    assert result.status == "completed", result.error
    assert result.output == {"greeting": "Ctx:ann:fr"}
    other = ex.invoke({}, thread_id="ctx2", context=ctx_cls(user="bob"))
    assert other.output == {"greeting": "Ctx:bob:en"}


# --------------------------------------------------------------------------- interrupts


def test_interrupt_then_resume_with_command(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "ask_flow", INTERRUPTING)
    events = list(ex.stream({"x": 1}, thread_id="hitl"))
    last = events[-1]
    assert last.type == "interrupt"
    assert last.node == "ask"
    assert last.data["node"] == "ask"
    assert len(last.data["interrupts"]) == 1
    item = last.data["interrupts"][0]
    assert item["value"] == {"q": 1}
    assert isinstance(item["id"], str) and item["id"]
    assert not of_type(events, "run.completed")
    assert "finish" not in [n for _, n in node_events(events)]
    assert_round_trips(events)

    resumed = ex.invoke(Command(resume="yes"), thread_id="hitl")
    assert resumed.status == "completed", resumed.error
    assert resumed.output["answer"] == "yes"
    assert resumed.output["done"] is True
    assert resumed.events[-1].type == "run.completed"
    finished = {n for t, n in node_events(resumed.events) if t == "node.finished"}
    assert {"ask", "finish"} <= finished


def test_static_breakpoint_ends_with_empty_interrupt(
    tmp_path: Path, store: CheckpointStore
) -> None:
    ex = executor(tmp_path, store, "bp_flow", BREAKPOINT)
    result = ex.invoke({"x": 1}, thread_id="bp", interrupt_before=["b"])
    last = result.events[-1]
    assert last.type == "interrupt"
    assert last.data["interrupts"] == []
    assert result.status == "interrupted"
    ran = [n for t, n in node_events(result.events) if t == "node.started"]
    assert ran == ["a"]
    assert last.data["output"] == {"x": 2, "ran": ["a"]}

    resumed = ex.invoke(None, thread_id="bp")
    assert resumed.status == "completed", resumed.error
    assert resumed.output == {"x": 20, "ran": ["a", "b"]}


# --------------------------------------------------------------------------- graph shapes


def test_subgraph_node_events_carry_their_path(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "sub_flow", SUBGRAPH)
    result = ex.invoke({}, thread_id="sub")
    assert result.status == "completed", result.error
    assert result.output == {"items": ["one", "two"], "done": True}
    node_evs = [e for e in result.events if e.type in ("node.started", "node.finished")]
    inner = [e for e in node_evs if e.node in ("inner_one", "inner_two")]
    assert len(inner) == 4
    assert all(e.data["path"] == ["sub"] for e in inner), [e.data for e in inner]
    outer = [e for e in node_evs if e.node in ("sub", "after")]
    assert len(outer) == 4
    assert all(e.data["path"] == [] for e in outer)
    inner_one = next(e for e in inner if e.type == "node.finished" and e.node == "inner_one")
    assert inner_one.data["update"] == {"items": ["one"]}


def test_send_fan_out_with_reducer(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "fan_flow", FAN_OUT)
    result = ex.invoke({"n": 4}, thread_id="fan")
    assert result.status == "completed", result.error
    started = [e for e in result.events if e.type == "node.started" and e.node == "work"]
    finished = [e for e in result.events if e.type == "node.finished" and e.node == "work"]
    assert len(started) == 4
    assert len(finished) == 4
    assert len({e.data["task_id"] for e in finished}) == 4
    assert sorted(e.data["update"]["results"][0] for e in finished) == [0, 10, 20, 30]
    assert sorted(result.output["results"]) == [0, 10, 20, 30]
    assert result.output["n"] == 4


def test_node_returning_command_goto(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "goto_flow", COMMAND_GOTO)
    right = ex.invoke({"route": "right"}, thread_id="r")
    assert right.status == "completed", right.error
    assert right.output["trail"] == ["router", "right"]
    ran = [n for t, n in node_events(right.events) if t == "node.finished"]
    assert ran == ["router", "right"]
    left = ex.invoke({"route": "left"}, thread_id="l")
    assert left.output["trail"] == ["router", "left"]
    assert "right" not in [n for _, n in node_events(left.events)]


# --------------------------------------------------------------------------- odd values


def test_non_json_values_never_break_serialization(tmp_path: Path, store: CheckpointStore) -> None:
    ex = executor(tmp_path, store, "odd_flow", ODD_VALUES)
    events = list(ex.stream({"x": 1}, thread_id="odd"))
    assert events[-1].type == "run.completed", events[-1].data
    for e in events:
        json.loads(e.to_json())
    output = json.loads(events[-1].to_json())["data"]["output"]
    assert output["tags"] == ["a", "b"]
    assert output["raw"].startswith("bytes")
    assert output["point"] == {"x": 1, "y": 2}
    assert output["when"] == "2024-05-06T07:08:09+00:00"
    assert output["box"] == {"width": 3}
    finished = next(e for e in events if e.type == "node.finished" and e.node == "odd")
    assert json.loads(finished.to_json())["data"]["update"]["point"] == {"x": 1, "y": 2}
    custom = json.loads(of_type(events, "custom")[0].to_json())["data"]["value"]
    assert custom["opaque"] == "<Opaque thing>"
    assert custom["tags"] == [1, 2, 3]
    assert isinstance(custom["bad"], str)  # a raising __repr__ still renders


def test_state_the_checkpointer_cannot_store_still_serializes(
    tmp_path: Path, store: CheckpointStore
) -> None:
    ex = executor(tmp_path, store, "odd_unser", ODD_VALUES, attr="unserializable")
    events = list(ex.stream({"x": 1}, thread_id="opaque"))
    assert events[-1].is_terminal
    assert sum(e.is_terminal for e in events) == 1
    for e in events:
        json.loads(e.to_json())


# --------------------------------------------------------------------------- early close


def test_closing_the_stream_early_stops_the_run(tmp_path: Path, store: CheckpointStore) -> None:
    loaded = load_src(tmp_path, "slow_flow", SLOW_SECOND)
    ran: list[tuple[str, str]] = loaded.module.RAN
    ex = Executor(loaded, store)
    assert ex.invoke({"x": 0}, thread_id="warm").status == "completed"  # warms the pool
    ran.clear()
    threads_before = {t.ident for t in threading.enumerate()}

    gen = ex.stream({"x": 0}, thread_id="early")
    seen = []
    for event in gen:
        seen.append(event.type)
        if event.type == "node.started":
            break
    gen.close()
    assert seen[-1] == "node.started"

    loops = loaded.module.LOOPS
    assert loops, "the first node never ran"
    loop = loops[-1]
    assert not loop.is_running()
    assert [t for t in asyncio.all_tasks(loop) if not t.done()] == []
    wait_until(
        lambda: not [t for t in threading.enumerate() if t.ident not in threads_before],
        2,
        "the threads the run started to end",
    )
    assert stays(lambda: ("second", "early") not in ran, 0.1)  # the run really stopped

    again = ex.invoke({"x": 10}, thread_id="after-close")
    assert again.status == "completed", again.error
    assert again.output == {"x": 12}
    assert [e.seq for e in again.events] == list(range(1, len(again.events) + 1))
    assert {e.thread_id for e in again.events} == {"after-close"}
    # the abandoned run did not wake up and finish on the reused loop
    assert ("second", "after-close") in ran
    assert ("second", "early") not in ran
