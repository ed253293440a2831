"""Turn any value a workflow produces into something ``json.dumps`` accepts.

Events cross process and network boundaries as JSON. Workflow state may hold
pydantic models, dataclasses, LangChain messages, sets, bytes or arbitrary
objects; none of them may ever break the stream, so unknown values degrade to a
readable ``repr`` instead of raising.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

_MAX_DEPTH = 64


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-compatible copy of ``value`` (never raises)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        finite = value == value and value not in (float("inf"), float("-inf"))
        return value if finite else str(value)
    if _depth > _MAX_DEPTH:
        return "<too deep>"
    d = _depth + 1
    try:
        if isinstance(value, Mapping):
            return {str(k): to_jsonable(v, d) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
            return [to_jsonable(v, d) for v in items]
        if isinstance(value, bytes | bytearray):
            return value.decode("utf-8", errors="replace")
        if isinstance(value, dt.datetime | dt.date | dt.time):
            return value.isoformat()
        if isinstance(value, uuid.UUID | PurePath):
            return str(value)
        if isinstance(value, enum.Enum):
            return to_jsonable(value.value, d)
        if isinstance(value, BaseException):
            return {"type": type(value).__name__, "message": str(value)}
        model_dump = getattr(value, "model_dump", None)
        if callable(model_dump):  # pydantic models, LangChain messages
            return to_jsonable(model_dump(), d)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return to_jsonable(fields, d)
        if hasattr(value, "_asdict"):
            return to_jsonable(value._asdict(), d)
    except Exception:  # noqa: BLE001 - a broken __repr__/model_dump must not break the stream
        pass
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<unrepresentable {type(value).__name__}>"


def dumps(value: Any, **kwargs: Any) -> str:
    """JSON text of ``value`` (UTF-8 kept readable); never raises.

    Data that is already JSON (event payloads are) takes the fast path through
    ``json.dumps``; anything else is converted with :func:`to_jsonable` first.
    """
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=to_jsonable, **kwargs)
    except (TypeError, ValueError):  # odd keys, NaN, objects whose conversion is odd
        return json.dumps(to_jsonable(value), ensure_ascii=False, **kwargs)
