"""A hand-written node calling a chat model itself (not an agent node); its endpoint
comes from CHAT_NODE_URL / CHAT_NODE_KEY."""

import os
from typing import TypedDict

import openai
from langchain_core.runnables import RunnableConfig
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    question: str
    answer: str


async def ask(state: State, config: RunnableConfig) -> State:
    # its own HTTP client: langchain-openai shares one per base URL across the process,
    # bound to the first event loop that used it (a later loop's call then fails)
    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=os.environ["CHAT_NODE_URL"],
        api_key=os.environ["CHAT_NODE_KEY"],
        stream_usage=True,
        http_async_client=openai.DefaultAsyncHttpxClient(),
    )
    reply = await model.ainvoke(state["question"], config)
    return {"answer": str(reply.content)}


workflow = StateGraph(State)
workflow.add_node("ask", ask)
workflow.add_edge(START, "ask")
workflow.add_edge("ask", END)
