"""A plain step, then one agent role (``writer`` on ``ollama:llama3.2`` unless config
binds it elsewhere): the checkpoint after ``prepare`` must survive a failing model."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from lgp_engine import create_agent_node


class State(TypedDict, total=False):
    task: str
    prepared: bool
    writer_output: str


def prepare(state: State) -> State:
    return {"prepared": True}


writer = create_agent_node("ollama", {"role_name": "writer", "model": "llama3.2"})

workflow = StateGraph(State)
workflow.add_node("prepare", prepare)
workflow.add_node("writer", writer)
workflow.add_edge(START, "prepare")
workflow.add_edge("prepare", "writer")
workflow.add_edge("writer", END)
