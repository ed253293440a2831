"""Redrafts a text until it is long enough: each pass adds a word, so a short
``recursion_limit`` stops a long job before it is done.

The run's config picks the ``model`` and the ``user_id`` it drafts for
(``config["configurable"]``); its ``tags`` are echoed into the state.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    words: int  # how many words the draft needs
    draft: str
    passes: int
    author: str
    model: str
    tags: list[str]


def setup(state: State, config: RunnableConfig) -> State:
    configurable = config.get("configurable") or {}
    return {
        "author": str(configurable.get("user_id", "nobody")),
        "model": str(configurable.get("model", "draft-small")),
        "tags": sorted(config.get("tags") or []),
        "draft": "",
        "passes": 0,
    }


def redraft(state: State, config: RunnableConfig) -> State:
    model = (config.get("configurable") or {}).get("model", "draft-small")
    word = f"{model}-{state['passes'] + 1}"
    return {"draft": f"{state['draft']} {word}".strip(), "passes": state["passes"] + 1}


def done(state: State) -> Literal["redraft", "__end__"]:
    return END if state["passes"] >= state["words"] else "redraft"


builder = StateGraph(State)
builder.add_node("setup", setup)
builder.add_node("redraft", redraft)
builder.add_edge(START, "setup")
builder.add_edge("setup", "redraft")
builder.add_conditional_edges("redraft", done)
graph = builder.compile()
