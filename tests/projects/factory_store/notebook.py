"""A notebook graph made per run by a factory that needs the server's long-term store.

``make_graph(config, runtime)`` is called with the run's config and a runtime whose
``store`` the LangGraph server provides; the nodes it builds write to and read from
that store directly, so the notebook outlives threads.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    page: str
    text: str
    notebook: str  # the notebook's name: configurable "notebook" (default "default")
    pages: list[str]  # every page of the notebook, in order
    words: int  # words on all pages


def make_graph(config: RunnableConfig, runtime: Runtime) -> CompiledStateGraph:
    store = runtime.store
    if store is None:
        raise RuntimeError("make_graph needs a long-term store: runtime.store is None")
    book = str((config.get("configurable") or {}).get("notebook") or "default")
    namespace = ("notebooks", book)

    def write(state: State) -> State:
        store.put(namespace, state["page"], {"text": state["text"]})
        return {}

    def read(state: State) -> State:
        items = sorted(store.search(namespace, limit=100), key=lambda item: item.key)
        return {
            "notebook": book,
            "pages": [item.key for item in items],
            "words": sum(len(item.value["text"].split()) for item in items),
        }

    builder = StateGraph(State)
    builder.add_node("write", write)
    builder.add_node("read", read)
    builder.add_edge(START, "write")
    builder.add_edge("write", "read")
    builder.add_edge("read", END)
    return builder.compile()
