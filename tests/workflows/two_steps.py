"""a -> b: ``b`` raises ``ValueError("boom from node b")`` after ``a`` has run."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    done_a: bool


def a(state: State) -> State:
    return {"done_a": True}


def b(state: State) -> State:
    raise ValueError("boom from node b")


workflow = StateGraph(State)
workflow.add_node("a", a)
workflow.add_node("b", b)
workflow.add_edge(START, "a")
workflow.add_edge("a", "b")
workflow.add_edge("b", END)
