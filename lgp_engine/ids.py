"""What a thread id may be: one rule for every front end.

Thread ids are named by users (``lgp run --thread t1``), by clients of the HTTP API
(in a body or a path) and by the workbench. Whatever names one, it must also be
usable everywhere else: in a URL path, in a terminal, in a JSON log. So an id is 1
to :data:`THREAD_ID_MAX_LENGTH` characters, printable (no control characters, no
lone surrogates), without ``/`` (a path segment) and without surrounding spaces.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from .errors import UsageError

THREAD_ID_MAX_LENGTH = 200
THREAD_ID_RULE = (
    f"1 to {THREAD_ID_MAX_LENGTH} printable characters, no '/', no leading or trailing spaces"
)
# The same rule as a regular expression, for the API's OpenAPI document: no control
# character (Unicode Cc), no '/', no space at either end. Written so that Python's `re`
# and ECMAScript regexes (what clients and schema tools use) read it alike: spaces are
# listed (what ``str.strip`` removes besides control characters), not ``\s``, whose
# meaning differs between the two. Lone surrogates are not in it: no tool can use such a
# pattern, and none can reach the check (a URL path cannot carry one, and a JSON body
# holding one is refused before any route runs); ``thread_id_problem`` still refuses them.
_BAD = r"/\x00-\x1f\x7f-\x9f"
_SPACE = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
THREAD_ID_PATTERN = (
    rf"^[^{_SPACE}{_BAD}](?:[^{_BAD}]{{0,{THREAD_ID_MAX_LENGTH - 2}}}[^{_SPACE}{_BAD}])?$"
)
# Characters RFC 3986 allows unescaped in a path segment (besides letters and digits).
_PCHAR = "-._~!$&'()*+,;=:@"


def thread_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a thread id, or None if it can (no ``value`` echoed)."""
    if not value or not value.strip():
        return "it is empty"
    if len(value) > THREAD_ID_MAX_LENGTH:
        return f"it is longer than {THREAD_ID_MAX_LENGTH} characters"
    if value != value.strip():
        return "it starts or ends with a space"
    if "/" in value:
        return "it contains '/'"
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc":
            return f"it contains a control character (U+{ord(ch):04X})"
        if category == "Cs":
            return "it contains a lone UTF-16 surrogate"
    return None


def check_thread_id(value: str, *, field: str = "thread_id") -> str:
    """``value`` if it is a valid thread id, else a :class:`UsageError` saying why."""
    problem = thread_id_problem(value)
    if problem is not None:
        raise UsageError(
            f"invalid {{field}}: {problem}",
            field=field,
            code="invalid_id",
            hint=f"a thread id is {THREAD_ID_RULE}",
        )
    return value


def path_segment(value: str) -> str:
    """``value`` percent-encoded for a URL path segment or an HTTP header (ASCII only)."""
    return quote(value, safe=_PCHAR)
