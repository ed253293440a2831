"""a -> b -> c on a nested state; every node logs its name to nodes.log beside this file."""

import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nodes.log")


def _log(name):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(name + "\n")


class State(TypedDict, total=False):
    x: int
    profile: dict
    score: int
    result: int


def a(state):
    _log("a")
    return {"x": state.get("x", 0) + 1, "profile": {"name": "ada", "langs": ["py"], "draft": True}}


def b(state):
    _log("b")
    return {"profile": {"name": "Ada", "langs": ["py", "rust"]}, "score": state["x"] * 2}


def c(state):
    _log("c")
    return {"result": state["x"] * 10}


workflow = StateGraph(State)
workflow.add_node("a", a)
workflow.add_node("b", b)
workflow.add_node("c", c)
workflow.add_edge(START, "a")
workflow.add_edge("a", "b")
workflow.add_edge("b", "c")
workflow.add_edge("c", END)
