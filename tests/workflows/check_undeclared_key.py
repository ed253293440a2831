"""For ``lgp check``: ``count`` returns 'totl' (a typo of 'total'), and ``finish``
updates 'stauts' through a Command; the state declares neither, so LangGraph drops
both updates without a word."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command


class State(TypedDict, total=False):
    items: list[int]
    total: int
    status: str


def count(state: State) -> dict:
    return {"totl": sum(state.get("items", []))}


def finish(state: State) -> Command:
    return Command(update={"status": "done", "stauts": "done"})


workflow = StateGraph(State)
workflow.add_node("count", count)
workflow.add_node("finish", finish)
workflow.add_edge(START, "count")
workflow.add_edge("count", "finish")
workflow.add_edge("finish", END)
