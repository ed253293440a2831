"""A Claude Code role served by an MCP server instead of the local CLI (seed R5.1).

Teams that run Claude Code behind an MCP server give the node ``mcp_session`` (the
server's name under ``mcp_servers``); the node then calls the server's
``llm_providers.claude_code.mcp_tool`` (``mesh_execute``) with ``repository``,
``task`` and ``session_id``, and expects ``{"output", "session_id"}`` back (as
structured content or JSON text; ``model``, ``turns`` and ``total_cost_usd`` are read
when present). The node returns the same keys as on the CLI path, and the call shows
as ``tool.called`` / ``tool.result`` between ``agent.init`` and ``agent.result``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .base import ProviderError, Usage
from .claude_session import PROVIDER, SessionWatch
from .runtime import RunScope
from .tools import mcp_session


async def run_via_mcp(
    server: str,
    *,
    scope: RunScope,
    config: Mapping[str, Any],
    role: str,
    repository: Path,
    task: str,
    previous: str | None,
    timeout_s: float,
) -> tuple[str, str]:
    """Carry out ``task`` through ``server``'s tool; the answer and the session id."""
    tool = scope.runtime.settings.claude_code.mcp_tool
    watch = SessionWatch(
        scope,
        config,
        role,
        previous or "",
        started={
            "repository": str(repository),
            "resumed": previous,
            "forked": False,
            "via": "mcp",
        },
    )
    watch.tools[tool] += 1
    started = time.perf_counter()
    try:
        result = await mcp_session(server, config).call_tool(
            tool,
            {"repository": str(repository), "task": task, "session_id": previous},
            timeout_s=timeout_s,
        )
    except ProviderError as exc:  # unreachable server, timeout: the invocation failed
        watch.init(model=None, tools=[tool], cwd=str(repository))
        watch.finish({}, _usage(scope, {}), exc, _ms(started))
        raise
    answer = _answer(result)
    watch.session_id = str(answer.get("session_id") or previous or "")
    watch.init(model=answer.get("model"), tools=[tool], cwd=str(repository))
    text = answer.get("output", answer.get("result", ""))
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    watch.tool_errors = int(result.is_error)
    failure = None
    if result.is_error:
        failure = ProviderError(
            "crashed",
            f"Claude Code role {role!r}: {server}.{tool} failed: {text[:500]}",
            provider=PROVIDER,
            role=role,
        )
    outcome = {
        "subtype": "error" if failure else "success",
        "num_turns": answer.get("turns"),
        "total_cost_usd": answer.get("total_cost_usd"),
        "result": text,
    }
    watch.finish(outcome, _usage(scope, answer), failure, _ms(started))
    if failure is not None:
        raise failure
    return text, watch.session_id


def _usage(scope: RunScope, answer: Mapping[str, Any]) -> Usage:
    """What the server said the invocation cost (0 under a fixed subscription)."""
    subscription = scope.runtime.settings.claude_code.cost_model == "fixed_subscription"
    return Usage(
        model=answer.get("model"),
        provider=PROVIDER,
        cost_usd=0.0 if subscription else float(answer.get("total_cost_usd") or 0.0),
        cost_model="subscription" if subscription else "reported",
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _answer(result: Any) -> dict[str, Any]:
    """The tool's answer as a dict (structured content, JSON text, or plain text)."""
    if isinstance(result.structured, dict):
        return dict(result.structured)
    try:
        value = json.loads(result.text)
    except ValueError:
        return {"output": result.text}
    return value if isinstance(value, dict) else {"output": value}
