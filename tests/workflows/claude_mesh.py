"""A Claude Code role served by an MCP server (the ``mesh`` entry of ``mcp_servers``)
rather than the CLI: the node calls its ``mesh_execute`` tool."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from lgp_engine import create_agent_node


class State(TypedDict, total=False):
    task: str
    repository: str
    coder_output: str
    coder_session_id: str


coder = create_agent_node(
    "claude_code", {"role_name": "coder", "repository": "{repository}", "mcp_session": "mesh"}
)
workflow = StateGraph(State)
workflow.add_node("coder", coder)
workflow.add_edge(START, "coder")
workflow.add_edge("coder", END)
