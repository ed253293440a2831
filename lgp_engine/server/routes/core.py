"""The LGP API: health, metrics, workflows, invoke/stream, sessions, runs and events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ...errors import NotFoundError
from ...events import RunEvent
from ...jsonable import to_jsonable
from ...runner import NO_VALUE
from ..context import Ctx, ServerContext
from ..metrics import CONTENT_TYPE
from ..sse import event_frame, sse_response

router = APIRouter()


class InvokeRequest(BaseModel):
    """Run a workflow: its input, and optionally the thread to run on."""

    model_config = ConfigDict(extra="forbid")
    input: dict[str, Any] = Field(default_factory=dict, description="The graph input.")
    thread_id: str | None = Field(
        None, min_length=1, max_length=200, description="Thread to continue; a new one if omitted."
    )
    context: dict[str, Any] | None = Field(None, description="Runtime context.")


class ResumeRequest(BaseModel):
    """Answer an interrupt (or continue a stopped run) of a thread."""

    model_config = ConfigDict(extra="forbid")
    value: Any = Field(None, description="The resume value for the waiting interrupt.")


@router.get("/health")
async def health(ctx: Ctx) -> dict[str, Any]:
    return {
        "status": "healthy",
        "workflows": ctx.catalog.names(),
        "environment": ctx.settings.environment,
        "active_runs": ctx.hub.running if ctx.hub else 0,
    }


@router.get("/metrics")
async def metrics(ctx: Ctx) -> Response:
    ctx.metrics.active_runs.set(ctx.hub.running if ctx.hub else 0)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/workflows")
async def workflows(ctx: Ctx) -> list[dict[str, Any]]:
    return [ctx.catalog.describe(n) for n in ctx.catalog.names()]


@router.get("/workflows/{name}")
async def workflow(name: str, ctx: Ctx) -> dict[str, Any]:
    wf = ctx.catalog.get(name)
    out = ctx.catalog.describe(wf.name)
    async with ctx.live_runner.executor(wf).agraph() as graph:
        out["nodes"] = [n for n in graph.nodes if n != "__start__"]
    return out


async def _finish(ctx: ServerContext, handle: Any) -> JSONResponse:
    await handle.done.wait()
    last: RunEvent | None = handle.last
    record = ctx.live_runner.runs.get(handle.run_id)
    body: dict[str, Any] = {
        "status": record.status,
        "thread_id": handle.thread_id,
        "run_id": handle.run_id,
        "duration_ms": record.duration_ms,
    }
    if last is not None and last.type == "run.completed":
        body["result"] = last.data.get("output")
        return JSONResponse(body)
    if last is not None and last.type == "interrupt":
        body["result"] = last.data.get("output")
        body["interrupts"] = last.data.get("interrupts", [])
        return JSONResponse(body)
    if last is not None and last.type == "run.failed":
        body["error"] = {k: last.data.get(k) for k in ("error_type", "message", "node")}
        body["detail"] = (
            f"the workflow failed: {last.data.get('error_type')}: {last.data.get('message')}"
        )
        return JSONResponse(body, status_code=500)
    body["detail"] = "the run was cancelled"
    return JSONResponse(body, status_code=409)


@router.post("/workflows/{name}/invoke")
async def invoke(name: str, request: InvokeRequest, ctx: Ctx) -> JSONResponse:
    """Run a workflow to its end (or its first interrupt) and return the result."""
    wf = ctx.catalog.get(name)
    handle = await ctx.live_hub.launch(
        ctx.live_runner.astart(
            wf, request.input, thread_id=request.thread_id, context=request.context
        ),
        thread_id=request.thread_id,
    )
    return await _finish(ctx, handle)


@router.post("/workflows/{name}/stream")
async def stream(name: str, request: InvokeRequest, ctx: Ctx) -> Response:
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
            yield event_frame(event)

    return sse_response(
        frames(), ctx.metrics, {"X-Run-Id": handle.run_id, "X-Thread-Id": handle.thread_id}
    )


def _session(ctx: ServerContext, thread_id: str) -> dict[str, Any]:
    from ...timetravel import state_at

    store = ctx.live_runner.store
    info = store.thread(thread_id)
    snap = state_at(store, thread_id)
    last = ctx.live_runner.runs.latest_for_thread(thread_id)
    return {
        "thread_id": thread_id,
        "checkpoints": info.checkpoints,
        "latest_state": to_jsonable(snap.values),
        "next": list(snap.next),
        "interrupts": snap.interrupts,
        "checkpoint_id": snap.checkpoint_id,
        "status": last.status if last else None,
        "workflow": last.workflow if last else None,
        "created_at": info.created_at.isoformat() if info.created_at else None,
        "updated_at": info.updated_at.isoformat() if info.updated_at else None,
    }


@router.get("/sessions/{thread_id}")
async def session(thread_id: str, ctx: Ctx) -> dict[str, Any]:
    """A thread: checkpoint count, latest state, next nodes, created/updated time."""
    return _session(ctx, thread_id)


@router.get("/sessions/{thread_id}/history")
async def session_history(
    thread_id: str, ctx: Ctx, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)
) -> dict[str, Any]:
    """A page of the thread's checkpoints, newest first."""
    store = ctx.live_runner.store
    info = store.thread(thread_id)
    rows = store.history(thread_id, limit=limit, offset=offset)
    return {
        "thread_id": thread_id,
        "total": info.checkpoints,
        "checkpoints": [
            {
                "checkpoint_id": c.checkpoint_id,
                "parent_id": c.parent_id,
                "step": c.step,
                "source": c.source,
                "writes": list(c.writes),
                "next": list(c.next),
                "created_at": c.created_at.isoformat() if c.created_at else None,
            }
            for c in rows
        ],
    }


@router.get("/sessions/{thread_id}/runs")
async def session_runs(thread_id: str, ctx: Ctx) -> list[dict[str, Any]]:
    ctx.live_runner.store.thread(thread_id)
    return [_run_json(r) for r in ctx.live_runner.runs.list_runs(thread_id=thread_id, limit=100)]


@router.post("/sessions/{thread_id}/resume")
async def resume(thread_id: str, request: ResumeRequest, ctx: Ctx) -> JSONResponse:
    """Answer a thread's interrupt with ``value`` (or continue a stopped run)."""
    runner = ctx.live_runner
    runner.store.thread(thread_id)
    last = runner.runs.latest_for_thread(thread_id)
    if last is None:
        raise NotFoundError(f"no recorded run for thread {thread_id!r}")
    wf = ctx.catalog.get(last.workflow)
    value = request.value if "value" in request.model_fields_set else NO_VALUE
    handle = await ctx.live_hub.launch(runner.aresume(wf, thread_id, value), thread_id=thread_id)
    return await _finish(ctx, handle)


def _run_json(r: Any) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "thread_id": r.thread_id,
        "workflow": r.workflow,
        "kind": r.kind,
        "status": r.status,
        "input": r.input,
        "checkpoint_id": r.checkpoint_id,
        "created_at": r.created_at,
        "started_at": r.started_at,
        "ended_at": r.ended_at,
        "duration_ms": r.duration_ms,
        "error": r.error,
        "events": r.last_seq,
    }


@router.get("/runs/{run_id}")
async def run(run_id: str, ctx: Ctx) -> dict[str, Any]:
    record = ctx.live_runner.runs.get(run_id)
    out = _run_json(record)
    out["events"] = ctx.live_runner.runs.last_seq(run_id)
    return out


@router.post("/runs/{run_id}/cancel", status_code=202)
async def cancel(run_id: str, ctx: Ctx) -> dict[str, Any]:
    record = ctx.live_runner.runs.get(run_id)
    cancelled = ctx.live_hub.cancel(run_id)
    if cancelled:
        await ctx.live_hub.wait(run_id)
    return {
        "run_id": run_id,
        "cancelled": cancelled,
        "status": ctx.live_runner.runs.get(record.run_id).status,
    }


@router.get("/runs/{run_id}/events")
async def run_events(
    run_id: str,
    ctx: Ctx,
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
    after: int | None = Query(
        None,
        alias="last_event_id",
        ge=0,
        description="Replay events after this seq (or the header).",
    ),
) -> Response:
    """The run's events as SSE: stored ones after ``Last-Event-ID``, then live ones
    until the run stops. Works after a server restart (events are persisted)."""
    ctx.live_runner.runs.get(run_id)
    start = after if after is not None else _parse_seq(last_event_id)

    async def frames() -> Any:
        async for event in ctx.live_hub.follow(run_id, start):
            yield event_frame(event)

    return sse_response(frames(), ctx.metrics)


def _parse_seq(value: str | None) -> int:
    if value is None or not value.strip():
        return 0
    try:
        return max(0, int(value.strip()))
    except ValueError:
        from ...errors import UsageError

        raise UsageError(
            f"Last-Event-ID must be an event seq (an integer), not {value!r}"
        ) from None
