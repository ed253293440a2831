"""One node, ``act``, whose end the input chooses: ``{"outcome": ..., "tokens": N}``.

It first reports a model call of N tokens (none for 0) as an agent node does
(``openai:gpt-4o`` when N is not a multiple of 20, else ``openai:gpt-4o-mini``),
then: ``ok`` completes; ``fail`` raises ``ValueError``; ``timeout`` raises a
provider error of kind ``timeout``; ``ask`` interrupts, and once resumed reports a
7-token ``ollama:llama3.2`` call too (the node runs again from its start, so the
resumed segment spends N tokens more as well). No model server is needed.
"""

from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from lgp_engine.providers.base import ProviderError, Usage
from lgp_engine.providers.runtime import scope_of


class S(TypedDict, total=False):
    outcome: str
    tokens: int
    answer: Any


def _spend(config: RunnableConfig, provider: str, model: str, tokens: int) -> None:
    out = tokens // 2
    call = Usage(
        input_tokens=tokens,
        output_tokens=out,
        total_tokens=tokens + out,
        model=model,
        provider=provider,
        cost_usd=tokens * 1e-6,
    )
    scope_of(config).record(call, config)


def act(state: S, config: RunnableConfig) -> S:
    tokens = state.get("tokens", 0)
    if tokens:
        _spend(config, "openai", "gpt-4o" if tokens % 20 else "gpt-4o-mini", tokens)
    outcome = state.get("outcome", "ok")
    if outcome == "fail":
        raise ValueError("boom")
    if outcome == "timeout":
        raise ProviderError("timeout", "the model took too long", provider="openai")
    if outcome == "ask":
        answer = interrupt("go on?")
        _spend(config, "ollama", "llama3.2", 7)
        return {"answer": answer}
    return {}


workflow = StateGraph(S)
workflow.add_node("act", act)
workflow.add_edge(START, "act")
workflow.add_edge("act", END)
