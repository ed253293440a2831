"""prepare -> ask (interrupts for ``{"approved": ...}``) -> finish."""

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class S(TypedDict, total=False):
    topic: str
    answer: Any
    shipped: bool
    log: Annotated[list[str], operator.add]


def prepare(state: S) -> S:
    return {"log": ["prepare"]}


def ask(state: S) -> S:
    answer = interrupt({"question": f"ship {state.get('topic')}?"})
    return {"answer": answer, "log": ["ask"]}


def finish(state: S) -> S:
    return {"shipped": bool(state["answer"].get("approved")), "log": ["finish"]}


workflow = StateGraph(S)
workflow.add_node("prepare", prepare)
workflow.add_node("ask", ask)
workflow.add_node("finish", finish)
workflow.add_edge(START, "prepare")
workflow.add_edge("prepare", "ask")
workflow.add_edge("ask", "finish")
workflow.add_edge("finish", END)
