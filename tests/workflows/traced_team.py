"""A small multi-agent team for the tracing tests: researcher -> writer (agent roles on
``ollama:llama3.2``) -> review (a compiled subgraph: the ``reviewer`` role, then a plain
``tally``) -> publish (a plain node whose ``output`` is 15,000 characters)."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from lgp_engine import create_agent_node

REPORT_LENGTH = 15_000


class State(TypedDict, total=False):
    task: str
    researcher_output: str
    writer_output: str
    reviewer_output: str
    verdicts: int
    output: str


def role(name: str, instruction: str):
    return create_agent_node(
        "ollama",
        {
            "role_name": name,
            "model": "llama3.2",
            "prompt": lambda state: f"{instruction}: {state.get('task', '')}",
        },
    )


def tally(state: State) -> State:
    return {"verdicts": state.get("verdicts", 0) + 1}


def publish(state: State) -> State:
    line = f"{state.get('writer_output', '')} | {state.get('reviewer_output', '')} "
    return {"output": (line * (REPORT_LENGTH // max(len(line), 1) + 1))[:REPORT_LENGTH]}


review = StateGraph(State)
review.add_node("reviewer", role("reviewer", "Review the draft about"))
review.add_node("tally", tally)
review.add_edge(START, "reviewer")
review.add_edge("reviewer", "tally")
review.add_edge("tally", END)

workflow = StateGraph(State)
workflow.add_node("researcher", role("researcher", "Research"))
workflow.add_node("writer", role("writer", "Write about"))
workflow.add_node("review", review.compile())
workflow.add_node("publish", publish)
workflow.add_edge(START, "researcher")
workflow.add_edge("researcher", "writer")
workflow.add_edge("writer", "review")
workflow.add_edge("review", "publish")
workflow.add_edge("publish", END)
