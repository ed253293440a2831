"""a -> slow -> c on one number; every node logs its name to nodes.log beside this file.

``slow`` holds until the test opens its gate (creates ``slow_step.open`` beside this
file), so the run is surely in flight while the test kills or interrupts it. It
fails after 60 s if the gate never opens.
"""

import os
import time
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

HERE = os.path.dirname(os.path.abspath(__file__))
LOG = os.path.join(HERE, "nodes.log")
GATE = os.path.join(HERE, "slow_step.open")


def _log(name):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(name + "\n")


class State(TypedDict, total=False):
    x: int


def a(state):
    _log("a")
    return {"x": 1}


def slow(state):
    _log("slow")
    deadline = time.monotonic() + 60
    while not os.path.exists(GATE):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the test never opened {GATE}")
        time.sleep(0.01)
    return {"x": state["x"] + 1}


def c(state):
    _log("c")
    return {"x": state["x"] + 10}


workflow = StateGraph(State)
workflow.add_node("a", a)
workflow.add_node("slow", slow)
workflow.add_node("c", c)
workflow.add_edge(START, "a")
workflow.add_edge("a", "slow")
workflow.add_edge("slow", "c")
workflow.add_edge("c", END)
