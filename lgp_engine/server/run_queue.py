"""The shared run queue: background runs beyond a server process's slots wait in the
database, and every server process takes them as its slots free up.

A run created in the background (``runs.create``) starts in the process that
received it while that process executes fewer than ``server.max_concurrent_runs``
runs (its N_JOBS) and no run of its thread waits in the queue. Otherwise it is
recorded in the shared queue (owner :data:`~lgp_engine.runs.SHARED_QUEUE`) and its
creator answers at once. (A cron's tick starts in the process that claimed the tick.)

Each server process claims queued runs (:meth:`RunStore.claim_queued`, ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL) while it has free slots. It looks when a run is queued
anywhere (a notification on PostgreSQL), when one of its own runs ends, and every
:data:`POLL_S` while the queue holds runs (on SQLite: always, a read of the file). A
queued run is claimed only once its thread is free (no run of it executing, none
queued before it): the runs of a thread keep their order, and a claimed run never
holds a slot waiting for its thread. A queued run can be cancelled from any process
(:meth:`RunStore.cancel_queued`); a process that stops gives back the runs it
claimed but could not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from ..aio import wait_set
from ..errors import ConflictError
from ..runs import QUEUE_SIGNAL, RunRecord
from .adoption import fail_run, passive, start_queued
from .context import ServerContext

log = logging.getLogger("lgp.server")

#: How often a process looks at a queue that holds runs (they wait for their thread,
#: or for a slot), and at a SQLite queue at all.
POLL_S = 0.25
#: How often an idle process looks at a PostgreSQL queue anyway (a lost notification).
IDLE_S = 5.0


def full(ctx: ServerContext) -> bool:
    """Whether this process executes (or holds waiting, or is starting) as many runs
    as it may."""
    starting = ctx.extra.get("run_queue_starting", 0)
    return len(ctx.live_hub.active) + starting >= ctx.settings.server.max_concurrent_runs


@contextlib.asynccontextmanager
async def slot(ctx: ServerContext) -> AsyncIterator[bool]:
    """A slot of this process for a new background run while it starts
    (taken at once, so that requests arriving together do not all take the last one);
    False: the run goes to the shared queue (no slot is free)."""
    if full(ctx):
        yield False
        return
    ctx.extra["run_queue_starting"] = ctx.extra.get("run_queue_starting", 0) + 1
    try:
        yield True
    finally:
        ctx.extra["run_queue_starting"] -= 1


async def thread_queued(ctx: ServerContext, thread_id: str) -> bool:
    """Whether a run of ``thread_id`` waits in the shared queue (a new one must too)."""
    runner = ctx.live_runner
    return await runner.io(runner.runs.queued_shared, thread_id) > 0


def wake(ctx: ServerContext) -> None:
    """Look at the queue now (a run of this process ended: a slot or a thread is free)."""
    event: asyncio.Event | None = ctx.extra.get("run_queue_wake")
    if event is not None:
        event.set()


@contextlib.asynccontextmanager
async def dispatching(ctx: ServerContext) -> AsyncIterator[None]:
    """Claim and start queued runs while the app serves (a :func:`passive` process
    claims none)."""
    if passive():
        yield
        return
    ctx.extra["run_queue_wake"] = asyncio.Event()
    task = asyncio.create_task(_dispatch(ctx), name="lgp-run-queue")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _dispatch(ctx: ServerContext) -> None:
    pending = True  # whether the queue may hold runs (looked at first thing)
    failing = ""  # the last failure, said once (not every time while the database is away)
    while True:
        if pending:
            try:
                pending = await claim_free(ctx)
                failing = ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: try again
                if str(exc) != failing:
                    log.warning("taking runs from the shared queue failed (retrying): %s", exc)
                    failing = str(exc)
        pending = await _wait(ctx, pending) or pending


async def claim_free(ctx: ServerContext) -> bool:
    """Claim and start queued runs while this process has free slots; whether the
    queue may still hold runs."""
    runner = ctx.live_runner
    while not full(ctx) and not ctx.live_hub.closing:
        async with slot(ctx):
            record = await runner.io(runner.runs.claim_queued)
            if record is None:
                return await runner.io(runner.runs.queued_shared) > 0
            started = await _start(ctx, record)
        if not started:
            break  # this process stops: the run went back to the queue
        await asyncio.sleep(0)  # SQLite's calls are inline: let the loop breathe
    return True


async def _start(ctx: ServerContext, record: RunRecord) -> bool:
    """Start a claimed run; False if this process is shutting down (it went back to
    the queue, for another process)."""
    try:
        await start_queued(ctx, record)
    except Exception as exc:  # noqa: BLE001 - recorded on the run, not raised
        if isinstance(exc, ConflictError) and exc.code == "shutting_down":
            await ctx.live_runner.io(ctx.live_runner.runs.unclaim, record.run_id)
            return False
        log.warning("run %s from the shared queue cannot start: %s", record.run_id, exc)
        fail_run(ctx, record, f"it cannot start: {exc}", error_type="StartFailed")
    return True


async def _wait(ctx: ServerContext, pending: bool) -> bool:
    """Until there is a reason to look at the queue; whether a run may have joined it."""
    event: asyncio.Event = ctx.extra["run_queue_wake"]
    signals = ctx.live_hub.signals
    if not signals.listens:  # SQLite: read the file every POLL_S (or when woken)
        await wait_set(event, POLL_S)
        event.clear()
        return True
    signalled = asyncio.ensure_future(
        signals.wait(QUEUE_SIGNAL, fallback_s=POLL_S if pending else IDLE_S)
    )
    woken = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({signalled, woken}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in (signalled, woken):
            waiting.cancel()
    event.clear()
    # a notification, or the poll interval passed: look; only woken here (a run of this
    # process ended): look if the queue holds runs (the caller's ``pending``)
    return signalled in done
