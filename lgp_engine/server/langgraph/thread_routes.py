"""LangGraph Agent Server compatible threads: create/get/search/delete, state,
update_state and history.

A thread is one created through this API (recorded in the run store) or any
thread the checkpointer knows (e.g. made with ``lgp run``); state reads go
through the thread's workflow when it is served, else straight to the
checkpoints.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from pydantic import Field, field_validator

from ...errors import ConflictError, NotFoundError
from ...jsonable import to_jsonable
from ..catalog import assistant_id_for
from ..context import Ctx, ServerContext
from ..params import (
    MAX_OFFSET,
    IdPath,
    Int,
    JsonObject,
    JsonValue,
    OpenBody,
    ThreadIdField,
    ThreadIdPath,
)
from .models import (
    PAGINATION,
    CheckpointRef,
    StateField,
    StateUpdated,
    Thread,
    ThreadField,
    ThreadSelected,
    ThreadState,
    ThreadStateSelected,
    ThreadStatusName,
    answer,
    dump,
)
from .shapes import apply_select
from .threads import (
    UNKNOWN,
    checkpoint_info,
    find_threads,
    in_flight,
    read_history,
    read_state,
    require_thread,
    thread_json,
    thread_metadata,
    thread_workflow,
)

Select = Annotated[list[StateField], Query(description="Fields to keep (all when none).")]
METADATA_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")

router = APIRouter(tags=["LangGraph: threads"])


class ThreadCreate(OpenBody):
    """``POST /threads``."""

    thread_id: ThreadIdField | None = None
    metadata: JsonObject | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    graph_id: str | None = None
    ttl: JsonValue = None
    supersteps: list[JsonValue] | None = Field(
        None,
        max_length=0,
        description="Not supported by this server: create the thread, then update its state.",
    )


class ThreadPatch(OpenBody):
    metadata: JsonObject | None = None
    ttl: JsonValue = None


class ThreadSearch(OpenBody):
    """``POST /threads/search``."""

    metadata: JsonObject | None = None
    values: JsonObject | None = None
    ids: list[str] | None = None
    status: ThreadStatusName | None = None
    limit: Int = Field(10, ge=1, le=1000)
    offset: Int = Field(0, ge=0, le=MAX_OFFSET)
    sort_by: (
        Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"] | None
    ) = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[ThreadField] | None = None


class ThreadCount(OpenBody):
    metadata: JsonObject | None = None
    values: JsonObject | None = None
    status: ThreadStatusName | None = None


class StateUpdate(OpenBody):
    """``POST /threads/{id}/state``: write values as if ``as_node`` had returned them."""

    values: JsonObject | list[JsonValue] | None = None
    as_node: str | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None


class StateCheckpoint(OpenBody):
    checkpoint: CheckpointRef
    subgraphs: bool = False
    select: list[StateField] | None = None


class HistoryRequest(OpenBody):
    """``POST /threads/{id}/history``; ``before`` may be an id or a checkpoint object."""

    limit: Int = Field(10, ge=1, le=10000)
    before: str | JsonObject | None = None
    metadata: JsonObject | None = Field(
        None,
        description="Checkpoint metadata to match; keys are letters, digits, '_', '.', '-'.",
        json_schema_extra={"propertyNames": {"pattern": METADATA_KEY.pattern}},
    )
    checkpoint: CheckpointRef | None = None
    select: list[StateField] | None = None

    @field_validator("metadata")
    @classmethod
    def _metadata_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # the checkpointer puts these keys into a JSON path: refuse what it cannot use
        bad = [k for k in value or {} if not METADATA_KEY.match(k)]
        if bad:
            raise ValueError(
                f"{len(bad)} key(s) cannot be matched: metadata keys are letters, digits, "
                "'_', '.' and '-'"
            )
        return value


# --------------------------------------------------------------------------- threads


_STATE = answer(ThreadStateSelected, "The state (the selected fields, if any).")


@router.post("/threads", response_model=None, responses=answer(Thread))
async def create_thread(body: ThreadCreate, ctx: Ctx) -> dict[str, Any]:
    """A new (empty, idle) thread; 409 if ``thread_id`` exists unless ``if_exists=do_nothing``."""
    thread_id = body.thread_id or str(uuid.uuid4())
    metadata = dict(body.metadata or {})
    if body.graph_id:
        metadata["graph_id"] = body.graph_id
        if body.graph_id in ctx.catalog.workflows:
            metadata.setdefault("assistant_id", assistant_id_for(body.graph_id))
    # it exists when known to the checkpointer (the CLI's), or created through the API;
    # an id made here is new to both, and has no run: nothing to read
    info = checkpoint_info(ctx, thread_id) if body.thread_id else None
    made = None
    if info is None:
        made = await ctx.live_runner.io(ctx.live_runner.runs.create_thread, thread_id, metadata)
    if made is None:
        if body.if_exists == "do_nothing":
            return await thread_json(ctx, thread_id, info=info)
        raise HTTPException(409, f"Thread with ID {thread_id} already exists")
    last = UNKNOWN if body.thread_id else None
    return await thread_json(ctx, thread_id, record=made, info=None, last=last)


@router.post(
    "/threads/search",
    response_model=None,
    responses=answer(list[ThreadSelected], "A page of threads.", PAGINATION),
)
async def search_threads(body: ThreadSearch, ctx: Ctx) -> JSONResponse:
    """Threads filtered by metadata/values containment, ids and status; newest first.
    States are read from the threads' newest checkpoints (a fixed number of queries
    per page, whatever the number of threads)."""
    end = body.offset + body.limit
    page, total = find_threads(
        ctx,
        metadata=body.metadata,
        values=body.values,
        ids=body.ids,
        status=body.status,
        sort_by=body.sort_by or "updated_at",
        descending=(body.sort_order or "desc") == "desc",
        offset=body.offset,
        limit=body.limit,
    )
    headers = {"X-Pagination-Total": str(total)}
    if end < total:
        headers["X-Pagination-Next"] = str(end)
    return JSONResponse([apply_select(t, body.select) for t in page], headers=headers)


@router.post("/threads/count")
async def count_threads(body: ThreadCount, ctx: Ctx) -> int:
    _, total = find_threads(
        ctx, metadata=body.metadata, values=body.values, status=body.status, limit=0
    )
    return total


@router.get("/threads/{thread_id}", response_model=None, responses=answer(Thread))
async def get_thread(thread_id: ThreadIdPath, ctx: Ctx) -> dict[str, Any]:
    require_thread(ctx, thread_id)
    return await thread_json(ctx, thread_id)


@router.patch("/threads/{thread_id}", response_model=None, responses=answer(Thread))
async def patch_thread(thread_id: ThreadIdPath, body: ThreadPatch, ctx: Ctx) -> dict[str, Any]:
    """Merge ``metadata`` into the thread's."""
    require_thread(ctx, thread_id)
    ctx.live_runner.runs.put_thread(thread_id, body.metadata or None)
    ctx.live_runner.runs.touch_thread(thread_id)
    return await thread_json(ctx, thread_id)


@router.post("/threads/{thread_id}/copy", response_model=None, responses=answer(Thread))
async def copy_thread(thread_id: ThreadIdPath, ctx: Ctx) -> dict[str, Any]:
    """A new thread with the same metadata and checkpoints (its whole history, every
    branch): it continues on its own. The runs stay with the original thread."""
    require_thread(ctx, thread_id)
    new_id = str(uuid.uuid4())
    metadata = thread_metadata(ctx, thread_id)
    if "thread_id" in metadata:
        metadata["thread_id"] = new_id
    ctx.live_runner.store.copy_thread(thread_id, new_id)
    ctx.live_runner.runs.put_thread(new_id, metadata)
    return await thread_json(ctx, new_id)


@router.delete("/threads/{thread_id}", status_code=204)
async def delete_thread(thread_id: ThreadIdPath, ctx: Ctx) -> Response:
    """Forget a thread: its runs (cancelled first if in flight), events and checkpoints."""
    require_thread(ctx, thread_id)
    await cancel_thread_runs(ctx, thread_id, "the thread was deleted")
    ctx.live_runner.forget_thread(thread_id)
    return Response(status_code=204)


async def cancel_thread_runs(ctx: ServerContext, thread_id: str, reason: str) -> None:
    """Cancel the thread's runs in flight in this process and wait until each stopped;
    409 if one runs in another process."""
    for record in in_flight(ctx, thread_id):
        handle = ctx.live_hub.active.get(record.run_id)
        if handle is None:
            raise HTTPException(
                409,
                f"Thread {thread_id} has a run in flight in another "
                f"server process ({record.run_id})",
            )
        ctx.live_hub.cancel(record.run_id, reason)
        await asyncio.wait_for(handle.done.wait(), timeout=30)


# --------------------------------------------------------------------------- state


@router.get("/threads/{thread_id}/state", response_model=None, responses=_STATE)
async def get_state(
    thread_id: ThreadIdPath,
    ctx: Ctx,
    subgraphs: bool = False,
    select: Select = [],  # noqa: B006 - FastAPI copies parameter defaults
) -> dict[str, Any]:
    """The thread's newest state (``values``, ``next``, ``tasks``, checkpoints...)."""
    require_thread(ctx, thread_id)
    return apply_select(await read_state(ctx, thread_id, subgraphs=subgraphs), select)


@router.post("/threads/{thread_id}/state/checkpoint", response_model=None, responses=_STATE)
async def get_state_at_checkpoint_post(
    thread_id: ThreadIdPath, body: StateCheckpoint, ctx: Ctx
) -> dict[str, Any]:
    require_thread(ctx, thread_id)
    state = await read_state(
        ctx, thread_id, checkpoint=dump(body.checkpoint), subgraphs=body.subgraphs
    )
    return apply_select(state, body.select)


@router.get("/threads/{thread_id}/state/{checkpoint_id}", response_model=None, responses=_STATE)
async def get_state_at_checkpoint(
    thread_id: ThreadIdPath,
    checkpoint_id: IdPath,
    ctx: Ctx,
    subgraphs: bool = False,
    select: Select = [],  # noqa: B006 - FastAPI copies parameter defaults
) -> dict[str, Any]:
    require_thread(ctx, thread_id)
    state = await read_state(
        ctx, thread_id, checkpoint={"checkpoint_id": checkpoint_id}, subgraphs=subgraphs
    )
    return apply_select(state, select)


#: ``as_node`` that copies the checkpoint instead of writing values (LangGraph Studio's
#: "re-run from here": the next run continues from the copy).
COPY = "__copy__"


async def _copy_checkpoint(
    ctx: ServerContext, wf: Any, thread_id: str, conf: dict[str, Any], values: Any
) -> dict[str, Any]:
    """``as_node="__copy__"``: the checkpoint (the newest when none is named) copied as
    the thread's newest, through the Runner's checks; the new checkpoint's config."""
    if values is not None:
        raise HTTPException(400, "as_node '__copy__' copies a checkpoint: values must be null")
    if conf.get("checkpoint_ns"):
        raise HTTPException(400, "as_node '__copy__' copies a checkpoint of the root graph only")
    try:
        copied = await ctx.live_runner.acopy_checkpoint(
            wf, thread_id, conf.get("checkpoint_id") or None
        )
    except NotFoundError as exc:
        raise HTTPException(404, exc.describe()) from None
    except ConflictError as exc:
        raise HTTPException(409, exc.describe()) from None
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": copied}}


@router.post("/threads/{thread_id}/state", response_model=None, responses=answer(StateUpdated))
async def update_state(thread_id: ThreadIdPath, body: StateUpdate, ctx: Ctx) -> dict[str, Any]:
    """Write ``values`` onto the newest checkpoint (or ``checkpoint_id``): a new checkpoint
    (source ``update``) that the next run continues from; the old history stays. With
    ``as_node="__copy__"`` (and null values) the checkpoint is copied instead (source
    ``fork``): the next run re-runs the nodes after it."""
    require_thread(ctx, thread_id)
    busy = in_flight(ctx, thread_id)
    if busy:
        raise HTTPException(
            409, f"Thread {thread_id} has in-flight runs: {', '.join(r.run_id for r in busy)}"
        )
    metadata = thread_metadata(ctx, thread_id)
    wf = thread_workflow(ctx, thread_id, metadata)
    if wf is None:
        raise HTTPException(
            400,
            f"Thread '{thread_id}' has no assigned graph ID (or its "
            "workflow is not served here). Run it once, or set "
            "metadata.graph_id, before updating its state.",
        )
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if body.checkpoint:
        conf.update({k: v for k, v in (dump(body.checkpoint) or {}).items() if v is not None})
    if body.checkpoint_id:
        conf["checkpoint_id"] = body.checkpoint_id
    conf["thread_id"] = thread_id
    cid = conf.get("checkpoint_id")
    if (
        cid
        and not conf.get("checkpoint_ns")
        and ctx.live_runner.store.checkpoint(thread_id, cid) is None
    ):
        raise HTTPException(404, f"Checkpoint {cid} of thread {thread_id} not found")
    from langgraph.errors import InvalidUpdateError

    if body.as_node == COPY:
        new = await _copy_checkpoint(ctx, wf, thread_id, conf, body.values)
    else:
        async with ctx.live_runner.executor(wf).agraph() as graph:
            if body.as_node is not None and body.as_node not in graph.nodes:
                known = ", ".join(n for n in graph.nodes if n != "__start__")
                raise HTTPException(
                    400, f"Unknown node {body.as_node!r} for as_node; nodes: {known}"
                )
            try:
                new = await graph.aupdate_state(
                    {"configurable": conf}, body.values, as_node=body.as_node
                )
            except (InvalidUpdateError, ValueError, KeyError, TypeError) as exc:
                raise HTTPException(400, f"{type(exc).__name__}: {exc}") from None
    ctx.live_runner.runs.put_thread(
        thread_id, {"graph_id": wf.name, "assistant_id": assistant_id_for(wf.name)}
    )
    ctx.live_runner.runs.touch_thread(thread_id)
    configurable = to_jsonable(new["configurable"])
    return {
        "checkpoint": configurable,
        "configurable": configurable,
        "checkpoint_id": configurable.get("checkpoint_id"),
    }


# --------------------------------------------------------------------------- history


def _before_id(before: str | dict[str, Any] | None) -> str | None:
    if isinstance(before, dict):
        nested = before.get("configurable")
        conf: dict[str, Any] = nested if isinstance(nested, dict) else before
        value = conf.get("checkpoint_id")
        return str(value) if value else None
    return before or None


@router.post(
    "/threads/{thread_id}/history",
    response_model=None,
    responses=answer(list[ThreadStateSelected], "Past states, newest first."),
)
async def history(thread_id: ThreadIdPath, body: HistoryRequest, ctx: Ctx) -> list[dict[str, Any]]:
    """Past states, newest first: ``limit``, ``before`` (id or checkpoint), ``metadata``
    containment (e.g. ``{"source": "update"}``), ``checkpoint`` (namespace/id)."""
    require_thread(ctx, thread_id)
    states = await read_history(
        ctx,
        thread_id,
        limit=body.limit,
        before=_before_id(body.before),
        metadata_filter=body.metadata,
        checkpoint=dump(body.checkpoint),
    )
    return [apply_select(s, body.select) for s in states]


@router.get(
    "/threads/{thread_id}/history",
    response_model=None,
    responses=answer(list[ThreadState], "Past states, newest first."),
)
async def history_get(
    thread_id: ThreadIdPath,
    ctx: Ctx,
    limit: int = Query(10, ge=1, le=10000),
    before: str = Query("", max_length=200, description="A checkpoint id (none: the newest)."),
) -> list[dict[str, Any]]:
    require_thread(ctx, thread_id)
    return await read_history(
        ctx, thread_id, limit=limit, before=before or None, metadata_filter=None, checkpoint=None
    )
