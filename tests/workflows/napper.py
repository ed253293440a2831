"""first -> wait -> last, logging ``"<tag> <step>"`` to ``napper_calls.log`` beside this
file (``wait-start`` and ``wait-end`` for ``wait``).

With ``"hold": true`` in the input, ``wait`` blocks until the test opens that run's
gate (creates ``napper-<tag>.open`` beside this file), so the run is surely in flight
while the test cancels it, queues another behind it or disconnects. It fails after
60 s if the gate never opens.
"""

import operator
import time
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph

HERE = Path(__file__).parent
LOG = HERE / "napper_calls.log"


class S(TypedDict, total=False):
    hold: bool
    tag: str
    trail: Annotated[list[str], operator.add]


def _log(state: S, what: str) -> None:
    with LOG.open("a") as f:
        f.write(f"{state.get('tag')} {what}\n")


def first(state: S) -> S:
    _log(state, "first")
    return {"trail": ["first"]}


def wait(state: S) -> S:
    _log(state, "wait-start")
    if state.get("hold"):
        gate = HERE / f"napper-{state.get('tag')}.open"
        deadline = time.monotonic() + 60
        while not gate.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the test never opened {gate}")
            time.sleep(0.01)
    _log(state, "wait-end")
    return {"trail": ["wait"]}


def last(state: S) -> S:
    _log(state, "last")
    return {"trail": ["last"]}


workflow = StateGraph(S)
workflow.add_node("first", first)
workflow.add_node("wait", wait)
workflow.add_node("last", last)
workflow.add_edge(START, "first")
workflow.add_edge("first", "wait")
workflow.add_edge("wait", "last")
workflow.add_edge("last", END)
