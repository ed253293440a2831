"""A tool-calling conversation to record and replay: an agent that may call MCP tools
(server ``tools`` in config) with the exchange kept in ``messages``, plain code that
post-processes its answer (what the recorded replay tests change), and a node that
calls a tool itself through ``mcp_session``."""

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from lgp_engine import create_agent_node, mcp_session


class State(TypedDict, total=False):
    task: str
    messages: Annotated[list[AnyMessage], add_messages]
    helper_output: str
    report: str
    checked: Any


helper = create_agent_node(
    "ollama",
    {
        "role_name": "helper",
        "model": "llama3.2",
        "tools": ["tools.add", "tools.now", "tools.echo"],
        "max_tool_iterations": 4,
    },
)


def post(state: State) -> State:
    return {"report": f"ANSWER: {state['helper_output'].upper()}"}


async def check(state: State, config: RunnableConfig) -> State:
    result = await mcp_session("tools", config).call_tool("add", {"a": 40, "b": 2})
    return {"checked": result.text}


workflow = StateGraph(State)
workflow.add_node("helper", helper)
workflow.add_node("post", post)
workflow.add_node("check", check)
workflow.add_edge(START, "helper")
workflow.add_edge("helper", "post")
workflow.add_edge("post", "check")
workflow.add_edge("check", END)
