"""first -> wait -> last, each logging its name to ``slow_calls.log`` beside this file.

``wait`` blocks until the test opens its gate (creates ``slow.open`` beside this
file), so the run is surely in flight while the test kills the server, stops it or
follows the run's events. It fails after 60 s if the gate never opens.
"""

import operator
import time
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph

HERE = Path(__file__).parent
LOG = HERE / "slow_calls.log"
GATE = HERE / "slow.open"


class S(TypedDict, total=False):
    trail: Annotated[list[str], operator.add]


def _log(name: str) -> None:
    with LOG.open("a") as f:
        f.write(name + "\n")


def first(state: S) -> S:
    _log("first")
    return {"trail": ["first"]}


def wait(state: S) -> S:
    _log("wait")
    deadline = time.monotonic() + 60
    while not GATE.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the test never opened {GATE}")
        time.sleep(0.01)
    return {"trail": ["wait"]}


def last(state: S) -> S:
    _log("last")
    return {"trail": ["last"]}


workflow = StateGraph(S)
workflow.add_node("first", first)
workflow.add_node("wait", wait)
workflow.add_node("last", last)
workflow.add_edge(START, "first")
workflow.add_edge("first", "wait")
workflow.add_edge("wait", "last")
workflow.add_edge("last", END)
