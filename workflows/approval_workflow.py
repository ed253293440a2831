"""Human-in-the-loop example: draft -> approve -> publish.

``approve`` pauses the run with ``interrupt`` and waits for a human answer:

    lgp run workflows/approval_workflow.py --input '{"topic": "release notes"}' --thread a1
    # ...the run stops and shows the question; answer it by resuming the same thread
    # with "yes" / true / {"approved": true} to publish, anything else to reject.
"""

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    topic: str
    draft: str
    approved: bool
    status: str


def draft(state: State) -> State:
    # Customize: produce whatever needs a human's sign-off.
    topic = state.get("topic", "untitled")
    return {"draft": f"Draft about {topic}: everything is ready to ship."}


def is_approval(answer: Any) -> bool:
    """Turn the resume value into a yes/no decision."""
    # Customize: accept other answer shapes here.
    if isinstance(answer, dict):
        return bool(answer.get("approved"))
    if isinstance(answer, str):
        return answer.strip().lower() in {"yes", "y", "true", "approve", "approved", "ok"}
    return bool(answer)


def approve(state: State) -> State:
    # interrupt() stops the run and saves it; on resume (Command(resume=value))
    # this node runs again from the top and interrupt() returns that value.
    # Keep code before interrupt() free of side effects for that reason.
    answer = interrupt({"question": "Approve this draft?", "draft": state["draft"]})
    return {"approved": is_approval(answer)}


def publish(state: State) -> State:
    # Customize: really publish here (write a file, call your API...).
    return {"status": "published" if state.get("approved") else "rejected"}


# Left uncompiled: interrupts need a checkpointer, which the engine provides.
workflow = StateGraph(State)
workflow.add_node("draft", draft)
workflow.add_node("approve", approve)
workflow.add_node("publish", publish)
workflow.add_edge(START, "draft")
workflow.add_edge("draft", "approve")
workflow.add_edge("approve", "publish")
workflow.add_edge("publish", END)
