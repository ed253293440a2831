"""One Claude Code node (role ``coder``) working in the input's ``repository`` on
its ``task``."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from lgp_engine import create_claude_code_node


class State(TypedDict, total=False):
    task: str
    repository: str
    coder_output: str
    coder_session_id: str


workflow = StateGraph(State)
workflow.add_node("coder", create_claude_code_node("coder", "{repository}"))
workflow.add_edge(START, "coder")
workflow.add_edge("coder", END)
