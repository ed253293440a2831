"""A memory agent: saves what a user asks it to remember, then answers a question
from the memories of that user, found by meaning and by topic.

Memories live in the long-term store under ``("memories", user_id)``, so a thread
sees what the same user saved in any other thread; ``user_id`` comes from
``config["configurable"]`` (``"anonymous"`` when not given).
"""

from __future__ import annotations

import re

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    note: str  # something to remember
    topic: str  # the note's topic, for looking memories up by topic
    question: str  # what to recall memories for
    user_id: str
    saved: str | None  # the key the note was saved under
    recalled: list[str]  # the closest memories to the question, closest first
    same_topic: list[str]  # every memory of the topic


def user_of(config: RunnableConfig) -> str:
    return str((config.get("configurable") or {}).get("user_id") or "anonymous")


def save(state: State, config: RunnableConfig, *, store: BaseStore) -> State:
    user_id = user_of(config)
    note = state.get("note")
    if not note:
        return {"user_id": user_id, "saved": None}
    key = "-".join(re.findall(r"[a-z0-9]+", note.lower()))[:48]
    store.put(("memories", user_id), key, {"text": note, "topic": state.get("topic", "misc")})
    return {"user_id": user_id, "saved": key}


def recall(state: State, runtime: Runtime) -> State:
    assert runtime.store is not None, "this graph needs a long-term store"
    namespace = ("memories", user_of(get_config()))
    recalled: list[str] = []
    if state.get("question"):
        hits = runtime.store.search(namespace, query=state["question"], limit=2)
        recalled = [hit.value["text"] for hit in hits]
    same_topic: list[str] = []
    if state.get("topic"):
        items = runtime.store.search(namespace, filter={"topic": state["topic"]}, limit=50)
        same_topic = sorted(item.value["text"] for item in items)
    return {"recalled": recalled, "same_topic": same_topic}


builder = StateGraph(State)
builder.add_node("save", save)
builder.add_node("recall", recall)
builder.add_edge(START, "save")
builder.add_edge("save", "recall")
builder.add_edge("recall", END)
graph = builder.compile()
