"""Tags a ticket with a priority; its paths are relative to its own folder."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from rules import priority


class State(TypedDict, total=False):
    ticket: str
    priority: str


def triage(state: State) -> State:
    return {"priority": priority(state["ticket"])}


builder = StateGraph(State)
builder.add_node("triage", triage)
builder.add_edge(START, "triage")
builder.add_edge("triage", END)
graph = builder.compile()
