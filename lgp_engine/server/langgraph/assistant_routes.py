"""LangGraph Agent Server compatible assistants: create, get, search, count, update
(every update a new version), versions, set_latest, delete; a graph's drawing,
schemas and subgraphs.

Each served workflow has its system assistant (``assistant_id = uuid5(namespace,
name)``; the workflow's name is also accepted wherever an id is); clients create
more, each with its own config, context and metadata, kept in the run store's
database (:mod:`lgp_engine.assistants`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import JsonDict

from ...assistants import AssistantRecord
from ...errors import ConflictError, NotFoundError, UsageError
from ...schemas import graph_schemas
from ..context import Ctx, ServerContext
from ..params import MAX_OFFSET, Int, JsonObject, OpenBody
from .assistants import (
    assistant_json,
    assistant_store,
    assistants_lifespan,
    caller_config,
    graph_exists,
    record_for,
    resolve,
    run_config,
    served,
    version_json,
)
from .models import (
    PAGINATION,
    Assistant,
    AssistantField,
    AssistantGraph,
    AssistantSchemas,
    AssistantSelected,
    AssistantVersion,
    RunConfig,
    SubgraphSchemas,
    answer,
    dump,
)
from .shapes import apply_select, contains

router = APIRouter(tags=["LangGraph: assistants"], lifespan=assistants_lifespan)


AssistantId = Annotated[
    str, Path(min_length=1, max_length=200, description="An assistant id or a workflow name.")
]
GraphId = Annotated[
    str, Field(min_length=1, max_length=200, description="A served graph (workflow) name.")
]
#: ``xray``: false, true (every level of subgraphs) or how many levels.
XRAY = re.compile(r"^(true|True|false|False|[1-9][0-9]{0,8})$")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"

#: ``configurable`` keys that are the run's own, or LangGraph's: never an assistant's.
_NOT_VALUES: JsonDict = {
    "anyOf": [
        {"enum": ["thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map"]},
        {"pattern": "^__"},
    ]
}
#: Values in both ``context`` and ``config.configurable``: 400, said in the schema.
_VALUES_TWICE: JsonDict = {
    "required": ["context", "config"],
    "properties": {
        "context": {"type": "object", "minProperties": 1},
        "config": {
            "type": "object",
            "required": ["configurable"],
            "properties": {
                "configurable": {"type": "object", "not": {"propertyNames": _NOT_VALUES}}
            },
        },
    },
}


class AssistantSearch(OpenBody):
    """``POST /assistants/search``."""

    metadata: JsonObject | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: Int = Field(10, ge=1, le=1000)
    offset: Int = Field(0, ge=0, le=MAX_OFFSET)
    sort_by: Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[AssistantField] | None = None


class AssistantCount(OpenBody):
    metadata: JsonObject | None = None
    graph_id: str | None = None
    name: str | None = None


class AssistantCreate(OpenBody):
    """``POST /assistants``: an assistant of a served graph. Its values go in
    ``context`` or in ``config.configurable``, not both (each is set to them)."""

    model_config = ConfigDict(json_schema_extra={"not": _VALUES_TWICE})

    graph_id: GraphId
    assistant_id: Annotated[str, Field(pattern=UUID_PATTERN)] | None = Field(
        None, description="A UUID (a new one when none)."
    )
    config: RunConfig | None = None
    context: JsonObject | None = None
    metadata: JsonObject | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    name: str | None = Field(None, max_length=1000, description="'Untitled' when none.")
    description: str | None = Field(None, max_length=10000)


class AssistantPatch(OpenBody):
    """``PATCH /assistants/{id}``: a new version; what is given replaces (``metadata``
    merges), the rest stays. Values in ``context`` or ``config.configurable``, not both."""

    model_config = ConfigDict(json_schema_extra={"not": _VALUES_TWICE})

    graph_id: GraphId | None = None
    config: RunConfig | None = None
    context: JsonObject | None = None
    metadata: JsonObject | None = None
    name: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=10000)


class VersionSearch(OpenBody):
    """``POST /assistants/{id}/versions``."""

    metadata: JsonObject | None = None
    limit: Int = Field(10, ge=1, le=1000)
    offset: Int = Field(0, ge=0, le=MAX_OFFSET)


class VersionChange(OpenBody):
    """``POST /assistants/{id}/latest``."""

    version: Int = Field(..., ge=1, le=MAX_OFFSET)


def _values_twice(config: RunConfig | None, context: dict[str, Any] | None) -> None:
    """400 (the Agent Server's words) for values in both ``context`` and ``configurable``."""
    if context and caller_config(dump(config)).get("configurable"):
        raise HTTPException(
            400, "Cannot specify both configurable and context. Prefer setting context alone."
        )


def _engine(call: Any, *args: Any, **kwargs: Any) -> AssistantRecord:
    """A store call, its refusals as the Agent Server answers them (404, 409, 422)."""
    try:
        result: AssistantRecord = call(*args, **kwargs)
    except NotFoundError as exc:
        raise HTTPException(404, exc.describe()) from None
    except ConflictError as exc:
        raise HTTPException(409, exc.describe()) from None
    except UsageError as exc:
        raise HTTPException(422, exc.describe()) from None
    return result


# --------------------------------------------------------------------------- CRUD


@router.post("/assistants", response_model=None, responses=answer(Assistant))
async def create_assistant(body: AssistantCreate, ctx: Ctx) -> dict[str, Any]:
    """A new assistant of a served graph (version 1); 409 if ``assistant_id`` is taken
    unless ``if_exists=do_nothing`` (then the existing one, unchanged)."""
    graph_exists(ctx, body.graph_id)
    _values_twice(body.config, body.context)
    record = _engine(
        assistant_store(ctx).create,
        body.graph_id,
        assistant_id=body.assistant_id,
        config=caller_config(dump(body.config)),
        context=body.context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
        if_exists=body.if_exists or "raise",
    )
    return assistant_json(record)


def _matching(
    ctx: ServerContext, graph_id: str | None, name: str | None, metadata: dict[str, Any] | None
) -> list[AssistantRecord]:
    if graph_id is not None:
        graph_exists(ctx, graph_id)
    return [
        a
        for a in served(ctx)
        if (not graph_id or a.graph_id == graph_id)
        and (not name or name.lower() in a.name.lower())
        and (not metadata or contains(a.metadata, metadata))
    ]


@router.post(
    "/assistants/search",
    response_model=None,
    responses=answer(list[AssistantSelected], "A page of assistants.", PAGINATION),
)
async def search_assistants(body: AssistantSearch, ctx: Ctx) -> JSONResponse:
    """The assistants of the served graphs (system and created), filtered and paged;
    newest first unless ``sort_by`` says otherwise."""
    found = [assistant_json(a) for a in _matching(ctx, body.graph_id, body.name, body.metadata)]
    if body.sort_by:
        key = body.sort_by
        found.sort(
            key=lambda a: (
                str(a.get(key) or "").lower()
                if key in ("name", "graph_id")
                else str(a.get(key) or "")
            ),
            reverse=(body.sort_order or "desc") == "desc",
        )
    page = found[body.offset : body.offset + body.limit]
    headers = {"X-Pagination-Total": str(len(found))}
    if body.offset + body.limit < len(found):
        headers["X-Pagination-Next"] = str(body.offset + body.limit)
    return JSONResponse([apply_select(a, body.select) for a in page], headers=headers)


@router.post("/assistants/count")
async def count_assistants(body: AssistantCount, ctx: Ctx) -> int:
    return len(_matching(ctx, body.graph_id, body.name, body.metadata))


@router.get("/assistants/{assistant_id}", response_model=None, responses=answer(Assistant))
async def get_assistant(assistant_id: AssistantId, ctx: Ctx) -> dict[str, Any]:
    return assistant_json(record_for(ctx, assistant_id))


@router.patch("/assistants/{assistant_id}", response_model=None, responses=answer(Assistant))
async def update_assistant(
    assistant_id: AssistantId, body: AssistantPatch, ctx: Ctx
) -> dict[str, Any]:
    """A new version of the assistant, now its current one. A system assistant stays
    on its graph (409 for another ``graph_id``)."""
    record = record_for(ctx, assistant_id)
    if body.graph_id is not None:
        graph_exists(ctx, body.graph_id)
    _values_twice(body.config, body.context)
    given = dump(body.config)
    updated = _engine(
        assistant_store(ctx).update,
        record.assistant_id,
        graph_id=body.graph_id,
        config=caller_config(given) if given is not None else None,
        context=body.context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
    )
    return assistant_json(updated)


@router.delete(
    "/assistants/{assistant_id}",
    status_code=204,
    response_class=Response,  # no media type: the 204 has no body
    responses={204: {"description": "Deleted."}},
)
async def delete_assistant(
    assistant_id: AssistantId,
    ctx: Ctx,
    delete_threads: bool = Query(
        False, description="Also delete the threads whose metadata names this assistant."
    ),
) -> Response:
    """Delete a created assistant and its versions; its runs in flight are cancelled.
    A system assistant stays while its workflow is served (409)."""
    record = record_for(ctx, assistant_id)
    if record.system:
        raise HTTPException(
            409,
            f"Assistant {record.assistant_id} is the system assistant of graph "
            f"'{record.graph_id}': it stays while the graph is served",
        )
    reason = f"assistant {record.assistant_id} was deleted"
    if delete_threads:
        from .thread_routes import cancel_thread_runs

        for thread in ctx.live_runner.runs.list_threads():
            if thread.metadata.get("assistant_id") == record.assistant_id:
                await cancel_thread_runs(ctx, thread.thread_id, reason)
                ctx.live_runner.forget_thread(thread.thread_id)
    runs = ctx.live_runner.runs
    for run_id in list(ctx.live_hub.active):
        try:
            meta = runs.get(run_id).meta or {}
        except NotFoundError:
            continue
        if meta.get("assistant_id") == record.assistant_id:
            ctx.live_hub.cancel(run_id, reason)
    _engine(assistant_store(ctx).delete, record.assistant_id)
    return Response(status_code=204)


@router.post(
    "/assistants/{assistant_id}/versions",
    response_model=None,
    responses=answer(list[AssistantVersion], "Versions, newest first."),
)
async def assistant_versions(
    assistant_id: AssistantId, body: VersionSearch, ctx: Ctx
) -> list[dict[str, Any]]:
    """The assistant's versions, newest first, filtered by ``metadata`` containment."""
    record = record_for(ctx, assistant_id)
    versions = [
        version_json(v)
        for v in assistant_store(ctx).versions(record.assistant_id)
        if not body.metadata or contains(v.metadata, body.metadata)
    ]
    return versions[body.offset : body.offset + body.limit]


@router.post("/assistants/{assistant_id}/latest", response_model=None, responses=answer(Assistant))
async def set_latest_version(
    assistant_id: AssistantId, body: VersionChange, ctx: Ctx
) -> dict[str, Any]:
    """Make one of the assistant's versions its current one (404 if it has no such
    version)."""
    record = record_for(ctx, assistant_id)
    return assistant_json(
        _engine(assistant_store(ctx).set_latest, record.assistant_id, body.version)
    )


# --------------------------------------------------------------------------- graphs


def _xray(value: str | None) -> bool | int:
    if value is None or value in ("false", "False"):
        return False
    if value in ("true", "True"):
        return True
    return int(value)


def _graph_config(record: AssistantRecord) -> dict[str, Any]:
    """The config a graph of the assistant is built with (factories read it)."""
    return {"configurable": {}, **run_config(record, None, None)}


@router.get(
    "/assistants/{assistant_id}/graph", response_model=None, responses=answer(AssistantGraph)
)
async def get_assistant_graph(
    assistant_id: AssistantId,
    ctx: Ctx,
    xray: Annotated[
        str | None,
        Query(pattern=XRAY.pattern),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "boolean"},
                    {"type": "integer", "minimum": 1, "maximum": 10**9 - 1},
                ],
                "description": "Draw subgraphs: all levels (true) or this many.",
            }
        ),
    ] = None,
) -> dict[str, Any]:
    """The workflow's drawable graph (``Graph.to_json()``); ``xray`` draws its subgraphs
    in (every level, or that many)."""
    found = resolve(ctx, assistant_id)
    depth = _xray(xray)
    executor = ctx.live_runner.executor(found.workflow)
    async with executor.agraph(_graph_config(found.record)) as graph:
        try:
            drawable = await graph.aget_graph(xray=depth)
        except NotImplementedError:
            raise HTTPException(422, "The graph does not support visualization") from None
    out = drawable.to_json()
    for node in out.get("nodes", []):
        data = node.get("data")
        if isinstance(data, dict):
            data.pop("id", None)
    return out


@router.get(
    "/assistants/{assistant_id}/schemas", response_model=None, responses=answer(AssistantSchemas)
)
async def get_assistant_schemas(assistant_id: AssistantId, ctx: Ctx) -> dict[str, Any]:
    """JSON schemas of the graph's input, output, state, configurable values and
    context (null where LangGraph cannot describe one)."""
    found = resolve(ctx, assistant_id)
    executor = ctx.live_runner.executor(found.workflow)
    async with executor.agraph(_graph_config(found.record)) as graph:
        return {"graph_id": found.record.graph_id, **graph_schemas(graph)}


_SUBGRAPHS = answer(
    dict[str, SubgraphSchemas], "Schemas of the subgraphs, by namespace (``outer|inner``)."
)
Recurse = Annotated[bool, Query(description="Also the subgraphs of subgraphs.")]


async def _subgraphs(
    ctx: ServerContext, assistant_id: str, namespace: str | None, recurse: bool
) -> dict[str, Any]:
    found = resolve(ctx, assistant_id)
    executor = ctx.live_runner.executor(found.workflow)
    async with executor.agraph(_graph_config(found.record)) as graph:
        try:
            return {
                ns: graph_schemas(sub)
                async for ns, sub in graph.aget_subgraphs(namespace=namespace, recurse=recurse)
            }
        except NotImplementedError:
            raise HTTPException(422, "The graph does not support visualization") from None


@router.get("/assistants/{assistant_id}/subgraphs", response_model=None, responses=_SUBGRAPHS)
async def get_assistant_subgraphs(
    assistant_id: AssistantId, ctx: Ctx, recurse: Recurse = False
) -> dict[str, Any]:
    """The graph's subgraphs (``recurse``: at every depth) with their schemas."""
    return await _subgraphs(ctx, assistant_id, None, recurse)


@router.get(
    "/assistants/{assistant_id}/subgraphs/{namespace}", response_model=None, responses=_SUBGRAPHS
)
async def get_assistant_subgraphs_in(
    assistant_id: AssistantId,
    namespace: Annotated[
        str, Path(min_length=1, max_length=1000, description="A subgraph's namespace.")
    ],
    ctx: Ctx,
    recurse: Recurse = False,
) -> dict[str, Any]:
    """The subgraph at ``namespace`` (``recurse``: with the subgraphs inside it)."""
    return await _subgraphs(ctx, assistant_id, namespace, recurse)
