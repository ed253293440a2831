"""Fails with an error that names a file of the project by its absolute path (what an
HTTP client must not learn: the server's directories)."""

from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    text: str


def read(state: State) -> State:
    return {"text": (Path(__file__).resolve().parent / "notes" / "missing.txt").read_text()}


workflow = StateGraph(State)
workflow.add_node("read", read)
workflow.add_edge(START, "read")
workflow.add_edge("read", END)
