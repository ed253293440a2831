"""ok -> explode: the second node raises ``ValueError("kaboom")``."""

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
