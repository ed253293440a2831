"""use_tool -> chat, for the ``events`` stream mode: a LangChain tool call and a custom
event (``dispatch_custom_event``) in ``use_tool``, a fake chat model's streamed reply
in ``chat``."""

from typing import Annotated, TypedDict

from langchain_core.callbacks import dispatch_custom_event
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages


class S(TypedDict, total=False):
    a: int
    total: int
    messages: Annotated[list[AnyMessage], add_messages]


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def use_tool(state: S) -> S:
    total = add.invoke({"a": state.get("a", 1), "b": 2})
    dispatch_custom_event("progress", {"total": total})
    return {"total": total}


def chat(state: S) -> S:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="the sum is ready")]))
    return {"messages": [model.invoke([HumanMessage(content="sum?")])]}


workflow = StateGraph(S)
workflow.add_node("use_tool", use_tool)
workflow.add_node("chat", chat)
workflow.add_edge(START, "use_tool")
workflow.add_edge("use_tool", "chat")
workflow.add_edge("chat", END)
