"""What the engine sees of one Claude Code invocation: its stream messages turned into
``agent.*`` run events as they arrive, its usage and cost, and how it ended.

:class:`SessionWatch` is fed the CLI's stream-json messages (or, behind MCP, only an
answer) and reports ``agent.init``, ``agent.message``, ``agent.tool_use``,
``agent.tool_result`` and finally ``agent.result``, with the counts the metrics of
``lgp agents`` are made of.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import CLAUDE_CODE
from .base import ProviderError, Usage
from .claude_cli import CliOutcome
from .runtime import RunScope
from .tools import EVENT_TEXT_LIMIT

#: The provider name of Claude Code calls (their ``Usage.provider``).
PROVIDER = CLAUDE_CODE
#: Longest assistant text kept on an ``agent.message`` event (the state gets it whole).
MESSAGE_LIMIT = 20_000
#: What a result's ``api_error_status`` means.
_STATUS_KINDS = {
    401: "auth",
    403: "auth",
    429: "rate_limit",
    400: "bad_request",
    404: "bad_request",
}
#: How the CLI says it has no credentials at all (it answers before calling the API).
_LOGIN = re.compile(r"not logged in|/login|invalid api key", re.IGNORECASE)
#: ``model_usage_since_last_result`` field of each ``usage`` token count.
_MODEL_USAGE_KEYS = {
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_read_input_tokens": "cacheReadInputTokens",
    "cache_creation_input_tokens": "cacheCreationInputTokens",
}
_HINTS = {
    "auth": "check llm_providers.claude_code.api_key (ANTHROPIC_API_KEY) or the CLI's login",
    "rate_limit": "wait and resume the thread, or raise llm_providers.claude_code.max_retries",
    "unavailable": "check llm_providers.claude_code.base_url and that the API is up",
}


@dataclass
class SessionWatch:
    """One invocation of role ``role`` as the engine follows it."""

    scope: RunScope
    config: Mapping[str, Any]
    role: str
    session_id: str
    started: dict[str, Any]  # what agent.init says besides the CLI's own fields
    checkpoint: str | None = None  # the checkpoint the node's step runs from
    tool_names: dict[str, str] = field(default_factory=dict)  # tool_use_id -> tool
    tools: collections.Counter[str] = field(default_factory=collections.Counter)
    tool_errors: int = 0
    messages: int = 0
    model: str | None = None
    text: list[str] = field(default_factory=list)
    #: usage of each model reply seen (by message id): what an invocation that never
    #: reported its result still spent
    replies: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    #: the last message the invocation left in the conversation (a branch resumes here)
    tip: str | None = None
    #: the tokens of the conversation at the last reply (its prompt, cached or not, and
    #: its answer as far as the CLI had counted it): how full the context window is
    context_tokens: int | None = None

    def _report(self, type_: str, data: dict[str, Any]) -> None:
        self.scope.report(
            type_, {"role": self.role, "session_id": self.session_id, **data}, self.config
        )

    def init(self, *, model: str | None, tools: list[str], cwd: str) -> None:
        """Report ``agent.init``."""
        self.model = model
        self._report("agent.init", {"model": model, "tools": tools, "cwd": cwd, **self.started})

    def on_message(self, message: dict[str, Any]) -> None:
        """One stream-json message of the CLI, as its events."""
        self.messages += 1
        kind = message.get("type")
        if message.get("session_id"):
            self.session_id = str(message["session_id"])
        if kind == "system" and message.get("subtype") == "init":
            self.init(
                model=message.get("model"),
                tools=list(message.get("tools") or []),
                cwd=str(message.get("cwd") or ""),
            )
            return
        if kind in ("assistant", "user") and message.get("uuid"):
            self.tip = str(message["uuid"])
        body = message.get("message")
        if kind == "assistant" and isinstance(body, dict) and isinstance(body.get("usage"), dict):
            self.replies[str(body.get("id"))] = body["usage"]
            self.context_tokens = _context_tokens(body["usage"])
        content = body.get("content") if isinstance(body, dict) else None
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, dict):
                continue
            if kind == "assistant" and block.get("type") == "text" and block.get("text"):
                self.text.append(str(block["text"]))
                self._report(
                    "agent.message",
                    {"text": str(block["text"])[:MESSAGE_LIMIT], **self._context()},
                )
            elif kind == "assistant" and block.get("type") == "tool_use":
                self._tool_use(block)
            elif kind == "user" and block.get("type") == "tool_result":
                self._tool_result(block)

    def _tool_use(self, block: Mapping[str, Any]) -> None:
        tool, use_id = str(block.get("name") or "?"), str(block.get("id") or "")
        self.tool_names[use_id] = tool
        self.tools[tool] += 1
        self._report(
            "agent.tool_use",
            {
                "tool": tool,
                "tool_use_id": use_id,
                "input": _capped(block.get("input")),
                **self._context(),
            },
        )

    def _context(self) -> dict[str, int]:
        """``context_tokens`` of the reply an event comes from, when it said its usage."""
        return {} if self.context_tokens is None else {"context_tokens": self.context_tokens}

    def _tool_result(self, block: Mapping[str, Any]) -> None:
        use_id = str(block.get("tool_use_id") or "")
        text = _text_of(block.get("content"))
        is_error = bool(block.get("is_error"))
        self.tool_errors += is_error
        self._report(
            "agent.tool_result",
            {
                "tool": self.tool_names.get(use_id),
                "tool_use_id": use_id,
                "is_error": is_error,
                "size": len(text),
                "text": text[:EVENT_TEXT_LIMIT],
            },
        )

    def finish(
        self,
        result: Mapping[str, Any],
        usage: Usage,
        failure: ProviderError | None,
        duration_ms: float,
    ) -> None:
        """Count the invocation's usage and report ``agent.result``."""
        self.scope.record(usage, self.config)
        self._report(
            "agent.result",
            {
                "subtype": str(result.get("subtype") or (failure.kind if failure else "?")),
                "is_error": failure is not None,
                "kind": failure.kind if failure else None,
                "turns": int(result.get("num_turns") or 0),
                "duration_ms": float(result.get("duration_ms") or duration_ms),
                "duration_api_ms": result.get("duration_api_ms"),
                "usage": {
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "cache_read_tokens": usage.cache_read_tokens,
                    "cache_write_tokens": usage.cache_write_tokens,
                    "total_tokens": usage.total_tokens,
                },
                "total_cost_usd": invocation_cost(result),
                "session_cost_usd": float(result.get("total_cost_usd") or 0.0),
                "cost_usd": usage.cost_usd,
                "cost_model": usage.cost_model,
                "model": usage.model,
                "tool_calls": sum(self.tools.values()),
                "tools": dict(self.tools),
                "tool_errors": self.tool_errors,
                "permission_denials": len(result.get("permission_denials") or []),
                "events": self.messages,
                "tip": self.tip,
                "checkpoint": self.checkpoint,
                "text": str(result.get("result") or failure or "")[:EVENT_TEXT_LIMIT],
                **self._context(),
            },
        )

    def spent(self) -> dict[str, Any]:
        """A stand-in result holding the usage of the replies seen, for an invocation
        that ended without its own (stalled, timed out, crashed)."""
        keys = (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        )
        usage = {k: sum(int(u.get(k) or 0) for u in self.replies.values()) for k in keys}
        return {"usage": usage}

    def answer(self, result: Mapping[str, Any]) -> str:
        """The invocation's answer: the result text, else what it wrote."""
        text = result.get("result")
        return text if isinstance(text, str) else "\n".join(self.text)


def _context_tokens(usage: Mapping[str, Any]) -> int:
    """The tokens of a reply's conversation: its prompt (fresh, read from the cache
    and written to it) and its answer."""
    keys = (
        "input_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "output_tokens",
    )
    total = 0
    for key in keys:
        try:
            total += int(usage.get(key) or 0)
        except (TypeError, ValueError):
            continue
    return total


def usage_of(
    result: Mapping[str, Any],
    *,
    model: str | None,
    scope: RunScope,
    duration_ms: float,
) -> Usage:
    """The tokens and cost of one invocation, under the configured cost model."""
    raw = result.get("usage") or {}
    by_model = result.get("modelUsage") or {}
    since = result.get("model_usage_since_last_result")
    if isinstance(since, dict) and since:
        # every model of the invocation (sub-agents too); ``usage`` is the main loop's
        raw = {
            key: sum(int(m.get(name) or 0) for m in since.values() if isinstance(m, dict))
            for key, name in _MODEL_USAGE_KEYS.items()
        }
        by_model = since
    usage = Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cache_read_tokens=int(raw.get("cache_read_input_tokens") or 0),
        cache_write_tokens=int(raw.get("cache_creation_input_tokens") or 0),
        model=model or (next(iter(by_model)) if by_model else None),
        provider=PROVIDER,
        duration_ms=duration_ms,
    )
    usage = replace(
        usage,
        total_tokens=usage.input_tokens
        + usage.output_tokens
        + usage.cache_read_tokens
        + usage.cache_write_tokens,
    )
    if scope.runtime.settings.claude_code.cost_model == "fixed_subscription":
        return replace(usage, cost_usd=0.0, cost_model="subscription")
    reported = invocation_cost(result)
    if reported > 0:
        return replace(usage, cost_usd=reported, cost_model="reported")
    return scope.runtime.prices.price_usage(usage, local=False)


def invocation_cost(result: Mapping[str, Any]) -> float:
    """What one invocation cost by the CLI's figures. Its ``total_cost_usd`` is the
    whole session's (a resumed session counts its earlier invocations too); the cost
    since the last result is this invocation's."""
    since = result.get("model_usage_since_last_result")
    if isinstance(since, dict):
        return round(sum(float(m.get("costUSD") or 0.0) for m in since.values()), 8)
    return float(result.get("total_cost_usd") or 0.0)


def failure_of(
    role: str, outcome: CliOutcome, *, stall_timeout_s: float, timeout_s: float
) -> ProviderError | None:
    """What went wrong, as a :class:`ProviderError`, or None when the session succeeded."""
    common: dict[str, Any] = {"provider": PROVIDER, "role": role}
    where = f"Claude Code role {role!r}"
    if outcome.stopped == "stalled":
        return ProviderError(
            "stalled",
            f"{where} sent nothing for {stall_timeout_s:g} s and was stopped",
            hint="raise stall_timeout_s if its steps can take that long",
            **common,
        )
    if outcome.stopped == "timeout":
        return ProviderError(
            "timeout",
            f"{where} ran past its timeout of {timeout_s:g} s and was stopped",
            hint="raise timeout_s, or give it a smaller task",
            **common,
        )
    if outcome.stopped == "unreadable":
        return ProviderError(
            "crashed",
            f"{where}: the Claude Code CLI sent a stream message too long to read, and was stopped",
            **common,
        )
    result = outcome.result
    if result is None and _LOGIN.search(outcome.stderr):
        return ProviderError(
            "auth",
            f"{where}: the Claude Code CLI has no credentials: {_last_line(outcome.stderr)}",
            hint=_HINTS["auth"],
            **common,
        )
    if result is None:
        code = outcome.returncode
        how = f"was killed by signal {-code}" if code and code < 0 else f"exited with {code}"
        if code == 0:
            how = "ended without a result"
        detail = _last_line(outcome.stderr)
        return ProviderError(
            "crashed",
            f"{where}: the Claude Code CLI {how}" + (f": {detail}" if detail else ""),
            hint="the thread can be resumed to run the node again",
            cli_exit_code=code,
            **common,
        )
    subtype = str(result.get("subtype") or "")
    if subtype == "error_max_budget_usd":
        return ProviderError(
            "budget_exceeded",
            f"{where} reached its budget (${invocation_cost(result):.4f} spent)",
            hint="raise max_budget_usd of the node, or the run's max_cost_usd",
            **common,
        )
    if subtype == "error_max_turns":
        return ProviderError(
            "max_turns",
            f"{where} used all {result.get('num_turns')} turns without finishing",
            hint="raise max_turns, or give it a smaller task",
            **common,
        )
    if not result.get("is_error") and subtype == "success":
        return None
    status = result.get("api_error_status")
    kind = _STATUS_KINDS.get(int(status), "unavailable") if isinstance(status, int) else "crashed"
    text = str(result.get("result") or subtype or "an error")
    if kind == "crashed" and _LOGIN.search(text):
        kind = "auth"
    return ProviderError(kind, f"{where}: {text}", hint=_HINTS.get(kind), **common)  # type: ignore[arg-type]


def _capped(value: Any) -> Any:
    """A tool's input for its event: string fields cut to :data:`EVENT_TEXT_LIMIT`
    characters (a Write of a whole file need not be stored twice)."""
    if isinstance(value, dict):
        return {k: _capped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_capped(v) for v in value]
    if isinstance(value, str) and len(value) > EVENT_TEXT_LIMIT:
        return value[:EVENT_TEXT_LIMIT] + f"… ({len(value):,} characters)"
    return value


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in content)
    return "" if content is None else json.dumps(content, default=str)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
