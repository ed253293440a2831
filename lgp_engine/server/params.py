"""Request parameters every route shares, validated once at the edge.

Thread ids follow one rule (:mod:`lgp_engine.ids`) whether they come in a body or a
path, and ids in paths are capped in length, so nothing runs with an id the rest of
the system cannot store, show or put in a URL. Counts and offsets stay within
what SQLite can compare.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, Field

from ..ids import THREAD_ID_MAX_LENGTH, THREAD_ID_PATTERN, THREAD_ID_RULE, thread_id_problem

#: Largest offset or count a query accepts (SQLite compares 64-bit integers).
MAX_OFFSET = 2**31 - 1
ID_MAX_LENGTH = 200


def _thread_id(value: str) -> str:
    problem = thread_id_problem(value)
    if problem is not None:
        raise ValueError(f"not a valid thread id: {problem} (a thread id is {THREAD_ID_RULE})")
    return value


_THREAD_DOC: dict[str, Any] = {"pattern": THREAD_ID_PATTERN}
_THREAD_DESCRIPTION = f"A thread id: {THREAD_ID_RULE}."

#: A thread id in a body field.
ThreadIdField = Annotated[
    str,
    Field(
        min_length=1,
        max_length=THREAD_ID_MAX_LENGTH,
        description=_THREAD_DESCRIPTION,
        json_schema_extra=_THREAD_DOC,
    ),
    AfterValidator(_thread_id),
]
#: A thread id in the path.
ThreadIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=THREAD_ID_MAX_LENGTH,
        description=_THREAD_DESCRIPTION,
        json_schema_extra=_THREAD_DOC,
    ),
    AfterValidator(_thread_id),
]
#: A run or checkpoint id in the path (unknown ids are 404).
IdPath = Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH)]
#: Paging.
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many to skip.")]
