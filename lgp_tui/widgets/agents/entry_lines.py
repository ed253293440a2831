"""What the agent panel writes for each entry of an agent's track, and the track's
summary line. A folded entry is one line cut to the panel's width (``▸``); unfolded
(``▾``) it is whole: a message's text, a tool's input as JSON, what a tool gave back."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from rich.text import Text

from lgp_engine import dumps, format_usd

from ...agents import AgentTrack, Entry
from ...usage import ContextUse
from ..run_log.agent_lines import byte_size, count, duration, init_tags, one_line, plural

_STATE = {
    "running": ("● running", "bold yellow"),
    "done": ("✓ done", "green"),
    "failed": ("✖ failed", "red"),
    "waiting": ("⏸ waiting", "yellow"),
    "stopped": ("⊘ stopped", "yellow"),
}
#: Characters of an unfolded entry's text (a tool result is at most 2,000 already).
_WHOLE = 20_000


def summary_line(track: AgentTrack) -> Text:
    """``✓ done · ctx 21.8k/200k 11% · 1,290 tok $0.0123 · Claude Code
    claude-sonnet-4-5 · 2 calls · 12.3 s``: what matters most first (a narrow panel
    cuts the end)."""
    state, style = _STATE.get(track.state, (track.state, ""))
    kind = "Claude Code" if track.kind == "claude_code" else "model"
    parts: list[Text] = [Text(state, style=style), context_text(track.context)]
    if track.spent is not None:
        parts.append(Text(track.spent.label, style="yellow"))
    parts.append(Text.assemble((kind, "dim"), (f" {track.model}" if track.model else "", "")))
    if track.calls:
        parts.append(Text(plural(track.calls, "call"), style="dim"))
    if track.duration_ms is not None:
        parts.append(Text(duration(track.duration_ms), style="dim"))
    return Text(" · ", style="dim").join(parts)


def context_text(use: ContextUse | None) -> Text:
    """The context meter, or that nothing has been measured yet."""
    if use is None:
        return Text("ctx -", style="dim")
    return Text(use.label, style=use.style)


def entry_text(entry: Entry, track: AgentTrack, width: int) -> Text:
    """``entry`` as the panel shows it: one line cut to ``width`` when folded."""
    render = _LINES.get(entry.kind, _other)
    head, body = render(entry, track)
    if entry is track.streaming:
        head.append(" ▌", style="bold yellow")
    width = max(width, 16)
    fits = len(head.plain) + 2 <= width
    more = bool(body.strip()) and not ("\n" not in body and fits and body.strip() in head.plain)
    if fits and not more:  # nothing more to show than the line
        return Text("  ") + head
    if entry.folded:
        line = Text("▸ ", style="dim") + head
        line.truncate(width, overflow="ellipsis")
        return line
    if more and entry.kind in _TEXTS:  # the text follows whole: not on its line too
        head = _TEXTS[entry.kind](entry)
    line = Text("▾ ", style="dim") + head  # wrapped to the width
    if not more:
        return line
    rows = Text("\n").join(Text("    " + row) for row in body[:_WHOLE].splitlines())
    return line + Text("\n") + rows


# -- each kind of entry: (its line, its whole text when unfolded) ---------------------
Lines = tuple[Text, str]


def _init(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    head = Text.assemble(
        "◇ session ",
        (str(data.get("session_id") or "?")[:8], "bold"),
        (f" {data['model']}" if data.get("model") else "", "dim"),
        " in ",
        (str(data.get("repository") or data.get("cwd") or "?"), ""),
        (init_tags(data), "yellow"),
    )
    tools = data.get("tools") or []
    rows = [
        f"session  {data.get('session_id') or '?'}",
        f"model    {data.get('model') or '?'}",
        f"cwd      {data.get('cwd') or '?'}",
        f"tools    {', '.join(map(str, tools)) if tools else 'none'}",
    ]
    if data.get("permission_mode"):
        rows.append(f"mode     {data['permission_mode']}")
    if data.get("mcp_servers"):
        rows.append(f"mcp      {', '.join(map(str, data['mcp_servers']))}")
    if data.get("worktree"):
        rows.append(f"worktree {data['worktree']}")
    return head, "\n".join(rows)


def _message(entry: Entry, track: AgentTrack) -> Lines:
    text = str(entry.data.get("text") or "")
    return Text.assemble(("» ", "cyan"), one_line(text)), text[:_WHOLE]


def _tool_use(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    head = Text.assemble(
        ("→ ", "cyan"),
        (str(data.get("tool") or "?"), "bold"),
        " ",
        (dumps(data.get("input")), "dim"),
    )
    return head, pretty(data.get("input"))


def _tool_result(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    tool = str(data.get("tool") or "tool")
    text = str(data.get("text") or "")
    size = f" {byte_size(count(data, 'size'))} "
    if data.get("is_error"):
        return Text.assemble(("✖ ", "red"), (tool, "red"), size, (one_line(text), "red")), text
    return Text.assemble(("← ", "green"), (tool, "bold"), size, (one_line(text), "dim")), text


def _result(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    stats = [plural(count(data, "turns"), "turn"), plural(count(data, "tool_calls"), "tool call")]
    if count(data, "tool_errors"):
        stats.append(plural(count(data, "tool_errors"), "tool error"))
    if count(data, "permission_denials"):
        stats.append(plural(count(data, "permission_denials"), "permission denial"))
    found = data.get("usage")
    usage: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    tokens = f"{count(usage, 'input_tokens'):,} in / {count(usage, 'output_tokens'):,} out tok"
    cached = count(usage, "cache_read_tokens") + count(usage, "cache_write_tokens")
    if cached:
        tokens += f" (+{cached:,} cached)"
    cost = float(data.get("cost_usd") or 0)
    reported = float(data.get("total_cost_usd") or 0)
    money = format_usd(cost)
    if abs(reported - cost) >= 1e-9:
        money += f", {data.get('cost_model')}: {format_usd(reported)} reported"
    figures = f"{money} · {tokens} · {', '.join(stats)} in {duration(data.get('duration_ms'))}"
    if data.get("is_error"):
        kind = str(data.get("kind") or data.get("subtype") or "error")
        head = Text.assemble(("✖ ", "red"), (kind, "bold red"), f" · {figures}")
        why = str(data.get("text") or "")
        return head, why
    return Text.assemble(("■ ", "green"), figures), ""  # its answer is its last message


def _tool_called(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    name = (
        f"{data.get('server')}/{data.get('tool')}" if data.get("server") else str(data.get("tool"))
    )
    turn = f"turn {data['turn']} " if data.get("turn") else ""
    head = Text.assemble(
        ("→ ", "cyan"), (turn, "dim"), (name, "bold"), " ", (dumps(data.get("arguments")), "dim")
    )
    return head, pretty(data.get("arguments"))


def _tool_answer(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    text = str(data.get("text") or "")
    took = f" {duration(data.get('duration_ms'))}, {byte_size(count(data, 'size'))} "
    tool = str(data.get("tool") or "tool")
    if data.get("is_error"):
        return Text.assemble(("✖ ", "red"), (tool, "red"), took, (one_line(text), "red")), text
    return Text.assemble(("← ", "green"), (tool, "bold"), took, (one_line(text), "dim")), text


def _tool_denied(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    head = Text.assemble(
        ("⊘ ", "red"), (str(data.get("tool")), "bold red"), f" refused: {data.get('reason') or ''}"
    )
    return head, pretty({"arguments": data.get("arguments"), "allowed": data.get("allowed")})


def _repair(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    errors = [str(e) for e in data.get("errors") or ()]
    head = Text.assemble(
        ("↻ ", "yellow"),
        f"answer failed {data.get('schema') or 'its schema'}, repair ",
        str(data.get("attempt") or "?"),
        (f": {'; '.join(errors)}", "dim"),
    )
    return head, ""


def _fallback(entry: Entry, track: AgentTrack) -> Lines:
    data = entry.data
    head = Text.assemble(
        ("⤳ ", "yellow"),
        f"{data.get('failed')} failed ({data.get('kind')}), trying {data.get('next')}",
    )
    return head, ""


def _reply(entry: Entry, track: AgentTrack) -> Lines:
    text = str(entry.data.get("text") or "")
    head = Text.assemble(("» ", "cyan"), one_line(text) if text else Text("(no text)", style="dim"))
    call = entry.call
    if call is not None:
        head = Text.assemble(call_figures(call), " ", head)
    return head, text


def _call(entry: Entry, track: AgentTrack) -> Lines:
    return Text.assemble(("◆ ", "cyan"), call_figures(entry.data)), ""


def _restart(entry: Entry, track: AgentTrack) -> Lines:
    return Text(f"── {track.node} runs again", style="dim"), ""


def _other(entry: Entry, track: AgentTrack) -> Lines:
    return Text(f"{entry.kind} {dumps(entry.data)}", style="dim"), pretty(entry.data)


def pretty(value: Any) -> str:
    """``value`` as indented JSON (what the engine would serialize)."""
    if value is None or value == {}:
        return ""
    return json.dumps(json.loads(dumps(value)), indent=2, ensure_ascii=False)


def _text_head(entry: Entry) -> Text:
    """The line of an unfolded message or reply, its text under it."""
    size = f"{len(str(entry.data.get('text') or '')):,} characters"
    head = Text.assemble(("» ", "cyan"), (size, "dim"))
    return Text.assemble(call_figures(entry.call), " ", head) if entry.call else head


_TEXTS: dict[str, Callable[[Entry], Text]] = {"agent.message": _text_head, "reply": _text_head}


def call_figures(call: Mapping[str, Any]) -> Text:
    """``[gpt-4o-mini 1,000 in / 200 out tok $0.000270 117 ms]``: one model call."""
    model = str(call.get("model") or "?")
    tokens = f"{count(call, 'input_tokens'):,} in / {count(call, 'output_tokens'):,} out tok"
    ms = call.get("duration_ms")
    took = f" {duration(ms)}" if isinstance(ms, int | float) else ""
    cost = format_usd(float(call.get("cost_usd") or 0))
    return Text.assemble(
        ("[", "dim"), (model, "bold"), f" {tokens} ", (cost, "yellow"), (took, "dim"), ("]", "dim")
    )


_LINES: dict[str, Callable[[Entry, AgentTrack], Lines]] = {
    "agent.init": _init,
    "agent.message": _message,
    "agent.tool_use": _tool_use,
    "agent.tool_result": _tool_result,
    "agent.result": _result,
    "tool.called": _tool_called,
    "tool.result": _tool_answer,
    "tool.denied": _tool_denied,
    "agent.repair": _repair,
    "agent.fallback": _fallback,
    "reply": _reply,
    "call": _call,
    "restart": _restart,
}


def entry_value(entry: Entry) -> Any:
    """What the value viewer shows of an entry: its data (and a reply's call)."""
    value = dict(entry.data)
    if entry.call is not None:
        value["call"] = entry.call
    return json.loads(dumps(value)) if value else {}
