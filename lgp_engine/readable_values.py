"""Values as a person reads them: chat messages by role and content, never as reprs.

A chat workflow's state holds LangChain messages, and they reach a front end in
several shapes: objects (``HumanMessage``...) read from a checkpoint; their dicts
(``{"type": "human", "content": ..., "additional_kwargs": ...}``, see
:mod:`lgp_engine.jsonable`) in events and the API; ``{"role": "user", "content":
...}`` in an input; LangChain's serialized form (``{"lc": 1, "type": "constructor",
"id": [..., "HumanMessage"], "kwargs": ...}``). Each reads the same way::

    human: what is 40 + 2?
    ai: let me add → add(a=40, b=2)
    tool (add): 42
    system: be brief

The CLI's lines, the workbench's log, checkpoint browser and value viewer all show
values through here. Nothing here imports LangChain: a message object can only exist
once ``langchain_core`` is imported, so it is looked up in ``sys.modules``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .jsonable import dumps, to_jsonable

#: A message's ``type`` (its dict form, chunks included) as the role shown.
_TYPE_ROLES = {
    "human": "human",
    "ai": "ai",
    "system": "system",
    "tool": "tool",
    "function": "function",
    "remove": "remove",
    "chat": "chat",
    "HumanMessageChunk": "human",
    "AIMessageChunk": "ai",
    "SystemMessageChunk": "system",
    "ToolMessageChunk": "tool",
    "FunctionMessageChunk": "function",
    "ChatMessageChunk": "chat",
}
#: An OpenAI-style ``role`` (as typed in an input) as the role shown.
_ROLE_ROLES = {
    "user": "human",
    "human": "human",
    "assistant": "ai",
    "ai": "ai",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "function",
}
#: The fields of a message's dict form; a dict with others is not taken for one.
_MESSAGE_FIELDS = frozenset(
    {
        "content",
        "additional_kwargs",
        "response_metadata",
        "type",
        "name",
        "id",
        "tool_calls",
        "invalid_tool_calls",
        "usage_metadata",
        "tool_call_chunks",
        "chunk_position",
        "tool_call_id",
        "artifact",
        "status",
        "role",
        "example",
        "lc_attributes",
    }
)
_ROLE_FIELDS = frozenset(
    {"role", "content", "name", "id", "tool_calls", "tool_call_id", "function_call", "refusal"}
)
_ARGS_CHARS = 80


@dataclass(frozen=True)
class MessageView:
    """A chat message reduced to what is read: who, what, and the tools it calls.

    Attributes:
        role: ``human``, ``ai``, ``system``, ``tool``, ``function``, ``remove`` or a
            chat message's own role.
        content: The text (content blocks joined; images and others as ``[image]``).
        name: The message's name (a tool message's tool, an agent's name), if any.
        tool_calls: ``(tool name, arguments)`` of an AI message's tool calls.
        error: True for a tool message whose status is ``error``.
        id: The message's id, if it has one.
        tool_call_id: The call a tool message answers (an id in some ``call_ids``).
        call_ids: The id of each of :attr:`tool_calls` (None where it has none), so a
            tool message can be shown with the call it answers.
    """

    role: str
    content: str
    name: str | None = None
    tool_calls: tuple[tuple[str, Any], ...] = ()
    error: bool = False
    id: str | None = None
    tool_call_id: str | None = None
    call_ids: tuple[str | None, ...] = ()

    def text(self, *, one_line: bool = True) -> str:
        """``role (name): content → tool(args)``; on one line (``⏎`` for line breaks,
        long arguments cut) or whole (each tool call on a line of its own)."""
        who = f"{self.role} ({self.name})" if self.name else self.role
        if self.error:
            who += " error"
        content = self.content
        if one_line:
            content = content.strip().replace("\n", "⏎")
        calls = [f"→ {name}({_args(args, one_line=one_line)})" for name, args in self.tool_calls]
        if one_line:
            body = " ".join(part for part in (content, *calls) if part)
        else:
            body = "\n".join(part for part in (content.strip("\n"), *calls) if part)
        return f"{who}: {body or '(empty)'}"


def as_message(value: Any) -> MessageView | None:
    """``value`` as a :class:`MessageView` when it is a chat message in any of its shapes
    (see the module docstring), else None."""
    if isinstance(value, Mapping):
        return _from_mapping(value)
    messages = sys.modules.get("langchain_core.messages")
    base = getattr(messages, "BaseMessage", None)
    if base is not None and isinstance(value, base):
        try:
            dumped = value.model_dump()
        except Exception:  # noqa: BLE001 - a broken message reads as its repr instead
            return None
        return _from_mapping(dumped) if isinstance(dumped, Mapping) else None
    return None


def message_text(value: Any, *, one_line: bool = True) -> str | None:
    """``human: text`` for a chat message (see :meth:`MessageView.text`), else None."""
    message = as_message(value)
    return None if message is None else message.text(one_line=one_line)


def readable(value: Any, *, one_line: bool = True) -> Any:
    """A JSON-compatible copy of ``value`` with each chat message replaced by its
    text (``"ai: hello"``); everything else as :func:`~lgp_engine.to_jsonable`."""
    message = as_message(value)
    if message is not None:
        return message.text(one_line=one_line)
    if isinstance(value, Mapping):
        return {str(k): readable(v, one_line=one_line) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [readable(v, one_line=one_line) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return to_jsonable(value)
    converted = to_jsonable(value)  # a pydantic model, a dataclass...: then its parts
    if isinstance(converted, dict | list):
        return readable(converted, one_line=one_line)
    return converted


def inline(value: Any, limit: int | None = None) -> str:
    """``value`` on one line: a message as ``human: text``, anything else as JSON
    with its messages so (``{"messages": ["human: hi", "ai: hello"]}``), cut to
    ``limit`` characters."""
    text = message_text(value)
    if text is None:
        text = dumps(readable(value))
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def pretty(value: Any, indent: int = 2) -> str:
    """``value`` whole, to be read: indented JSON, except that a chat message is its
    text (``human: ...``, unquoted, its lines and tool calls indented under it) and a
    string with line breaks is a ``\"\"\"`` block of its lines."""
    out: list[str] = []
    _pretty(value, 0, indent, out, "")
    return "\n".join(out)


# -- reading messages -------------------------------------------------------------
def _from_mapping(d: Mapping[str, Any]) -> MessageView | None:
    if "content" not in d and not (d.get("lc") == 1 and d.get("type") == "constructor"):
        return None
    if d.get("lc") == 1 and d.get("type") == "constructor":
        ident = d.get("id")
        kwargs = d.get("kwargs")
        if not isinstance(ident, list) or not ident or not isinstance(kwargs, Mapping):
            return None
        role = _class_role(str(ident[-1]))
        if role is None:
            return None
        return _build(kwargs, role)
    kind = d.get("type")
    if isinstance(kind, str) and kind in _TYPE_ROLES and set(d) <= _MESSAGE_FIELDS:
        return _build(d, _TYPE_ROLES[kind])
    role = d.get("role")
    if "type" not in d and isinstance(role, str) and set(d) <= _ROLE_FIELDS:
        return _build(d, _ROLE_ROLES.get(role, role))
    return None


def _class_role(name: str) -> str | None:
    """``HumanMessage`` → ``human``, ``AIMessageChunk`` → ``ai`` (None for others)."""
    base = name.removesuffix("Chunk")
    if not base.endswith("Message"):
        return None
    role = base.removesuffix("Message").lower()
    return role or None


def _build(d: Mapping[str, Any], role: str) -> MessageView:
    name = d.get("name")
    ident = d.get("id")
    answers = d.get("tool_call_id")
    return MessageView(
        role=role if role != "chat" else str(d.get("role") or "chat"),
        content=_content(d.get("content")) if role != "remove" else str(ident or ""),
        name=str(name) if name else None,
        tool_calls=tuple(_tool_calls(d)),
        error=role == "tool" and d.get("status") == "error",
        id=str(ident) if ident else None,
        tool_call_id=str(answers) if answers else None,
        call_ids=tuple(_call_ids(d)),
    )


def _content(content: Any) -> str:
    """A message's text: a string, or content blocks (text joined, others named)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return inline(content)
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping):
            kind = str(block.get("type") or "block")
            if isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif kind in ("image", "image_url"):
                parts.append("[image]")
            elif kind == "tool_use":
                parts.append(f"[tool_use {block.get('name', '?')}]")
            elif kind == "tool_result":
                parts.append(f"[tool_result {_content(block.get('content'))}]")
            else:
                parts.append(f"[{kind}]")
        else:
            parts.append(inline(block))
    return "\n".join(parts)


def _tool_calls(d: Mapping[str, Any]) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []
    for call in [*(d.get("tool_calls") or []), *(d.get("invalid_tool_calls") or [])]:
        if not isinstance(call, Mapping):
            continue
        function = call.get("function")
        if isinstance(function, Mapping):  # OpenAI's shape: arguments as JSON text
            calls.append((str(function.get("name") or "?"), function.get("arguments")))
        else:
            calls.append((str(call.get("name") or "?"), call.get("args")))
    return calls


def _call_ids(d: Mapping[str, Any]) -> list[str | None]:
    """The id of each call :func:`_tool_calls` reads, in the same order."""
    ids: list[str | None] = []
    for call in [*(d.get("tool_calls") or []), *(d.get("invalid_tool_calls") or [])]:
        if isinstance(call, Mapping):
            ident = call.get("id")
            ids.append(str(ident) if ident else None)
    return ids


def _args(args: Any, *, one_line: bool) -> str:
    """``a=40, b="x"`` for a dict of arguments (JSON text is parsed first)."""
    if isinstance(args, str):
        with contextlib.suppress(ValueError):
            args = json.loads(args)
    if isinstance(args, Mapping):
        text = ", ".join(f"{k}={dumps(readable(v))}" for k, v in args.items())
    elif args is None or args == "":
        text = ""
    else:
        text = dumps(readable(args))
    if one_line and len(text) > _ARGS_CHARS:
        return text[: _ARGS_CHARS - 1] + "…"
    return text


# -- the whole value ----------------------------------------------------------------
def _pretty(value: Any, level: int, indent: int, out: list[str], head: str) -> bool:
    """Append the lines of ``value`` to ``out``; its first line starts with ``head``
    (the indentation and ``"key": `` it is under), the others are indented. False for
    a message: no comma follows it (it would read as part of its text)."""
    pad = " " * (indent * level)
    inner = " " * (indent * (level + 1))
    message = as_message(value)
    if message is not None:
        first, *rest = message.text(one_line=False).split("\n")
        out.append(head + first)
        out.extend(f"{inner}{line}" if line else "" for line in rest)
        return False
    if isinstance(value, Mapping):
        if not value:
            out.append(head + "{}")
            return True
        out.append(head + "{")
        items = list(value.items())
        for i, (key, item) in enumerate(items):
            json_like = _pretty(item, level + 1, indent, out, f"{inner}{json.dumps(str(key))}: ")
            if json_like and i < len(items) - 1:
                out[-1] += ","
        out.append(pad + "}")
        return True
    if isinstance(value, list | tuple):
        if not value:
            out.append(head + "[]")
            return True
        out.append(head + "[")
        for i, item in enumerate(value):
            json_like = _pretty(item, level + 1, indent, out, inner)
            if json_like and i < len(value) - 1:
                out[-1] += ","
        out.append(pad + "]")
        return True
    if isinstance(value, str) and "\n" in value.strip("\n"):
        out.append(head + '"""')
        out.extend(f"{inner}{line}" if line else "" for line in value.strip("\n").split("\n"))
        out.append(inner + '"""')
        return True
    converted = to_jsonable(value)
    if isinstance(converted, dict | list):
        return _pretty(converted, level, indent, out, head)
    out.append(head + dumps(converted))
    return True
