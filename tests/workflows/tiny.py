"""a -> b -> c on one number: n + 1, then * 2, then + 3 (5 checkpoints a run)."""

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
