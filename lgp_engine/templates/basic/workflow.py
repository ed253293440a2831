"""Basic workflow: three nodes in a straight line (greet -> process -> finish).

State is persisted per thread by the engine's checkpointer, so running twice on the
same thread keeps the earlier messages and bumps ``run_count``.
"""

import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    """Shared state passed between nodes. Each node returns a partial update."""

    input: str
    # Reducer: operator.add appends new messages instead of overwriting the list,
    # so messages from earlier runs on the same thread are kept.
    messages: Annotated[list[str], operator.add]
    # No reducer: the last value written wins.
    run_count: int
    result: str


def greet(state: State) -> State:
    # Customize: change the greeting or validate the input here.
    run_count = state.get("run_count", 0) + 1
    return {"run_count": run_count, "messages": [f"greet: run #{run_count}"]}


def process(state: State) -> State:
    # Customize: replace this with your real processing step.
    text = state.get("input", "")
    result = text.strip().upper()
    return {"result": result, "messages": [f"process: {text!r} -> {result!r}"]}


def finish(state: State) -> State:
    # Customize: format the final output, or add more nodes after this one.
    total = len(state.get("messages", [])) + 1
    return {"messages": [f"finish: done ({total} messages on this thread)"]}


# Build the graph. The engine compiles it with its own checkpointer, so leave it uncompiled.
workflow = StateGraph(State)
workflow.add_node("greet", greet)
workflow.add_node("process", process)
workflow.add_node("finish", finish)
# Customize: add nodes above and wire them in with add_edge below.
workflow.add_edge(START, "greet")
workflow.add_edge("greet", "process")
workflow.add_edge("process", "finish")
workflow.add_edge("finish", END)
