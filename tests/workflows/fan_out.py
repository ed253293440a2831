"""a fans out to two "work" tasks with Send; their results meet in an operator.add list."""

import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send


class State(TypedDict, total=False):
    items: list
    results: Annotated[list, operator.add]


def a(state):
    return {"items": [1, 2]}


def fan(state):
    return [Send("work", {"item": i}) for i in state["items"]]


def work(arg):
    return {"results": [arg["item"] * 10]}


workflow = StateGraph(State)
workflow.add_node("a", a)
workflow.add_node("work", work)
workflow.add_edge(START, "a")
workflow.add_conditional_edges("a", fan, ["work"])
workflow.add_edge("work", END)
