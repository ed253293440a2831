"""A chat that needs no network: ``chat`` answers the last human message with a fake
chat model that streams its reply word by word (so a run sends ``message.delta``
events, as a real model's would). A message that asks about the weather ("weather in
Paris?") makes it call the ``get_weather`` tool first; ``tools`` adds the result and
``chat`` answers from it. Anything else is echoed back.

While a file ``echo_chat.hold`` exists beside this file, the model waits after the
first word of each reply until it is gone, so a test can look at a reply mid-stream
(it removes the file when it has seen enough; the model gives up after 60 s).
"""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

HOLD = Path(__file__).with_name("echo_chat.hold")
WEATHER = {"paris": "18 °C and sunny", "oslo": "4 °C and raining", "lima": "22 °C, clouds"}
_ASKS_WEATHER = re.compile(r"weather in ([A-Za-z ]+)", re.IGNORECASE)


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


def reply_to(messages: list[Any]) -> AIMessage:
    """The model's next message: a tool call, an answer from a tool's result, or an echo."""
    last = messages[-1]
    if isinstance(last, ToolMessage):
        return AIMessage(f"The weather there: {last.content}.")
    text = str(last.content)
    asked = _ASKS_WEATHER.search(text)
    if asked:
        city = asked.group(1).strip()
        call = {"name": "get_weather", "args": {"city": city}, "id": f"call-{len(messages)}"}
        return AIMessage("Let me look that up.", tool_calls=[call])
    return AIMessage(f"You said: {text}")


class EchoModel(BaseChatModel):
    """Replies with :func:`reply_to`, streamed a word at a time."""

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _generate(
        self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=reply_to(messages))])

    def _stream(
        self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = reply_to(messages)
        words = re.findall(r"\S+\s*", str(reply.content))
        for i, word in enumerate(words):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
            if run_manager is not None:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk
            if i == 0:
                _hold()
        for i, call in enumerate(reply.tool_calls):
            part = {
                "name": call["name"],
                "args": json.dumps(call["args"]),
                "id": call["id"],
                "index": i,
            }
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[part]))


def _hold() -> None:
    deadline = time.monotonic() + 60
    while HOLD.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def chat(state: State) -> State:
    return {"messages": [EchoModel().invoke(state["messages"])]}


def tools(state: State) -> State:
    last = state["messages"][-1]
    results: list[AnyMessage] = [
        ToolMessage(
            WEATHER.get(str(call["args"].get("city", "")).lower(), "unknown"),
            tool_call_id=call["id"],
            name=call["name"],
        )
        for call in getattr(last, "tool_calls", [])
    ]
    return {"messages": results}


def route(state: State) -> str:
    return "tools" if getattr(state["messages"][-1], "tool_calls", None) else END


workflow = StateGraph(State)
workflow.add_node("chat", chat)
workflow.add_node("tools", tools)
workflow.add_edge(START, "chat")
workflow.add_conditional_edges("chat", route, ["tools", END])
workflow.add_edge("tools", "chat")
