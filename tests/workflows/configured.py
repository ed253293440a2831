"""reply: what the run was configured with, as state: ``configured`` holds the ``model``,
``persona`` and ``temperature`` of ``config["configurable"]``, ``tags`` the config's tags
and ``persona`` the persona of the run's context (the graph has a context schema)."""

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

SHOWN = ("model", "persona", "temperature")


class Context(TypedDict, total=False):
    persona: str


class S(TypedDict, total=False):
    question: str
    configured: dict[str, Any]
    tags: list[str]
    persona: str | None


def reply(state: S, config: RunnableConfig, runtime: Runtime[Context]) -> S:
    configurable = config.get("configurable") or {}
    return {
        "configured": {k: configurable[k] for k in SHOWN if k in configurable},
        "tags": sorted(config.get("tags") or []),
        "persona": (runtime.context or {}).get("persona"),
    }


workflow = StateGraph(S, context_schema=Context)
workflow.add_node("reply", reply)
workflow.add_edge(START, "reply")
workflow.add_edge("reply", END)
