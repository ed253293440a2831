"""What may leave the process: long strings cut to a fixed length, with their full
length beside them (seed R3.2).

A string longer than ``max_length`` becomes exactly ``max_length`` characters ending
in ``... (truncated, full: N chars)``, and a dict that held it under ``key`` gains
``key_full_length: N``. Applied to inputs, outputs, state and metadata before any
tracer sends them anywhere; secrets are already redacted in the events themselves.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_LENGTH = 2000


def truncate(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """``text`` cut to exactly ``max_length`` characters, saying so, if longer."""
    if len(text) <= max_length:
        return text
    tail = f"... (truncated, full: {len(text)} chars)"
    return text[: max_length - len(tail)] + tail


def sanitize(value: Any, max_length: int = DEFAULT_MAX_LENGTH, *, _depth: int = 0) -> Any:
    """``value`` (JSON-like) with every long string cut (see the module docstring)."""
    if isinstance(value, str):
        return truncate(value, max_length)
    if _depth > 50:  # a structure this deep is not worth sending whole
        return "... (truncated: nested too deep)"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            out[name] = sanitize(item, max_length, _depth=_depth + 1)
            if isinstance(item, str) and len(item) > max_length:
                out[f"{name}_full_length"] = len(item)
        return out
    if isinstance(value, list | tuple):
        return [sanitize(item, max_length, _depth=_depth + 1) for item in value]
    return value
