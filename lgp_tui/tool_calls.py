"""Every tool call of the runs the workbench saw, one record each, for the tool calls
screen: which node called which tool with what, what came back (or the error), how
long it took, grouped by the model turn that asked for it.

Three kinds of calls arrive in the run events, and all three become a
:class:`ToolCall`:

- an agent node's MCP tools: ``tool.called`` then ``tool.result`` (``call_id`` pairs
  them; ``turn`` is the model reply that asked), or ``tool.denied``;
- a Claude Code session's tools: ``agent.tool_use`` then ``agent.tool_result``
  (``tool_use_id``); each tool use is a turn of its own;
- a graph's own tool calling (LangGraph's ``ToolNode``): an AI message with
  ``tool_calls`` in a node's update, answered by tool messages (``tool_call_id``) in
  a later node's update. Calls already seen as ``tool.called`` are not counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lgp_engine import RunEvent, as_message, inline

MAX_CALLS = 5000
_EVENTS = frozenset(
    {"tool.called", "tool.denied", "tool.result", "agent.tool_use", "agent.tool_result"}
    | {"node.finished"}  # a graph's own calls are in its nodes' updates
)


@dataclass
class ToolCall:
    """One call of a tool, as complete as its events made it so far."""

    run_id: str
    thread_id: str
    node: str
    tool: str
    arguments: Any
    turn: str
    """Which model turn asked for it: ``run · node · turn``, the group it is shown in."""
    call_id: str | None = None
    result: str | None = None
    error: bool = False
    denied: bool = False
    duration_ms: float | None = None
    kind: str = "mcp"
    """``mcp`` (an agent node's tools), ``claude`` (a Claude Code session), ``graph``
    (a ToolNode answering an AI message)."""
    source: str = ""
    """``api`` for runs made through the workbench's server, else empty."""
    ts: float = 0.0

    @property
    def status(self) -> str:
        if self.denied:
            return "denied"
        if self.result is None:
            return "pending"
        return "error" if self.error else "ok"

    def matches(self, text: str) -> bool:
        """Is ``text`` (lower case) in the node, tool, arguments, result or status?"""
        if not text:
            return True
        hay = " ".join(
            (self.node, self.tool, inline(self.arguments), self.result or "", self.status)
        )
        return text in hay.lower()

    def as_value(self) -> dict[str, Any]:
        """What the value viewer shows for the call."""
        return {
            "tool": self.tool,
            "node": self.node,
            "status": self.status,
            "arguments": self.arguments,
            "result": self.result,
            "duration_ms": self.duration_ms,
            "call_id": self.call_id,
            "run_id": self.run_id,
            "thread_id": self.thread_id,
        }


@dataclass
class ToolCallLog:
    """The calls of the runs seen so far, in order (the oldest dropped past
    :data:`MAX_CALLS`)."""

    calls: list[ToolCall] = field(default_factory=list)
    version: int = 0
    """Bumped by every change (a screen showing the calls redraws when it moved)."""
    _by_id: dict[tuple[str, str], ToolCall] = field(default_factory=dict)
    _turns: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, event: RunEvent, source: str = "") -> None:
        """Take what ``event`` says about tool calls (most events say nothing)."""
        data = event.data
        kind = event.type
        if kind not in _EVENTS:
            return
        self.version += 1
        if kind in ("tool.called", "tool.denied"):
            turn = data.get("turn")
            call = self._new(
                event,
                source,
                tool=_tool_name(data),
                arguments=data.get("arguments"),
                turn=str(turn) if turn is not None else "tools",
                call_id=_str(data.get("call_id")),
                kind="mcp",
            )
            if kind == "tool.denied":
                call.denied, call.error = True, True
                call.result = str(data.get("reason") or "refused")
        elif kind == "tool.result":
            answered = self._find(event.run_id, data.get("call_id"))
            if answered is not None:
                answered.result = str(data.get("text") or "")
                answered.error = bool(data.get("is_error"))
                ms = data.get("duration_ms")
                answered.duration_ms = float(ms) if isinstance(ms, int | float) else None
        elif kind == "agent.tool_use":
            node = _node(event)
            turn = self._next_turn(event.run_id, node)
            self._new(
                event,
                source,
                tool=str(data.get("tool") or "?"),
                arguments=data.get("input"),
                turn=str(turn),
                call_id=_str(data.get("tool_use_id")),
                kind="claude",
            )
        elif kind == "agent.tool_result":
            answered = self._find(event.run_id, data.get("tool_use_id"))
            if answered is not None:
                answered.result = str(data.get("text") or "")
                answered.error = bool(data.get("is_error"))
                answered.duration_ms = max(0.0, (event.ts - answered.ts) * 1000)
        elif kind == "node.finished":
            self._from_messages(event, source)

    def runs(self) -> list[str]:
        """The runs with calls, oldest first."""
        return list(dict.fromkeys(c.run_id for c in self.calls))

    def shown(self, text: str = "") -> list[ToolCall]:
        """The calls matching ``text`` (any case), in order."""
        needle = text.strip().lower()
        return [c for c in self.calls if c.matches(needle)]

    # -- inside ------------------------------------------------------------------
    def _new(self, event: RunEvent, source: str, **fields: Any) -> ToolCall:
        call = ToolCall(
            run_id=event.run_id,
            thread_id=event.thread_id,
            node=_node(event),
            source=source,
            ts=event.ts,
            **fields,
        )
        self.calls.append(call)
        if call.call_id:
            self._by_id[(event.run_id, call.call_id)] = call
        if len(self.calls) > MAX_CALLS:
            dropped = self.calls[: len(self.calls) - MAX_CALLS]
            del self.calls[: len(dropped)]
            for old in dropped:
                if old.call_id:
                    self._by_id.pop((old.run_id, old.call_id), None)
        return call

    def _find(self, run_id: str, call_id: Any) -> ToolCall | None:
        return self._by_id.get((run_id, str(call_id))) if call_id else None

    def _next_turn(self, run_id: str, node: str) -> int:
        key = (run_id, node)
        self._turns[key] = self._turns.get(key, 0) + 1
        return self._turns[key]

    def _from_messages(self, event: RunEvent, source: str) -> None:
        update = event.data.get("update")
        for message in _messages(update):
            view = as_message(message)
            if view is None:
                continue
            if view.role == "ai" and view.tool_calls:
                fresh = [
                    (name, args, call_id)
                    for (name, args), call_id in zip(
                        view.tool_calls, _padded(view.call_ids, len(view.tool_calls)), strict=True
                    )
                    if not (call_id and self._find(event.run_id, call_id))
                ]
                if not fresh:
                    continue  # an agent node's calls, already seen as tool.called
                turn = self._next_turn(event.run_id, _node(event))
                for name, args, call_id in fresh:
                    self._new(
                        event,
                        source,
                        tool=name,
                        arguments=args,
                        turn=str(turn),
                        call_id=call_id,
                        kind="graph",
                    )
            elif view.role == "tool" and view.tool_call_id:
                call = self._find(event.run_id, view.tool_call_id)
                if call is not None and call.result is None:
                    call.result = view.content
                    call.error = view.error
                    if call.kind == "graph":
                        ms = event.data.get("duration_ms")
                        call.duration_ms = float(ms) if isinstance(ms, int | float) else None


def _messages(update: Any) -> Iterable[Any]:
    """The messages in a node's update (``{"messages": [...]}``), if any."""
    if not isinstance(update, Mapping):
        return ()
    found = update.get("messages")
    if isinstance(found, list | tuple):
        return found
    return (found,) if found is not None else ()


def _padded(ids: tuple[str | None, ...], n: int) -> list[str | None]:
    return [*ids[:n], *([None] * (n - len(ids)))]


def _node(event: RunEvent) -> str:
    return str(event.node or event.data.get("node") or "?")


def _tool_name(data: Mapping[str, Any]) -> str:
    server, tool = data.get("server"), str(data.get("tool") or "?")
    return f"{server}.{tool}" if server else tool


def _str(value: Any) -> str | None:
    return str(value) if value else None
