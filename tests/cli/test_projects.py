"""``lgp run`` on a LangGraph CLI project (``langgraph.json`` with two graphs and a
``.env``), exercised as a subprocess from the folder above the project."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

# Unique names: nothing else in the process environment sets them.
ONE_VAR = "LGPWB_TEST_PROJECT_ONE_GREETING"
TWO_VAR = "LGPWB_TEST_PROJECT_TWO_MODEL"

GRAPH_ONE = f'''
import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    name: str
    graph: str
    env: str
    greeting: str


def greet(state):
    env = os.environ.get("{ONE_VAR}", "<unset>")
    return {{"graph": "one", "env": env, "greeting": f"{{env}}, {{state.get('name', '?')}}"}}


builder = StateGraph(State)
builder.add_node("greet", greet)
builder.add_edge(START, "greet")
builder.add_edge("greet", END)
graph = builder.compile()
'''

GRAPH_TWO = f'''
import os
from dataclasses import dataclass
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime


@dataclass
class Ctx:
    user: str = "nobody"


class State(TypedDict, total=False):
    graph: str
    env: str
    user: str


def who(state, runtime: Runtime[Ctx]):
    user = runtime.context.user if runtime.context is not None else "<no context>"
    return {{"graph": "two", "env": os.environ.get("{TWO_VAR}", "<unset>"), "user": user}}


graph = StateGraph(State, context_schema=Ctx)
graph.add_node("who", who)
graph.add_edge(START, "who")
graph.add_edge("who", END)
'''


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """``tmp_path`` holding ``proj/`` (langgraph.json, .env, graphs/one.py, graphs/two.py)."""
    proj = tmp_path / "proj"
    write(proj / "graphs" / "one.py", GRAPH_ONE)
    write(proj / "graphs" / "two.py", GRAPH_TWO)
    write(proj / ".env", f"{ONE_VAR}=hello-from-dotenv\n{TWO_VAR}=model-from-dotenv\n")
    config = {
        "dependencies": ["."],
        "graphs": {"one": "./graphs/one.py:graph", "two": "./graphs/two.py:graph"},
        "env": ".env",
    }
    write(proj / "langgraph.json", json.dumps(config, indent=2))
    return tmp_path


def result_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("Result: ")]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0].removeprefix("Result: "))


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("[lgp] ❌"), lines[0]
    return lines[0]


def test_graph_one_reads_dotenv_and_input_file(workspace: Path, lgp) -> None:
    (workspace / "input.json").write_text('{"name": "Zoe"}', encoding="utf-8")
    proc = lgp(
        "run",
        "proj/langgraph.json",
        "--graph",
        "one",
        "--input",
        "@input.json",
        "--thread",
        "one-t",
        cwd=workspace,
    )
    out = result_of(proc)
    assert out == {
        "name": "Zoe",
        "graph": "one",
        "env": "hello-from-dotenv",
        "greeting": "hello-from-dotenv, Zoe",
    }
    assert "[lgp] Loading workflow: proj/langgraph.json (graph one)" in proc.stdout
    assert "[lgp] Thread: one-t" in proc.stdout


def test_graph_two_reads_dotenv_and_context(workspace: Path, lgp) -> None:
    proc = lgp(
        "run",
        "proj/langgraph.json",
        "--graph",
        "two",
        "--context",
        '{"user": "ann"}',
        cwd=workspace,
    )
    assert result_of(proc) == {"graph": "two", "env": "model-from-dotenv", "user": "ann"}


def test_file_attr_target_of_the_same_project(workspace: Path, lgp) -> None:
    proc = lgp("run", "proj/graphs/one.py:graph", "--input", '{"name": "Al"}', cwd=workspace)
    out = result_of(proc)
    assert out["graph"] == "one"
    assert out["name"] == "Al"
    assert out["greeting"].endswith(", Al")


def test_two_graphs_without_graph_option_is_a_usage_error(workspace: Path, lgp) -> None:
    proc = lgp("run", "proj/langgraph.json", cwd=workspace)
    line = one_line_error(proc)
    assert "one" in line and "two" in line
    assert "--graph" in line
    assert "Result:" not in proc.stdout
    assert not (workspace / ".lgp").exists()  # nothing ran


def test_missing_input_file_is_a_usage_error(workspace: Path, lgp) -> None:
    proc = lgp(
        "run", "proj/langgraph.json", "--graph", "one", "--input", "@missing.json", cwd=workspace
    )
    line = one_line_error(proc)
    assert "missing.json" in line
    assert "Result:" not in proc.stdout
