"""An agent that may use some MCP tools (server ``tools`` in config), then a plain node
that calls one itself through ``mcp_session``."""

from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from lgp_engine import create_agent_node, mcp_session


class State(TypedDict, total=False):
    task: str
    helper_output: str
    checked: Any


helper = create_agent_node(
    "ollama",
    {
        "role_name": "helper",
        "model": "llama3.2",
        "tools": ["tools.add", "tools.echo", "tools.now"],
        "max_tool_iterations": 4,
    },
)


async def check(state: State, config: RunnableConfig) -> State:
    result = await mcp_session("tools", config).call_tool("add", {"a": 40, "b": 2})
    return {"checked": result.text}


workflow = StateGraph(State)
workflow.add_node("helper", helper)
workflow.add_node("check", check)
workflow.add_edge(START, "helper")
workflow.add_edge("helper", "check")
workflow.add_edge("check", END)
