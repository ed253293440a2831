"""The provider contract: what every model backend of an agent node offers.

An agent node (see :mod:`lgp_engine.providers.factory`) renders its task from the
state and hands it to an :class:`LLMProvider`, which returns the state updates. Each
model call it makes is measured as a :class:`Usage` (what the endpoint reported,
never an estimate when it reports) and each failure is a :class:`ProviderError`
of one canonical :data:`ErrorKind`, so every front end can say what went wrong and
what to do about it in the same terms.
"""

from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast, get_args

from ..errors import LGPError
from ..events import UsageTotals

#: Why a model or tool call failed, in terms a user can act on.
ErrorKind = Literal[
    "timeout",  # no (complete) answer within the call's timeout
    "auth",  # the endpoint refused the credentials (401/403)
    "rate_limit",  # 429 after every retry
    "unavailable",  # connection refused, DNS, 5xx after every retry, a dead MCP server
    "malformed_output",  # unparseable reply, or an answer that never met its schema
    "context_length",  # the prompt does not fit the model's context window
    "budget_exceeded",  # the next call would take the run past max_cost_usd
    "stalled",  # a long-running agent stopped producing output
    "crashed",  # an agent process ended unexpectedly
    "bad_request",  # the endpoint rejected the request itself (400, unknown model...)
    "max_turns",  # an agent used every turn it was given without finishing
]
ERROR_KINDS: tuple[str, ...] = get_args(ErrorKind)
#: Kinds that a role's ``fallbacks`` may try another provider for.
FALLBACK_KINDS: frozenset[str] = frozenset({"unavailable", "rate_limit", "timeout"})

#: How a call's cost was worked out.
CostModel = Literal["per_token", "local", "unpriced", "subscription", "reported"]


class ProviderError(LGPError):
    """A model, agent or tool call failed; ``kind`` says how (see :data:`ErrorKind`).

    It ends the run as ``run.failed`` with ``error.kind``; the message names the
    endpoint and what to do (start the server, set the key, raise the budget...).
    """

    title = "Agent call failed"
    exit_code = 1

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        role: str | None = None,
        attempts: int | None = None,
        hint: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, code=kind, hint=hint, **details)
        self.kind: ErrorKind = kind
        self.provider = provider
        self.model = model
        self.role = role
        self.attempts = attempts

    def fields(self) -> dict[str, Any]:
        """What ``run.failed`` carries about this error besides its message."""
        out: dict[str, Any] = {"kind": self.kind}
        for name in ("provider", "model", "role", "attempts"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one model call (or a sum of calls).

    Token counts are what the endpoint reported. ``cost_usd`` comes from the
    pricing table (``cost_model`` ``per_token``), is 0 for local endpoints
    (``local``) and for models the table does not know (``unpriced``), or is what
    the agent reported itself (``reported``, Claude Code).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    model: str | None = None
    provider: str | None = None
    cost_usd: float = 0.0
    cost_model: CostModel = "per_token"
    duration_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cost_usd"] = round(self.cost_usd, 8)
        if not self.extra:
            del out["extra"]
        return out


def sum_usage(calls: list[dict[str, Any]]) -> UsageTotals:
    """The total of several :meth:`Usage.to_dict` values, with a breakdown by
    ``provider:model`` (``by_model``) and the number of calls."""
    keys = (
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    )
    total: dict[str, Any] = dict.fromkeys(keys, 0)
    total["cost_usd"] = 0.0
    total["calls"] = 0
    by_model: dict[str, dict[str, Any]] = {}
    models: set[str] = set()
    for call in calls:
        models.add(str(call.get("cost_model") or "per_token"))
        name = f"{call.get('provider') or '?'}:{call.get('model') or '?'}"
        entry = by_model.setdefault(name, {**dict.fromkeys(keys, 0), "cost_usd": 0.0, "calls": 0})
        for bucket in (total, entry):
            for key in keys:
                bucket[key] += int(call.get(key) or 0)
            bucket["cost_usd"] += float(call.get("cost_usd") or 0.0)
            bucket["calls"] += 1
    total["cost_usd"] = round(total["cost_usd"], 8)
    for entry in by_model.values():
        entry["cost_usd"] = round(entry["cost_usd"], 8)
    total["by_model"] = by_model
    if models:
        total["cost_models"] = sorted(models)
    return cast(UsageTotals, total)


def merge_usage(*totals: Any) -> UsageTotals:
    """The sum of several :func:`sum_usage` results (None ones skipped)."""
    out: dict[str, Any] = dict(sum_usage([]))
    for total in totals:
        if not total:
            continue
        for key, value in total.items():
            if key == "cost_models":
                out["cost_models"] = sorted({*out.get("cost_models", ()), *value})
            elif key == "by_model":
                for name, entry in value.items():
                    into = out["by_model"].setdefault(name, dict.fromkeys(entry, 0))
                    for k, v in entry.items():
                        into[k] = into.get(k, 0) + v
            elif isinstance(value, int | float) and key in out:
                out[key] += value
    out["cost_usd"] = round(out["cost_usd"], 8)
    for entry in out["by_model"].values():
        entry["cost_usd"] = round(entry.get("cost_usd", 0.0), 8)
    return cast(UsageTotals, out)


class LLMProvider(abc.ABC):
    """A backend that carries out an agent role's task.

    Implementations: :class:`~lgp_engine.providers.openai_compat.OpenAICompatProvider`
    (OpenAI, Ollama, vLLM, any Chat Completions endpoint), and Claude Code.
    """

    @abc.abstractmethod
    async def execute_task(
        self, task: str, state: dict[str, Any], config: dict[str, Any]
    ) -> dict[str, Any]:
        """Carry out ``task`` (rendered from ``state``) and return the state updates.

        ``config`` is the node's LangGraph ``RunnableConfig``: pass it on to chat
        models so their tokens reach the run's ``messages`` stream. Raises
        :class:`ProviderError` on failure.
        """

    @abc.abstractmethod
    def get_provider_name(self) -> str:
        """The configured provider's name (``openai``, ``ollama``, a custom endpoint...)."""

    @abc.abstractmethod
    def get_cost_estimate(self, input_tokens: int, output_tokens: int) -> float:
        """USD that a call with these token counts costs on this provider's model."""
