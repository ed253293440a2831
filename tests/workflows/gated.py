"""A workflow the test holds at a gate: ``chatter`` writes ``count`` custom events,
then ``wait`` touches the file named by ``started`` and blocks until the file named
by ``gate`` exists (the test decides when the node may finish, never a timer)."""

import time
from pathlib import Path
from typing import TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    gate: str
    started: str
    count: int
    done: bool


def chatter(state: State) -> State:
    write = get_stream_writer()
    for i in range(state.get("count", 3)):
        write({"i": i})
    return {}


def wait(state: State) -> State:
    Path(state["started"]).touch()
    gate = Path(state["gate"])
    deadline = time.monotonic() + 60
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.01)
    return {"done": True}


workflow = StateGraph(State)
workflow.add_node("chatter", chatter)
workflow.add_node("wait", wait)
workflow.add_edge(START, "chatter")
workflow.add_edge("chatter", "wait")
workflow.add_edge("wait", END)
