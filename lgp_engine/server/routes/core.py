"""The LGP API: health, metrics, workflows, invoke/stream, sessions, runs and events."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field, WithJsonSchema

from ..._version import __version__
from ...errors import ConflictError, NotFoundError
from ...events import RunEvent
from ...ids import path_segment
from ...jsonable import to_jsonable
from ...loader import LoadedWorkflow, iter_graph_nodes
from ...runner import NO_VALUE
from ...runs import RunRecord
from ...status import TERMINAL, RunStatus
from ..context import Ctx, ServerContext
from ..http_errors import OPEN_ERROR_RESPONSES
from ..metrics import CONTENT_TYPE
from ..openapi import NO_AUTH
from ..params import (
    MAX_OFFSET,
    Body,
    IdPath,
    JsonObject,
    JsonValue,
    Offset,
    Responses,
    ThreadIdField,
    ThreadIdPath,
)
from ..sse import SSE_RESPONSES, EventStreamResponse, event_frame, sse_response
from ..times import iso
from ..usage import RunUsage, public_usage

router = APIRouter(tags=["LGP"])

WorkflowName = Annotated[str, Path(min_length=1, max_length=200, description="Workflow name.")]


# -- requests ----------------------------------------------------------------------


class InvokeRequest(Body):
    """Run a workflow: its input, and optionally the thread to run on."""

    input: JsonObject = Field(default_factory=dict, description="The graph input.")
    thread_id: ThreadIdField | None = Field(
        None, description="Thread to continue; a new one if omitted."
    )
    context: JsonObject | None = Field(None, description="Runtime context.")


class ResumeRequest(Body):
    """Answer an interrupt (or continue a stopped run) of a thread."""

    value: JsonValue = Field(None, description="The resume value for the waiting interrupt.")


# -- responses ---------------------------------------------------------------------


class Health(BaseModel):
    """The server is up; what it serves and how busy it is."""

    status: Literal["healthy"] = "healthy"
    version: str
    environment: str
    workflows: list[str]
    worker: int = Field(description="Process id of the server process that answered.")
    active_runs: int = Field(description="Runs executing now (in this process).")
    runs_waiting: int = Field(description="Runs admitted but waiting for a free run slot.")
    runs_queued: int | None = Field(
        None,
        description="Background runs in the shared run queue, for any server process with "
        "a free slot to take (None: the database did not answer).",
    )


class WorkflowInfo(BaseModel):
    """A served workflow."""

    name: str
    description: str
    kind: str = Field(description="compiled, state_graph, functional or factory")
    assistant_id: str = Field(description="Its assistant in the LangGraph API.")
    source: str = Field(description="Where it is loaded from, relative to the project.")
    nodes: list[str] | None = Field(description="Its nodes (null for a factory: built per run).")


class RunFailure(BaseModel):
    error_type: str | None = None
    message: str | None = None
    node: str | None = None
    kind: str | None = Field(
        None, description="What kind of failure (timeout, auth, rate_limit...), when known."
    )


class InvokeResult(BaseModel):
    """How a run ended: ``completed`` (``result``), ``interrupted`` (``interrupts``:
    resume with ``POST /sessions/{thread}/resume``) or ``failed`` (``error``)."""

    status: str
    thread_id: str
    run_id: str
    duration_ms: float | None
    result: Any = None
    interrupts: list[dict[str, Any]] | None = None
    error: RunFailure | None = None
    usage: RunUsage | None = Field(
        None, description="Tokens and cost of its model calls (null when it made none)."
    )
    trace_url: str | None = Field(
        None, description="Its trace in Langfuse, when tracing sends it there."
    )


class Session(BaseModel):
    """A thread: its checkpoints, latest state and newest run."""

    thread_id: str
    checkpoints: int
    latest_state: Any
    next: list[str]
    interrupts: list[dict[str, Any]]
    checkpoint_id: str | None
    status: str | None = Field(description="Status of the thread's newest run.")
    workflow: str | None
    created_at: str | None
    updated_at: str | None


class CheckpointRow(BaseModel):
    checkpoint_id: str
    parent_id: str | None
    step: int | None
    source: str | None
    writes: list[str]
    next: list[str]
    created_at: str | None


class SessionHistory(BaseModel):
    thread_id: str
    total: int
    checkpoints: list[CheckpointRow]


class RunInfo(BaseModel):
    """A recorded run."""

    run_id: str
    thread_id: str
    workflow: str
    kind: str
    status: RunStatus
    input: Any
    checkpoint_id: str | None
    created_at: str | None
    started_at: str | None
    ended_at: str | None
    duration_ms: float | None
    error: dict[str, Any] | None
    usage: RunUsage | None = Field(
        description="Tokens and cost of its model calls (null when it made none); a resumed "
        "run's include those before it stopped."
    )
    events: int = Field(description="How many events it has recorded.")
    trace_url: str | None = Field(
        None, description="Its trace in Langfuse, when tracing sends it there."
    )


class CancelResult(BaseModel):
    run_id: str
    cancelled: bool
    status: RunStatus


# -- routes ------------------------------------------------------------------------


@router.get("/health", responses=OPEN_ERROR_RESPONSES, openapi_extra=NO_AUTH)
async def health(ctx: Ctx) -> Health:
    """Liveness and load; needs no key."""
    hub = ctx.hub
    return Health(
        version=__version__,
        environment=ctx.settings.environment,
        workflows=ctx.catalog.names(),
        worker=os.getpid(),
        active_runs=hub.running if hub else 0,
        runs_waiting=hub.waiting if hub else 0,
        runs_queued=await _queued(ctx),
    )


async def _queued(ctx: ServerContext) -> int | None:
    if ctx.runner is None:
        return 0
    try:
        return await ctx.runner.io(ctx.runner.runs.queued_shared)
    except Exception:  # noqa: BLE001 - health answers while the database is away
        return None


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format.",
        },
        **OPEN_ERROR_RESPONSES,
    },
    openapi_extra=NO_AUTH,
)
async def metrics(ctx: Ctx) -> Response:
    """Prometheus metrics (runs, durations, HTTP, streams); needs no key."""
    ctx.metrics.active_runs.set(ctx.hub.running if ctx.hub else 0)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)


def _nodes(ctx: ServerContext, wf: LoadedWorkflow) -> list[str] | None:
    if wf.kind == "factory":
        return None
    return list(iter_graph_nodes(ctx.live_runner.executor(wf).graph()))


def _describe(ctx: ServerContext, name: str) -> WorkflowInfo:
    wf = ctx.catalog.workflows[name]
    return WorkflowInfo(
        **ctx.catalog.describe(name, ctx.settings.project_dir), nodes=_nodes(ctx, wf)
    )


@router.get("/workflows")
async def workflows(ctx: Ctx) -> list[WorkflowInfo]:
    """The served workflows."""
    return [_describe(ctx, n) for n in ctx.catalog.names()]


@router.get("/workflows/{name}")
async def workflow(name: WorkflowName, ctx: Ctx) -> WorkflowInfo:
    """One served workflow (by name or assistant id)."""
    return _describe(ctx, ctx.catalog.get(name).name)


async def _finish(ctx: ServerContext, handle: Any, response: Response) -> InvokeResult:
    """The run's outcome: 200 whether it completed, stopped at an interrupt or failed
    in the workflow's own code (``status`` says which, as the LangGraph API's
    ``__error__`` does); 409 when it was cancelled."""
    await handle.done.wait()
    last: RunEvent | None = handle.last
    record = ctx.live_runner.runs.get(handle.run_id)
    body = InvokeResult(
        status=record.status,
        thread_id=handle.thread_id,
        run_id=handle.run_id,
        duration_ms=record.duration_ms,
        usage=public_usage(record.usage),
        trace_url=(record.meta or {}).get("trace_url"),
    )
    if last is not None and last.type in ("run.completed", "interrupt"):
        body.result = last.data.get("output")
        if last.type == "interrupt":
            body.interrupts = list(last.data.get("interrupts") or [])
    elif last is not None and last.type == "run.failed":
        failure = {k: last.data.get(k) for k in ("error_type", "message", "node", "kind")}
        body.error = RunFailure(**(ctx.public_error(failure) or {}))
    else:
        raise ConflictError(
            f"run {handle.run_id} was cancelled", code="run_cancelled", run_id=handle.run_id
        )
    response.headers.update(_thread_header(handle.thread_id))
    return body


def _thread_header(thread_id: str) -> dict[str, str]:
    return {"X-Thread-Id": path_segment(thread_id)}


_THREAD_HEADER = {
    "X-Thread-Id": {
        "description": "The run's thread id, percent-encoded as a URL path segment.",
        "required": True,
        "schema": {"type": "string"},
    }
}
_RUN_HEADERS = {
    **_THREAD_HEADER,
    "X-Run-Id": {"description": "The run's id.", "required": True, "schema": {"type": "string"}},
}
#: The outcome of a run (invoke, resume), with its thread in a header.
_OUTCOME: Responses = {200: {"headers": _THREAD_HEADER}}


@router.post("/workflows/{name}/invoke", responses=_OUTCOME)
async def invoke(
    name: WorkflowName, request: InvokeRequest, ctx: Ctx, response: Response
) -> InvokeResult:
    """Run a workflow to its end (or its first interrupt) and answer how it ended."""
    wf = ctx.catalog.get(name)
    handle = await ctx.live_hub.launch(
        ctx.live_runner.astart(
            wf, request.input, thread_id=request.thread_id, context=request.context
        ),
        thread_id=request.thread_id,
    )
    return await _finish(ctx, handle, response)


@router.post(
    "/workflows/{name}/stream",
    response_class=EventStreamResponse,
    responses={200: {**SSE_RESPONSES[200], "headers": _RUN_HEADERS}},
)
async def stream(name: WorkflowName, request: InvokeRequest, ctx: Ctx) -> Response:
    """Run a workflow and stream its events as SSE (``id`` = seq, ``event`` = type)."""
    wf = ctx.catalog.get(name)
    handle = await ctx.live_hub.launch(
        ctx.live_runner.astart(
            wf, request.input, thread_id=request.thread_id, context=request.context
        ),
        thread_id=request.thread_id,
    )

    async def frames() -> Any:
        async for event in ctx.live_hub.follow(handle.run_id):
            yield event_frame(event, ctx.public)

    return sse_response(
        frames(), ctx.metrics, {"X-Run-Id": handle.run_id, **_thread_header(handle.thread_id)}
    )


@router.get("/sessions/{thread_id}")
async def session(thread_id: ThreadIdPath, ctx: Ctx) -> Session:
    """A thread: checkpoint count, latest state, next nodes, created/updated time."""
    from ...timetravel import state_at

    store = ctx.live_runner.store
    info = store.thread(thread_id)
    snap = state_at(store, thread_id)
    last = ctx.live_runner.runs.latest_for_thread(thread_id)
    return Session(
        thread_id=thread_id,
        checkpoints=info.checkpoints,
        latest_state=to_jsonable(snap.values),
        next=list(snap.next),
        interrupts=snap.interrupts,
        checkpoint_id=snap.checkpoint_id,
        status=last.status if last else None,
        workflow=last.workflow if last else None,
        created_at=iso(info.created_at),
        updated_at=iso(info.updated_at),
    )


@router.get("/sessions/{thread_id}/history")
async def session_history(
    thread_id: ThreadIdPath,
    ctx: Ctx,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> SessionHistory:
    """A page of the thread's checkpoints, newest first."""
    store = ctx.live_runner.store
    info = store.thread(thread_id)
    rows = store.history(thread_id, limit=limit, offset=offset)
    return SessionHistory(
        thread_id=thread_id,
        total=info.checkpoints,
        checkpoints=[
            CheckpointRow(
                checkpoint_id=c.checkpoint_id,
                parent_id=c.parent_id,
                step=c.step,
                source=c.source,
                writes=list(c.writes),
                next=list(c.next),
                created_at=iso(c.created_at),
            )
            for c in rows
        ],
    )


@router.get("/sessions/{thread_id}/runs")
async def session_runs(thread_id: ThreadIdPath, ctx: Ctx) -> list[RunInfo]:
    """The thread's runs, newest first (the last 100)."""
    ctx.live_runner.store.thread(thread_id)
    runs = ctx.live_runner.runs.list_runs(thread_id=thread_id, limit=100)
    return [_run_info(ctx, r) for r in runs]


@router.post("/sessions/{thread_id}/resume", responses=_OUTCOME)
async def resume(
    thread_id: ThreadIdPath, request: ResumeRequest, ctx: Ctx, response: Response
) -> InvokeResult:
    """Answer a thread's interrupt with ``value`` (or continue a stopped run)."""
    runner = ctx.live_runner
    runner.store.thread(thread_id)
    last = runner.runs.latest_for_thread(thread_id)
    if last is None:
        raise NotFoundError(f"no recorded run for thread {thread_id!r}", code="no_runs")
    wf = ctx.catalog.get(last.workflow)
    value = request.value if "value" in request.model_fields_set else NO_VALUE
    handle = await ctx.live_hub.launch(runner.aresume(wf, thread_id, value), thread_id=thread_id)
    return await _finish(ctx, handle, response)


def _run_info(ctx: ServerContext, r: RunRecord, events: int | None = None) -> RunInfo:
    return RunInfo(
        run_id=r.run_id,
        thread_id=r.thread_id,
        workflow=r.workflow,
        kind=r.kind,
        status=r.status,
        input=r.input,
        checkpoint_id=r.checkpoint_id,
        created_at=iso(r.created_at),
        started_at=iso(r.started_at),
        ended_at=iso(r.ended_at),
        duration_ms=r.duration_ms,
        error=ctx.public_error(r.error),
        usage=public_usage(r.usage),
        events=r.last_seq if events is None else events,
        trace_url=(r.meta or {}).get("trace_url"),
    )


@router.get("/runs/{run_id}")
async def run(run_id: IdPath, ctx: Ctx) -> RunInfo:
    """A recorded run (here or from any process on the same store)."""
    record = ctx.live_runner.runs.get(run_id)
    return _run_info(ctx, record, ctx.live_runner.runs.last_seq(run_id))


@router.post("/runs/{run_id}/cancel", status_code=202)
async def cancel(run_id: IdPath, ctx: Ctx) -> CancelResult:
    """Cancel a run executing in this server: answered once it has stopped (recorded
    as ``cancelled``, its checkpoints kept, its thread resumable). 409 when the run
    is not executing here (it ended, waits at an interrupt, or another process runs
    it)."""
    record = ctx.live_runner.runs.get(run_id)
    if not ctx.live_hub.cancel(run_id):
        raise ConflictError(_not_cancellable(ctx, record), code="not_cancellable", run_id=run_id)
    await ctx.live_hub.wait(run_id)
    status = ctx.live_runner.runs.get(record.run_id).status
    return CancelResult(run_id=run_id, cancelled=status == RunStatus.CANCELLED, status=status)


def _not_cancellable(ctx: ServerContext, record: RunRecord) -> str:
    current = ctx.live_runner.runs.get(record.run_id).status
    if current in TERMINAL:
        return f"run {record.run_id} has already ended ({current})"
    if current == RunStatus.INTERRUPTED:
        return (
            f"run {record.run_id} is waiting at an interrupt: nothing is executing "
            "(resume its thread, or leave it)"
        )
    return f"run {record.run_id} is executed by another server process"


@router.get("/runs/{run_id}/events", response_class=EventStreamResponse, responses=SSE_RESPONSES)
async def run_events(
    run_id: IdPath,
    ctx: Ctx,
    last_event_id: str = Header(
        "",
        alias="Last-Event-ID",
        max_length=20,
        pattern="^[0-9]*$",
        description="Replay events after this seq (what an EventSource sends on reconnect).",
    ),
    after: Annotated[
        int | None,
        Query(alias="last_event_id", ge=0, le=MAX_OFFSET),
        # absent is the only null a query can say
        WithJsonSchema(
            {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_OFFSET,
                "description": "Replay events after this seq (or the Last-Event-ID header).",
            }
        ),
    ] = None,
) -> Response:
    """The run's events as SSE: stored ones after ``Last-Event-ID``, then live ones
    until the run stops. Works after a server restart (events are persisted)."""
    ctx.live_runner.runs.get(run_id)
    start = after if after is not None else _parse_seq(last_event_id)

    async def frames() -> Any:
        async for event in ctx.live_hub.follow(run_id, start):
            yield event_frame(event, ctx.public)

    return sse_response(frames(), ctx.metrics)


def _parse_seq(value: str) -> int:
    """The seq in a Last-Event-ID header (digits, checked by the route); one beyond any
    event's is past all of them."""
    if not value:
        return 0
    return min(int(value), MAX_OFFSET)
