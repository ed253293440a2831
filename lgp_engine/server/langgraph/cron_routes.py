"""LangGraph Agent Server compatible crons (``client.crons``): create (on a thread, or
a new thread per tick), search, count, get, update, delete; and the scheduler that
starts their runs.

Crons live in the project database (:mod:`lgp_engine.ops.crons`). Every server
process runs a scheduler over them (opened with the app, stopped before its runs are
cancelled); a tick is claimed by one process, which starts its run as ``runs.create``
does (:func:`~.run_routes.start_run`), with the cron's webhook. The run's metadata is
the cron's, with ``cron_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Path, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field

from ...assistants import system_assistant_id
from ...errors import ConflictError, LGPError, NotFoundError, UsageError
from ...ops.crons import (
    SCHEDULE_PATTERN,
    SCHEDULE_RULE,
    CronRecord,
    CronScheduler,
    CronStore,
    Link,
)
from ..adoption import passive
from ..context import Ctx, ServerContext
from ..params import MAX_OFFSET, Int, JsonObject, JsonValue, OpenBody, ThreadIdPath
from ..times import iso
from .assistants import Resolved, caller_config, resolve
from .models import (
    PAGINATION,
    Cron,
    CronField,
    CronSelected,
    MultitaskStrategy,
    RunConfig,
    StreamMode,
    answer,
    dump,
)
from .run_routes import RunCreate, _same_run, start_run
from .shapes import apply_select, contains
from .threads import require_thread, thread_exists

log = logging.getLogger(__name__)

_STORE = "lg_crons"
_SCHEDULER = "lg_cron_scheduler"


@contextlib.asynccontextmanager
async def crons_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the cron store beside the run store (or in PostgreSQL) and run the
    scheduler while the app runs."""
    ctx: ServerContext = app.state.ctx
    store = await asyncio.to_thread(CronStore.for_settings, ctx.settings, ctx.live_runner.runs.path)
    scheduler = CronScheduler(
        store, functools.partial(fire, ctx), claiming=lambda: not ctx.live_hub.closing
    )
    ctx.extra[_STORE] = store
    ctx.extra[_SCHEDULER] = scheduler
    try:
        if passive():  # a health check on a live database: no tick is fired here
            yield
        else:
            async with scheduler:
                yield
    finally:
        ctx.extra.pop(_SCHEDULER, None)
        ctx.extra.pop(_STORE, None)
        store.close()


router = APIRouter(tags=["LangGraph: crons"], lifespan=crons_lifespan)


def cron_store(ctx: ServerContext) -> CronStore:
    store = ctx.extra.get(_STORE)
    assert isinstance(store, CronStore), "the app's lifespan has not started"
    return store


def _wake(ctx: ServerContext) -> None:
    scheduler = ctx.extra.get(_SCHEDULER)
    if isinstance(scheduler, CronScheduler):
        scheduler.wake()


# --------------------------------------------------------------------------- bodies


def _schedule(value: str) -> str:
    if not re.fullmatch(SCHEDULE_PATTERN, value):
        raise ValueError(SCHEDULE_RULE)
    return value


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?"
)


def parse_time(value: str) -> float:
    """Epoch seconds of an RFC 3339 date-time (UTC when it names no offset; a leap
    second is read as :59)."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError("not an RFC 3339 date-time (e.g. '2030-01-31T09:00:00+00:00')")
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    offset = match[8]
    if not offset or offset in "Zz":
        zone = dt.UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    try:
        when = dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)
    except ValueError as exc:
        raise ValueError(f"not a date-time ({exc})") from None
    return when.timestamp() + float(match[7] or 0)


def _date_time(value: str) -> str:
    parse_time(value)
    return value


Schedule = Annotated[
    str,
    Field(
        max_length=256,
        description="When it runs: 5 cron fields (minute hour day-of-month month "
        "day-of-week), e.g. `*/5 * * * *` or `0 9 * * MON-FRI`; one that names no "
        "time that exists (`0 0 30 2 *`) is refused with 400.",
        json_schema_extra={"pattern": SCHEDULE_PATTERN},
    ),
    AfterValidator(_schedule),
]
TimeZone = Annotated[
    str,
    Field(
        max_length=64,
        description="The IANA time zone the schedule is read in (`Europe/Paris`); null or "
        "absent: UTC. An unknown one is refused with 400.",
    ),
]
DateTime = Annotated[
    str,
    Field(max_length=64, json_schema_extra={"format": "date-time"}),
    AfterValidator(_date_time),
]
Webhook = Annotated[
    str,
    Field(
        max_length=4096,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]+",
        description="Called (POST, the run and its values) once each run ends; its host "
        "must be allowed by the server's webhooks config.",
    ),
]
Nodes = Literal["*"] | list[str] | None


class _CronRun(OpenBody):
    """What a cron runs on each tick (kept as its ``payload``), and when."""

    assistant_id: str = Field(
        ..., min_length=1, max_length=200, description="Assistant id or graph name."
    )
    schedule: Schedule
    timezone: TimeZone | None = None
    end_time: DateTime | None = Field(None, description="No tick after this time.")
    enabled: bool | None = Field(None, description="False: paused (default true).")
    input: JsonValue = Field(None, description="The graph input of each run.")
    config: RunConfig | None = None
    context: JsonObject | None = None
    metadata: JsonObject | None = Field(None, description="The cron's, and each run's.")
    webhook: Webhook | None = None
    interrupt_before: Nodes = Field(None, description="Node names of the assistant's graph.")
    interrupt_after: Nodes = Field(None, description="Node names of the assistant's graph.")
    multitask_strategy: MultitaskStrategy | None = None
    stream_mode: StreamMode | list[StreamMode] | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    checkpoint_during: bool | None = None


class CronCreate(_CronRun):
    """``POST /runs/crons``: each tick runs on a new thread."""

    on_run_completed: Literal["delete", "keep"] | None = Field(
        None, description="A tick's thread is deleted after its run (default) or kept."
    )


class ThreadCronCreate(_CronRun):
    """``POST /threads/{thread_id}/runs/crons``: every tick runs on the thread."""


class CronPatch(OpenBody):
    """``PATCH /runs/crons/{cron_id}``: what is given replaces (``metadata`` merges,
    ``end_time: null`` clears it), the rest stays. A new schedule, time zone or end
    time, or enabling it again, computes its next tick from now."""

    schedule: Schedule | None = None
    timezone: TimeZone | None = None
    end_time: DateTime | None = None
    enabled: bool | None = None
    on_run_completed: Literal["delete", "keep"] | None = None
    input: JsonValue = None
    config: RunConfig | None = None
    context: JsonObject | None = None
    metadata: JsonObject | None = None
    webhook: Webhook | None = None
    interrupt_before: Nodes = None
    interrupt_after: Nodes = None
    multitask_strategy: MultitaskStrategy | None = None
    stream_mode: StreamMode | list[StreamMode] | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    checkpoint_during: bool | None = None


SortBy = Literal[
    "cron_id", "assistant_id", "thread_id", "next_run_date", "end_time", "created_at", "updated_at"
]


class CronSearch(OpenBody):
    """``POST /runs/crons/search``."""

    assistant_id: str | None = Field(None, description="Assistant id or graph name.")
    thread_id: str | None = None
    enabled: bool | None = None
    metadata: JsonObject | None = None
    limit: Int = Field(10, ge=1, le=1000)
    offset: Int = Field(0, ge=0, le=MAX_OFFSET)
    sort_by: SortBy | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[CronField] | None = None


class CronCount(OpenBody):
    """``POST /runs/crons/count``."""

    assistant_id: str | None = Field(None, description="Assistant id or graph name.")
    thread_id: str | None = None
    enabled: bool | None = None
    metadata: JsonObject | None = None


#: Fields of a cron body that are the cron's, not its runs'.
_NOT_PAYLOAD = frozenset(
    {"schedule", "timezone", "end_time", "enabled", "on_run_completed", "metadata"}
)

CronId = Annotated[str, Path(min_length=1, max_length=200)]


# --------------------------------------------------------------------------- shapes


def cron_json(record: CronRecord) -> dict[str, Any]:
    """The official Cron."""
    return {
        "cron_id": record.cron_id,
        "assistant_id": record.assistant_id,
        "thread_id": record.thread_id,
        "on_run_completed": record.on_run_completed,
        "end_time": iso(record.end_time),
        "schedule": record.schedule,
        "timezone": record.timezone,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "payload": record.payload,
        "user_id": record.user_id,
        "next_run_date": iso(record.next_run_date),
        "metadata": record.metadata,
        "enabled": record.enabled,
    }


def _run_body(payload: dict[str, Any], assistant_id: str, **fields: Any) -> RunCreate:
    """The ``runs.create`` body a tick starts (422 if the stored payload is not one)."""
    return RunCreate.model_validate({**payload, "assistant_id": assistant_id, **fields})


def _refused(exc: LGPError) -> HTTPException:
    """A schedule, time zone or run the server cannot carry out as asked: 400."""
    return HTTPException(400, exc.describe(hint=False))


def _check_run(
    ctx: ServerContext, assistant: Resolved, thread_id: str | None, payload: dict[str, Any]
) -> None:
    """Refuse (400) a run the ticks could not start, before the cron is kept: a webhook
    the config does not allow, an input the graph cannot take, context given twice, a
    config naming another thread."""
    from .. import webhooks

    body = _run_body(payload, assistant.record.assistant_id)
    if body.webhook:
        webhooks.check_webhook(ctx.settings.webhooks, body.webhook)
    if body.context and caller_config(dump(body.config)).get("configurable"):
        raise HTTPException(
            400, "Cannot specify both configurable and context. Prefer setting context alone."
        )
    try:
        ctx.live_runner.check_input(assistant.workflow, body.input)
    except UsageError as exc:
        raise _refused(exc) from None
    _same_run(dump(body.config) or {}, thread_id or "", thread_id is None, None)


def _assistant_filter(ctx: ServerContext, assistant_id: str | None) -> str | None:
    """A search's assistant: a served graph's name stands for its system assistant."""
    if assistant_id is not None and assistant_id in ctx.catalog.workflows:
        return system_assistant_id(assistant_id)
    return assistant_id


def _matching(ctx: ServerContext, body: CronSearch | CronCount, **sort: Any) -> list[CronRecord]:
    found = cron_store(ctx).search(
        assistant_id=_assistant_filter(ctx, body.assistant_id),
        thread_id=body.thread_id,
        enabled=body.enabled,
        **sort,
    )
    if body.metadata:
        found = [c for c in found if contains(c.metadata, body.metadata)]
    return found


def _record(ctx: ServerContext, cron_id: str) -> CronRecord:
    try:
        return cron_store(ctx).get(cron_id)
    except NotFoundError:
        raise HTTPException(404, f"Cron {cron_id} not found") from None


# --------------------------------------------------------------------------- routes


async def _create(
    ctx: ServerContext, thread_id: str | None, body: CronCreate | ThreadCronCreate
) -> dict[str, Any]:
    if thread_id is not None:
        require_thread(ctx, thread_id)
    assistant = resolve(ctx, body.assistant_id)
    given = body.model_dump(exclude_unset=True)
    payload = {k: v for k, v in given.items() if k not in _NOT_PAYLOAD}
    _check_run(ctx, assistant, thread_id, payload)
    try:
        record = cron_store(ctx).create(
            assistant.record.assistant_id,
            body.schedule,
            thread_id=thread_id,
            timezone=body.timezone,
            payload=payload,
            metadata=body.metadata,
            on_run_completed=getattr(body, "on_run_completed", None),
            end_time=parse_time(body.end_time) if body.end_time else None,
            enabled=body.enabled is not False,
        )
    except UsageError as exc:
        raise _refused(exc) from None
    _wake(ctx)
    return cron_json(record)


@router.post("/runs/crons", response_model=None, responses=answer(Cron, "The cron."))
async def create_cron(body: CronCreate, ctx: Ctx) -> dict[str, Any]:
    """A cron whose every tick runs the assistant on a new thread (deleted after the
    run unless ``on_run_completed`` is ``keep``). Nothing runs before its first tick."""
    return await _create(ctx, None, body)


@router.post(
    "/threads/{thread_id}/runs/crons", response_model=None, responses=answer(Cron, "The cron.")
)
async def create_thread_cron(
    thread_id: ThreadIdPath, body: ThreadCronCreate, ctx: Ctx
) -> dict[str, Any]:
    """A cron whose every tick runs the assistant on the thread (its
    ``multitask_strategy`` deciding, default ``enqueue``, when the thread is busy)."""
    return await _create(ctx, thread_id, body)


@router.post(
    "/runs/crons/search",
    response_model=None,
    responses=answer(list[CronSelected], "A page of crons.", PAGINATION),
)
async def search_crons(body: CronSearch, ctx: Ctx) -> JSONResponse:
    """Crons filtered by assistant, thread, enabled and metadata containment; newest
    first unless ``sort_by`` says otherwise."""
    found = _matching(
        ctx, body, sort_by=body.sort_by or "created_at", sort_order=body.sort_order or "desc"
    )
    end = body.offset + body.limit
    headers = {"X-Pagination-Total": str(len(found))}
    if end < len(found):
        headers["X-Pagination-Next"] = str(end)
    page = [apply_select(cron_json(c), body.select) for c in found[body.offset : end]]
    return JSONResponse(page, headers=headers)


@router.post("/runs/crons/count")
async def count_crons(body: CronCount, ctx: Ctx) -> int:
    return len(_matching(ctx, body))


@router.get("/runs/crons/{cron_id}", response_model=None, responses=answer(Cron, "The cron."))
async def get_cron(cron_id: CronId, ctx: Ctx) -> dict[str, Any]:
    return cron_json(_record(ctx, cron_id))


@router.patch("/runs/crons/{cron_id}", response_model=None, responses=answer(Cron, "The cron."))
async def update_cron(cron_id: CronId, body: CronPatch, ctx: Ctx) -> dict[str, Any]:
    """Change a cron (see the body); its runs already started are not changed."""
    before = _record(ctx, cron_id)
    given = body.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    for key in ("schedule", "enabled", "on_run_completed"):
        if given.get(key) is not None:
            changes[key] = given[key]
    if "timezone" in given:
        changes["timezone"] = given["timezone"]
    if "end_time" in given:
        changes["end_time"] = parse_time(given["end_time"]) if given["end_time"] else None
    if given.get("metadata") is not None:
        changes["metadata"] = {**before.metadata, **given["metadata"]}
    run_part = {k: v for k, v in given.items() if k not in _NOT_PAYLOAD}
    if run_part:
        payload = {**before.payload, **run_part}
        try:
            assistant = resolve(ctx, before.assistant_id)
        except HTTPException:
            raise HTTPException(
                400, f"the cron's assistant {before.assistant_id} is gone: delete the cron"
            ) from None
        _check_run(ctx, assistant, before.thread_id, payload)
        changes["payload"] = payload
    try:
        record = cron_store(ctx).update(cron_id, **changes)
    except NotFoundError:  # deleted meanwhile
        raise HTTPException(404, f"Cron {cron_id} not found") from None
    except UsageError as exc:
        raise _refused(exc) from None
    _wake(ctx)
    return cron_json(record)


@router.delete(
    "/runs/crons/{cron_id}",
    status_code=204,
    response_class=Response,  # no media type: the 204 has no body
    response_model=None,
    responses={204: {"description": "Deleted: no tick runs any more."}},
)
async def delete_cron(cron_id: CronId, ctx: Ctx) -> Response:
    """Delete a cron (runs it already started go on)."""
    try:
        cron_store(ctx).delete(cron_id)
    except NotFoundError:
        raise HTTPException(404, f"Cron {cron_id} not found") from None
    _wake(ctx)
    return Response(status_code=204)


# --------------------------------------------------------------------------- ticks


async def fire(ctx: ServerContext, cron: CronRecord, tick: int, link: Link) -> str | None:
    """Start the run of a tick this process claimed, as ``runs.create`` starts one,
    its claim naming the run in the same transaction (``link``); its run id (None when
    it could not start: said in the log). A thread's cron whose thread was deleted is
    deleted with it."""
    if cron.thread_id is not None and not thread_exists(ctx, cron.thread_id):
        log.info(
            "cron %s: its thread %s was deleted: deleting the cron", cron.cron_id, cron.thread_id
        )
        with contextlib.suppress(NotFoundError):
            cron_store(ctx).delete(cron.cron_id)
        return None
    try:
        body = _run_body(
            cron.payload,
            cron.assistant_id,
            metadata={**cron.metadata, "cron_id": cron.cron_id},
            on_completion=cron.on_run_completed or "delete",
        )
        modes = body.stream_mode or ["values"]
        handle, _ = await start_run(
            ctx,
            cron.thread_id,
            body,
            modes=[modes] if isinstance(modes, str) else list(modes),
            subgraphs=bool(body.stream_subgraphs),
            along=link,
        )
    except HTTPException as exc:
        log.warning("cron %s: tick %s not run: %s", cron.cron_id, iso(tick), exc.detail)
        return None
    except LGPError as exc:
        stopping = isinstance(exc, ConflictError) and exc.code == "shutting_down"
        # claimed as this server began to stop: the tick is another process's
        if stopping and await asyncio.to_thread(cron_store(ctx).give_back, cron.cron_id, tick):
            log.info("cron %s: tick %s left to another process", cron.cron_id, iso(tick))
            return None
        log.warning("cron %s: tick %s not run: %s", cron.cron_id, iso(tick), exc.describe())
        return None
    log.info("cron %s: tick %s started run %s", cron.cron_id, iso(tick), handle.run_id)
    return handle.run_id
