"""One agent role whose answer must match a schema (``max_repairs`` from config)."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from lgp_engine import create_agent_node


class Grade(BaseModel):
    score: int
    reason: str


class State(TypedDict, total=False):
    task: str
    grader_output: dict


grader = create_agent_node(
    "ollama", {"role_name": "grader", "model": "llama3.2", "output_schema": Grade}
)

workflow = StateGraph(State)
workflow.add_node("grader", grader)
workflow.add_edge(START, "grader")
workflow.add_edge("grader", END)
