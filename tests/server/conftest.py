"""Fixtures for the hosted API: a project with extra test workflows and a live server."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_project
from tests.server.server_process import ServerProcess, write_hosted_config

API_KEY = "test-key-123"

WORKFLOWS = {
    "burst.py": """
        from typing import TypedDict

        from langgraph.config import get_stream_writer
        from langgraph.graph import END, START, StateGraph


        class S(TypedDict, total=False):
            count: int
            sent: int


        def emit(state: S) -> S:
            write = get_stream_writer()
            n = state.get("count", 10)
            for i in range(n):
                write({"i": i})
            return {"sent": n}


        workflow = StateGraph(S)
        workflow.add_node("emit", emit)
        workflow.add_edge(START, "emit")
        workflow.add_edge("emit", END)
    """,
    "boom.py": """
        from typing import TypedDict

        from langgraph.graph import END, START, StateGraph


        class S(TypedDict, total=False):
            x: int


        def ok(state: S) -> S:
            return {"x": 1}


        def explode(state: S) -> S:
            raise ValueError("kaboom")


        workflow = StateGraph(S)
        workflow.add_node("ok", ok)
        workflow.add_node("explode", explode)
        workflow.add_edge(START, "ok")
        workflow.add_edge("ok", "explode")
        workflow.add_edge("explode", END)
    """,
    "slow.py": """
        import time
        from pathlib import Path
        from typing import Annotated, TypedDict
        import operator

        from langgraph.graph import END, START, StateGraph

        LOG = Path(__file__).parent / "slow_calls.log"


        class S(TypedDict, total=False):
            seconds: float
            trail: Annotated[list[str], operator.add]


        def first(state: S) -> S:
            with LOG.open("a") as f:
                f.write("first\\n")
            return {"trail": ["first"]}


        def wait(state: S) -> S:
            with LOG.open("a") as f:
                f.write("wait\\n")
            time.sleep(state.get("seconds", 3))
            return {"trail": ["wait"]}


        def last(state: S) -> S:
            with LOG.open("a") as f:
                f.write("last\\n")
            return {"trail": ["last"]}


        workflow = StateGraph(S)
        workflow.add_node("first", first)
        workflow.add_node("wait", wait)
        workflow.add_node("last", last)
        workflow.add_edge(START, "first")
        workflow.add_edge("first", "wait")
        workflow.add_edge("wait", "last")
        workflow.add_edge("last", END)
    """,
    "tiny.py": """
        from typing import TypedDict

        from langgraph.graph import END, START, StateGraph


        class S(TypedDict, total=False):
            n: int


        def a(state: S) -> S:
            return {"n": state.get("n", 0) + 1}


        def b(state: S) -> S:
            return {"n": state["n"] * 2}


        def c(state: S) -> S:
            return {"n": state["n"] + 3}


        workflow = StateGraph(S)
        workflow.add_node("a", a)
        workflow.add_node("b", b)
        workflow.add_node("c", c)
        workflow.add_edge(START, "a")
        workflow.add_edge("a", "b")
        workflow.add_edge("b", "c")
        workflow.add_edge("c", END)
    """,
}


def make_server_project(root: Path, **server: object) -> Path:
    """A project copy whose workflows/ also holds the server test workflows."""
    project = copy_project(root)
    for name, code in WORKFLOWS.items():
        (project / "workflows" / name).write_text(textwrap.dedent(code).lstrip())
    write_hosted_config(project, **server)
    return project


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One authenticated server for a module: key API_KEY, generous rate limit."""
    project = make_server_project(
        tmp_path_factory.mktemp("srv"),
        api_keys=[API_KEY],
        rate_limit_per_minute=100000,
        max_body_bytes=65536,
    )
    with ServerProcess(project, "workflows") as proc:
        yield proc
