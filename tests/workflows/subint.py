"""outer -> inner, a compiled subgraph whose only node interrupts."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class S(TypedDict, total=False):
    x: int
    answer: str


def inner_ask(state: S) -> S:
    return {"answer": str(interrupt({"inner": state.get("x")}))}


sub = StateGraph(S)
sub.add_node("inner_ask", inner_ask)
sub.add_edge(START, "inner_ask")
sub.add_edge("inner_ask", END)


def outer(state: S) -> S:
    return {"x": state.get("x", 0) + 1}


workflow = StateGraph(S)
workflow.add_node("outer", outer)
workflow.add_node("inner", sub.compile())
workflow.add_edge(START, "outer")
workflow.add_edge("outer", "inner")
workflow.add_edge("inner", END)
