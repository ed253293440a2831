"""step1 -> subg (a compiled subgraph: sub_a) -> ask (interrupts with a question)."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class S(TypedDict, total=False):
    x: int
    trail: list[str]
    answer: str


def sub_a(state: S) -> S:
    return {"x": state.get("x", 0) + 10, "trail": (state.get("trail") or []) + ["sub_a"]}


sub = StateGraph(S)
sub.add_node("sub_a", sub_a)
sub.add_edge(START, "sub_a")
sub.add_edge("sub_a", END)


def step1(state: S) -> S:
    return {"x": state.get("x", 0) + 1, "trail": (state.get("trail") or []) + ["step1"]}


def ask(state: S) -> S:
    answer = interrupt({"question": "continue?", "x": state.get("x")})
    return {"answer": str(answer), "trail": (state.get("trail") or []) + ["ask"]}


workflow = StateGraph(S)
workflow.add_node("step1", step1)
workflow.add_node("subg", sub.compile())
workflow.add_node("ask", ask)
workflow.add_edge(START, "step1")
workflow.add_edge("step1", "subg")
workflow.add_edge("subg", "ask")
workflow.add_edge("ask", END)
