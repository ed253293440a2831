"""For ``lgp check``: ``audit`` is a node no edge leads to, so it never runs
(the route of ``triage`` can only return 'reply' or END)."""

from typing import Literal, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    question: str
    answer: str
    audited: bool


def triage(state: State) -> State:
    return {}


def route(state: State) -> Literal["reply", "__end__"]:
    return "reply" if state.get("question") else END


def reply(state: State) -> State:
    return {"answer": f"about {state.get('question')}"}


def audit(state: State) -> State:
    return {"audited": True}


workflow = StateGraph(State)
workflow.add_node("triage", triage)
workflow.add_node("reply", reply)
workflow.add_node("audit", audit)
workflow.add_edge(START, "triage")
workflow.add_conditional_edges("triage", route)
workflow.add_edge("reply", END)
workflow.add_edge("audit", END)
