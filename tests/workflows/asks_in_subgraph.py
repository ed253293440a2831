"""a -> sub (a compiled subgraph: s1 -> s2, and s2 asks a human) -> c."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    x: int
    inner: str
    answer: str


def s1(state):
    return {"inner": "s1 done", "x": state["x"] + 1}


def s2(state):
    return {"answer": interrupt({"q": "inner?", "x": state["x"]})}


inner = StateGraph(State)
inner.add_node("s1", s1)
inner.add_node("s2", s2)
inner.add_edge(START, "s1")
inner.add_edge("s1", "s2")
inner.add_edge("s2", END)


def a(state):
    return {"x": state.get("x", 0) + 1}


def c(state):
    return {"x": state["x"] * 10}


workflow = StateGraph(State)
workflow.add_node("a", a)
workflow.add_node("sub", inner.compile())
workflow.add_node("c", c)
workflow.add_edge(START, "a")
workflow.add_edge("a", "sub")
workflow.add_edge("sub", "c")
workflow.add_edge("c", END)
