"""Recorded model and tool calls, and a replay that answers the same calls from them.

Recording: every run records, beside its events, what each agent node asked and got
(``RunScope.report("recording", ...)``, stored by the runner in the run store):

* ``model``: a model call of an agent node: the request's fingerprint (model, options,
  tools offered, each message's role, hash and a short preview; the prompt itself is
  not kept), the reply message (tool calls included) and its usage;
* ``tool``: an MCP tool call (an agent's, or a node's own ``mcp_session``): server,
  tool, arguments and the result;
* ``tools``: the tool list of an MCP server, once per run.

Everything recorded is redacted as events are (the run scope's redactor), and the
fingerprints are taken over the redacted request, so a replay that feeds back a
redacted tool argument asks exactly what the original run asked.

Replay: a :class:`Replay` holds the recorded calls of a branch, in order, per node.
A node's n-th model call (or tool call) in the replay is answered by the first of its
recorded calls not yet used, when their requests are the same (another unused call of
the node with the same request also does: parallel tasks of one node may call in
another order). Anything else is a :class:`RecordingMismatch` naming the node, the
call and what differed, or, with ``live_fallback``, a live call.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import RunError
from ..jsonable import to_jsonable

#: The longest preview of a message kept in a request's fingerprint.
PREVIEW_CHARS = 160
#: The ``RunScope.report`` type of a recording (not an event: the runner stores it).
RECORDING = "recording"
#: The ``RunScope.report`` type of the usage a replayed call had when it was recorded.
RECORDED_USAGE = "usage.recorded"


class RecordingMismatch(RunError):
    """A recorded replay reached a call the recording does not have: the changed code
    asked the model something else, called another tool, or made a call more.

    Attributes (in ``details``): ``node``, ``call`` (its 1-based number among the
    node's calls of that ``kind``), ``kind`` (``model``, ``tool``, ``tools``, or
    ``session`` for a Claude Code node, which is not recorded) and ``differs`` (what
    differed, in words).
    """

    title = "Recording mismatch"

    def __init__(self, node: str | None, call: int, kind: str, differs: str) -> None:
        where = f"node {node!r}" if node else "a node"
        what = {
            "model": "model call",
            "tool": "tool call",
            "tools": "tool list",
            "session": "Claude Code session",
        }.get(kind, kind)
        super().__init__(
            f"recorded replay: {what} {call} of {where} does not match the recording: {differs}",
            code="recording_mismatch",
            hint="replay it with live fallback to make the calls the recording lacks, "
            "or replay without the recording",
            node=node,
            call=call,
            kind=kind,
            differs=differs,
        )


# -- fingerprints -------------------------------------------------------------------


def digest(value: Any) -> str:
    """A short stable hash of a JSON-like value."""
    text = json.dumps(to_jsonable(value), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def message_form(message: Any) -> dict[str, Any]:
    """What of a chat message a model sees (ids, which every run makes anew, left out)."""
    form: dict[str, Any] = {
        "role": str(getattr(message, "type", None) or type(message).__name__),
        "content": to_jsonable(getattr(message, "content", message)),
    }
    calls = getattr(message, "tool_calls", None)
    if calls:
        form["tool_calls"] = [
            {"name": c.get("name"), "args": to_jsonable(c.get("args")), "id": c.get("id")}
            for c in calls
        ]
    for attr in ("tool_call_id", "name"):
        value = getattr(message, attr, None)
        if value:
            form[attr] = value
    if getattr(message, "status", None) == "error":
        form["status"] = "error"
    return form


def _preview(form: Mapping[str, Any]) -> str:
    content = form.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    text = " ".join(str(content or "").split())
    calls = form.get("tool_calls") or []
    if calls:
        shown = ", ".join(
            f"{c.get('name')}({json.dumps(c.get('args'), ensure_ascii=False, default=str)})"
            for c in calls
        )
        text = f"{text} → {shown}" if text else f"→ {shown}"
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def model_request(
    model: str,
    messages: Sequence[Any],
    bound: Mapping[str, Any],
    options: Mapping[str, Any],
    redact: Any,
) -> dict[str, Any]:
    """The fingerprint of a model call: ``model``; per message its role, hash and a
    short preview; the names and hash of the tools offered (``bound["tools"]``, what
    ``bind_tools`` bound); a hash of the other bound options and ``options``; and
    ``hash``, of all of it. Taken over the redacted request (``redact``)."""
    shown = []
    for message in messages:
        form = redact(message_form(message))
        shown.append({"role": form["role"], "hash": digest(form), "text": _preview(form)})
    tools = list(bound.get("tools") or ())
    names = [str((t.get("function") or {}).get("name") or t.get("name")) for t in tools]
    rest = redact({**{k: v for k, v in bound.items() if k != "tools"}, **options})
    request = {
        "model": model,
        "messages": shown,
        "tools": names,
        "tools_hash": digest(redact(tools)),
        "options_hash": digest(rest),
    }
    request["hash"] = digest(
        [model, [m["hash"] for m in shown], request["tools_hash"], request["options_hash"]]
    )
    return request


def tool_request(server: str, tool: str, arguments: Any, redact: Any) -> dict[str, Any]:
    """The fingerprint of a tool call: server, tool, redacted arguments and their hash."""
    args = redact(to_jsonable(arguments or {}))
    return {
        "server": server,
        "tool": tool,
        "arguments": args,
        "hash": digest([server, tool, args]),
    }


def explain_model(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """What differs between two model-call fingerprints, in words."""
    if recorded.get("model") != now.get("model"):
        return f"the recording asked model {recorded.get('model')!r}, this run {now.get('model')!r}"
    was, new = list(recorded.get("tools") or ()), list(now.get("tools") or ())
    if was != new:
        added = [t for t in new if t not in was]
        gone = [t for t in was if t not in new]
        parts = [f"+{t}" for t in added] + [f"-{t}" for t in gone]
        return f"the tools offered differ ({', '.join(parts) or 'their order'})"
    if recorded.get("tools_hash") != now.get("tools_hash"):
        return "the tools offered have other descriptions or schemas"
    old_msgs = list(recorded.get("messages") or ())
    new_msgs = list(now.get("messages") or ())
    for i, (a, b) in enumerate(zip(old_msgs, new_msgs, strict=False)):
        if a.get("hash") != b.get("hash"):
            role = (
                b.get("role")
                if a.get("role") == b.get("role")
                else f"{a.get('role')}→{b.get('role')}"
            )
            return (
                f"message {i + 1} ({role}) differs: recorded {a.get('text')!r}, "
                f"now {b.get('text')!r}"
            )
    if len(old_msgs) != len(new_msgs):
        longer = new_msgs if len(new_msgs) > len(old_msgs) else old_msgs
        extra = longer[min(len(old_msgs), len(new_msgs))]
        return (
            f"the request has {len(new_msgs)} messages, the recording {len(old_msgs)} "
            f"(message {min(len(old_msgs), len(new_msgs)) + 1}: {extra.get('role')} "
            f"{extra.get('text')!r})"
        )
    if recorded.get("options_hash") != now.get("options_hash"):
        return "the request's options differ (output format, temperature or max_tokens)"
    return "the request differs"


def explain_tool(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """What differs between two tool calls, in words."""
    was = f"{recorded.get('server')}.{recorded.get('tool')}"
    new = f"{now.get('server')}.{now.get('tool')}"
    if was != new:
        return f"the recording called {was}, this run {new}"
    return (
        f"{new} was called with {_args(recorded.get('arguments'))} in the recording, "
        f"with {_args(now.get('arguments'))} now"
    )


def _args(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


# -- replay -------------------------------------------------------------------------


def node_key(node: str | None, path: Sequence[str] = ()) -> str:
    """How calls are grouped: the node, under its subgraph path (``sub/inner``)."""
    return "/".join([*path, node or "?"])


def where(config: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """The node running with ``config`` and its subgraph path (as events give it)."""
    meta = config.get("metadata") or {}
    ns = str(meta.get("langgraph_checkpoint_ns") or "")
    segments = [s.split(":", 1)[0] for s in ns.split("|") if s] if ns else []
    node = meta.get("langgraph_node")
    return (str(node) if node is not None else None), segments[:-1]


@dataclass
class _Queue:
    calls: list[dict[str, Any]] = field(default_factory=list)
    made: int = 0  # calls the node has made in the replay


class Replay:
    """The recorded calls one recorded replay answers from (see the module docstring).

    Args:
        recordings: The recordings in the order they were made (each a dict with
            ``kind``, ``node``, ``path`` and the kind's fields).
        listings: Tool lists by server (``[McpTool fields, ...]``).
        live_fallback: Make the calls the recording lacks live instead of failing.
    """

    def __init__(
        self,
        recordings: Sequence[Mapping[str, Any]],
        listings: Mapping[str, list[dict[str, Any]]] | None = None,
        *,
        live_fallback: bool = False,
    ) -> None:
        self.live_fallback = live_fallback
        self.listings = dict(listings or {})
        self._queues: dict[tuple[str, str], _Queue] = {}
        #: How many model and tool calls the recording holds.
        self.counts: dict[str, int] = {"model": 0, "tool": 0}
        for rec in recordings:
            kind = str(rec.get("kind"))
            if kind in ("model", "tool"):
                key = (kind, node_key(rec.get("node"), rec.get("path") or ()))
                self._queues.setdefault(key, _Queue()).calls.append(dict(rec))
                self.counts[kind] += 1
        self._lock = threading.Lock()
        #: Calls answered from the recording, and calls made live, by kind.
        self.served: dict[str, int] = {"model": 0, "tool": 0, "tools": 0}
        self.live: dict[str, int] = {"model": 0, "tool": 0, "tools": 0}

    def model(
        self, node: str | None, path: Sequence[str], request: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The recording that answers this model call (``reply``, ``usage``...), or
        None when it goes live (``live_fallback``); else :class:`RecordingMismatch`."""
        return self._take("model", node, path, request, explain_model)

    def tool(
        self, node: str | None, path: Sequence[str], request: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The recording that answers this tool call (``result``), or None (live)."""
        return self._take("tool", node, path, request, explain_tool)

    def tools(self, node: str | None, server: str) -> list[dict[str, Any]] | None:
        """The recorded tool list of ``server``, or None (live)."""
        with self._lock:
            found = self.listings.get(server)
            if found is not None:
                self.served["tools"] += 1
                return found
            if self.live_fallback:
                self.live["tools"] += 1
                return None
        raise RecordingMismatch(
            node, 1, "tools", f"the recording has no tool list of MCP server {server!r}"
        )

    def _take(
        self,
        kind: str,
        node: str | None,
        path: Sequence[str],
        request: Mapping[str, Any],
        explain: Any,
    ) -> dict[str, Any] | None:
        key = node_key(node, path)
        with self._lock:
            queue = self._queues.setdefault((kind, key), _Queue())
            queue.made += 1
            call = queue.made
            for i, rec in enumerate(queue.calls):
                if (rec.get("request") or {}).get("hash") == request.get("hash"):
                    self.served[kind] += 1
                    return queue.calls.pop(i)
            if self.live_fallback:
                self.live[kind] += 1
                return None
            if not queue.calls:
                recorded = call - 1
                differs = (
                    f"the recording has {recorded} {kind} call{'s' if recorded != 1 else ''} "
                    f"of {key!r}, this run makes more"
                )
            else:
                differs = explain(queue.calls[0].get("request") or {}, request)
        raise RecordingMismatch(key, call, kind, differs)

    def summary(self) -> dict[str, Any]:
        """What the replay answered and what went live, for the run's events."""
        with self._lock:
            return {"served": dict(self.served), "live": dict(self.live)}
