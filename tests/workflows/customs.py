"""emit -> chat: ``n`` (default 3) custom events, then a fake chat model's reply
(streamed as message chunks) in ``messages``."""

from typing import Annotated, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages


class S(TypedDict, total=False):
    n: int
    sent: int
    messages: Annotated[list[AnyMessage], add_messages]


def emit(state: S) -> S:
    write = get_stream_writer()
    n = state.get("n", 3)
    for i in range(n):
        write({"i": i})
    return {"sent": n}


def chat(state: S) -> S:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello there friend")]))
    return {"messages": [model.invoke([HumanMessage(content="hi")])]}


workflow = StateGraph(S)
workflow.add_node("emit", emit)
workflow.add_node("chat", chat)
workflow.add_edge(START, "emit")
workflow.add_edge("emit", "chat")
workflow.add_edge("chat", END)
