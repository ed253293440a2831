"""Optimize-evaluate loop on a local model, ending with what it would have cost hosted.

A writer agent drafts; a validator agent scores the draft against the task and says
what to improve (a JSON answer checked against a schema: an invalid one is sent
back for repair); the writer revises until the score reaches TARGET_SCORE or
MAX_ROUNDS drafts were written. Both roles run on `ollama:llama3.2` unless
`agents:` in the environment's config binds them elsewhere.

The last node prices the run's tokens: what the local model cost ($0.00) against
the same tokens on a hosted model (HOSTED_MODEL, from the pricing table), and the
saving.
"""

from typing import Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from lgp_engine import PriceTable, create_agent_node, run_usage

TARGET_SCORE = 8
MAX_ROUNDS = 3
HOSTED_MODEL = "gpt-4o-mini"  # the hosted model to compare with


class Verdict(BaseModel):
    """The validator's answer."""

    score: int = Field(ge=1, le=10, description="How well the draft does the task")
    feedback: str = Field(description="What to improve; empty when nothing")


class State(TypedDict, total=False):
    task: str
    writer_output: str
    validator_output: dict[str, Any]
    rounds: int
    cost_comparison: str


writer = create_agent_node(
    "ollama",
    {
        "role_name": "writer",
        "model": "llama3.2",
        "system_prompt": "You write short, precise technical text.",
        "prompt": lambda s: (
            f"Task: {s.get('task') or 'Describe a checkpoint in two sentences'}\n"
            + (
                f"\nYour draft:\n{s['writer_output']}\n\nFeedback:\n"
                f"{s['validator_output'].get('feedback', '')}\n\nRevise the draft."
                if s.get("validator_output")
                else ""
            )
        ),
    },
)

validator = create_agent_node(
    "ollama",
    {
        "role_name": "validator",
        "model": "llama3.2",
        "system_prompt": "You are a strict reviewer.",
        "prompt": lambda s: (
            f"Task: {s.get('task') or 'Describe a checkpoint in two sentences'}\n\n"
            f"Draft:\n{s.get('writer_output', '')}\n\nScore the draft from 1 to 10."
        ),
        "output_schema": Verdict,
    },
)


def count_round(state: State) -> State:
    return {"rounds": state.get("rounds", 0) + 1}


def next_step(state: State) -> Literal["writer", "compare_cost"]:
    score = (state.get("validator_output") or {}).get("score", 0)
    if score >= TARGET_SCORE or state.get("rounds", 0) >= MAX_ROUNDS:
        return "compare_cost"
    return "writer"


def compare_cost(state: State, config: RunnableConfig) -> State:
    """What this run's tokens cost here, and on HOSTED_MODEL."""
    usage = run_usage(config)
    hosted = PriceTable().cost(HOSTED_MODEL, usage["input_tokens"], usage["output_tokens"]) or 0.0
    spent = usage["cost_usd"]
    saving = hosted - spent
    share = f" ({saving / hosted:.0%})" if hosted else ""
    return {
        "cost_comparison": (
            f"Ollama (self-hosted): ${spent:.2f} vs {HOSTED_MODEL} (hosted): ${hosted:.6f} "
            f"for {usage['input_tokens']} input + {usage['output_tokens']} output tokens; "
            f"saving ${saving:.6f}{share}"
        )
    }


workflow = StateGraph(State)
workflow.add_node("writer", writer)
workflow.add_node("round", count_round)
workflow.add_node("validator", validator)
workflow.add_node("compare_cost", compare_cost)
workflow.add_edge(START, "writer")
workflow.add_edge("writer", "round")
workflow.add_edge("round", "validator")
workflow.add_conditional_edges("validator", next_step)
workflow.add_edge("compare_cost", END)
