"""Static breakpoints and subgraph state (issue 16, the workbench's graph pane): the
``interrupt`` event says where a breakpoint stopped the run, a resumed run takes
breakpoints of its own, and a subgraph's state is read from its checkpoints. Real
workflow files (tests/workflows/research_flow.py, nested.py), a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lgp_engine import (
    LoadedWorkflow,
    RunEvent,
    Runner,
    Settings,
    UsageError,
    load_workflow,
    resolve_in_project,
    state_at,
    subgraph_states,
)
from tests.workflows import copy_workflows


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    copy_workflows(tmp_path / "workflows", "research_flow.py", "nested.py")
    with Runner.open(Settings(project_dir=tmp_path)) as r:
        yield r


@pytest.fixture
def research(tmp_path: Path, runner: Runner) -> LoadedWorkflow:
    return load_workflow(
        resolve_in_project("workflows/research_flow.py", Settings(project_dir=tmp_path))
    )


def ran(events: list[RunEvent]) -> list[str | None]:
    """The top graph's nodes that finished, in order."""
    return [e.node for e in events if e.type == "node.finished" and not e.data.get("path")]


def test_a_stop_before_a_node_says_so(runner: Runner, research: LoadedWorkflow) -> None:
    events = list(
        runner.start(research, {"topic": "owls"}, thread_id="t1", interrupt_before=["review"])
    )
    stop = events[-1]
    assert stop.type == "interrupt"
    assert stop.data["interrupts"] == []
    assert stop.data["breakpoint"] == {"when": "before", "nodes": ["review"]}
    assert stop.node == stop.data["node"] == "review"
    assert ran(events) == ["plan", "research"]
    assert state_at(runner.store, "t1").next == ("review",)


def test_a_stop_after_a_node_says_so(runner: Runner, research: LoadedWorkflow) -> None:
    events = list(
        runner.start(research, {"topic": "owls"}, thread_id="t1", interrupt_after=["plan"])
    )
    assert events[-1].data["breakpoint"] == {"when": "after", "nodes": ["plan"]}
    assert events[-1].node == "plan"
    assert ran(events) == ["plan"]


def test_an_interrupt_that_asks_is_not_a_breakpoint(tmp_path: Path, runner: Runner) -> None:
    copy_workflows(tmp_path / "workflows", "asks_in_subgraph.py")
    asks = load_workflow(
        resolve_in_project("workflows/asks_in_subgraph.py", Settings(project_dir=tmp_path))
    )
    stop = list(runner.start(asks, {"x": 1}, thread_id="t1", interrupt_before=["c"]))[-1]
    assert stop.type == "interrupt" and stop.data["interrupts"]
    assert "breakpoint" not in stop.data


def test_a_resumed_run_stops_at_its_own_breakpoints_not_at_the_same_one_again(
    runner: Runner, research: LoadedWorkflow
) -> None:
    every = ["plan", "research", "review"]
    first = list(runner.start(research, {"topic": "owls"}, thread_id="t1", interrupt_after=every))
    assert first[-1].data["breakpoint"] == {"when": "after", "nodes": ["plan"]}
    steps = []
    for _ in range(3):  # one node a resume: stepping
        events = list(runner.resume(research, "t1", interrupt_after=every))
        steps.append((ran(events), events[-1].type, events[-1].data.get("breakpoint")))
    assert steps == [
        (["research"], "interrupt", {"when": "after", "nodes": ["research"]}),
        (["review"], "interrupt", {"when": "after", "nodes": ["review"]}),
        ([], "run.completed", None),
    ]
    assert state_at(runner.store, "t1").values["verdict"] == "approved"


def test_a_resume_without_breakpoints_runs_to_the_end(
    runner: Runner, research: LoadedWorkflow
) -> None:
    list(runner.start(research, {"topic": "owls"}, thread_id="t1", interrupt_before=["research"]))
    events = list(runner.resume(research, "t1"))
    assert ran(events) == ["research", "review"]
    assert events[-1].type == "run.completed"


def test_a_resume_with_an_unknown_breakpoint_node_is_refused(
    runner: Runner, research: LoadedWorkflow
) -> None:
    list(runner.start(research, {"topic": "owls"}, thread_id="t1", interrupt_before=["review"]))
    with pytest.raises(UsageError, match="unknown node"):
        list(runner.resume(research, "t1", interrupt_after=["search"]))  # inner: not its own
    assert state_at(runner.store, "t1").next == ("review",)


def test_subgraph_state_is_read_at_the_checkpoints_around_its_step(
    runner: Runner, research: LoadedWorkflow
) -> None:
    events = list(
        runner.start(research, {"topic": "owls"}, thread_id="t1", interrupt_before=["review"])
    )
    root = [e.data for e in events if e.type == "checkpoint" and not e.data["path"]]
    before = next(c["checkpoint_id"] for c in root if c["next"] == ["research"])
    after = root[-1]["checkpoint_id"]  # the stop before review: research ran into it
    for at in (before, after, None):
        (sub,) = subgraph_states(runner.store, "t1", at)
        assert sub.path == ("research",) and sub.namespace.startswith("research:")
        assert sub.parent_id == before
        assert sub.state.values["sources"] == ["owls handbook", "owls survey", "owls notes"]
        assert sub.state.values["summary"] == "owls: 3 sources read"
        assert sub.state.next == ()
    first = next(c["checkpoint_id"] for c in root if c["next"] == ["plan"])
    assert subgraph_states(runner.store, "t1", first) == []


def test_nested_subgraphs_come_outer_first(tmp_path: Path, runner: Runner) -> None:
    nested = load_workflow(
        resolve_in_project("workflows/nested.py", Settings(project_dir=tmp_path))
    )
    list(runner.start(nested, {"n": 0}, thread_id="t1"))
    subs = subgraph_states(runner.store, "t1")
    assert [s.path for s in subs] == [("middle",), ("middle", "inner")]
    assert [s.state.values["n"] for s in subs] == [3, 3]
    assert "|" in subs[1].namespace
