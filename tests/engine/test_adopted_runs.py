"""A run taken over after its process died (``Runner.aadopt``) keeps one budget and
one usage total across its attempts: what the dead attempt's finished nodes spent is
taken off the budget of the next attempt and counted in the run's end."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from lgp_engine.config import RunSettings, Settings
from lgp_engine.events import RunEvent
from lgp_engine.executor import new_run_id
from lgp_engine.loader import load_workflow, resolve_target
from lgp_engine.runner import Runner
from lgp_engine.status import RunStatus

WORKFLOW = """\
from typing import TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from lgp_engine.providers.runtime import scope_of


class State(TypedDict, total=False):
    left: float


def look(state: State, config: RunnableConfig) -> State:
    return {"left": scope_of(config).remaining_usd}


builder = StateGraph(State)
builder.add_node("look", look)
builder.add_edge(START, "look")
builder.add_edge("look", END)
graph = builder.compile()
"""

SPENT = {"calls": 2, "input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}


def test_an_adopted_run_spends_what_is_left_of_its_budget_and_reports_every_attempt(
    tmp_path: Path,
) -> None:
    (tmp_path / "budgeted.py").write_text(textwrap.dedent(WORKFLOW))
    settings = Settings(project_dir=tmp_path, runs=RunSettings(max_cost_usd=1.0, max_retries=3))
    workflow = load_workflow(resolve_target(str(tmp_path / "budgeted.py")))

    async def adopt() -> list[RunEvent]:
        with Runner.open(settings) as runner:
            # the dead attempt got as far as a checkpoint before look (as a run that
            # ran a few nodes does), then its process died
            async for _ in runner.astart(workflow, {}, thread_id="t1", interrupt_before=["look"]):
                pass
            record = runner.runs.create(new_run_id(), "t1", workflow.name)
            record = runner.runs.transition(record.run_id, RunStatus.RUNNING)
            dead_attempt = [
                ("run.started", None, {"input": {}}),
                ("node.started", "plan", {}),
                ("node.finished", "plan", {"usage": {**SPENT, "cost_usd": 0.25}}),
                ("node.started", "write", {}),
                ("node.finished", "write", {"usage": {**SPENT, "cost_usd": 0.15}}),
                ("node.started", "check", {}),  # cut short by the death: counts nothing
            ]
            for seq, (type_, node, data) in enumerate(dead_attempt, 1):
                runner.runs.append(RunEvent(record.run_id, seq, type_, "t1", data, node))
            events = [e async for e in runner.aadopt(workflow, record, "its process died")]
            return events

    events = asyncio.run(adopt())
    assert [e.type for e in events][:2] == ["run.retrying", "run.started"]
    done = events[-1]
    assert done.type == "run.completed", done.data
    assert done.data["output"]["left"] == pytest.approx(0.6)  # 1.00 less the 0.40 spent before
    assert done.data["usage"]["cost_usd"] == pytest.approx(
        0.4
    )  # the run's whole usage, every attempt
    assert done.data["usage"]["calls"] == 4 and done.data["retries"] == 1


COUNTING = """\
import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    item: str
    seen: Annotated[list[str], operator.add]


def take(state: State) -> State:
    return {"seen": [state["item"]]}


builder = StateGraph(State)
builder.add_node("take", take)
builder.add_edge(START, "take")
builder.add_edge("take", END)
graph = builder.compile()
"""


def test_an_adopted_run_that_died_before_its_first_checkpoint_starts_again_from_its_input(
    tmp_path: Path,
) -> None:
    """The thread's newest checkpoint is an earlier run's: going on from it would end
    the run at once with the old state and its input never taken in."""
    (tmp_path / "counting.py").write_text(COUNTING)
    settings = Settings(project_dir=tmp_path)
    workflow = load_workflow(resolve_target(str(tmp_path / "counting.py")))

    async def adopt() -> list[RunEvent]:
        with Runner.open(settings) as runner:
            async for _ in runner.astart(workflow, {"item": "first"}, thread_id="t1"):
                pass
            record = runner.runs.create(new_run_id(), "t1", workflow.name)
            record = runner.runs.transition(record.run_id, RunStatus.RUNNING)
            runner.runs.append(RunEvent(record.run_id, 1, "run.started", "t1", {}))
            adopted = runner.aadopt(workflow, record, "its process died", input={"item": "second"})
            return [e async for e in adopted]

    done = asyncio.run(adopt())[-1]
    assert done.type == "run.completed", done.data
    assert done.data["output"]["seen"] == ["first", "second"]
