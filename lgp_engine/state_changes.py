"""Differences between two states told as a person reads them: chat messages by
role and size (``messages: +1 tool (get_weather, 1.6 kB): 18°C``), everything else
by path (``~ analysis.words[0]: "a" → "b"``).

:func:`~lgp_engine.timetravel.diff_values` finds every difference down to the leaves;
a message list compared that way reads as ``+ messages[3]: {"type": "tool", ...}``
and a changed message as a dozen paths into its dict. Here a list holding messages is
compared message by message: each added or removed message is one line, and a
changed one is its text before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .jsonable import to_jsonable
from .readable_values import as_message, inline
from .timetravel import ChangeKind, diff_values

_MARK = {"added": "+", "removed": "-", "changed": "~"}


@dataclass(frozen=True)
class DiffLine:
    """One difference, as one line (:attr:`text` starts with ``+``, ``-`` or ``~``)."""

    kind: ChangeKind
    path: str
    text: str


def describe_diff(before: Any, after: Any, limit: int = 300) -> list[DiffLine]:
    """The differences from state ``before`` to state ``after`` (dicts of channel
    values), one line each, values cut at ``limit`` characters."""
    a, b = to_jsonable(before or {}), to_jsonable(after or {})
    if not isinstance(a, dict) or not isinstance(b, dict):
        return [_line(c.kind, c.path, c.before, c.after, limit) for c in diff_values(a, b)]
    out: list[DiffLine] = []
    for key in sorted(set(a) | set(b), key=str):
        old, new = a.get(key), b.get(key)
        if _holds_messages(old) or _holds_messages(new):
            out.extend(_message_lines(str(key), old or [], new or [], limit))
        elif key not in a:
            out.append(_line("added", str(key), None, new, limit))
        elif key not in b:
            out.append(_line("removed", str(key), old, None, limit))
        else:
            out.extend(
                _line(c.kind, c.path, c.before, c.after, limit)
                for c in diff_values(old, new, str(key))
            )
    return out


def _holds_messages(value: Any) -> bool:
    return isinstance(value, list) and any(as_message(v) is not None for v in value)


def _message_lines(key: str, old: list[Any], new: list[Any], limit: int) -> list[DiffLine]:
    out: list[DiffLine] = []
    for i in range(min(len(old), len(new))):
        if old[i] != new[i]:
            text = f"~ {key}[{i}]: {_said(old[i], limit // 2)} → {_said(new[i], limit // 2)}"
            out.append(DiffLine("changed", f"{key}[{i}]", text))
    for i in range(len(old), len(new)):
        out.append(DiffLine("added", f"{key}[{i}]", f"+ {key}: +1 {_said(new[i], limit)}"))
    for i in range(len(new), len(old)):
        out.append(DiffLine("removed", f"{key}[{i}]", f"- {key}: -1 {_said(old[i], limit)}"))
    return out


def _said(value: Any, limit: int) -> str:
    """A message as ``tool (get_weather, 1.6 kB): text`` or ``ai: text → call(args)``
    (anything else as one line of JSON)."""
    view = as_message(value)
    if view is None:
        return inline(value, limit)
    details = [d for d in (view.name, _size(view.content)) if d]
    who = f"{view.role} ({', '.join(details)})" if details else view.role
    if view.error:
        who += " error"
    text = view.text()  # "role (name): content → call(args)"
    body = text.split(":", 1)[1].strip() if ":" in text else ""
    line = f"{who} {body}" if body.startswith("→") else f"{who}: {body}" if body else who
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _size(content: str) -> str:
    """``1.6 kB`` for content over a kilobyte (the size is what a reader weighs)."""
    size = len(content.encode())
    if size < 1000:
        return ""
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"


def _line(kind: ChangeKind, path: str, before: Any, after: Any, limit: int) -> DiffLine:
    mark = _MARK[kind]
    if kind == "added":
        return DiffLine(kind, path, f"{mark} {path}: {inline(after, limit)}")
    if kind == "removed":
        return DiffLine(kind, path, f"{mark} {path}: {inline(before, limit)}")
    half = max(limit // 2, 20)
    return DiffLine(kind, path, f"{mark} {path}: {inline(before, half)} → {inline(after, half)}")
