"""One node that reads a counter and writes it back plus one: two runs that start from
the same checkpoint lose an update, so the final count shows whether runs of a thread
ever overlapped."""

import os
import time
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    n: int


def inc(state: State) -> State:
    n = state.get("n", 0)
    time.sleep(float(os.environ.get("INCREMENT_SLEEP", "0.02")))  # widen the race window
    return {"n": n + 1}


workflow = StateGraph(State)
workflow.add_node("inc", inc)
workflow.add_edge(START, "inc")
workflow.add_edge("inc", END)
