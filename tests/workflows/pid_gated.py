"""One node that writes the id of the process executing it to the file named by
``started``, then blocks until the file named by ``gate`` exists: the test sees which
server process took the run, and decides when it may finish (never a timer)."""

import os
import time
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    gate: str
    started: str
    pid: int


def work(state: State) -> State:
    Path(state["started"]).write_text(str(os.getpid()))
    gate = Path(state["gate"])
    deadline = time.monotonic() + 60
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.01)
    return {"pid": os.getpid()}


workflow = StateGraph(State)
workflow.add_node("work", work)
workflow.add_edge(START, "work")
workflow.add_edge("work", END)
