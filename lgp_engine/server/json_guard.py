"""What a JSON request body may hold, checked once at the edge, before any route runs.

A body can be valid JSON and still break the server later: a number beyond 64
bits cannot be checkpointed (and ``1e400`` parses as infinity), nesting hundreds
deep exceeds what the serializer and the event log handle, a lone UTF-16
surrogate (``"\\ud800"``) cannot be written as UTF-8 to a database or a response,
and ``NaN`` is not JSON at all. Each is refused here with a 422 that says which
and where, so no run starts with it.

The API's OpenAPI document says the same (its ``JsonValue`` schema, see
:mod:`.openapi`): numbers from :data:`MIN_NUMBER` to :data:`MAX_NUMBER`. JSON Schema
calls ``1e30`` an integer (a number is one when its fraction is zero), so the range
holds for every number, written with an exponent or not.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
#: The numbers a body may hold: what 64-bit integers (signed or not) can represent.
MIN_NUMBER = -(2**63)
MAX_NUMBER = 2**64 - 1


class BodyProblem(ValueError):
    """Why a body is refused; ``where`` is a JSON path like ``input.items[3]``."""

    def __init__(self, reason: str, where: str) -> None:
        super().__init__(f"{where or 'body'}: {reason}")
        self.reason = reason
        self.where = where


def _no_constants(name: str) -> Any:
    raise BodyProblem(f"{name} is not a JSON number", "")


def check_json_body(raw: bytes) -> None:
    """Raise :class:`BodyProblem` if ``raw`` holds JSON the server cannot keep.

    Text that is not JSON at all passes: the route's own validation answers it.
    """
    if not raw.strip():
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyProblem(f"not UTF-8 (byte {exc.start})", "") from None
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except BodyProblem:
        raise
    except ValueError:
        return  # not JSON: the route answers it (422 with the parser's message)
    _walk(value, "", 0)


def _walk(value: Any, where: str, depth: int) -> None:
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        # exact comparison (Python compares an int with a float by value); NaN never
        # gets here (refused while parsing), infinity is out of range
        if not MIN_NUMBER <= value <= MAX_NUMBER:
            raise BodyProblem("number out of range (beyond 64 bits)", where)
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise BodyProblem(f"nested deeper than {MAX_DEPTH} levels", where)
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, where)
                _walk(item, f"{where}.{key}" if where else key, depth + 1)
        else:
            for i, item in enumerate(value):
                _walk(item, f"{where}[{i}]", depth + 1)


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyProblem("a string holds a lone UTF-16 surrogate", where) from None
