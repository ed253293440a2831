"""A node with breakpoint() in it, and a helper it calls: for the workbench's
debugger (step into, return, next, continue)."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class S(TypedDict, total=False):
    n: int
    out: int


def double(x: int) -> int:
    y = x * 2
    return y


def work(state: S) -> S:
    n = state.get("n", 1)
    breakpoint()
    m = double(n)
    return {"out": m + 1}


graph = StateGraph(S)
graph.add_node("work", work)
graph.add_edge(START, "work")
graph.add_edge("work", END)
