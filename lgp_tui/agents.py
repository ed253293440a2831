"""The agents of the run on screen, as the agent panel shows them (f10).

Every node of the run that works with a model gets an :class:`AgentTrack`, filled from
the run events as they arrive:

- a Claude Code node: its session as it happens (``agent.init``, ``agent.message``,
  ``agent.tool_use``, ``agent.tool_result``, ``agent.result``);
- a model agent node (or a hand-written node calling a chat model): the replies it
  streams (``message.delta``), its tools (``tool.called``, ``tool.result``,
  ``tool.denied``), repairs and fallbacks, and when it finishes its model calls
  (``usage.llm_calls`` of ``node.finished``: model, tokens in and out, cost,
  duration), each matched to its reply when they pair up one to one.

Each track also keeps its context meter (:class:`~lgp_tui.usage.ContextUse`: the
tokens of its last model call against the model's context window), and the board
keeps the run's (the last call of any node), for the status bar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lgp_engine import PriceTable, RunEvent

from .usage import ContextUse, Spent, call_context, spent

#: Entries kept per node; older ones are dropped (and the panel says how many).
MAX_ENTRIES = 1000
#: Characters of a streamed reply kept while it streams (the node's update has it whole).
MAX_STREAM = 20_000

_SESSION = ("agent.init", "agent.message", "agent.tool_use", "agent.tool_result", "agent.result")
_TOOLS = ("tool.called", "tool.result", "tool.denied", "agent.repair", "agent.fallback")


def node_key(node: str, path: Any = ()) -> str:
    """``outer/inner`` for a node inside a subgraph, else its name (as the graph pane
    names nodes)."""
    return "/".join((*(str(p) for p in path or ()), node))


@dataclass
class Entry:
    """One thing an agent did: an event's ``data`` (``kind`` is its type), a reply it
    streamed (``reply``), a model call (``call``), or a new start of its node
    (``restart``)."""

    kind: str
    data: dict[str, Any]
    seq: int = 0
    folded: bool = True
    """Shown as one line (enter in the panel shows it whole)."""
    call: dict[str, Any] | None = None
    """The model call (an ``llm_calls`` entry) a ``reply`` was answered by, once known."""


@dataclass
class AgentTrack:
    """What one node did with its model (or its Claude Code session) in this run."""

    key: str
    node: str
    kind: str = "model"
    """``model`` (model calls) or ``claude_code`` (a Claude Code session)."""
    state: str = "running"
    """``running``, ``done``, ``failed``, ``waiting`` (at an interrupt) or ``stopped``."""
    entries: list[Entry] = field(default_factory=list)
    dropped: int = 0
    model: str | None = None
    role: str | None = None
    context: ContextUse | None = None
    spent: Spent | None = None
    calls: int = 0
    duration_ms: float | None = None
    streaming: Entry | None = None
    """The reply being streamed (the last entry while it grows)."""
    stream_id: str | None = None
    version: int = 0
    _unpaired: int = 0  # replies of the node's current run without their call yet

    def add(self, entry: Entry) -> Entry:
        self.entries.append(entry)
        if len(self.entries) > MAX_ENTRIES:
            cut = len(self.entries) - MAX_ENTRIES
            del self.entries[:cut]
            self.dropped += cut
        self.version += 1
        return entry

    @property
    def label(self) -> str:
        """``coder`` (the role when it differs) for the panel's node list."""
        return self.key if not self.role or self.role == self.node else f"{self.key} ({self.role})"


class AgentBoard:
    """The agent tracks of the current run (a new run starts a new board; a resumed
    one goes on), by node, in the order they started working.

    Args:
        window: The context window of a model name (None: unknown), from the
            pricing table.
    """

    def __init__(self, window: Callable[[str | None], int | None]) -> None:
        self.window = window
        self.tracks: dict[str, AgentTrack] = {}
        self.run_id: str | None = None
        self.context: ContextUse | None = None
        """The run's last model call against its window (the status bar's meter)."""
        self.version = 0
        self.latest: str | None = None
        """The node whose track changed last (what the panel follows)."""
        self.runs: list[str] = []
        """The runs seen (their ids, oldest first): this session's, for the cost screen."""

    def reset(self) -> None:
        self.tracks.clear()
        self.context = None
        self.latest = None
        self.version += 1

    def add(self, event: RunEvent) -> AgentTrack | None:
        """Take in one run event; the track it changed, if any."""
        kind = event.type
        data = event.data if isinstance(event.data, Mapping) else {}
        if kind == "run.started":
            if not data.get("resumed") or event.run_id != self.run_id:
                self.reset()
            self.run_id = event.run_id
            if event.run_id not in self.runs[-20:]:
                self.runs.append(event.run_id)
            return None
        if event.is_terminal:
            self._ended(kind)
            return None
        if not event.node:
            return None
        key = node_key(event.node, data.get("path"))
        if kind == "node.started":
            track = self.tracks.get(key)
            if track is not None and track.state != "running":  # a loop runs it again
                track.state = "running"
                track._unpaired = 0
                track.add(Entry("restart", {}, event.seq))
                return self._changed(track)
            return None
        if kind == "node.finished":
            return self._finished(key, event)
        if kind == "message.delta":
            return self._delta(key, event, data)
        if kind in _SESSION or kind in _TOOLS:
            track = self._track(key, event.node)
            if kind == "agent.init":
                track.kind = "claude_code"
                track.model = str(data.get("model") or "") or track.model
                track.role = str(data.get("role") or "") or None
            track.add(Entry(kind, dict(data), event.seq))
            if isinstance(data.get("context_tokens"), int):  # a Claude Code reply's
                self._context(track, ContextUse(data["context_tokens"], None, track.model))
            if kind == "agent.result" and data.get("model"):
                track.model = str(data["model"])
            return self._changed(track)
        return None

    # -- the events --------------------------------------------------------------
    def _track(self, key: str, node: str) -> AgentTrack:
        track = self.tracks.get(key)
        if track is None:
            track = self.tracks[key] = AgentTrack(key, node)
        return track

    def _changed(self, track: AgentTrack) -> AgentTrack:
        track.version += 1
        self.version += 1
        self.latest = track.key
        return track

    def _context(self, track: AgentTrack, use: ContextUse) -> None:
        model = use.model or track.model
        use = ContextUse(use.tokens, use.window or self.window(model), model)
        track.context = use
        self.context = use

    def _delta(self, key: str, event: RunEvent, data: Mapping[str, Any]) -> AgentTrack | None:
        if data.get("message_type") not in (None, "AIMessageChunk", "ai"):
            return None
        track = self._track(key, event.node or key)
        message_id = str(data.get("id") or "")
        if track.streaming is None or message_id != track.stream_id:
            track.stream_id = message_id
            track.streaming = track.add(Entry("reply", {"text": ""}, event.seq))
            track._unpaired += 1
        reply = track.streaming
        text = _text(data.get("content"))
        if text and len(reply.data["text"]) < MAX_STREAM:
            reply.data["text"] += text
        usage = data.get("usage")
        if isinstance(usage, Mapping):
            reply.data["usage"] = dict(usage)
            tokens = int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)
            if tokens:
                self._context(track, ContextUse(tokens))
        return self._changed(track)

    def _finished(self, key: str, event: RunEvent) -> AgentTrack | None:
        data = event.data
        usage = data.get("usage")
        calls = usage.get("llm_calls") if isinstance(usage, Mapping) else None
        calls = [c for c in calls or () if isinstance(c, Mapping)]
        track = self.tracks.get(key)
        if track is None and not calls:
            return None  # a node without a model
        track = track or self._track(key, event.node or key)
        track.streaming = None
        track.state = (
            "failed" if "error" in data else "waiting" if data.get("interrupts") else "done"
        )
        ms = data.get("duration_ms")
        track.duration_ms = float(ms) if isinstance(ms, int | float) else None
        node_spent = spent(usage)
        if node_spent is not None:
            track.spent = node_spent if track.spent is None else track.spent + node_spent
        if calls:
            self._calls(track, [dict(c) for c in calls], event.seq)
        return self._changed(track)

    def _calls(self, track: AgentTrack, calls: list[dict[str, Any]], seq: int) -> None:
        """Pair the node's model calls with the replies it streamed (one to one), or
        list them after."""
        track.calls += len(calls)
        model = next((c.get("model") for c in reversed(calls) if c.get("model")), None)
        if model and track.kind == "model":
            track.model = str(model)
        replies = [e for e in track.entries if e.kind == "reply"][-track._unpaired :]
        if track._unpaired and len(replies) == len(calls):
            for reply, call in zip(replies, calls, strict=True):
                reply.call = call
        elif track.kind == "model":  # a Claude Code session has said its own figures
            for call in calls:
                track.add(Entry("call", call, seq))
        track._unpaired = 0
        last = calls[-1]
        if track.kind == "model":  # a session's calls sum its turns: not one context
            use = call_context(last, self.window(last.get("model")))
            if use is not None:
                self._context(track, use)

    def _ended(self, kind: str) -> None:
        for track in self.tracks.values():
            track.streaming = None
            if track.state == "running":
                track.state = "stopped" if kind != "interrupt" else "waiting"
                self._changed(track)


def context_windows(pricing: Mapping[str, Any] | None) -> Callable[[str | None], int | None]:
    """The context window of a model name, from the pricing table (the bundled one
    and the config's ``pricing:``), read when first asked."""
    table: list[PriceTable] = []

    def window(model: str | None) -> int | None:
        if not table:
            table.append(PriceTable(pricing))
        return table[0].context_window(model)

    return window


def _text(content: Any) -> str:
    """The text of a message chunk's content (a string, or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(b.get("text") or "") if isinstance(b, Mapping) else str(b) for b in content
        )
    return ""
