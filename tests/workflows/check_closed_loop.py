"""For ``lgp check``: ``ask`` and ``think`` loop, and the conditional edge of
``think`` only leads back into the loop (END was forgotten among its choices)."""

from typing import Literal, TypedDict

from langgraph.graph import START, StateGraph


class State(TypedDict, total=False):
    question: str
    thoughts: int


def ask(state: State) -> State:
    return {}


def think(state: State) -> State:
    return {"thoughts": state.get("thoughts", 0) + 1}


def again(state: State) -> Literal["ask", "think"]:
    return "think" if state.get("thoughts", 0) % 2 else "ask"


workflow = StateGraph(State)
workflow.add_node("ask", ask)
workflow.add_node("think", think)
workflow.add_edge(START, "ask")
workflow.add_edge("ask", "think")
workflow.add_conditional_edges("think", again)
