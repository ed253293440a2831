"""Custom workflow skeleton: a conditional edge and a loop that always terminates.

Flow: START -> draft -> (router) -> refine -> (router) -> ... -> finalize -> END
The router sends work back to ``refine`` until ``iterations >= max_iterations``.
"""

import operator
from typing import Annotated, Literal, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    """Customize: add your own fields. Fields without a reducer are overwritten."""

    input: str
    text: str
    iterations: int
    max_iterations: int
    # Customize: give a field a reducer (e.g. operator.add) when nodes should
    # append to it instead of replacing it.
    history: Annotated[list[str], operator.add]


DEFAULT_MAX_ITERATIONS = 3


def draft(state: State) -> State:
    # Customize: the first real step of your workflow.
    text = state.get("input", "").strip()
    return {"text": text, "iterations": 0, "history": [f"draft: {text!r}"]}


def refine(state: State) -> State:
    # Customize: one improvement pass. Must make progress towards the stop condition.
    iterations = state.get("iterations", 0) + 1
    text = f"{state.get('text', '')} [refined {iterations}]"
    return {"text": text, "iterations": iterations, "history": [f"refine #{iterations}"]}


def finalize(state: State) -> State:
    # Customize: produce the final output.
    return {"history": [f"finalize after {state.get('iterations', 0)} refinement(s)"]}


def route(state: State) -> Literal["refine", "finalize"]:
    """Router for the conditional edge: return the name of the next node."""
    # Customize: put your stop condition here. Always keep a hard upper bound
    # so the loop cannot run forever.
    limit = state.get("max_iterations", DEFAULT_MAX_ITERATIONS)
    return "refine" if state.get("iterations", 0) < limit else "finalize"


workflow = StateGraph(State)
# Customize: register new nodes here ...
workflow.add_node("draft", draft)
workflow.add_node("refine", refine)
workflow.add_node("finalize", finalize)
# ... and connect them here. Plain edges always go to the same next node.
workflow.add_edge(START, "draft")
# Conditional edges call the router and go to the node it names.
workflow.add_conditional_edges("draft", route, ["refine", "finalize"])
workflow.add_conditional_edges("refine", route, ["refine", "finalize"])
workflow.add_edge("finalize", END)
