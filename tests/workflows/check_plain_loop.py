"""For ``lgp check``: ``draft`` and ``review`` form a loop of plain edges. The
conditional edge out of ``review`` does not help: the plain edge back to ``draft``
fires every time too, so the run only stops at the recursion limit."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    text: str
    rounds: int


def draft(state: State) -> State:
    return {"text": state.get("text", "") + ".", "rounds": state.get("rounds", 0) + 1}


def review(state: State) -> State:
    return {}


def done(state: State) -> str:
    return END if state.get("rounds", 0) >= 3 else "draft"


workflow = StateGraph(State)
workflow.add_node("draft", draft)
workflow.add_node("review", review)
workflow.add_edge(START, "draft")
workflow.add_edge("draft", "review")
workflow.add_edge("review", "draft")
workflow.add_conditional_edges("review", done)
