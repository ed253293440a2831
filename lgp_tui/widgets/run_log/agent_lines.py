"""Run-log lines of a Claude Code session (the ``agent.*`` events of its node): how
it started, what it wrote, the tools it called and what they gave back, how it
ended. Styled as the log's tool lines; one line each, cut to fit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rich.text import Text

from lgp_engine import dumps, format_usd

_TEXT_CHARS = 160
_RESULT_CHARS = 120


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: Any) -> str:
    """``text`` with ``⏎`` for its line breaks."""
    return str(text or "").strip().replace("\n", "⏎")


def count(data: Mapping[str, Any], key: str) -> int:
    """``data[key]`` as a count (0 when missing or not a number)."""
    try:
        return int(data.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def byte_size(size: int) -> str:
    """``120 B``, ``4.5 kB``, ``1.2 MB``."""
    if size < 1000:
        return f"{size} B"
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"


def duration(ms: Any) -> str:
    """``450 ms`` under a second, else ``12.3 s``."""
    value = float(ms) if isinstance(ms, int | float) else 0.0
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def who(data: Mapping[str, Any], node: str) -> str:
    """The agent role of the event (its node when it names none)."""
    return str(data.get("role") or node)


def init_line(data: Mapping[str, Any], node: str) -> Text:
    """``◇ coder: Claude Code session 1a2b3c4d (model) in /repo [resumed]``."""
    model = f" ({data['model']})" if data.get("model") else ""
    return Text.assemble(
        "    ◇ ",
        (who(data, node), "cyan"),
        ": Claude Code session ",
        (str(data.get("session_id") or "?")[:8], "bold"),
        (model, "dim"),
        " in ",
        (str(data.get("repository") or data.get("cwd") or "?"), "dim"),
        (init_tags(data), "yellow"),
    )


def init_tags(data: Mapping[str, Any]) -> str:
    """`` [resumed]``, `` [forked from 1a2b3c4d]``, `` [via MCP]``, `` [worktree ...]``."""
    tags = []
    if data.get("forked"):
        tags.append(f"forked from {str(data.get('resumed') or '?')[:8]}")
    elif data.get("resumed"):
        tags.append("resumed")
    if data.get("via") == "mcp":
        tags.append("via MCP")
    if data.get("worktree"):
        tags.append(f"worktree {data['worktree']}")
    return "".join(f" [{tag}]" for tag in tags)


def message_line(data: Mapping[str, Any], node: str) -> Text:
    """``» coder: what the session wrote`` (cut to one line)."""
    return Text.assemble(
        "    » ", (who(data, node), "cyan"), ": ", cut(one_line(data.get("text")), _TEXT_CHARS)
    )


def tool_use_line(data: Mapping[str, Any], node: str) -> Text:
    """``→ coder calls Write {"file_path": ...}``, as the log's MCP tool calls read."""
    return Text.assemble(
        "    → ",
        (who(data, node), "cyan"),
        " calls ",
        (str(data.get("tool") or "?"), "bold"),
        " ",
        (cut(dumps(data.get("input")), 120), "dim"),
    )


def tool_result_line(data: Mapping[str, Any], node: str) -> Text:
    """``← Write (120 B) text`` or, red, ``✖ Bash (45 B) error text``."""
    tool = str(data.get("tool") or "tool")
    size = f" ({byte_size(count(data, 'size'))}) "
    text = cut(one_line(data.get("text")), _RESULT_CHARS)
    if data.get("is_error"):
        return Text.assemble("    ✖ ", (tool, "red"), size, (text, "red"))
    return Text.assemble("    ← ", (tool, "bold"), size, (text, "dim"))


def result_line(data: Mapping[str, Any], node: str) -> Text:
    """``■ coder: 3 turns, 4 tool calls (12.3 s) [1,234 in / 56 out tok $0.0123]``, or
    for a failure ``✖ coder: stalled after ...: why``."""
    stats = f"{_result_stats(data)} ({duration(data.get('duration_ms'))})"
    spent = Text(f" [{_result_spent(data)}]", style="yellow")
    if not data.get("is_error"):
        return Text.assemble("    ■ ", (who(data, node), "cyan"), ": ", stats, spent)
    kind = str(data.get("kind") or data.get("subtype") or "error")
    why = cut(one_line(data.get("text")), _RESULT_CHARS)
    return Text.assemble(
        ("    ✖ ", "red"),
        (who(data, node), "red"),
        ": ",
        (kind, "bold red"),
        f" after {stats}",
        spent,
        (f": {why}" if why else "", "red"),
    )


def _result_stats(data: Mapping[str, Any]) -> str:
    """``3 turns, 4 tool calls, 1 tool error, 2 permission denials``."""
    parts = [plural(count(data, "turns"), "turn"), plural(count(data, "tool_calls"), "tool call")]
    if count(data, "tool_errors"):
        parts.append(plural(count(data, "tool_errors"), "tool error"))
    if count(data, "permission_denials"):
        parts.append(plural(count(data, "permission_denials"), "permission denial"))
    return ", ".join(parts)


def _result_spent(data: Mapping[str, Any]) -> str:
    """``1,234 in / 56 out tok $0.0123`` (and what the agent reported when the run
    counts otherwise, as under a subscription)."""
    usage = data.get("usage")
    usage = usage if isinstance(usage, Mapping) else {}
    tokens = f"{count(usage, 'input_tokens'):,} in / {count(usage, 'output_tokens'):,} out tok"
    counted = float(data.get("cost_usd") or 0)
    reported = float(data.get("total_cost_usd") or 0)
    note = ""
    if abs(reported - counted) >= 1e-9:
        note = f", {data.get('cost_model')}: {format_usd(reported)} reported"
    return f"{tokens} {format_usd(counted)}{note}"


#: The line of each Claude Code session event, from its data and node.
AGENT_LINES: dict[str, Callable[[Mapping[str, Any], str], Text]] = {
    "agent.init": init_line,
    "agent.message": message_line,
    "agent.tool_use": tool_use_line,
    "agent.tool_result": tool_result_line,
    "agent.result": result_line,
}
