"""A graph stuck in a loop: ``spin`` routes back to itself forever (a server-side
step limit must stop it)."""

from typing import TypedDict

from langgraph.graph import START, StateGraph


class State(TypedDict, total=False):
    turns: int


def spin(state: State) -> State:
    return {"turns": state.get("turns", 0) + 1}


workflow = StateGraph(State)
workflow.add_node("spin", spin)
workflow.add_edge(START, "spin")
workflow.add_edge("spin", "spin")
