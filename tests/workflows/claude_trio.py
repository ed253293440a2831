"""Three Claude Code nodes, each in its own repository (``repo_a``, ``repo_b``,
``repo_c`` of the input), as parallel branches."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from lgp_engine import create_claude_code_node


class State(TypedDict, total=False):
    repo_a: str
    repo_b: str
    repo_c: str
    a_output: str
    a_session_id: str
    b_output: str
    b_session_id: str
    c_output: str
    c_session_id: str


workflow = StateGraph(State)
for role in ("a", "b", "c"):
    node = create_claude_code_node(
        role, f"{{repo_{role}}}", prompt=f"You are agent {role.upper()}: task-for-{role}."
    )
    workflow.add_node(role, node)
    workflow.add_edge(START, role)
    workflow.add_edge(role, END)
