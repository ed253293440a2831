"""A memory agent without a model: saves what a user asks it to remember in the
long-term store, then recalls every memory of that user (and those of one topic).

Memories live under ``("memories", user)`` with a key made of the note's words, as
``{"text": note, "topic": topic}``; a run with ``forget`` deletes that key first. A
thread sees what the same user saved on any other thread: the store, not the
checkpoints, holds them.

    {"user": "ada", "note": "I drink green tea every morning", "topic": "food"}
"""

from __future__ import annotations

import re

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    user: str
    note: str
    topic: str
    forget: str  # a key to delete before anything else
    saved: str | None  # the key the note was saved under
    memories: list[str]  # every memory of the user, by key
    same_topic: list[str]  # the memories of the note's topic


def key_for(note: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", note.lower()))[:48]


def remember(state: State, *, store: BaseStore) -> State:
    namespace = ("memories", state.get("user") or "anonymous")
    if state.get("forget"):
        store.delete(namespace, state["forget"])
    note = state.get("note")
    if not note:
        return {"saved": None}
    key = key_for(note)
    store.put(namespace, key, {"text": note, "topic": state.get("topic") or "misc"})
    return {"saved": key}


def recall(state: State, *, store: BaseStore) -> State:
    namespace = ("memories", state.get("user") or "anonymous")
    items = sorted(store.search(namespace, limit=100), key=lambda i: i.key)
    memories = [str(i.value.get("text")) for i in items]
    topic = state.get("topic")
    same = [str(i.value.get("text")) for i in items if topic and i.value.get("topic") == topic]
    return {"memories": memories, "same_topic": same}


workflow = StateGraph(State)
workflow.add_node("remember", remember)
workflow.add_node("recall", recall)
workflow.add_edge(START, "remember")
workflow.add_edge("remember", "recall")
workflow.add_edge("recall", END)
