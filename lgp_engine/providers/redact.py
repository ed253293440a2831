"""Secrets never leave the process: redaction of events, records, logs and state.

Two rules, applied before anything is persisted or sent:

* values under a key that names a secret (``api_key``, ``token``, ``secret``,
  ``password``, ``authorization``...) become ``[redacted]``;
* the text of every known secret (configured API keys, MCP header values, the
  values of environment variables named like secrets) is replaced wherever it
  appears in a string (an error message, a tool result, a traceback).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
#: Key names whose values are secrets. ``input_tokens`` or ``max_tokens`` are not:
#: the match is on the whole last word of the key.
SECRET_KEY = re.compile(
    r"(?:^|[_\-.\s])(?:api[_\-]?key|apikey|access[_\-]?key|token|secret|password|passwd|"
    r"authorization|auth|credentials?|private[_\-]?key)$",
    re.IGNORECASE,
)
#: Shorter values are not treated as secrets (they would blank out ordinary words).
MIN_SECRET_LENGTH = 8


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True if a value stored under ``key`` must not be shown (cached: events repeat
    the same few keys thousands of times)."""
    return bool(SECRET_KEY.search(key))


def secrets_from_env(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables named like secrets (``OPENAI_API_KEY``...)."""
    env = os.environ if environ is None else environ
    return {v for k, v in env.items() if is_secret_key(k) and len(v) >= MIN_SECRET_LENGTH}


class Redactor:
    """Removes secrets from JSON-like values (dicts, lists, strings)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Also hide these values from now on."""
        new = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        if new - self._secrets:
            self._secrets |= new
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def text(self, value: str) -> str:
        """``value`` with every known secret replaced."""
        if self._pattern is None:
            return value
        return self._pattern.sub(REDACTED, value)

    def __call__(self, value: Any) -> Any:
        """A copy of ``value`` without secrets (unchanged objects are returned as is)."""
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, int | float):
            return value
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            changed = False
            for key, item in value.items():
                if isinstance(key, str) and is_secret_key(key) and item not in (None, "", REDACTED):
                    new: Any = REDACTED
                else:
                    new = self(item)
                changed = changed or new is not item
                out[key] = new
            return out if changed or not isinstance(value, dict) else value
        if isinstance(value, list | tuple):
            items = [self(item) for item in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items if isinstance(value, list) else tuple(items)
        return value
