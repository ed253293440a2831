"""Multi-agent workflow: research -> write -> review, with revisions.

Three agent roles run on models chosen by configuration, not by this file: the
defaults below use a local Ollama (`ollama:llama3.2`, $0), and an `agents:` section
in `config/<env>.yaml` can bind any role to another provider and model, e.g. in
`config/hosted.yaml`:

    agents:
      writer: {provider: openai, model: gpt-4o-mini}

The reviewer answers APPROVE or REVISE; a draft goes back to the writer at most
MAX_REVISIONS times. Each role's answer lands in `<role>_output`; tokens stream
into the run log and every run reports its usage and cost.
"""

from typing import Literal, TypedDict

from langgraph.graph import END, START, StateGraph

from lgp_engine import create_agent_node

# Customize: how many times the reviewer may send the draft back.
MAX_REVISIONS = 2
# The task when the input gives none (`lgp run team` with no --input).
DEFAULT_TASK = "Explain in one paragraph why checkpoints make long-running agents crash-safe"


def task_of(state: "State") -> str:
    return state.get("task") or DEFAULT_TASK


class State(TypedDict, total=False):
    task: str
    researcher_output: str
    writer_output: str
    reviewer_output: str
    revisions: int


researcher = create_agent_node(
    "ollama",
    {
        "role_name": "researcher",
        "model": "llama3.2",
        "system_prompt": "You are a careful researcher. Answer with short, factual notes.",
        "prompt": lambda state: (
            f"List the key facts and angles a writer needs for:\n{task_of(state)}"
        ),
    },
)

writer = create_agent_node(
    "ollama",
    {
        "role_name": "writer",
        "model": "llama3.2",
        "system_prompt": "You are a clear, concise technical writer.",
        "prompt": lambda state: (
            f"Task: {task_of(state)}\n\nResearch notes:\n{state.get('researcher_output', '')}\n\n"
            + (
                f"Your previous draft:\n{state['writer_output']}\n\n"
                f"Reviewer feedback:\n{state['reviewer_output']}\n\nRevise the draft."
                if state.get("reviewer_output")
                else "Write the piece."
            )
        ),
    },
)

reviewer = create_agent_node(
    "ollama",
    {
        "role_name": "reviewer",
        "model": "llama3.2",
        "system_prompt": "You are a demanding editor.",
        "prompt": lambda state: (
            f"Task: {task_of(state)}\n\nDraft:\n{state.get('writer_output', '')}\n\n"
            "Reply with APPROVE if the draft does the task well; otherwise reply with "
            "REVISE followed by concrete feedback."
        ),
    },
)


def count_revision(state: State) -> State:
    return {"revisions": state.get("revisions", 0) + 1}


def after_review(state: State) -> Literal["revise", "__end__"]:
    verdict = state.get("reviewer_output", "").strip().upper()
    if verdict.startswith("APPROVE") or state.get("revisions", 0) >= MAX_REVISIONS:
        return END
    return "revise"


# The engine compiles the graph with its own checkpointer: leave it uncompiled.
workflow = StateGraph(State)
workflow.add_node("researcher", researcher)
workflow.add_node("writer", writer)
workflow.add_node("reviewer", reviewer)
workflow.add_node("revise", count_revision)
workflow.add_edge(START, "researcher")
workflow.add_edge("researcher", "writer")
workflow.add_edge("writer", "reviewer")
workflow.add_conditional_edges("reviewer", after_review)
workflow.add_edge("revise", "writer")
