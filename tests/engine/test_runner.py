"""Tests for lgp_engine.runner: recorded runs, interrupts, replay, fork, breakpoints, cancel.

Every operation is exercised on five graph shapes: a linear graph, a graph with a
compiled subgraph node, a ``Send`` fan-out into an ``operator.add`` reducer, a node
routing with ``Command(goto=...)`` and ``async def`` nodes. Each workflow is a file in
``tmp_path`` whose nodes append their name to ``log.txt``, so which nodes ran (again)
is visible across runs. The runner works on a real SQLite file
(``Runner.open(Settings(project_dir=tmp_path))``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from collections.abc import Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.config import Settings
from lgp_engine.errors import NotFoundError, UsageError
from lgp_engine.events import RunEvent
from lgp_engine.loader import LoadedWorkflow, load_workflow, resolve_target
from lgp_engine.runner import Runner
from lgp_engine.timetravel import state_at
from tests.workflows import open_gate

# --------------------------------------------------------------------------- workflows

# Shared by every shape: ``a`` adds one to x, ``c`` writes result = x * 10, and the
# node named by INTERRUPT_AT asks a human (its answer lands in ``answers``).
HEAD = """\
import asyncio
import operator
import os
import time
from typing import Annotated, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt

LOG = {log!r}
INTERRUPT_AT = {interrupt_at!r}


def _log(name):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(name + "\\n")


def _step(name, state):
    _log(name)
    if name == INTERRUPT_AT:
        return {{"answers": [interrupt({{"node": name, "x": state.get("x")}})]}}
    return {{}}


class State(TypedDict, total=False):
    x: int
    items: list
    results: Annotated[list, operator.add]
    answers: Annotated[list, operator.add]
    result: int


def inc(state):
    _log("a")
    return {{"x": state.get("x", 0) + 1}}


def b(state):
    return _step("b", state)


def c(state):
    return {{**_step("c", state), "result": state["x"] * 10}}
"""

LINEAR = """
g = StateGraph(State)
g.add_node("a", inc)
g.add_node("b", b)
g.add_node("c", c)
g.add_edge(START, "a")
g.add_edge("a", "b")
g.add_edge("b", "c")
g.add_edge("c", END)
workflow = g
"""

SUBGRAPH = """
def s1(state):
    return _step("s1", state)


def s2(state):
    return _step("s2", state)


inner = StateGraph(State)
inner.add_node("s1", s1)
inner.add_node("s2", s2)
inner.add_edge(START, "s1")
inner.add_edge("s1", "s2")
inner.add_edge("s2", END)

g = StateGraph(State)
g.add_node("a", inc)
g.add_node("sub", inner.compile())
g.add_node("c", c)
g.add_edge(START, "a")
g.add_edge("a", "sub")
g.add_edge("sub", "c")
g.add_edge("c", END)
workflow = g
"""

SEND = """
def plan(state):
    _log("a")
    x = state.get("x", 0) + 1
    return {"x": x, "items": [x, x + 1]}


def fan(state):
    return [Send("work", {"item": i}) for i in state["items"]]


def work(arg):
    out = _step("work", arg)
    return {**out, "results": [arg["item"] * 100]}


g = StateGraph(State)
g.add_node("a", plan)
g.add_node("work", work)
g.add_node("c", c)
g.add_edge(START, "a")
g.add_conditional_edges("a", fan, ["work"])
g.add_edge("work", "c")
g.add_edge("c", END)
workflow = g
"""

COMMAND = """
def route(state) -> Command[Literal["b", "c"]]:
    _log("a")
    x = state.get("x", 0) + 1
    return Command(goto="b" if x < 1000 else "c", update={"x": x})


g = StateGraph(State)
g.add_node("a", route)
g.add_node("b", b)
g.add_node("c", c)
g.add_edge(START, "a")
g.add_edge("b", "c")
g.add_edge("c", END)
workflow = g
"""

ASYNC = """
async def a_async(state):
    await asyncio.sleep(0)
    return inc(state)


async def b_async(state):
    await asyncio.sleep(0)
    return _step("b", state)


async def c_async(state):
    await asyncio.sleep(0)
    return c(state)


g = StateGraph(State)
g.add_node("a", a_async)
g.add_node("b", b_async)
g.add_node("c", c_async)
g.add_edge(START, "a")
g.add_edge("a", "b")
g.add_edge("b", "c")
g.add_edge("c", END)
workflow = g
"""


@dataclass(frozen=True)
class Shape:
    name: str
    body: str
    full_log: list[str]  # nodes logged by one complete run
    finished: list[tuple[str, str]]  # (path, node) of every node.finished event
    interrupt_at: str  # node that calls interrupt() in the interrupt tests
    log_to_interrupt: list[str]  # logged up to (and including) the interrupting node
    log_on_resume: list[str]  # logged by the resume
    after_k: list[str]  # logged by a replay from the checkpoint after node a (step 1)
    breakpoint: str  # a node to stop before (static breakpoint)
    fork_step: int  # fork from the checkpoint of this step...
    fork_as_node: str  # ...writing {"x": 100} as this node
    fork_log: list[str]  # logged by the fork
    fork_result: int  # final "result" after the fork


SHAPES = [
    Shape(
        "linear",
        LINEAR,
        ["a", "b", "c"],
        [("", "a"), ("", "b"), ("", "c")],
        "b",
        ["a", "b"],
        ["b", "c"],
        ["b", "c"],
        "b",
        1,
        "a",
        ["b", "c"],
        1000,
    ),
    Shape(
        "subgraph",
        SUBGRAPH,
        ["a", "s1", "s2", "c"],
        [("", "a"), ("sub", "s1"), ("sub", "s2"), ("", "sub"), ("", "c")],
        "s2",
        ["a", "s1", "s2"],
        ["s2", "c"],
        ["s1", "s2", "c"],
        "sub",
        1,
        "a",
        ["s1", "s2", "c"],
        1000,
    ),
    Shape(
        "send",
        SEND,
        ["a", "work", "work", "c"],
        [("", "a"), ("", "work"), ("", "work"), ("", "c")],
        "c",
        ["a", "work", "work", "c"],
        ["c"],
        ["work", "work", "c"],
        "work",
        1,
        "a",
        ["work", "work", "c"],
        1000,
    ),
    # a node routing with Command(goto) has no static edge for update_state to follow,
    # so this fork edits the input and lets the routing node run again
    Shape(
        "command",
        COMMAND,
        ["a", "b", "c"],
        [("", "a"), ("", "b"), ("", "c")],
        "b",
        ["a", "b"],
        ["b", "c"],
        ["b", "c"],
        "b",
        0,
        "__start__",
        ["a", "b", "c"],
        1010,
    ),
    Shape(
        "async",
        ASYNC,
        ["a", "b", "c"],
        [("", "a"), ("", "b"), ("", "c")],
        "b",
        ["a", "b"],
        ["b", "c"],
        ["b", "c"],
        "b",
        1,
        "a",
        ["b", "c"],
        1000,
    ),
]
SHAPE_IDS = [s.name for s in SHAPES]
shapes = pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    with Runner.open(Settings(project_dir=tmp_path)) as r:
        yield r


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Path]:
    """Where the workflows log their nodes. When the test ends, the gate of the slow
    workflows opens, so a node thread a cancelled run left behind can finish."""
    yield tmp_path / "log.txt"
    open_gate(tmp_path / "log.txt.open")


def flow(
    tmp_path: Path, shape: Shape, interrupt_at: str | None = None, name: str = "flow"
) -> LoadedWorkflow:
    path = tmp_path / f"{name}.py"
    text = HEAD.format(log=str(tmp_path / "log.txt"), interrupt_at=interrupt_at)
    path.write_text(text + textwrap.dedent(shape.body), encoding="utf-8")
    return load_workflow(resolve_target(str(path)))


def logged(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").split() if log.exists() else []


def reset(log: Path) -> None:
    log.write_text("", encoding="utf-8")


def db_counts(tmp_path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(tmp_path / ".lgp" / "checkpoints.db")) as conn:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("checkpoints", "writes", "lgp_runs", "lgp_events")
        }


def checkpoint_at(events: list[RunEvent], step: int) -> str:
    """The id of the root-graph checkpoint of ``step`` among a run's events."""
    found = [
        e.data["checkpoint_id"]
        for e in events
        if e.type == "checkpoint" and not e.data["path"] and e.data["step"] == step
    ]
    assert len(found) == 1, found
    return found[0]


def finished(events: list[RunEvent]) -> list[tuple[str, str]]:
    return sorted(
        ("/".join(e.data["path"]), e.node or "") for e in events if e.type == "node.finished"
    )


def assert_recorded(runner: Runner, events: list[RunEvent]) -> None:
    """The yielded events are exactly the stored ones, seq 1..N without gaps."""
    run_id = events[0].run_id
    stored = runner.runs.events(run_id)
    assert [(e.seq, e.type) for e in stored] == [(e.seq, e.type) for e in events]
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))


def run_all(it: Any) -> list[RunEvent]:
    return list(it)


# --------------------------------------------------------------------------- start


@shapes
def test_start_persists_each_event_before_yielding_it(
    runner: Runner, tmp_path: Path, log: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape)
    events = []
    for e in runner.start(wf, {"x": 1}, thread_id="t1"):
        # the sync bridge may hand over a batch, so later events can be stored too
        stored = {s.seq: s.type for s in runner.runs.events(e.run_id)}
        assert stored.get(e.seq) == e.type, e
        if e.type == "run.started":
            assert runner.runs.get(e.run_id).status == "running"
        events.append(e)
    last = events[-1]
    assert last.type == "run.completed", last.data
    assert last.data["output"]["result"] == 20
    record = runner.runs.get(last.run_id)
    assert record.status == "completed"
    assert (record.thread_id, record.workflow, record.kind) == ("t1", "flow", "run")
    assert record.input == {"x": 1}
    assert record.last_seq == last.seq == runner.runs.last_seq(last.run_id)
    assert record.duration_ms is not None and record.ended_at is not None
    assert_recorded(runner, events)
    assert finished(events) == sorted(shape.finished)
    assert logged(log) == shape.full_log
    assert {e.thread_id for e in events} == {"t1"}


@shapes
@pytest.mark.asyncio
async def test_astart_records_the_same_run(
    runner: Runner, tmp_path: Path, log: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape)
    events = []
    async for e in runner.astart(wf, {"x": 1}, thread_id="t1"):
        stored = runner.runs.events(e.run_id)  # stored already, and nothing beyond it
        assert (stored[-1].seq, stored[-1].type) == (e.seq, e.type)
        events.append(e)
    assert events[-1].type == "run.completed"
    assert events[-1].data["output"]["result"] == 20
    assert runner.runs.get(events[0].run_id).status == "completed"
    assert_recorded(runner, events)


def test_start_on_an_existing_thread_adds_a_second_run(runner: Runner, tmp_path: Path) -> None:
    wf = flow(tmp_path, SHAPES[0])
    first = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    second = run_all(runner.start(wf, {"x": 5}, thread_id="t1"))
    assert first[0].run_id != second[0].run_id
    assert second[-1].data["output"]["result"] == 60
    assert [r.run_id for r in runner.runs.list_runs(thread_id="t1")] == [
        second[0].run_id,
        first[0].run_id,
    ]


def test_failing_node_marks_the_run_failed(runner: Runner, tmp_path: Path) -> None:
    path = tmp_path / "boom.py"
    path.write_text(
        textwrap.dedent("""
        from typing import TypedDict
        from langgraph.graph import END, START, StateGraph

        class State(TypedDict, total=False):
            x: int

        def boom(state):
            raise ValueError("boom")

        g = StateGraph(State)
        g.add_node("boom", boom)
        g.add_edge(START, "boom")
        g.add_edge("boom", END)
        workflow = g
    """),
        encoding="utf-8",
    )
    events = run_all(runner.start(load_workflow(resolve_target(str(path))), {}))
    assert events[-1].type == "run.failed"
    record = runner.runs.get(events[0].run_id)
    assert record.status == "failed"
    assert record.error == {"error_type": "ValueError", "message": "boom", "node": "boom"}


# --------------------------------------------------------------------------- interrupt / resume


@shapes
@pytest.mark.asyncio
async def test_interrupt_then_resume_completes_the_same_run(
    runner: Runner, tmp_path: Path, log: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape, interrupt_at=shape.interrupt_at)
    first = [e async for e in runner.astart(wf, {"x": 1}, thread_id="t1")]
    stop = first[-1]
    run_id = stop.run_id
    assert stop.type == "interrupt", stop.data
    assert [i["value"] for i in stop.data["interrupts"]] == [{"node": shape.interrupt_at, "x": 2}]
    assert stop.data["interrupts"][0]["id"]
    assert runner.runs.get(run_id).status == "interrupted"
    assert logged(log) == shape.log_to_interrupt
    waiting = state_at(runner.store, "t1")
    assert [i["value"]["node"] for i in waiting.interrupts] == [shape.interrupt_at]

    reset(log)
    statuses = []
    second = []
    async for e in runner.aresume(wf, "t1", {"ok": True}):
        statuses.append(runner.runs.get(e.run_id).status)
        second.append(e)
    assert {e.run_id for e in second} == {run_id}
    assert statuses[0] == "running"
    assert second[0].type == "run.started" and second[0].data["resumed"] is True
    assert second[0].seq == stop.seq + 1
    assert second[-1].type == "run.completed", second[-1].data
    output = second[-1].data["output"]
    assert output["answers"] == [{"ok": True}]
    assert output["result"] == 20
    record = runner.runs.get(run_id)
    assert record.status == "completed"
    assert record.last_seq == second[-1].seq
    assert_recorded(runner, first + second)
    assert len(runner.runs.list_runs(thread_id="t1")) == 1
    # the nodes before the interrupting one did not run again
    assert logged(log) == shape.log_on_resume
    assert state_at(runner.store, "t1").interrupts == []


@shapes
def test_sync_resume_with_a_value(runner: Runner, tmp_path: Path, shape: Shape) -> None:
    wf = flow(tmp_path, shape, interrupt_at=shape.interrupt_at)
    run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    events = run_all(runner.resume(wf, "t1", "yes"))
    assert events[-1].type == "run.completed"
    assert events[-1].data["output"]["answers"] == ["yes"]


@shapes
def test_resume_on_a_completed_thread_is_refused_and_writes_nothing(
    runner: Runner, tmp_path: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape)
    run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    before = db_counts(tmp_path)
    with pytest.raises(UsageError, match="not interrupted"):
        run_all(runner.resume(wf, "t1", "yes"))
    with pytest.raises(UsageError, match="not interrupted"):
        run_all(runner.resume(wf, "t1"))
    assert db_counts(tmp_path) == before


@shapes
def test_resume_without_the_awaited_value_is_refused_and_writes_nothing(
    runner: Runner, tmp_path: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape, interrupt_at=shape.interrupt_at)
    first = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    before = db_counts(tmp_path)
    with pytest.raises(UsageError, match="waiting for a value"):
        run_all(runner.resume(wf, "t1"))
    assert db_counts(tmp_path) == before
    assert runner.runs.get(first[0].run_id).status == "interrupted"


def test_resume_of_an_unknown_thread_is_not_found(runner: Runner, tmp_path: Path) -> None:
    wf = flow(tmp_path, SHAPES[0])
    run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    before = db_counts(tmp_path)
    with pytest.raises(NotFoundError, match="unknown thread"):
        run_all(runner.resume(wf, "nope", "yes"))
    assert db_counts(tmp_path) == before


def test_resume_twice_the_second_is_refused(runner: Runner, tmp_path: Path) -> None:
    wf = flow(tmp_path, SHAPES[0], interrupt_at="b")
    run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    run_all(runner.resume(wf, "t1", 1))
    with pytest.raises(UsageError):
        run_all(runner.resume(wf, "t1", 2))


def test_interrupts_in_send_branches_resume_with_a_map_of_ids(
    runner: Runner, tmp_path: Path, log: Path
) -> None:
    wf = flow(tmp_path, SHAPES[2], interrupt_at="work")
    first = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    assert first[-1].type == "interrupt"
    asked = {i["id"]: i["value"] for i in first[-1].data["interrupts"]}
    assert len(asked) == 2
    assert runner.runs.get(first[0].run_id).status == "interrupted"
    reset(log)
    answers = {iid: f"answer-{n}" for n, iid in enumerate(asked)}
    second = run_all(runner.resume(wf, "t1", answers))
    assert second[-1].type == "run.completed", second[-1].data
    out = second[-1].data["output"]
    assert sorted(out["answers"]) == sorted(answers.values())
    assert out["results"] == [200, 300]
    assert {e.run_id for e in second} == {first[0].run_id}
    assert logged(log) == ["work", "work", "c"]


def test_one_value_for_several_interrupts_is_refused_up_front(
    runner: Runner, tmp_path: Path
) -> None:
    wf = flow(tmp_path, SHAPES[2], interrupt_at="work")
    first = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    ids = [i["id"] for i in first[-1].data["interrupts"]]
    before = db_counts(tmp_path)
    with pytest.raises(UsageError, match="2 interrupts are waiting") as info:
        run_all(runner.resume(wf, "t1", "yes"))
    assert all(i in str(info.value) for i in ids)  # the message shows the ids to use
    with pytest.raises(UsageError, match="one value per interrupt id"):
        run_all(runner.resume(wf, "t1", {ids[0]: "only one"}))
    assert runner.runs.get(first[0].run_id).status == "interrupted"
    assert db_counts(tmp_path) == before


# --------------------------------------------------------------------------- replay


@shapes
def test_replay_reruns_only_the_nodes_after_the_checkpoint(
    runner: Runner, tmp_path: Path, log: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape)
    original = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    k = checkpoint_at(original, 1)
    before = {c.checkpoint_id for c in runner.store.history("t1")}
    reset(log)
    events = run_all(runner.replay(wf, "t1", k))
    assert events[-1].type == "run.completed", events[-1].data
    assert events[-1].data["output"]["result"] == 20
    assert logged(log) == shape.after_k
    assert events[0].data["replay_of"] == k
    record = runner.runs.get(events[0].run_id)
    assert (record.kind, record.checkpoint_id, record.status) == ("replay", k, "completed")
    assert_recorded(runner, events)
    history = runner.store.history("t1")
    assert before < {c.checkpoint_id for c in history}  # nothing lost, some added
    children = [c for c in history if c.parent_id == k]
    assert len(children) == 2  # the original branch and the replay
    assert len(runner.runs.list_runs(thread_id="t1")) == 2


def test_replay_from_the_first_checkpoint_reruns_everything(
    runner: Runner, tmp_path: Path, log: Path
) -> None:
    wf = flow(tmp_path, SHAPES[0])
    original = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    reset(log)
    run_all(runner.replay(wf, "t1", checkpoint_at(original, -1)))
    assert logged(log) == ["a", "b", "c"]


def test_replay_of_an_unknown_checkpoint_or_thread_writes_nothing(
    runner: Runner, tmp_path: Path
) -> None:
    wf = flow(tmp_path, SHAPES[0])
    run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    before = db_counts(tmp_path)
    with pytest.raises(NotFoundError, match="unknown checkpoint"):
        run_all(runner.replay(wf, "t1", "1f000000-0000-6000-8000-000000000000"))
    with pytest.raises(NotFoundError, match="unknown thread"):
        run_all(runner.replay(wf, "nope", "1f000000-0000-6000-8000-000000000000"))
    assert db_counts(tmp_path) == before


# --------------------------------------------------------------------------- fork


@shapes
def test_fork_with_an_edit_leaves_the_original_branch(
    runner: Runner, tmp_path: Path, log: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape)
    original = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    old_head = state_at(runner.store, "t1").checkpoint_id
    k = checkpoint_at(original, shape.fork_step)
    reset(log)
    events = run_all(runner.fork(wf, "t1", k, {"x": 100}, as_node=shape.fork_as_node))
    assert events[-1].type == "run.completed", events[-1].data
    assert events[-1].data["output"]["result"] == shape.fork_result
    assert logged(log) == shape.fork_log
    assert events[0].data["fork_of"] == k
    record = runner.runs.get(events[0].run_id)
    assert (record.kind, record.status) == ("fork", "completed")
    assert record.checkpoint_id not in (None, k)  # the checkpoint the update wrote
    assert_recorded(runner, events)

    head = state_at(runner.store, "t1")
    assert head.values["result"] == shape.fork_result
    assert head.checkpoint_id != old_head
    # the original branch still ends with the original state
    assert state_at(runner.store, "t1", old_head).values["result"] == 20
    children = [c for c in runner.store.history("t1") if c.parent_id == k]
    assert len(children) == 2
    update = runner.store.checkpoint("t1", record.checkpoint_id)
    assert update is not None and update.parent_id == k and update.source == "update"


@pytest.mark.parametrize(
    ("update", "as_node", "message"),
    [
        ({"x": 5}, "nope", "unknown node 'nope'"),
        ({"nope": 1}, "a", "unknown state key"),
        ({"x": 5, "zzz": 1}, None, "zzz"),
        ([1, 2], "a", "object of state keys"),
        ("x", None, "object of state keys"),
        (None, None, "object of state keys"),
    ],
    ids=["bad-as-node", "unknown-key", "one-unknown-key", "list", "string", "null"],
)
@shapes
def test_fork_with_bad_input_is_refused_and_writes_nothing(
    runner: Runner,
    tmp_path: Path,
    log: Path,
    shape: Shape,
    update: Any,
    as_node: str | None,
    message: str,
) -> None:
    wf = flow(tmp_path, shape)
    original = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    before = db_counts(tmp_path)
    reset(log)
    with pytest.raises(UsageError, match=message):
        run_all(runner.fork(wf, "t1", checkpoint_at(original, 1), update, as_node=as_node))
    assert db_counts(tmp_path) == before
    assert logged(log) == []


def test_fork_of_an_unknown_checkpoint_writes_nothing(runner: Runner, tmp_path: Path) -> None:
    wf = flow(tmp_path, SHAPES[0])
    run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    before = db_counts(tmp_path)
    with pytest.raises(NotFoundError, match="unknown checkpoint"):
        run_all(runner.fork(wf, "t1", "1f000000-0000-6000-8000-000000000000", {"x": 1}))
    assert db_counts(tmp_path) == before


def test_fork_without_as_node_continues_after_the_last_writer(
    runner: Runner, tmp_path: Path, log: Path
) -> None:
    wf = flow(tmp_path, SHAPES[0])
    original = run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    reset(log)
    events = run_all(runner.fork(wf, "t1", checkpoint_at(original, 2), {"x": 7}))
    assert events[-1].data["output"]["result"] == 70
    assert logged(log) == ["c"]


# --------------------------------------------------------------------------- breakpoints


@shapes
def test_interrupt_before_stops_there_and_resume_continues(
    runner: Runner, tmp_path: Path, log: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape)
    first = run_all(runner.start(wf, {"x": 1}, thread_id="t1", interrupt_before=[shape.breakpoint]))
    stop = first[-1]
    assert stop.type == "interrupt"
    assert stop.data["interrupts"] == []
    assert runner.runs.get(stop.run_id).status == "interrupted"
    assert logged(log) == ["a"]
    second = run_all(runner.resume(wf, "t1"))
    assert second[-1].type == "run.completed", second[-1].data
    assert second[-1].data["output"]["result"] == 20
    assert second[0].run_id == stop.run_id and second[0].seq == stop.seq + 1
    assert logged(log) == shape.full_log
    assert runner.runs.get(stop.run_id).status == "completed"


@shapes
def test_state_at_a_breakpoint_names_the_next_node(
    runner: Runner, tmp_path: Path, shape: Shape
) -> None:
    wf = flow(tmp_path, shape)
    run_all(runner.start(wf, {"x": 1}, thread_id="t1", interrupt_before=[shape.breakpoint]))
    assert shape.breakpoint in state_at(runner.store, "t1").next


def test_interrupt_after_stops_after_the_node(runner: Runner, tmp_path: Path, log: Path) -> None:
    wf = flow(tmp_path, SHAPES[0])
    first = run_all(runner.start(wf, {"x": 1}, thread_id="t1", interrupt_after=["b"]))
    assert first[-1].type == "interrupt" and first[-1].data["interrupts"] == []
    assert logged(log) == ["a", "b"]
    second = run_all(runner.resume(wf, "t1"))
    assert second[-1].data["output"]["result"] == 20
    assert logged(log) == ["a", "b", "c"]


@pytest.mark.parametrize("option", ["interrupt_before", "interrupt_after"])
def test_unknown_breakpoint_node_is_refused_and_writes_nothing(
    runner: Runner, tmp_path: Path, log: Path, option: str
) -> None:
    wf = flow(tmp_path, SHAPES[0])
    run_all(runner.start(wf, {"x": 1}, thread_id="t1"))
    before = db_counts(tmp_path)
    with pytest.raises(UsageError, match="unknown node"):
        run_all(runner.start(wf, {"x": 1}, thread_id="t2", **{option: ["b", "nope"]}))
    assert db_counts(tmp_path) == before


# --------------------------------------------------------------------------- cancellation

SLOW = """\
import asyncio
import os
import time
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

LOG = {log!r}
MARK = LOG + ".held"
GATE = LOG + ".open"


def _log(name):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(name + "\\n")


class State(TypedDict, total=False):
    x: int


def a(state):
    _log("a")
    return {{"x": 1}}


{slow}


def c(state):
    _log("c")
    return {{"x": state["x"] + 10}}


g = StateGraph(State)
g.add_node("a", a)
g.add_node("slow", slow)
g.add_node("c", c)
g.add_edge(START, "a")
g.add_edge("a", "slow")
g.add_edge("slow", "c")
g.add_edge("c", END)
workflow = g
"""

# Only the first call holds, until the test opens GATE (the ``log`` fixture does
# when the test ends), so the resume after a cancel is quick.
ASYNC_SLOW = """\
async def slow(state):
    _log("slow")
    if not os.path.exists(MARK):
        open(MARK, "w").close()
        while not os.path.exists(GATE):
            await asyncio.sleep(0.01)
    return {"x": state["x"] + 1}"""

SYNC_SLOW = """\
def slow(state):
    _log("slow")
    if not os.path.exists(MARK):
        open(MARK, "w").close()
        while not os.path.exists(GATE):
            time.sleep(0.01)
    return {"x": state["x"] + 1}"""


def slow_flow(tmp_path: Path, slow: str) -> LoadedWorkflow:
    path = tmp_path / "slow_flow.py"
    path.write_text(SLOW.format(log=str(tmp_path / "log.txt"), slow=slow), encoding="utf-8")
    return load_workflow(resolve_target(str(path)))


def assert_cancelled_then_resumable(
    runner: Runner, wf: LoadedWorkflow, run_id: str, log: Path
) -> None:
    stored = runner.runs.events(run_id)
    assert stored[-1].type == "run.cancelled"
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert runner.runs.get(run_id).status == "cancelled"
    # the checkpoints written before the cancel are kept: the thread waits at "slow"
    assert state_at(runner.store, "t1").next == ("slow",)
    assert len(runner.store.history("t1")) == len(
        [e for e in stored if e.type == "checkpoint" and not e.data["path"]]
    )
    # a sync node is started on a worker thread, which the cancel may beat
    assert logged(log) in (["a"], ["a", "slow"])
    # a sync node cannot be stopped: the cancelled run ends once it returns, and the
    # thread's next run waits for that
    open_gate(log.with_name(log.name + ".open"))
    events = run_all(runner.resume(wf, "t1"))
    assert events[-1].type == "run.completed", events[-1].data
    assert events[-1].data["output"] == {"x": 12}
    after = logged(log)
    assert after.count("a") == 1  # "a" did not run again
    assert after[-2:] == ["slow", "c"]


@pytest.mark.asyncio
async def test_cancelling_the_consuming_task_cancels_the_run(
    runner: Runner, tmp_path: Path, log: Path
) -> None:
    wf = slow_flow(tmp_path, ASYNC_SLOW)
    seen: list[RunEvent] = []

    async def consume() -> None:
        async for e in runner.astart(wf, {}, thread_id="t1"):
            seen.append(e)

    task = asyncio.create_task(consume())
    async with asyncio.timeout(10):
        while not any(e.type == "node.started" and e.node == "slow" for e in seen):
            await asyncio.sleep(0.01)
    task.cancel()
    async with asyncio.timeout(5):  # the node holds at its gate: only the cancel ends it
        with suppress(asyncio.CancelledError):
            await task
    run_id = seen[0].run_id
    assert runner.runs.get(run_id).status == "cancelled"
    stored = runner.runs.events(run_id)
    assert stored[-1].type == "run.cancelled"
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert state_at(runner.store, "t1").next == ("slow",)
    events = [e async for e in runner.aresume(wf, "t1")]
    assert events[-1].type == "run.completed", events[-1].data
    assert events[-1].data["output"] == {"x": 12}
    assert logged(log) == ["a", "slow", "slow", "c"]


def test_sync_consumer_that_stops_reading_cancels_the_run(
    runner: Runner, tmp_path: Path, log: Path
) -> None:
    wf = slow_flow(tmp_path, SYNC_SLOW)
    run_id = None
    for e in runner.start(wf, {}, thread_id="t1"):
        run_id = e.run_id
        if e.type == "node.started" and e.node == "slow":
            break
    assert run_id is not None
    assert runner.runs.get(run_id).status != "running"
    assert_cancelled_then_resumable(runner, wf, run_id, log)


def test_closing_the_sync_iterator_cancels_the_run(
    runner: Runner, tmp_path: Path, log: Path
) -> None:
    wf = slow_flow(tmp_path, SYNC_SLOW)
    it = runner.start(wf, {}, thread_id="t1")
    first = next(it)
    it.close()
    assert runner.runs.get(first.run_id).status == "cancelled"
    assert runner.runs.events(first.run_id)[-1].type == "run.cancelled"


# --------------------------------------------------------------------------- delete


def test_delete_thread_forgets_checkpoints_runs_and_events_of_that_thread_only(
    runner: Runner, tmp_path: Path
) -> None:
    wf = flow(tmp_path, SHAPES[0])
    run_all(runner.start(wf, {"x": 1}, thread_id="gone"))
    run_all(runner.start(wf, {"x": 2}, thread_id="kept"))
    kept = db_counts(tmp_path)
    runner.delete_thread("gone")
    assert [t.thread_id for t in runner.store.threads()] == ["kept"]
    assert runner.runs.latest_for_thread("gone") is None
    assert runner.runs.latest_for_thread("kept") is not None
    after = db_counts(tmp_path)
    assert 0 < after["checkpoints"] < kept["checkpoints"]
    assert 0 < after["lgp_events"] < kept["lgp_events"]
    with pytest.raises(NotFoundError, match="unknown thread"):
        runner.delete_thread("gone")
