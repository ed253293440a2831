"""Looks up a forecast, then writes a one-line report."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from weather import forecast


class State(TypedDict, total=False):
    city: str
    reading: dict[str, object]
    report: str


def look_up(state: State) -> State:
    return {"reading": forecast(state["city"])}


def report(state: State) -> State:
    r = state["reading"]
    return {"report": f"{r['city']}: {r['celsius']} °C ({r['fahrenheit']} °F)"}


builder = StateGraph(State)
builder.add_node("look_up", look_up)
builder.add_node("report", report)
builder.add_edge(START, "look_up")
builder.add_edge("look_up", "report")
builder.add_edge("report", END)
graph = builder.compile()
