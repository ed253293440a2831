"""For ``lgp check``: nothing follows ``notify``, so a run that goes there stops
without reaching END (its edge to ``archive`` was forgotten)."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    ticket: str
    urgent: bool
    notified: bool
    archived: bool


def classify(state: State) -> State:
    return {"urgent": "!" in state.get("ticket", "")}


def notify(state: State) -> State:
    return {"notified": True}


def archive(state: State) -> State:
    return {"archived": True}


workflow = StateGraph(State)
workflow.add_node("classify", classify)
workflow.add_node("notify", notify)
workflow.add_node("archive", archive)
workflow.add_edge(START, "classify")
workflow.add_conditional_edges(
    "classify", lambda s: "notify" if s.get("urgent") else "archive", ["notify", "archive"]
)
workflow.add_edge("archive", END)
