"""chat -> tool -> answer -> review: a conversation in ``messages`` (a human question,
an AI tool call, the tool's result, a two-line AI answer), then an interrupt that
asks to approve the answer, the message itself in its value."""

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt


class S(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    approved: Any


def chat(state: S) -> S:
    call = {"name": "add", "args": {"a": 40, "b": 2}, "id": "call-1"}
    return {"messages": [AIMessage(content="let me add", tool_calls=[call])]}


def tool(state: S) -> S:
    return {"messages": [ToolMessage(content="42", tool_call_id="call-1", name="add")]}


def answer(state: S) -> S:
    return {"messages": [AIMessage(content="40 + 2 = 42.\nAnything else?")]}


def review(state: S) -> S:
    approved = interrupt({"question": "Send this answer?", "message": state["messages"][-1]})
    return {"approved": approved}


workflow = StateGraph(S)
for name, node in (("chat", chat), ("tool", tool), ("answer", answer), ("review", review)):
    workflow.add_node(name, node)
workflow.add_edge(START, "chat")
workflow.add_edge("chat", "tool")
workflow.add_edge("tool", "answer")
workflow.add_edge("answer", "review")
workflow.add_edge("review", END)
