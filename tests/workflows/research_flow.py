"""plan -?→ research (a compiled subgraph: search → summarize) → review → END, or plan
→ review when there is no topic: a workflow with a subgraph for the workbench's xray
view, breakpoints and stepping (no model, no network). The subgraph keeps a key of
its own (``sources``) that the outer state does not have."""

import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]
    summary: str
    verdict: str


class Research(TypedDict, total=False):
    topic: str
    summary: str
    sources: list[str]


def search(state: Research) -> Research:
    topic = state.get("topic", "")
    sources = [f"{topic} handbook", f"{topic} survey", f"{topic} notes"]
    return {"sources": sources}


def summarize(state: Research) -> Research:
    sources = state.get("sources") or []
    return {"summary": f"{state.get('topic', '')}: {len(sources)} sources read"}


research = StateGraph(Research, output_schema=State)
research.add_node("search", search)
research.add_node("summarize", summarize)
research.add_edge(START, "search")
research.add_edge("search", "summarize")
research.add_edge("summarize", END)


def plan(state: State) -> State:
    return {"notes": [f"plan: {state.get('topic') or 'nothing to research'}"]}


def route(state: State) -> str:
    return "research" if state.get("topic") else "review"


def review(state: State) -> State:
    verdict = "approved" if state.get("summary") else "no research"
    return {"verdict": verdict, "notes": [f"review: {verdict}"]}


workflow = StateGraph(State)
workflow.add_node("plan", plan)
workflow.add_node("research", research.compile())
workflow.add_node("review", review)
workflow.add_edge(START, "plan")
workflow.add_conditional_edges("plan", route, ["research", "review"])
workflow.add_edge("research", "review")
workflow.add_edge("review", END)
