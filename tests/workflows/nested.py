"""start -> middle (a compiled subgraph: m1 -> inner, itself a compiled subgraph: i1):
subgraphs two deep, ``n`` + 1 at each node."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class S(TypedDict, total=False):
    n: int


def add_one(state: S) -> S:
    return {"n": state.get("n", 0) + 1}


inner = StateGraph(S)
inner.add_node("i1", add_one)
inner.add_edge(START, "i1")
inner.add_edge("i1", END)

middle = StateGraph(S)
middle.add_node("m1", add_one)
middle.add_node("inner", inner.compile())
middle.add_edge(START, "m1")
middle.add_edge("m1", "inner")
middle.add_edge("inner", END)

workflow = StateGraph(S)
workflow.add_node("start", add_one)
workflow.add_node("middle", middle.compile())
workflow.add_edge(START, "start")
workflow.add_edge("start", "middle")
workflow.add_edge("middle", END)
