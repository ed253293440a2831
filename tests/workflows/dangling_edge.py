"""Does not compile: an edge leads to a node that does not exist."""

from typing import TypedDict

from langgraph.graph import START, StateGraph


class State(TypedDict, total=False):
    x: int


def first(state: State) -> State:
    return {"x": 1}


workflow = StateGraph(State)
workflow.add_node("first", first)
workflow.add_edge(START, "first")
workflow.add_edge("first", "nowhere")
