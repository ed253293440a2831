"""LangGraph Agent Server compatible runs: create / stream / wait (on a thread or
stateless), join, cancel, get and list.

Every run goes through the same :class:`~lgp_engine.Runner` and run hub as the
LGP API, so it is recorded with its events and status; the official API's
fields (assistant, metadata, multitask strategy, kwargs) are kept in the run
record's ``meta``. The raw LangGraph stream parts of a run are turned into the
official SSE events by a :class:`~lgp_engine.server.lg_compat.LgStream`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import JsonDict

from ...errors import NotFoundError, UsageError
from ...ids import path_segment
from ...jsonable import dumps
from ...runner import Admission
from ...runs import Along, RunRecord, ThreadMerge, ThreadMeta, owner_alive
from ...status import IN_FLIGHT
from .. import run_queue, webhooks
from ..context import Ctx, ServerContext
from ..hub import RunHandle
from ..params import (
    MAX_OFFSET,
    IdPath,
    JsonObject,
    JsonValue,
    Offset,
    OpenBody,
    Responses,
    ThreadIdPath,
)
from ..sse import EventStreamResponse, frame, sse_response
from .assistants import caller_config, resolve, run_config
from .models import (
    CheckpointRef,
    CommandBody,
    MultitaskStrategy,
    Run,
    RunConfig,
    RunField,
    RunSelected,
    RunStatusName,
    StatelessCommand,
    StreamMode,
    answer,
    dump,
)
from .shapes import OUR_STATUSES, apply_select, command_from, run_json
from .streams import SSE_RESPONSES, THREAD_SSE_RESPONSES, LgStream, tap, wanted
from .threads import (
    has_checkpoints,
    require_thread,
    result_body,
    terminal_event,
)

Select = Annotated[list[RunField], Query(description="Fields to keep (all when none).")]

log = logging.getLogger(__name__)
router = APIRouter(tags=["LangGraph: runs"])

KEEPALIVE_SECONDS = 5.0
#: How long the stream of a run created with ``stream_resumable`` stays after it ended,
#: for clients that rejoin it with ``Last-Event-ID`` (in this server process).
RESUMABLE_SECONDS = 600.0
#: At most this many finished resumable streams are kept (the oldest go first).
KEPT_STREAMS = 200

Nodes = Literal["*"] | list[str] | None


#: ``config.configurable`` keys that are not context (see :func:`_context`).
_NOT_CONTEXT = ("thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map")
_NOT_CONTEXT_NAMES: JsonDict = {"enum": list(_NOT_CONTEXT)}
#: Both ``context`` and context in ``config.configurable``: 400, said in the schema.
_CONTEXT_TWICE: JsonDict = {
    "required": ["context", "config"],
    "properties": {
        "context": {"type": "object", "minProperties": 1},
        "config": {
            "type": "object",
            "required": ["configurable"],
            "properties": {
                "configurable": {
                    "type": "object",
                    "not": {
                        "propertyNames": {
                            "anyOf": [{"enum": list(_NOT_CONTEXT)}, {"pattern": "^__"}]
                        }
                    },
                }
            },
        },
    },
}


class RunCreate(OpenBody):
    """The body of ``runs.create`` / ``runs.stream`` / ``runs.wait`` on a thread.

    Context comes in ``context`` or (LangGraph before 0.6) in ``config.configurable``,
    not both.
    """

    model_config = ConfigDict(json_schema_extra={"not": _CONTEXT_TWICE})

    assistant_id: str = Field(
        ..., min_length=1, max_length=200, description="Assistant id or graph name."
    )
    input: JsonValue = Field(
        None,
        description="The graph input: an object of state keys (any value for a functional "
        "workflow); null to continue from the thread's state.",
    )
    command: CommandBody | None = None
    config: RunConfig | None = None
    context: JsonObject | None = None
    metadata: JsonObject | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None
    interrupt_before: Nodes = Field(None, description="Node names of the assistant's graph.")
    interrupt_after: Nodes = Field(None, description="Node names of the assistant's graph.")
    webhook: (
        Annotated[
            str,
            Field(
                max_length=4096,
                pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]+",
                description="Called (POST, the run and its values) once the run ends; "
                "its host must be allowed by the server's webhooks config.",
            ),
        ]
        | None
    ) = None
    multitask_strategy: MultitaskStrategy | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    on_disconnect: Literal["cancel", "continue"] | None = None
    stream_mode: StreamMode | list[StreamMode] | None = None
    stream_subgraphs: bool | None = False
    stream_resumable: bool | None = False
    feedback_keys: list[str] | None = None
    after_seconds: float | None = Field(None, ge=0, le=MAX_OFFSET)
    durability: Literal["sync", "async", "exit"] | None = None
    checkpoint_during: bool | None = None


class StatelessRunCreate(RunCreate):
    """The body of a run without a thread (``/runs``, ``/runs/stream``, ``/runs/wait``)."""

    command: StatelessCommand | None = None  # type: ignore[assignment]


# --------------------------------------------------------------------------- launching


def _streams(ctx: ServerContext) -> dict[str, LgStream]:
    return ctx.extra.setdefault("lg_streams", {})


def _background(ctx: ServerContext, coro: Awaitable[None]) -> None:
    tasks: set[asyncio.Task[None]] = ctx.extra.setdefault("lg_tasks", set())
    task = asyncio.ensure_future(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _retire(ctx: ServerContext, run_id: str) -> None:
    """Keep a finished run's stream buffer for :data:`RESUMABLE_SECONDS` (at most
    :data:`KEPT_STREAMS` of them: the oldest goes first)."""
    kept: collections.deque[str] = ctx.extra.setdefault("lg_kept", collections.deque())
    kept.append(run_id)
    while len(kept) > KEPT_STREAMS:
        _streams(ctx).pop(kept.popleft(), None)
    asyncio.get_running_loop().call_later(RESUMABLE_SECONDS, _streams(ctx).pop, run_id, None)


def _watchers(ctx: ServerContext) -> dict[str, set[asyncio.Queue[str]]]:
    """The thread streams open in this process, by thread: each hears new run ids."""
    return ctx.extra.setdefault("lg_thread_watchers", {})


def _announce(ctx: ServerContext, thread_id: str, run_id: str) -> None:
    for queue in _watchers(ctx).get(thread_id, ()):
        queue.put_nowait(run_id)


def _modes(value: StreamMode | list[StreamMode] | None, default: list[str]) -> list[str]:
    """The requested stream modes (their names were checked with the body)."""
    return default if value is None else [value] if isinstance(value, str) else list(value)


async def _nodes(ctx: ServerContext, wf: Any, value: Nodes) -> list[str] | None:
    if value is None:
        return None
    if value == "*":
        async with ctx.live_runner.executor(wf).agraph() as graph:
            return [n for n in graph.nodes if n != "__start__"]
    return list(value)


async def _context(
    ctx: ServerContext, wf: Any, body: RunCreate, stored: dict[str, Any] | None = None
) -> Any:
    """``context``, or the caller's ``config.configurable`` as context (LangGraph >= 0.6),
    over the assistant's ``stored`` context, keeping only the keys of the graph's context
    schema when it has one."""
    configurable = {
        k: v
        for k, v in ((body.config.configurable if body.config else None) or {}).items()
        if k not in _NOT_CONTEXT and not k.startswith("__")
    }
    if body.context and configurable:
        raise HTTPException(
            400, "Cannot specify both configurable and context. Prefer setting context alone."
        )
    context = {**(stored or {}), **(body.context or configurable)}
    if not context:
        return None
    if wf.kind == "factory":
        return context
    async with ctx.live_runner.executor(wf).agraph() as graph:
        if getattr(graph, "context_schema", None) is None:
            return context
        try:
            props = (graph.get_context_jsonschema() or {}).get("properties")
        except Exception:  # noqa: BLE001 - no usable schema: pass everything
            props = None
    return {k: v for k, v in context.items() if k in props} if props else context


def _same_run(
    config: dict[str, Any], thread_id: str, stateless: bool, checkpoint_id: str | None
) -> None:
    """A ``config.configurable`` naming another thread or checkpoint than the run's
    own is refused (400), never silently replaced: the run's thread is the path's (or
    a new one), its checkpoint the request's ``checkpoint_id``."""
    configurable = config.get("configurable") or {}
    given = configurable.get("thread_id")
    if given not in (None, "") and (stateless or given != thread_id):
        where = "a new thread" if stateless else f"thread {thread_id}"
        raise HTTPException(
            400,
            f"config.configurable.thread_id is {given!r} but this run is on {where}; "
            "leave it out (the URL picks the thread)",
        )
    cp = configurable.get("checkpoint_id")
    if cp not in (None, "") and cp != checkpoint_id:
        raise HTTPException(
            400,
            f"config.configurable.checkpoint_id is {cp!r} but the run starts from "
            f"{checkpoint_id!r}; give one checkpoint_id",
        )


@dataclass
class _Request:
    """A run request, validated: what recording and starting it need."""

    wf: Any
    thread_id: str
    stateless: bool
    temporary: bool
    payload: Any
    context: Any
    run_cfg: dict[str, Any]
    interrupt_before: list[str] | None
    interrupt_after: list[str] | None
    checkpoint_id: str | None
    strategy: MultitaskStrategy
    meta: dict[str, Any]
    #: The thread's record as read while validating (None: none, or not read)
    thread: ThreadMeta | None = None


async def _prepare(
    ctx: ServerContext,
    thread_id: str | None,
    body: RunCreate,
    *,
    modes: list[str],
    subgraphs: bool,
    existing: RunRecord | None = None,
) -> _Request:
    """Validate a run request (4xx for a bad one); nothing is recorded yet."""
    assistant = resolve(ctx, body.assistant_id)
    wf = assistant.workflow
    if body.webhook:
        webhooks.check_webhook(ctx.settings.webhooks, body.webhook)
    stateless = thread_id is None
    command = dump(body.command)
    config = dump(body.config) or {}
    temporary = stateless and body.on_completion != "keep"
    if existing is not None:
        temporary = bool(((existing.meta or {}).get("kwargs") or {}).get("temporary"))
    thread: ThreadMeta | None = None
    if thread_id is None:
        thread_id = str(uuid.uuid4())
    elif (body.if_not_exists or "reject") != "create":
        # it exists when created through the API, or known to the checkpointer
        thread = ctx.live_runner.runs.get_thread(thread_id)
        if thread is None and not has_checkpoints(ctx, thread_id):
            raise HTTPException(404, "Thread or assistant not found.")
    context = await _context(ctx, wf, body, assistant.record.context)
    # the assistant's config, the request's on top (configurable: the run's values)
    run_cfg = run_config(
        assistant.record, config, body.context or caller_config(config).get("configurable")
    )
    interrupt_before = await _nodes(ctx, wf, body.interrupt_before)
    interrupt_after = await _nodes(ctx, wf, body.interrupt_after)
    payload = command_from(command) if command is not None else body.input
    try:  # any JSON fits the document (an @entrypoint takes it); a StateGraph's is an object
        ctx.live_runner.check_input(wf, payload)
    except UsageError as exc:
        raise HTTPException(400, exc.describe(hint=False)) from None
    configured = (config.get("configurable") or {}).get("checkpoint_id")
    checkpoint_id = (
        body.checkpoint_id
        or (body.checkpoint.checkpoint_id if body.checkpoint else None)
        or (configured if isinstance(configured, str) and configured else None)
    )
    _same_run(config, thread_id, stateless, checkpoint_id)
    strategy = body.multitask_strategy or "enqueue"
    assistant_id = assistant.record.assistant_id
    meta = {
        "api": "langgraph",
        "assistant_id": assistant_id,
        "metadata": body.metadata or {},
        "multitask_strategy": strategy,
        "kwargs": {
            "input": body.input,
            "command": command,
            "config": _redacted(ctx, run_cfg),  # kept on the run: no secret-named value
            "context": context if isinstance(context, dict) else {},
            "stream_mode": modes,
            "interrupt_before": body.interrupt_before,
            "interrupt_after": body.interrupt_after,
            "webhook": body.webhook,
            "feedback_keys": body.feedback_keys,
            "temporary": temporary,
            "subgraphs": subgraphs,
            "resumable": bool(body.stream_resumable),
            "checkpoint_during": body.checkpoint_during
            if body.checkpoint_during is not None
            else True,
            "durability": body.durability or "async",
        },
    }
    if existing is not None:
        meta = existing.meta or meta
    return _Request(
        wf,
        thread_id,
        stateless,
        temporary,
        payload,
        context,
        run_cfg,
        interrupt_before,
        interrupt_after,
        checkpoint_id,
        strategy,
        meta,
        thread,
    )


async def _record(
    ctx: ServerContext, req: _Request, *, shared: bool = False, along: Along | None = None
) -> RunRecord:
    """Record the run as queued (``shared``: in the shared run queue; ``along``:
    written in the same transaction)."""
    runner = ctx.live_runner
    assistant_id = req.meta.get("assistant_id")

    def record() -> RunRecord:  # one trip off the event loop for both
        return runner.queue(
            req.wf,
            req.payload,
            thread_id=req.thread_id,
            checkpoint_id=req.checkpoint_id,
            meta=req.meta,
            shared=shared,
            along=along,
            # the thread's record names the graph; the merge starts from what _prepare
            # read (on PostgreSQL: in the statement that records the run)
            thread=ThreadMerge({"graph_id": req.wf.name, "assistant_id": assistant_id}, req.thread),
        )

    return await runner.io(record)


async def start_run(
    ctx: ServerContext,
    thread_id: str | None,
    body: RunCreate,
    *,
    modes: list[str],
    subgraphs: bool,
    gate: asyncio.Event | None = None,
    existing: RunRecord | None = None,
    along: Along | None = None,
) -> tuple[RunHandle, LgStream]:
    """Validate a run request and start it here; returns once the run is recorded.

    ``existing`` is a queued run this process claimed (from the shared run queue, or
    of a server process that died: :mod:`lgp_engine.server.adoption`): ``body`` is its
    request again, and it starts under its own id instead of a new one. ``along`` is
    written in the transaction that records a new run (a cron tick's claim)."""
    req = await _prepare(ctx, thread_id, body, modes=modes, subgraphs=subgraphs, existing=existing)
    queued = existing if existing is not None else await _record(ctx, req, along=along)
    return await _launch(ctx, req, queued, body, modes, subgraphs, gate, owned=existing is None)


async def _launch(
    ctx: ServerContext,
    req: _Request,
    queued: RunRecord,
    body: RunCreate,
    modes: list[str],
    subgraphs: bool,
    gate: asyncio.Event | None,
    *,
    owned: bool,
) -> tuple[RunHandle, LgStream]:
    """Start a recorded run in this process (``owned``: recorded by this request,
    deleted again if refused)."""
    runs = ctx.live_runner.runs
    agents = ctx.live_runner.agents
    stream = LgStream(modes, subgraphs, ctx.public, agents.redactor if agents else None)
    stream.thread_id = req.thread_id
    strategy = req.strategy

    def replaced(ids: list[str]) -> None:
        forget_runs(ctx, ids)

    try:
        handle = await ctx.live_hub.launch(
            tap(
                ctx.live_runner.astart(
                    req.wf,
                    req.payload,
                    thread_id=req.thread_id,
                    context=req.context,
                    interrupt_before=req.interrupt_before,
                    interrupt_after=req.interrupt_after,
                    checkpoint_id=req.checkpoint_id,
                    on_part=stream.on_part,
                    meta=req.meta,
                    config=req.run_cfg,
                    run_id=queued.run_id,
                    record=queued,
                    on_lc_event=stream.on_lc_event if stream.wants_lc_events else None,
                    # runs of the thread in other processes (this one's: the hub's turn)
                    admission=Admission(
                        strategy, on_replaced=replaced if strategy == "rollback" else None
                    ),
                ),
                stream,
            ),
            thread_id=req.thread_id,
            strategy=strategy,
            queued=queued.run_id,
            on_stop=stream.stopped,
            on_replaced=replaced if strategy == "rollback" else None,
        )
    except BaseException:
        if owned and queued.run_id not in ctx.live_hub.active:  # refused
            runs.delete_run(queued.run_id)
        if req.stateless:
            runs.delete_thread(req.thread_id)
        raise
    _streams(ctx)[handle.run_id] = stream
    _announce(ctx, handle.thread_id, handle.run_id)
    _background(
        ctx,
        _after(
            ctx,
            handle,
            req.temporary,
            gate,
            keep=bool(body.stream_resumable),
            webhook=body.webhook,
        ),
    )
    return handle, stream


def forget_runs(ctx: ServerContext, run_ids: list[str]) -> None:
    """Delete runs as a rollback does: their checkpoints (the thread's state goes back
    to what it was before them), their records and events, their stream buffers."""
    ctx.live_runner.forget_runs(run_ids)
    for run_id in run_ids:
        _streams(ctx).pop(run_id, None)


async def _after(
    ctx: ServerContext,
    handle: RunHandle,
    temporary: bool,
    gate: asyncio.Event | None,
    *,
    keep: bool = False,
    webhook: str | None = None,
) -> None:
    """When the run stops: call its ``webhook``; drop its stream buffer (``keep``: a
    resumable stream's stays :data:`RESUMABLE_SECONDS` for clients that rejoin); delete
    a temporary (stateless) thread once its response was sent. A run this process
    handed over as it stopped (still in flight) owes none of it here: the process
    that goes on with it does (:func:`after_adopted`)."""
    await handle.done.wait()
    run_queue.wake(ctx)  # a slot, and the run's thread, are free
    if ctx.live_hub.closing and await _handed_over(ctx, handle.run_id):
        _streams(ctx).pop(handle.run_id, None)
        return
    if webhook:
        body = _webhook_body(ctx, handle)  # before a temporary thread is forgotten
        if body is not None:
            _background(ctx, webhooks.call(ctx.settings.webhooks, webhook, body))
    if keep:
        _retire(ctx, handle.run_id)
    else:
        _streams(ctx).pop(handle.run_id, None)
    if not temporary:
        return
    if gate is not None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(gate.wait(), timeout=60)
    with contextlib.suppress(Exception):
        ctx.live_runner.forget_thread(handle.thread_id)


async def _handed_over(ctx: ServerContext, run_id: str) -> bool:
    """Whether a run that stopped here is still in flight (handed over as the server
    stopped: it goes on in another process)."""
    runner = ctx.live_runner
    try:
        record = await runner.io(runner.runs.get, run_id)
    except NotFoundError:
        return False
    return record.status in IN_FLIGHT


def after_adopted(ctx: ServerContext, handle: RunHandle, kwargs: dict[str, Any]) -> None:
    """What a run taken over from a dead process still owes its caller when it stops
    (its webhook; a stateless run's thread deleted), as :func:`start_run` arranges."""
    temporary = bool(kwargs.get("temporary"))
    _background(ctx, _after(ctx, handle, temporary, None, webhook=kwargs.get("webhook")))


def _redacted(ctx: ServerContext, value: Any) -> Any:
    agents = ctx.live_runner.agents
    return agents.redactor(value) if agents is not None else value


def _webhook_body(ctx: ServerContext, handle: RunHandle) -> dict[str, Any] | None:
    """The run as its webhook receives it (None when it was deleted: rolled back)."""
    from ...timetravel import state_at

    try:
        record = ctx.live_runner.runs.get(handle.run_id)
    except NotFoundError:
        return None
    try:
        values: Any = state_at(ctx.live_runner.store, handle.thread_id).values
    except NotFoundError:
        values = None
    return webhooks.payload(run_json(record), values, ctx.public_error(record.error))


def _run_url(handle: RunHandle | RunRecord) -> str:
    """The run's URL path (a thread id may hold any printable character: encoded)."""
    return f"/threads/{path_segment(handle.thread_id)}/runs/{handle.run_id}"


def _location(handle: RunHandle | RunRecord, stateless: bool) -> dict[str, str]:
    if stateless:
        return {"Content-Location": f"/runs/{handle.run_id}"}
    return {"Content-Location": _run_url(handle)}


# --------------------------------------------------------------------------- responses


def _finished(task: asyncio.Future[Any]) -> Any:
    """A waited-for result; once the answer has started (200 and keep-alives sent) a
    failure can only be told in the body, as the Agent Server's ``__error__``."""
    try:
        return task.result()
    except (NotFoundError, HTTPException):
        message = "the run or its thread was deleted while it was awaited"
        return {"__error__": {"error": "NotFoundError", "message": message}}
    except Exception:
        log.exception("a waited-for run's answer failed")
        return {"__error__": {"error": "InternalError", "message": "internal server error"}}


def _json_when_done(
    result: Awaitable[Any],
    *,
    on_abort: Any = None,
    gate: asyncio.Event | None = None,
    headers: dict[str, str] | None = None,
    waited: bool = False,
) -> StreamingResponse:
    """JSON once ``result`` is ready, with newline keep-alives meanwhile (like the
    official server: leading whitespace is ignored by JSON parsers); ``waited``: a
    keep-alive is due at once."""

    async def body() -> AsyncIterator[bytes]:
        task = asyncio.ensure_future(result)
        sent = False
        try:
            if waited:
                yield b"\n"
            while True:
                done, _ = await asyncio.wait({task}, timeout=KEEPALIVE_SECONDS)
                if done:
                    break
                yield b"\n"
            yield dumps(_finished(task)).encode()
            sent = True
        finally:
            if not task.done():
                task.cancel()
            if not sent and on_abort is not None:
                on_abort()
            if gate is not None:
                gate.set()

    return StreamingResponse(body(), media_type="application/json", headers=headers)


async def _outcome(ctx: ServerContext, handle: RunHandle, stream: LgStream | None) -> Any:
    await handle.done.wait()
    terminal = (stream.terminal if stream is not None else None) or (
        handle.last if handle.last is not None and handle.last.is_terminal else None
    )
    if terminal is None:
        record = ctx.live_runner.runs.get(handle.run_id)
        if record.status in IN_FLIGHT:  # handed over as this server stops: it ends elsewhere
            return await _stored_outcome(ctx, record)
        terminal = terminal_event(ctx, record)
    return result_body(
        ctx, handle.thread_id, terminal, stream.last_values if stream is not None else None
    )


async def _stored_outcome(ctx: ServerContext, record: RunRecord) -> Any:
    """The wait/join body of a run: waits while it is in flight (here or elsewhere)."""
    runs = ctx.live_runner.runs
    while True:
        handle = ctx.live_hub.active.get(record.run_id)
        if handle is not None:
            return await _outcome(ctx, handle, _streams(ctx).get(record.run_id))
        # in flight elsewhere, in the shared queue, or claimed here and about to start
        if record.status not in IN_FLIGHT or not owner_alive(record.owner):
            return result_body(ctx, record.thread_id, terminal_event(ctx, record))
        await ctx.live_hub.signals.wait(record.run_id)
        record = await ctx.live_runner.io(runs.get, record.run_id)


def _cancel_on(ctx: ServerContext, handle: RunHandle, body: RunCreate) -> Any:
    if body.on_disconnect != "cancel":
        return None
    return lambda: ctx.live_hub.cancel(handle.run_id, "the client disconnected")


async def _create(ctx: ServerContext, thread_id: str | None, body: RunCreate) -> JSONResponse:
    """A run in the background: started here, or (this process is full, or runs of its
    thread wait there) recorded in the shared run queue for any process to take."""
    modes = _modes(body.stream_mode, ["values"])
    subgraphs = bool(body.stream_subgraphs)
    req = await _prepare(ctx, thread_id, body, modes=modes, subgraphs=subgraphs)
    async with run_queue.slot(ctx) as free:
        if not free or await run_queue.thread_queued(ctx, req.thread_id):
            record = await _record(ctx, req, shared=True)
            run_queue.wake(ctx)
        else:
            handle, _ = await _launch(
                ctx, req, await _record(ctx, req), body, modes, subgraphs, None, owned=True
            )
            record = await ctx.live_runner.io(ctx.live_runner.runs.get, handle.run_id)
    return JSONResponse(run_json(record), headers=_location(record, thread_id is None))


async def _wait(ctx: ServerContext, thread_id: str | None, body: RunCreate) -> Response:
    gate = asyncio.Event()
    handle, stream = await start_run(ctx, thread_id, body, modes=[], subgraphs=False, gate=gate)
    headers = _location(handle, thread_id is None)
    headers["Location"] = f"{_run_url(handle)}/join"
    outcome = asyncio.ensure_future(_outcome(ctx, handle, stream))
    on_abort = _cancel_on(ctx, handle, body)
    if on_abort is None:
        # Most runs end before the first keep-alive is due: their answer is then a
        # plain response, without the streaming one's disconnect watcher and task
        # group (a run that the client's going away cancels streams from the start).
        try:
            done, _ = await asyncio.wait({outcome}, timeout=KEEPALIVE_SECONDS)
        except BaseException:
            outcome.cancel()
            raise
        if done:
            gate.set()
            return Response(
                dumps(_finished(outcome)).encode(), media_type="application/json", headers=headers
            )
    return _json_when_done(
        outcome, on_abort=on_abort, gate=gate, headers=headers, waited=on_abort is None
    )


async def _stream(ctx: ServerContext, thread_id: str | None, body: RunCreate) -> Response:
    modes = _modes(body.stream_mode, ["values"])
    gate = asyncio.Event()
    handle, stream = await start_run(
        ctx, thread_id, body, modes=modes, subgraphs=bool(body.stream_subgraphs), gate=gate
    )
    headers = _location(handle, thread_id is None)
    if thread_id is not None:  # where the SDK rejoins the stream (with Last-Event-ID)
        headers["Location"] = f"{_run_url(handle)}/stream"
    return sse_response(
        _frames(handle.run_id, stream, handle, _cancel_on(ctx, handle, body), gate),
        ctx.metrics,
        headers,
    )


async def _frames(
    run_id: str,
    stream: LgStream | None,
    handle: RunHandle | None,
    on_abort: Any,
    gate: asyncio.Event | None,
    *,
    start: int = 0,
    modes: frozenset[str] = frozenset(),
    metadata: bool = True,
) -> AsyncIterator[bytes]:
    """``metadata`` first, then the run's events after the ``start``-th, each with its
    id (its place in the stream), those of ``modes`` only when given; no ``end``
    event. The stream closes only once the run's status is final, so a client that
    checks it sees the end."""
    finished = False
    try:
        if metadata:
            yield frame("metadata", {"run_id": run_id, "attempt": 1})
        if stream is not None:
            i = start
            async for name, data in stream.follow(start):
                i += 1
                if wanted(name, modes):
                    yield frame(name, data, i)
        if handle is not None:
            await handle.done.wait()
        finished = True
    finally:
        if not finished and on_abort is not None:
            on_abort()
        if gate is not None:
            gate.set()


# --------------------------------------------------------------------------- thread runs

_CONTENT_LOCATION = {
    "Content-Location": {
        "description": "The run's URL (``/threads/{thread_id}/runs/{run_id}``, or "
        "``/runs/{run_id}`` for a run without a thread).",
        "required": True,
        "schema": {"type": "string"},
    }
}
_CREATED = answer(Run, "The run, started.", _CONTENT_LOCATION)
_STREAMED: Responses = {200: {**SSE_RESPONSES[200], "headers": _CONTENT_LOCATION}}
_OUTCOME_TEXT = (
    "How the run ended, once it has (newlines keep the connection alive meanwhile): its "
    "final values; with `__interrupt__` when it stopped at an interrupt; "
    '`{"__error__": {"error", "message"}}` when the workflow failed.'
)
_WAITED: Responses = {
    200: {
        "description": _OUTCOME_TEXT,
        "content": {"application/json": {"schema": {}}},
        "headers": {
            **_CONTENT_LOCATION,
            "Location": {
                "description": "Where to join the run (``.../join``).",
                "required": True,
                "schema": {"type": "string"},
            },
        },
    }
}
_JOINED: Responses = {
    200: {"description": _OUTCOME_TEXT, "content": {"application/json": {"schema": {}}}}
}


@router.post("/threads/{thread_id}/runs", response_model=None, responses=_CREATED)
async def create_run(thread_id: ThreadIdPath, body: RunCreate, ctx: Ctx) -> Response:
    """Start a run in the background; returns the Run."""
    return await _create(ctx, thread_id, body)


@router.post(
    "/threads/{thread_id}/runs/stream",
    response_class=EventStreamResponse,
    response_model=None,
    responses=_STREAMED,
)
async def stream_run(thread_id: ThreadIdPath, body: RunCreate, ctx: Ctx) -> Response:
    """Start a run and stream it as SSE in the official event format."""
    return await _stream(ctx, thread_id, body)


@router.post("/threads/{thread_id}/runs/wait", response_model=None, responses=_WAITED)
async def wait_run(thread_id: ThreadIdPath, body: RunCreate, ctx: Ctx) -> Response:
    """Start a run and answer its final values (or ``__interrupt__`` / ``__error__``)."""
    return await _wait(ctx, thread_id, body)


@router.get(
    "/threads/{thread_id}/runs",
    response_model=None,
    responses=answer(list[RunSelected], "The runs (the selected fields, if any)."),
)
async def list_runs(
    thread_id: ThreadIdPath,
    ctx: Ctx,
    limit: int = Query(10, ge=1, le=1000),
    offset: Offset = 0,
    status: RunStatusName | Literal["all"] = "all",
    select: Select = [],  # noqa: B006 - FastAPI copies parameter defaults
) -> list[dict[str, Any]]:
    """The thread's runs, newest first (``status`` in the official vocabulary)."""
    runs = ctx.live_runner.runs
    if status == "all":
        records = runs.list_runs(thread_id=thread_id, limit=limit, offset=offset)
    else:
        wanted = OUR_STATUSES.get(status, frozenset())
        records = [
            r for r in runs.list_runs(thread_id=thread_id, limit=100000) if r.status in wanted
        ][offset : offset + limit]
    if not records:
        require_thread(ctx, thread_id)  # an unknown (or deleted) thread is 404, not []
    return [apply_select(run_json(r), select) for r in records]


def _run_of(ctx: ServerContext, thread_id: str, run_id: str) -> RunRecord:
    try:
        record = ctx.live_runner.runs.get(run_id)
    except NotFoundError:
        raise HTTPException(404, f"Run {run_id} not found") from None
    if record.thread_id != thread_id:
        raise HTTPException(404, f"Run {run_id} not found in thread {thread_id}")
    return record


@router.get("/threads/{thread_id}/runs/{run_id}", response_model=None, responses=answer(Run))
async def get_run(thread_id: ThreadIdPath, run_id: IdPath, ctx: Ctx) -> dict[str, Any]:
    return run_json(_run_of(ctx, thread_id, run_id))


@router.get("/threads/{thread_id}/runs/{run_id}/join", response_model=None, responses=_JOINED)
async def join_run(thread_id: ThreadIdPath, run_id: IdPath, ctx: Ctx) -> Response:
    """Wait for the run to stop and answer like ``runs.wait``."""
    record = _run_of(ctx, thread_id, run_id)
    return _json_when_done(_stored_outcome(ctx, record))


LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=200,
        description="Resume after this event (an `id` the stream sent); `-1`, `-` or an id "
        "this stream did not send: from the first event.",
    ),
    WithJsonSchema({"type": "string", "maxLength": 200}),  # absent, never null
]
JoinModes = Annotated[
    list[StreamMode | Literal[""]],
    Query(description="Only these of the run's stream modes (all when none)."),
]


def _after_id(last_event_id: str | None) -> int:
    """How many of a stream's events the client already has."""
    value = (last_event_id or "").strip()
    return int(value) if value.isascii() and value.isdigit() else 0


@router.get(
    "/threads/{thread_id}/runs/{run_id}/stream",
    response_class=EventStreamResponse,
    response_model=None,
    responses=SSE_RESPONSES,
)
async def join_run_stream(
    thread_id: ThreadIdPath,
    run_id: IdPath,
    ctx: Ctx,
    last_event_id: LastEventId = None,
    stream_mode: JoinModes = [],  # noqa: B006 - FastAPI copies parameter defaults
    cancel_on_disconnect: bool = False,
) -> Response:
    """Follow a run of this process from its first event, or after ``Last-Event-ID``
    (then without a new ``metadata``): live while it runs; a run created with
    ``stream_resumable`` can be rejoined for a while after it ended. Another run
    (ended, or in another process) yields only ``metadata``."""
    record = _run_of(ctx, thread_id, run_id)
    handle = ctx.live_hub.active.get(record.run_id)
    stream = _streams(ctx).get(record.run_id)
    on_abort = None
    if cancel_on_disconnect and handle is not None:
        on_abort = lambda: ctx.live_hub.cancel(run_id, "the client disconnected")  # noqa: E731
    return sse_response(
        _frames(
            run_id,
            stream,
            handle,
            on_abort,
            None,
            start=_after_id(last_event_id),
            modes=frozenset(m for m in stream_mode if m),
            metadata=last_event_id is None,
        ),
        ctx.metrics,
    )


ThreadModes = Annotated[
    list[Literal["run_modes", "lifecycle", "state_update", ""]],
    Query(
        alias="stream_mode",
        description="`run_modes` (default): every event of each run, and `run_done` when "
        "it ends; `lifecycle`: only `metadata` (a run starts) and `run_done`; "
        "`state_update`: only the runs' `values`.",
    ),
]
ThreadLastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=200,
        description="Resume after this event (`RUN_ID:N`, an `id` the stream sent); `-` "
        "(or an id it did not send): from the first event of every run still kept.",
    ),
    WithJsonSchema({"type": "string", "maxLength": 200}),  # absent, never null
]


@router.get(
    "/threads/{thread_id}/stream",
    response_class=EventStreamResponse,
    response_model=None,
    responses=THREAD_SSE_RESPONSES,
)
async def join_thread_stream(
    thread_id: ThreadIdPath,
    ctx: Ctx,
    last_event_id: ThreadLastEventId = None,
    stream_mode: ThreadModes = [],  # noqa: B006 - FastAPI copies parameter defaults
) -> Response:
    """The runs of a thread, one after the other as they execute in this process, until
    the client closes the stream: runs in flight from their first event, then each
    new one. Events have ids ``RUN_ID:N``; ``Last-Event-ID`` resumes after one (``-``:
    every run whose stream is still kept, from its start)."""
    require_thread(ctx, thread_id)
    wanted_modes = frozenset(m for m in stream_mode if m) or frozenset({"run_modes"})
    resume_run: str | None = None
    resume_at = 0
    run, _, n = (last_event_id or "").strip().rpartition(":")
    if run and n.isascii() and n.isdigit():
        resume_run, resume_at = run, int(n)
    elif last_event_id is not None:
        last_event_id = "-"
    return sse_response(
        _thread_frames(ctx, thread_id, wanted_modes, last_event_id, resume_run, resume_at),
        ctx.metrics,
    )


async def _thread_frames(
    ctx: ServerContext,
    thread_id: str,
    modes: frozenset[str],
    last_event_id: str | None,
    resume_run: str | None,
    resume_at: int,
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    watchers = _watchers(ctx)
    watchers.setdefault(thread_id, set()).add(queue)
    try:
        known = [rid for rid, st in list(_streams(ctx).items()) if st.thread_id == thread_id]
        if resume_run is not None and resume_run in known:
            known = known[known.index(resume_run) :]
        elif last_event_id != "-":
            known = [rid for rid in known if rid in ctx.live_hub.active]
        for rid in known:
            queue.put_nowait(rid)
        seen: set[str] = set()
        while True:
            run_id = await queue.get()
            stream = _streams(ctx).get(run_id)
            if run_id in seen or stream is None:
                continue
            seen.add(run_id)
            start = resume_at if run_id == resume_run else 0
            if start == 0 and modes & {"run_modes", "lifecycle"}:
                yield frame("metadata", {"run_id": run_id, "attempt": 1})
            i = start
            async for name, data in stream.follow(start):
                i += 1
                if "run_modes" in modes or ("state_update" in modes and name == "values"):
                    yield frame(name, data, f"{run_id}:{i}")
            handle = ctx.live_hub.active.get(run_id)
            if handle is not None:
                await handle.done.wait()
            if modes & {"run_modes", "lifecycle"}:
                yield frame("run_done", {"run_id": run_id, "status": _status_of(ctx, run_id)})
    finally:
        found = watchers.get(thread_id)
        if found is not None:
            found.discard(queue)
            if not found:
                watchers.pop(thread_id, None)


def _status_of(ctx: ServerContext, run_id: str) -> str:
    try:
        return str(run_json(ctx.live_runner.runs.get(run_id))["status"])
    except NotFoundError:  # deleted (rolled back)
        return "interrupted"


@router.post(
    "/threads/{thread_id}/runs/{run_id}/cancel",
    status_code=202,
    response_class=Response,  # no media type: the 202 has no body
    response_model=None,
    responses={
        202: {"description": "Cancelling (``wait`` false): no body."},
        200: {
            "description": "Cancelled (``wait`` true): " + _OUTCOME_TEXT,
            "content": {"application/json": {"schema": {}}},
        },
    },
)
async def cancel_run(
    thread_id: ThreadIdPath,
    run_id: IdPath,
    ctx: Ctx,
    wait: bool = Query(False, description="Answer once the run has stopped, with its outcome."),
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    """Cancel a run in flight: 202 at once, or (``wait``) its final values when stopped.
    Its record becomes ``cancelled`` (``interrupted`` in the Run shape); the thread keeps
    its checkpoints and can continue."""
    record = _run_of(ctx, thread_id, run_id)
    if record.status not in IN_FLIGHT:
        raise HTTPException(
            404,
            "No matching runs to cancel. Please verify the thread ID and "
            "run IDs are correct, and the runs haven't been deleted or "
            "completed.",
        )
    handle = ctx.live_hub.active.get(run_id)
    if handle is None:  # another process executes it: ask it through the thread's lease
        if not ctx.live_hub.cancel_anywhere(run_id, f"{action} requested through the API"):
            raise HTTPException(409, f"Run {run_id} is not executing yet; try again")
        outcome = _stored_outcome(ctx, record)
        if action == "rollback":
            if not wait:
                outcome.close()
                _background(ctx, _forget_when_ended(ctx, run_id))
                return Response(status_code=202)
            return _json_when_done(_then(outcome, _forget_when_ended(ctx, run_id)))
        if not wait:
            outcome.close()
            return Response(status_code=202)
        return _json_when_done(outcome)
    ctx.live_hub.cancel(run_id, f"{action} requested through the API")
    stream = _streams(ctx).get(run_id)
    if action == "rollback":  # once stopped, the run is deleted with its checkpoints
        rolled_back = _forget_when_ended(ctx, handle.run_id)
        if not wait:
            _background(ctx, rolled_back)
            return Response(status_code=202)
        return _json_when_done(_then(_outcome(ctx, handle, stream), rolled_back))
    if not wait:
        return Response(status_code=202)
    return _json_when_done(_outcome(ctx, handle, stream))


async def _then(first: Awaitable[Any], then: Awaitable[None]) -> Any:
    body = await first
    await then
    return body


async def _forget_when_ended(ctx: ServerContext, run_id: str) -> None:
    await ctx.live_hub.wait(run_id)
    forget_runs(ctx, [run_id])


@router.delete(
    "/threads/{thread_id}/runs/{run_id}",
    status_code=204,
    response_class=Response,  # no media type: the 204 has no body
    response_model=None,
    responses={204: {"description": "Deleted: the run's record and events."}},
)
async def delete_run(thread_id: ThreadIdPath, run_id: IdPath, ctx: Ctx) -> Response:
    """Delete a run that is not in flight: its record and events (the checkpoints it
    wrote stay part of the thread); 409 while it is pending or running."""
    record = _run_of(ctx, thread_id, run_id)
    if record.status in IN_FLIGHT and (
        record.run_id in ctx.live_hub.active
        or (record.owner != ctx.live_runner.runs.owner and owner_alive(record.owner))
    ):
        raise HTTPException(
            409, f"Run {run_id} is {run_json(record)['status']}: cancel it before deleting it"
        )
    ctx.live_runner.runs.delete_run(run_id)
    _streams(ctx).pop(run_id, None)
    return Response(status_code=204)


# --------------------------------------------------------------------------- stateless


@router.post("/runs", response_model=None, responses=_CREATED)
async def create_stateless_run(body: StatelessRunCreate, ctx: Ctx) -> Response:
    """A run on a temporary thread (deleted when it ends unless ``on_completion=keep``)."""
    return await _create(ctx, None, body)


@router.post(
    "/runs/stream", response_class=EventStreamResponse, response_model=None, responses=_STREAMED
)
async def stream_stateless_run(body: StatelessRunCreate, ctx: Ctx) -> Response:
    return await _stream(ctx, None, body)


@router.post("/runs/wait", response_model=None, responses=_WAITED)
async def wait_stateless_run(body: StatelessRunCreate, ctx: Ctx) -> Response:
    return await _wait(ctx, None, body)
