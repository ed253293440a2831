"""For ``lgp check``: ``approve`` calls interrupt(), and the file compiles the graph
without a checkpointer. It works under lgp (which attaches its own), but
``graph.invoke`` in plain LangGraph cannot resume it."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    draft: str
    approved: bool


def write(state: State) -> State:
    return {"draft": "ship it"}


def approve(state: State) -> State:
    return {"approved": interrupt({"question": "Approve?", "draft": state["draft"]}) == "yes"}


builder = StateGraph(State)
builder.add_node("write", write)
builder.add_node("approve", approve)
builder.add_edge(START, "write")
builder.add_edge("write", "approve")
builder.add_edge("approve", END)
graph = builder.compile()
