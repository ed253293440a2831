"""The Agent Server's long-term store API (``client.store.*`` of ``langgraph_sdk``):
put, get, delete and search items, list namespaces, on the same store the served
graphs use (``runtime.store``), so what a run remembered can be read, seeded or
cleaned from outside it."""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BeforeValidator, Field

from ...errors import LGPError
from ...long_term import item_json
from ..context import Ctx, ServerContext
from ..http_errors import ErrorBody
from ..params import MAX_OFFSET, Body, Int, JsonObject, whole

#: The store's database or embeddings endpoint is unavailable (documented on every route).
STORE_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "The store's database or its embeddings endpoint is unavailable.",
    }
}
router = APIRouter(tags=["LangGraph: store"], responses=STORE_UNAVAILABLE)
log = logging.getLogger(__name__)
_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|database is locked)\b", re.IGNORECASE)

#: A century: the longest ``ttl`` an item may be given.
MAX_TTL_MINUTES = 100 * 365 * 24 * 60
Label = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^.\x00]+$")]
Namespace = Annotated[list[Label], Field(max_length=32)]


def _only_false(value: Any) -> Any:
    """``false`` itself (``0`` equals False in Python, but is not it in JSON)."""
    if value is not False and not isinstance(value, list) and value is not None:
        raise ValueError("index must be false or a list of field paths")
    return value


class StorePut(Body):
    """``PUT /store/items``."""

    namespace: Annotated[list[Label], Field(min_length=1, max_length=32)]
    key: Annotated[str, Field(min_length=1, max_length=1000)]
    value: JsonObject
    index: (
        Annotated[Literal[False], BeforeValidator(_only_false)]
        | list[Annotated[str, Field(max_length=1000)]]
        | None
    ) = None
    ttl: Annotated[float, Field(gt=0, le=MAX_TTL_MINUTES)] | None = Field(
        None, description="Minutes the item lives"
    )


class StoreDelete(Body):
    """``DELETE /store/items``."""

    namespace: Namespace
    key: Annotated[str, Field(min_length=1, max_length=1000)]


class StoreSearch(Body):
    """``POST /store/items/search``."""

    namespace_prefix: Namespace = Field(default_factory=list)
    filter: JsonObject | None = None
    limit: Int = Field(10, ge=1, le=1000)
    offset: Int = Field(0, ge=0, le=MAX_OFFSET)
    query: Annotated[str, Field(max_length=10_000)] | None = None
    refresh_ttl: bool | None = None


class NamespaceList(Body):
    """``POST /store/namespaces``."""

    prefix: Namespace | None = None
    suffix: Namespace | None = None
    max_depth: Annotated[int, Field(ge=1, le=32), BeforeValidator(whole)] | None = None
    limit: Int = Field(100, ge=1, le=1000)
    offset: Int = Field(0, ge=0, le=MAX_OFFSET)


def _store(ctx: ServerContext) -> Any:
    """The served graphs' store: their ``langgraph.json``'s (the first served graph
    decides), else the config's; 404 when the server runs without one."""
    store = ctx.extra.get("store")
    if store is None:  # found once: it reads the langgraph.json's store section
        names = ctx.catalog.names()
        wf = ctx.catalog.get(names[0]) if names else None
        store = ctx.extra["store"] = ctx.live_runner.long_term_store(wf)
    if store is None:
        raise HTTPException(404, "This server has no long-term store (store.backend: none).")
    return store


@functools.cache
def _database_errors() -> tuple[type[Exception], ...]:
    """The errors of the store's database: SQLite's, and PostgreSQL's (psycopg's, a
    pool timeout included), imported once a store operation fails."""
    import psycopg

    return (sqlite3.Error, psycopg.Error)


async def _call(coro: Any) -> Any:
    """Run a store operation; a store error (an unreachable embeddings endpoint) is
    a 4xx/5xx answer with its one-line message, never a traceback."""
    try:
        return await coro
    except LGPError as exc:
        status = 503 if getattr(exc, "kind", None) == "unavailable" else 400
        raise HTTPException(status, exc.describe(hint=False)) from None
    except _database_errors():
        log.warning("store operation failed", exc_info=True)
        raise HTTPException(503, "the store's database is busy or unavailable; try again") from None
    except (ValueError, TypeError) as exc:  # a filter operator the store does not know
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if _SQL.search(message):  # LangGraph wraps database errors with their statement
            log.warning("store operation failed: %s", message)
            raise HTTPException(
                503, "the store's database is busy or unavailable; try again"
            ) from None
        raise HTTPException(400, message[:500]) from None


@router.put("/store/items", status_code=204)
async def put_item(body: StorePut, ctx: Ctx) -> Response:
    """Store or replace an item (``ttl`` in minutes; ``index`` picks the fields
    embedded for semantic search, ``false`` none)."""
    store = _store(ctx)
    await _call(
        store.aput(
            tuple(body.namespace),
            body.key,
            body.value,
            index=body.index,
            **({"ttl": body.ttl} if body.ttl is not None else {}),
        )
    )
    return Response(status_code=204)


@router.get("/store/items")
async def get_item(
    ctx: Ctx,
    key: Annotated[str, Query(min_length=1, max_length=1000)],
    namespace: Annotated[
        str,
        Query(
            max_length=1000,
            pattern=r"^([^.\x00]+(\.[^.\x00]+)*)?$",
            description="Labels joined by '.'",
        ),
    ] = "",
    refresh_ttl: bool | None = None,
) -> dict[str, Any]:
    """One item; 404 when there is none (an expired one goes at the next sweep)."""
    store = _store(ctx)
    labels = tuple(namespace.split(".")) if namespace else ()
    item = await _call(store.aget(labels, key, refresh_ttl=refresh_ttl))
    if item is None:
        raise HTTPException(404, f"Item {key!r} not found in namespace {list(labels)}.")
    return item_json(item)


@router.delete("/store/items", status_code=204)
async def delete_item(body: StoreDelete, ctx: Ctx) -> Response:
    """Delete an item (no error when it does not exist)."""
    await _call(_store(ctx).adelete(tuple(body.namespace), body.key))
    return Response(status_code=204)


@router.post("/store/items/search")
async def search_items(body: StoreSearch, ctx: Ctx) -> dict[str, Any]:
    """Items under a namespace prefix, filtered by value fields (``{"k": v}`` or
    operators ``$eq $ne $gt $gte $lt $lte``), ranked by ``query`` when the store has
    a semantic index."""
    found = await _call(
        _store(ctx).asearch(
            tuple(body.namespace_prefix),
            query=body.query,
            filter=body.filter,
            limit=body.limit,
            offset=body.offset,
            refresh_ttl=body.refresh_ttl,
        )
    )
    return {"items": [item_json(i) for i in found]}


@router.post("/store/namespaces")
async def list_namespaces(body: NamespaceList, ctx: Ctx) -> dict[str, Any]:
    """The namespaces holding items, matching ``prefix``/``suffix`` (``*`` matches any
    label), cut at ``max_depth``."""
    found = await _call(
        _store(ctx).alist_namespaces(
            prefix=tuple(body.prefix) if body.prefix else None,
            suffix=tuple(body.suffix) if body.suffix else None,
            max_depth=body.max_depth,
            limit=body.limit,
            offset=body.offset,
        )
    )
    return {"namespaces": [list(ns) for ns in found]}
