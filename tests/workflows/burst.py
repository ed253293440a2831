"""One node that writes ``count`` (default 10) custom stream events."""

from typing import TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph


class S(TypedDict, total=False):
    count: int
    sent: int


def emit(state: S) -> S:
    write = get_stream_writer()
    n = state.get("count", 10)
    for i in range(n):
        write({"i": i})
    return {"sent": n}


workflow = StateGraph(S)
workflow.add_node("emit", emit)
workflow.add_edge(START, "emit")
workflow.add_edge("emit", END)
