"""Tests for lgp_engine.analysis: the static checks behind ``lgp check`` and the
graph pane's warnings.

Every graph is a real workflow file: the shared ones in ``tests/workflows/`` (one per
warning), the bundled examples and templates (which must give no warning), and small
files written into ``tmp_path`` for the cases the analyzer must not guess about.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from lgp_engine import (
    WARNING_CODES,
    GraphAnalysis,
    GraphWarning,
    LoadedWorkflow,
    analyze_workflow,
    load_workflow,
    resolve_target,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "tests" / "workflows"
# the shared workflows that are wrong on purpose, and what the analyzer says of them
EXPECTED = {
    "check_unreachable.py": [("unreachable", "audit")],
    "check_dead_end.py": [("dead_end", "notify")],
    "check_plain_loop.py": [("cycle_without_exit", "draft")],
    "check_closed_loop.py": [("cycle_without_exit", "ask")],
    "check_undeclared_key.py": [("undeclared_key", "count"), ("undeclared_key", "finish")],
    "check_interrupt_compiled.py": [("interrupt_without_checkpointer", "approve")],
    "endless_loop.py": [("cycle_without_exit", "spin")],
}
NOT_LOADING = {"__init__.py", "dangling_edge.py", "no_entry.py"}  # load errors on purpose


def load(path: Path, attr: str | None = None) -> LoadedWorkflow:
    target = f"{path}:{attr}" if attr else str(path)
    return load_workflow(resolve_target(target, project_dir=path.parent))


def check(path: Path, attr: str | None = None) -> GraphAnalysis:
    return analyze_workflow(load(path, attr))


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def found(analysis: GraphAnalysis) -> list[tuple[str, str | None]]:
    return [(w.code, w.node) for w in analysis.warnings]


# --------------------------------------------------------------------------- one per warning


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shared_workflow_gets_its_warning_and_no_other(name: str) -> None:
    analysis = check(SHARED / name)
    assert found(analysis) == EXPECTED[name]
    assert analysis.skipped is None
    for warning in analysis.warnings:
        assert warning.message and warning.hint
        assert warning.code in WARNING_CODES


def test_the_warnings_say_what_is_wrong_and_how_to_fix_it() -> None:
    [unreachable] = check(SHARED / "check_unreachable.py").warnings
    assert "No path from START leads to `audit`" in unreachable.message
    assert "add_edge('<previous node>', 'audit')" in unreachable.hint
    # a warning about a node points at its function
    assert (Path(unreachable.path or "").name, unreachable.line) == ("check_unreachable.py", 27)

    [dead_end] = check(SHARED / "check_dead_end.py").warnings
    assert "Nothing follows `notify`" in dead_end.message
    assert "add_edge('notify', END)" in dead_end.hint

    [loop] = check(SHARED / "check_plain_loop.py").warnings
    assert loop.message.startswith("draft → review → draft is a loop of plain edges")
    assert "recursion limit" in loop.message
    assert "instead of add_edge('review', 'draft')" in loop.hint
    assert loop.related == ("review",)  # the rest of the loop

    [closed] = check(SHARED / "check_closed_loop.py").warnings
    assert "The loop through `ask`, `think` has no way out" in closed.message
    assert closed.related == ("think",)

    count, finish = check(SHARED / "check_undeclared_key.py").warnings
    assert count.message.startswith("`count` returns 'totl', which State does not declare")
    assert "did you mean 'total'?" in count.hint
    assert (Path(count.path or "").name, count.line) == ("check_undeclared_key.py", 18)
    assert "'stauts'" in finish.message and "did you mean 'status'?" in finish.hint

    [interrupt] = check(SHARED / "check_interrupt_compiled.py").warnings
    assert "`approve` calls interrupt(), but `graph` is compiled without a checkpointer" in (
        interrupt.message
    )
    assert "Cannot use Command(resume=...) without checkpointer" in interrupt.message
    assert "builder.compile(checkpointer=InMemorySaver())" in interrupt.hint
    assert interrupt.line == 21
    assert interrupt.to_dict()["code"] == "interrupt_without_checkpointer"


# --------------------------------------------------------------------------- no false warnings


def loadable(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if p.name not in NOT_LOADING)


@pytest.mark.parametrize(
    "path",
    [*loadable(REPO / "workflows"), *[p for p in loadable(SHARED) if p.name not in EXPECTED]],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_bundled_and_shared_workflows_give_no_warning(path: Path) -> None:
    assert check(path).warnings == ()


@pytest.mark.parametrize(
    "template",
    sorted(p.parent.name for p in (REPO / "lgp_engine" / "templates").glob("*/workflow.py")),
)
def test_workflows_made_from_the_templates_give_no_warning(tmp_path: Path, template: str) -> None:
    # copied out of the package: the engine's own code is never read as the workflow's
    path = Path(shutil.copy(REPO / "lgp_engine" / "templates" / template / "workflow.py", tmp_path))
    assert check(path).warnings == ()


def test_what_cannot_be_known_is_not_guessed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "unknowable.py",
        """
        from typing import TypedDict

        from langgraph.graph import END, START, StateGraph
        from langgraph.types import Command


        class S(TypedDict, total=False):
            x: int
            next: str


        def hop(state: S):
            # routes with Command(goto=...) and declares no destination
            return Command(goto="land", update={"x": 1})


        def land(state: S) -> S:
            update = {}
            update["not_declared"] = 1  # built at run time: its keys are unknown
            return update


        def pick(state: S):
            choice = state.get("next")
            return choice  # which node: known only at run time


        def later(state: S) -> S:
            return {}


        workflow = StateGraph(S)
        workflow.add_node("hop", hop)
        workflow.add_node("land", land)
        workflow.add_node("later", later)
        workflow.add_node("lib", len)  # no source to read
        workflow.add_edge(START, "hop")
        workflow.add_conditional_edges("land", pick)
        workflow.add_edge("later", END)
        workflow.add_edge("lib", END)
        """,
    )
    assert check(path).warnings == ()


def test_every_kind_of_state_schema_declares_its_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "schemas.py",
        """
        from dataclasses import dataclass
        from functools import partial
        from typing import TypedDict

        from langgraph.graph import END, START, StateGraph
        from pydantic import BaseModel


        class Model(BaseModel):
            a: int = 0
            b: str = ""


        class Out(TypedDict, total=False):
            summary: str


        class Private(TypedDict, total=False):
            scratch: str


        def one(state: Model, factor: int = 1) -> dict:
            return {"a": factor, **{"anything": 2}}


        def two(state: Model) -> dict:
            return {"summary": "s", "scratch": "x"} if state.a else dict(b="x", c=1)


        def three(state: Private) -> dict:
            return {"scratch": "y"}


        workflow = StateGraph(Model, output_schema=Out)
        workflow.add_node("one", partial(one, factor=2))
        workflow.add_node("two", two)
        workflow.add_node("three", three, input_schema=Private)
        workflow.add_edge(START, "one")
        workflow.add_edge(START, "three")
        workflow.add_edge(["one", "three"], "two")
        workflow.add_edge("two", END)


        @dataclass
        class Data:
            count: int = 0


        def bump(state: Data) -> dict:
            return {"count": state.count + 1, "cuont": 0}


        data = StateGraph(Data)
        data.add_node("bump", bump)
        data.add_edge(START, "bump")
        data.add_edge("bump", END)
        """,
    )
    # pydantic fields, the output schema's keys and a node's private input schema are
    # all declared; 'c' of dict(b=..., c=...) is not
    [extra] = check(path, "workflow").warnings
    assert (extra.code, extra.node) == ("undeclared_key", "two")
    assert extra.message.startswith("`two` returns 'c', which Model does not declare")
    [typo] = check(path, "data").warnings
    assert (typo.node, "did you mean 'count'?" in typo.hint) == ("bump", True)


def test_agent_nodes_are_checked_by_their_output_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "agents.py",
        """
        from typing import TypedDict

        from langgraph.graph import END, START, StateGraph

        from lgp_engine import create_agent_node


        class S(TypedDict, total=False):
            task: str
            writer_output: str


        workflow = StateGraph(S)
        workflow.add_node("writer", create_agent_node("ollama", {"role_name": "writer"}))
        workflow.add_node("editor", create_agent_node("ollama", {"role_name": "editr"}))
        workflow.add_edge(START, "writer")
        workflow.add_edge("writer", "editor")
        workflow.add_edge("editor", END)
        """,
    )
    [warning] = check(path).warnings
    assert (warning.code, warning.node) == ("undeclared_key", "editor")
    assert "'editr_output'" in warning.message


def test_subgraph_problems_are_reported_on_the_node_that_runs_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nested_checks.py",
        """
        from typing import TypedDict

        from langgraph.graph import END, START, StateGraph
        from langgraph.types import interrupt


        class S(TypedDict, total=False):
            x: int


        def ask(question):
            return interrupt(question)  # in a helper of the node


        def inner_node(state: S) -> S:
            return {"y": ask("q")}


        sub = StateGraph(S)
        sub.add_node("inner_node", inner_node)
        sub.add_edge(START, "inner_node")
        sub.add_edge("inner_node", END)

        workflow = StateGraph(S)
        workflow.add_node("inner", sub.compile())
        workflow.add_edge(START, "inner")
        workflow.add_edge("inner", END)
        app = workflow.compile()  # kept for use outside lgp
        """,
    )
    analysis = check(path)
    assert found(analysis) == [
        ("undeclared_key", "inner"),
        ("interrupt_without_checkpointer", "inner"),
    ]
    keys, interrupt = analysis.warnings
    assert keys.message.startswith("In subgraph `inner`: `inner_node` returns 'y'")
    assert "`inner` runs a subgraph whose node `inner_node` calls interrupt()" in (
        interrupt.message
    )
    assert "but `app` is compiled without a checkpointer" in interrupt.message
    assert "workflow.compile(checkpointer=InMemorySaver())" in interrupt.hint
    assert interrupt.line == 13  # the interrupt() call, in the helper
    assert analysis.for_node("inner") == analysis.warnings


def test_interrupt_with_a_checkpointer_or_left_to_lgp_is_fine(tmp_path: Path) -> None:
    body = """
        from typing import TypedDict

        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.graph import END, START, StateGraph
        from langgraph.types import interrupt


        class S(TypedDict, total=False):
            answer: str


        def ask(state: S) -> S:
            return {"answer": interrupt("?")}


        builder = StateGraph(S)
        builder.add_node("ask", ask)
        builder.add_edge(START, "ask")
        builder.add_edge("ask", END)
        """
    compiled = write(tmp_path, "saved.py", body + "graph = builder.compile(InMemorySaver())\n")
    assert check(compiled).warnings == ()
    uncompiled = write(tmp_path, "plain.py", body + "workflow = builder\n")
    assert check(uncompiled).warnings == ()


def test_an_entrypoint_is_checked_for_interrupts_only(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "functional.py",
        """
        from langgraph.func import entrypoint, task
        from langgraph.types import interrupt


        @task
        def ask(question):
            return interrupt(question)


        @entrypoint()
        def flow(question):
            return ask(question).result()
        """,
    )
    analysis = check(path, "flow")
    assert analysis.skipped is not None and "@entrypoint" in analysis.skipped
    [warning] = analysis.warnings
    assert warning.code == "interrupt_without_checkpointer" and warning.node == "flow"
    assert "the @entrypoint `flow` has no checkpointer" in warning.message
    assert "@entrypoint(checkpointer=InMemorySaver())" in warning.hint


def test_a_factory_is_not_built_to_be_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "factory.py",
        """
        calls = []


        def make_graph():
            calls.append(1)
            raise AssertionError("a check must not build the graph")
        """,
    )
    analysis = check(path, "make_graph")
    assert analysis.warnings == () and analysis.ok
    assert analysis.skipped == (
        "`make_graph` is a factory: its graph is built per run, so there is no graph to "
        "check before it runs"
    )


def test_error_handler_nodes_are_neither_unreachable_nor_dead_ends(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "handled.py",
        """
        from typing import TypedDict

        from langgraph.graph import END, START, StateGraph
        from langgraph.types import Command


        class S(TypedDict, total=False):
            x: int


        def risky(state: S) -> S:
            raise ValueError("no")


        def recover(state: S, error=None):
            return Command(goto="after", update={"x": 1})


        def after(state: S) -> S:
            return {"x": 2}


        workflow = StateGraph(S)
        workflow.add_node("risky", risky, error_handler=recover)
        workflow.add_node("after", after)
        workflow.add_edge(START, "risky")
        workflow.add_edge("risky", END)
        workflow.add_edge("after", END)
        """,
    )
    assert check(path).warnings == ()


def test_a_graph_warning_is_a_plain_value() -> None:
    warning = GraphWarning("dead_end", "n", "m", "h")
    assert warning.to_dict() == {
        "code": "dead_end",
        "node": "n",
        "message": "m",
        "hint": "h",
        "path": None,
        "line": None,
        "related": [],
    }
    loop = GraphWarning("cycle_without_exit", "a", "m", "h", related=("b",))
    analysis = GraphAnalysis("w", (warning, loop))
    assert not analysis.ok and analysis.for_node("other") == ()
    assert analysis.for_node("b") == (loop,)
    analysis = GraphAnalysis("w", (warning,))
    assert analysis.to_dict() == {"workflow": "w", "skipped": None, "warnings": [warning.to_dict()]}
