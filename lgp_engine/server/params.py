"""Request parameters every route shares, validated once at the edge.

Thread ids follow one rule (:mod:`lgp_engine.ids`) whether they come in a body or a
path, and ids in paths are capped in length, so nothing runs with an id the rest of
the system cannot store, show or put in a URL. Counts and offsets stay within
what SQLite can compare.

Bodies are models of :class:`Body` (strict: ``"5"`` is not a number, ``0`` not a
boolean) and free JSON in them is :data:`JsonValue`, so the OpenAPI document says
what the body guard (:mod:`.json_guard`) enforces on it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ..ids import THREAD_ID_MAX_LENGTH, THREAD_ID_PATTERN, THREAD_ID_RULE, thread_id_problem

#: Largest offset or count a query accepts (SQLite compares 64-bit integers).
MAX_OFFSET = 2**31 - 1
ID_MAX_LENGTH = 200

#: Extra responses of a route, for its OpenAPI description (``responses=``).
Responses = dict[int | str, dict[str, Any]]

#: Stands for the ``JsonValue`` schema in a field's JSON schema; the OpenAPI document
#: replaces it with a reference to that schema (:func:`.openapi.install_docs`).
JSON_VALUE_MARK = "x-lgp-json-value"
#: Any JSON value, as the body guard accepts it: numbers within 64 bits, at most 64
#: levels deep, no lone surrogates (not checked again here: the guard did).
JsonValue = Annotated[Any, WithJsonSchema({JSON_VALUE_MARK: True})]
#: A JSON object of any JSON values.
JsonObject = dict[str, JsonValue]


def whole(value: Any) -> Any:
    """``3.0`` as ``3``: JSON Schema calls a number an integer when its fraction is zero."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer in a body: ``3`` or ``3.0`` (not ``"3"`` nor ``true``).
Int = Annotated[int, BeforeValidator(whole)]


class Body(BaseModel):
    """A request body: strict types (JSON's own), no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class OpenBody(BaseModel):
    """A request body that keeps fields it does not know (any JSON values): the
    LangGraph API's bodies, which newer clients may extend."""

    model_config = ConfigDict(strict=True, extra="allow")
    __pydantic_extra__: dict[str, JsonValue] = Field(init=False)


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
