"""Nothing lost when a server process dies: its runs are taken over by another one.

Every server process beats (:meth:`ThreadLeases.heartbeat`) and looks, every
:func:`scan_interval`, for runs made through the API whose process is gone:

- a **running** run whose thread lease is gone, expired, or held by a dead process
  of this host: it goes on here from its thread's newest checkpoint
  (:meth:`Runner.aadopt`: a ``run.retrying`` event names the cause, finished nodes
  are not run again, past ``runs.max_retries`` it fails);
- a **queued** run (``runs.create`` in the background, waiting for its turn) whose
  process stopped beating: it is started here from its recorded request.

A process that stops (a stop signal) hands its runs over the same way
(:meth:`RunHub.shutdown`): its running runs stop without an end and its waiting ones
go back to the shared queue, and another process, or this one restarted, takes them.

A run is taken by one process only: :meth:`RunStore.claim` moves its owner with a
conditional update, and whoever loses leaves it. Runs of the CLI or the workbench
are not taken over (their user resumes them: ``lgp resume``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from ..errors import ConflictError, NotFoundError
from ..runs import SHARED_QUEUE, RunRecord
from ..status import IN_FLIGHT, RunStatus
from .context import ServerContext

log = logging.getLogger("lgp.server")

#: Set to 1, a server process only answers: it takes over no run and fires no cron
#: (``lgp deploy``'s health check runs the image's command this way on a live database).
PASSIVE_ENV = "LGP_SERVE_PASSIVE"


def passive() -> bool:
    """Whether this server process leaves orphaned runs and cron ticks to the others."""
    return os.environ.get(PASSIVE_ENV) == "1"


#: Runs in flight looked at per scan, oldest first (a larger backlog of orphans is
#: taken over across several scans, as the older ones are).
SCAN_LIMIT = 500


def scan_interval(lease_s: float) -> float:
    """How often a process beats and looks for orphans: a sixth of the lease time, so
    a dead process's runs move within about the lease time (at most every 5 s)."""
    return min(lease_s / 6, 5.0)


@contextlib.asynccontextmanager
async def adopting(ctx: ServerContext) -> AsyncIterator[None]:
    """Beat, and take over orphaned runs, while the app serves (a :func:`passive`
    process beats only: the runs it queued are its own)."""
    tasks = [asyncio.create_task(_beat(ctx), name="lgp-heartbeat")]
    if not passive():
        tasks.append(asyncio.create_task(_scan(ctx), name="lgp-adoption"))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            ctx.live_runner.leases.forget_replica()


async def _beat(ctx: ServerContext) -> None:
    """The heartbeat, on its own: a scan that waits on something never delays it."""
    runner = ctx.live_runner
    await _every(scan_interval(runner.leases.ttl_s), "heartbeat", runner.leases.heartbeat, ctx)


async def _scan(ctx: ServerContext) -> None:
    await _every(scan_interval(ctx.live_runner.leases.ttl_s), "taking over runs", None, ctx)


async def _every(every: float, what: str, call: Any, ctx: ServerContext) -> None:
    failing = ""  # the last failure, said once (not every time while the database is away)
    while True:
        try:
            if call is not None:
                await ctx.live_runner.io(call)
            else:
                await adopt_orphans(ctx)
            failing = ""
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database is away: try again next time
            if str(exc) != failing:
                log.warning("%s failed (retrying): %s", what, exc)
                failing = str(exc)
        await asyncio.sleep(every)


#: Takeovers in progress (their tasks are kept until they end).
_TAKING: set[asyncio.Task[None]] = set()


async def adopt_orphans(ctx: ServerContext) -> list[str]:
    """Take over the orphaned runs found now (each goes on in a task of its own);
    the ids of those this process took."""
    runner, hub, leases = ctx.live_runner, ctx.live_hub, ctx.live_runner.leases
    taken: list[str] = []
    if hub.closing:  # it hands its own runs over: it takes none
        return taken
    found = await runner.io(
        runner.runs.list_runs, status=IN_FLIGHT, limit=SCAN_LIMIT, oldest_first=True
    )
    # running ones first (they hold their thread), then queued ones in their order
    found.sort(key=lambda r: (r.status != RunStatus.RUNNING, r.created_at))
    for record in found:
        if hub.closing:
            break
        if record.run_id in hub.active or not (record.meta or {}).get("api"):
            continue
        if record.owner == SHARED_QUEUE:
            continue  # no process had it: the shared queue's (lgp_engine.server.run_queue)
        if record.status == RunStatus.RUNNING:
            if not await runner.io(leases.orphaned, record.thread_id, record.run_id):
                continue
            if not await runner.io(leases.take_over, record.thread_id, record.run_id):
                continue  # another process was quicker
            claimed = await runner.io(runner.runs.claim, record.run_id, record.owner, record.status)
            if not claimed:  # it ended (or moved on) meanwhile: give the thread back
                await runner.io(leases.release, record.thread_id, record.run_id)
                continue
        else:
            if await runner.io(leases.replica_alive, record.owner) or await runner.io(
                _held_by_orphan, ctx, record.thread_id
            ):
                continue  # its process serves, or a run it waits for is not taken over yet
            if not await runner.io(runner.runs.claim, record.run_id, record.owner, record.status):
                continue  # another process was quicker
        cause = f"the server process running it stopped ({_host_pid(record.owner)})"
        log.warning("run %s: %s; taking it over", record.run_id, cause)
        task = asyncio.create_task(_take(ctx, record, cause), name=f"lgp-take-{record.run_id}")
        _TAKING.add(task)
        task.add_done_callback(_TAKING.discard)
        taken.append(record.run_id)
    return taken


async def _take(ctx: ServerContext, record: RunRecord, cause: str) -> None:
    try:
        if record.status == RunStatus.RUNNING:
            await _continue(ctx, record, cause)
        else:
            await start_queued(ctx, record)
    except Exception as exc:  # noqa: BLE001 - recorded on the run, not raised
        if isinstance(exc, ConflictError) and exc.code == "shutting_down":
            # this process stops too: the run stays for the next one
            with contextlib.suppress(Exception):
                ctx.live_runner.leases.release(record.thread_id, record.run_id)
            return
        log.warning("run %s cannot be taken over: %s", record.run_id, exc)
        fail_run(ctx, record, f"{cause}, and it cannot go on here: {exc}")
        with contextlib.suppress(Exception):
            ctx.live_runner.leases.release(record.thread_id, record.run_id)


async def _continue(ctx: ServerContext, record: RunRecord, cause: str) -> None:
    """A running run goes on here from its thread's newest checkpoint (or, if it died
    before writing one, from its recorded input), with its breakpoints and run config
    (less the secret values, which were never stored)."""
    from .langgraph.run_routes import after_adopted
    from .langgraph.shapes import command_from

    wf = ctx.catalog.get(record.workflow)
    kwargs = (record.meta or {}).get("kwargs") or {}
    command = kwargs.get("command")
    handle = await ctx.live_hub.launch(
        ctx.live_runner.aadopt(
            wf,
            record,
            cause,
            input=command_from(command) if command else kwargs.get("input"),
            context=kwargs.get("context") or None,
            interrupt_before=kwargs.get("interrupt_before") or None,
            interrupt_after=kwargs.get("interrupt_after") or None,
            config=_without_redacted(kwargs.get("config")),
        ),
        thread_id=record.thread_id,
    )
    after_adopted(ctx, handle, kwargs)


def _without_redacted(config: Any) -> dict[str, Any] | None:
    """The run config as stored, less the values masked when it was stored."""
    from ..providers.redact import REDACTED

    if not isinstance(config, dict):
        return None
    configurable = {k: v for k, v in (config.get("configurable") or {}).items() if v != REDACTED}
    kept = {k: v for k, v in config.items() if k != "configurable"}
    return {**kept, "configurable": configurable} if configurable else kept or None


async def start_queued(ctx: ServerContext, record: RunRecord) -> None:
    """A queued run this process claimed starts here from its recorded request."""
    from .langgraph.run_routes import RunCreate, start_run

    meta = record.meta or {}
    kwargs: dict[str, Any] = meta.get("kwargs") or {}
    body = RunCreate.model_validate(
        {
            "assistant_id": meta.get("assistant_id") or record.workflow,
            "input": kwargs.get("input"),
            "command": kwargs.get("command"),
            "config": kwargs.get("config"),
            "context": kwargs.get("context") or None,
            "metadata": meta.get("metadata") or None,
            "checkpoint_id": record.checkpoint_id,
            "interrupt_before": kwargs.get("interrupt_before"),
            "interrupt_after": kwargs.get("interrupt_after"),
            "webhook": kwargs.get("webhook"),
            "multitask_strategy": "enqueue",  # it was admitted once: it waits its turn
            "if_not_exists": "create",
            "stream_resumable": kwargs.get("resumable"),
        }
    )
    await start_run(
        ctx,
        record.thread_id,
        body,
        modes=list(kwargs.get("stream_mode") or ["values"]),
        subgraphs=bool(kwargs.get("subgraphs")),
        existing=record,
    )


def _held_by_orphan(ctx: ServerContext, thread_id: str) -> bool:
    """Whether the thread is held by a run whose process died (to be taken over
    first: a queued run must not start before the run it queued behind)."""
    leases, runs = ctx.live_runner.leases, ctx.live_runner.runs
    holder = leases.holder(thread_id)
    if holder is None or not leases.orphaned(thread_id, holder.run_id):
        return False
    try:  # one of the CLI or the workbench is not taken over: no need to wait for it
        return bool((runs.get(holder.run_id).meta or {}).get("api"))
    except NotFoundError:
        return False


def fail_run(
    ctx: ServerContext, record: RunRecord, message: str, *, error_type: str = "ReplicaLost"
) -> None:
    """Record that a claimed run failed before it could go on (``message``: why)."""
    from ..events import RunEvent

    runs = ctx.live_runner.runs
    data = {"error_type": error_type, "message": message, "node": None, "kind": "crashed"}
    with contextlib.suppress(Exception):
        runs.append(RunEvent(record.run_id, runs.last_seq(record.run_id) + 1, "run.failed",
                             record.thread_id, data))  # fmt: skip
        runs.transition(record.run_id, RunStatus.FAILED, error=data)


def _host_pid(owner: str | None) -> str:
    host, _, rest = (owner or "?").partition(":")
    return f"pid {rest.split(':', 1)[0] or '?'} on {host}"
