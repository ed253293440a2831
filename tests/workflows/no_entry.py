"""Does not compile: no edge from START, so the graph has no entry point."""

from typing import TypedDict

from langgraph.graph import END, StateGraph


class State(TypedDict, total=False):
    x: int


def only(state: State) -> State:
    return {"x": 1}


workflow = StateGraph(State)
workflow.add_node("only", only)
workflow.add_edge("only", END)
