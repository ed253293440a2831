"""Runs in flight inside a server process, and the live followers of their events.

A run executes as an asyncio task that iterates a :class:`~lgp_engine.Runner`
operation. Events are persisted by the runner before they reach the hub, so a
follower can always catch up from the run store: each follower has a bounded
queue, and one that falls behind is switched to reading the store until it is
level again (nothing is dropped, memory stays bounded). Followers of runs that
live in another process (or a previous one) poll the store.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..backends.leases import ThreadLeases
from ..backends.signals import EventSignals
from ..errors import ConflictError, LGPError, NotFoundError
from ..events import RunEvent
from ..runner import HAND_BACK
from ..runs import RunStore
from ..status import IN_FLIGHT, RunStatus

log = logging.getLogger(__name__)

FOLLOWER_QUEUE = 1000


@dataclass
class RunHandle:
    """A run executing in this process."""

    run_id: str
    thread_id: str
    task: asyncio.Task[None]
    done: asyncio.Event = field(default_factory=asyncio.Event)
    last: RunEvent | None = None
    followers: set[_Follower] = field(default_factory=set)


class _Follower:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[RunEvent | None] = asyncio.Queue(FOLLOWER_QUEUE)
        self.behind = False

    def offer(self, event: RunEvent | None) -> None:
        if self.behind:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.behind = True  # catch up from the store instead


Strategy = Literal["reject", "interrupt", "rollback", "enqueue"]


class RunHub:
    """Starts runs as tasks and fans their events out to followers.

    Every run of the server, whichever API started it, is admitted here: runs on
    one thread take turns (one per-thread lock, held for the whole run, applying
    the caller's multitask strategy), and at most ``max_running`` runs execute at
    once; the others wait, in order (:attr:`waiting`).
    """

    def __init__(
        self,
        runs: RunStore,
        *,
        leases: ThreadLeases | None = None,
        signals: EventSignals | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
        max_running: int = 32,
    ) -> None:
        self.runs = runs
        #: The database's thread leases: how a run executing in another process is reached.
        self.leases = leases
        #: Wakes followers of runs that execute in another process (else they poll).
        self.signals = signals or EventSignals()
        self.on_event = on_event
        self.active: dict[str, RunHandle] = {}
        # one lock per thread while anyone holds or waits for it
        self._thread_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._slots = asyncio.Semaphore(max_running)
        self.waiting = 0
        self._closing = False

    async def launch(
        self,
        events: AsyncIterator[RunEvent],
        *,
        thread_id: str | None = None,
        strategy: Strategy = "enqueue",
        queued: str | None = None,
        on_stop: Callable[[RunEvent], None] | None = None,
        on_replaced: Callable[[list[str]], None] | None = None,
    ) -> RunHandle:
        """Start iterating a runner operation; returns once the run exists.

        Errors raised before the first event (bad input, unknown thread...) are
        raised here, so an HTTP handler can answer 4xx with nothing started. The run
        is registered by its own task, so it stays cancellable even if the caller
        of ``launch`` goes away. With ``thread_id``, the runs of this process already
        on that thread are dealt with by ``strategy``: ``enqueue`` waits for them to
        end, ``reject`` raises :class:`ConflictError`, ``interrupt`` and ``rollback``
        cancel them and wait until they stopped; ``on_replaced`` then hears their ids
        before this run starts (to delete them, for a rollback).

        ``queued`` is the id of a run recorded as queued (``Runner.queue``) that
        ``events`` carries out. An enqueued run on a busy thread then returns at once:
        its handle is cancellable and followable while it waits for its turn, runs
        of a thread start in the order they were queued, and a run that never starts
        (cancelled while waiting, or refused when its turn came) gets its terminal
        event from the hub, which ``on_stop`` hears too.
        """
        if self._closing:
            raise ConflictError("the server is shutting down", code="shutting_down")
        loop = asyncio.get_running_loop()
        first: asyncio.Future[RunHandle] = loop.create_future()
        lock = self._lock(thread_id) if thread_id else None
        later = (
            queued is not None
            and lock is not None
            and strategy == "enqueue"
            and (self._busy(thread_id or "", lock) or self._held_elsewhere(thread_id or ""))
        )
        if lock is not None and not later:
            replaced = await self._admit(thread_id or "", lock, strategy)
            if replaced and on_replaced is not None:
                try:
                    on_replaced(replaced)
                except BaseException:
                    lock.release()
                    raise
        handle: RunHandle | None = None
        holds = not later  # whether this run holds the thread's turn (released at its end)

        async def drive() -> None:
            nonlocal handle, holds
            started = False
            try:
                if later:
                    assert lock is not None
                    self.waiting += 1
                    try:
                        await lock.acquire()
                        holds = True
                    finally:
                        self.waiting -= 1
                self.waiting += 1
                try:
                    await self._slots.acquire()
                finally:
                    self.waiting -= 1
                try:
                    async for event in events:
                        started = True
                        if handle is None:
                            handle = RunHandle(event.run_id, event.thread_id, task)
                            self.active[handle.run_id] = handle
                            if not first.done():
                                first.set_result(handle)
                        self._publish(handle, event)
                finally:
                    self._slots.release()
            except asyncio.CancelledError as exc:
                if handle is not None and not started:
                    reason = str(exc.args[0]) if exc.args else "cancelled"
                    if reason == HAND_BACK and self._give_back(handle):
                        return
                    self._never_started(handle, "run.cancelled", {"reason": reason}, on_stop)
            except BaseException as exc:
                if handle is None and not first.done():
                    first.set_exception(exc)
                    return
                if handle is not None and not started:
                    self._never_started(handle, "run.failed", _failure(exc), on_stop)
                    return
                log.exception("run task failed")
            finally:
                if handle is not None:
                    for follower in list(handle.followers):
                        follower.offer(None)
                    handle.done.set()
                    self.active.pop(handle.run_id, None)
                elif not first.done():
                    first.cancel()

        task = loop.create_task(drive())
        if lock is not None:
            task.add_done_callback(lambda _: lock.release() if holds else None)
        if later:
            assert queued is not None and thread_id is not None
            handle = RunHandle(queued, thread_id, task)
            self.active[queued] = handle
            return handle
        return await asyncio.shield(first)

    def _lock(self, thread_id: str) -> asyncio.Lock:
        lock = self._thread_locks.get(thread_id)
        if lock is None:
            lock = self._thread_locks[thread_id] = asyncio.Lock()
        return lock

    def _held_elsewhere(self, thread_id: str) -> bool:
        """Whether a run of another process holds the thread (an enqueued run then
        answers at once and waits for it in its task)."""
        if self.leases is None:
            return False
        holder = self.leases.holder(thread_id)
        return holder is not None and holder.owner != self.leases.owner

    def _busy(self, thread_id: str, lock: asyncio.Lock) -> bool:
        """Whether a run of this process holds, or waits for, the thread's turn."""
        return lock.locked() or any(h.thread_id == thread_id for h in self.active.values())

    async def _admit(self, thread_id: str, lock: asyncio.Lock, strategy: Strategy) -> list[str]:
        """Take the thread's turn (held until the run ends), as ``strategy`` says;
        the ids of the runs it cancelled (``interrupt``, ``rollback``)."""
        busy = [h for h in self.active.values() if h.thread_id == thread_id]
        if strategy == "reject" and self._busy(thread_id, lock):
            running = busy[0].run_id if busy else "a run that is starting"
            raise ConflictError(
                f"thread {thread_id} is already running {running}; wait for it to end "
                "or choose another multitask strategy",
                code="thread_busy",
                thread_id=thread_id,
            )
        replaced = []
        if strategy in ("interrupt", "rollback"):
            for handle in busy:
                if self.cancel(handle.run_id, f"replaced by a new run ({strategy})"):
                    replaced.append(handle)
        await lock.acquire()
        try:
            for handle in replaced:  # queued ones hold no turn: wait until each recorded its end
                await handle.done.wait()
        except BaseException:
            lock.release()
            raise
        return [h.run_id for h in replaced]

    def _never_started(
        self,
        handle: RunHandle,
        kind: Literal["run.cancelled", "run.failed"],
        data: dict[str, Any],
        on_stop: Callable[[RunEvent], None] | None,
    ) -> None:
        """Record the end of a queued run that never started (its only event)."""
        event = RunEvent(handle.run_id, 1, kind, handle.thread_id, data)
        try:
            self.runs.append(event)
            status = RunStatus.CANCELLED if kind == "run.cancelled" else RunStatus.FAILED
            fields: dict[str, Any] = {"error": data} if kind == "run.failed" else {}
            self.runs.transition(handle.run_id, status, **fields)
        except Exception:  # deleted meanwhile (thread deleted, rolled back)
            log.debug("cannot record the end of queued run %s", handle.run_id, exc_info=True)
        self._publish(handle, event)
        if on_stop is not None:
            on_stop(event)

    def _publish(self, handle: RunHandle, event: RunEvent) -> None:
        handle.last = event
        if self.on_event is not None:
            self.on_event(event)
        for follower in list(handle.followers):
            follower.offer(event)

    async def follow(self, run_id: str, after_seq: int = 0) -> AsyncIterator[RunEvent]:
        """A run's events after ``after_seq``: the stored ones, then live ones, until
        the run stops (an interrupt, or its end)."""
        self.runs.get(run_id)  # NotFoundError for an unknown run
        follower = _Follower()
        handle = self.active.get(run_id)
        if handle is not None:
            handle.followers.add(follower)
        last = after_seq
        try:
            while True:
                follower.behind = False
                for event in self.runs.events(run_id, last):  # catch up from the store
                    last = event.seq
                    yield event
                    if event.is_terminal:
                        return
                if handle is None or handle.done.is_set():
                    if self.runs.get(run_id).status not in IN_FLIGHT:
                        for event in self.runs.events(run_id, last):
                            last = event.seq
                            yield event
                        return
                    handle = self.active.get(run_id)
                    if handle is None:  # running in another process: read on its signal
                        await self.signals.wait(run_id)
                    else:
                        handle.followers.add(follower)
                    continue
                # live: take events from the queue while they follow on without a gap
                while True:
                    if follower.queue.empty() and (follower.behind or handle.done.is_set()):
                        break
                    live = await follower.queue.get()
                    if live is None or live.seq != last + 1:
                        if live is not None and live.seq <= last:
                            continue
                        break  # a gap or the end: the store has the rest
                    last = live.seq
                    yield live
                    if live.is_terminal:
                        return
        finally:
            if handle is not None:
                handle.followers.discard(follower)

    def thread_busy(self, thread_id: str) -> bool:
        """Whether a run of this process holds (or waits for) the thread's turn."""
        lock = self._thread_locks.get(thread_id)
        return lock is not None and lock.locked()

    def cancel(self, run_id: str, reason: str = "cancelled through the API") -> bool:
        """Cancel a run of this process; False if it is not running here."""
        handle = self.active.get(run_id)
        if handle is None or handle.task.done():
            return False
        handle.task.cancel(reason)
        return True

    def cancel_anywhere(self, run_id: str, reason: str = "cancelled through the API") -> bool:
        """Cancel a run of this process, or ask the process executing it (through its
        thread lease) to, or cancel it in the shared run queue; False if it executes
        nowhere (yet)."""
        if self.cancel(run_id, reason):
            return True
        if self.leases is not None and self.leases.request_cancel(run_id, reason):
            return True
        return self.runs.cancel_queued(run_id, reason)  # it waits in the shared queue

    async def wait(self, run_id: str) -> None:
        """Until the run has stopped: here, or (recorded in the run store) anywhere."""
        handle = self.active.get(run_id)
        if handle is not None:
            await handle.done.wait()
            return
        while True:
            try:
                if self.runs.get(run_id).status not in IN_FLIGHT:
                    return
            except NotFoundError:
                return
            await self.signals.wait(run_id)

    async def shutdown(self, grace_s: float = 0.0) -> None:
        """Stop: no run starts any more; the runs in flight get ``grace_s`` to end, then
        are handed to the other server processes (:data:`HAND_BACK`): a run that
        waits for its turn goes back to the shared run queue, a running one of the API
        stops without an end, to go on from its last checkpoint in another process
        (or in this one, restarted: :mod:`lgp_engine.server.adoption`), as after a
        crash. Waits until each has stopped (5 s at most)."""
        if not self._closing and self.active:
            log.warning(
                "stopping: %d run(s) in flight%s; runs of the LangGraph API go on in "
                "another server process (or this one, started again), the others are "
                "cancelled",
                len(self.active),
                f" may take {grace_s:g} s to end" if grace_s > 0 else "",
            )
        self._closing = True
        if grace_s > 0 and self.active:
            waits = [asyncio.ensure_future(h.done.wait()) for h in self.active.values()]
            await asyncio.wait(waits, timeout=grace_s)
            for w in waits:
                w.cancel()
        handles = [h for h in self.active.values() if not h.done.is_set()]
        for handle in handles:
            handle.task.cancel(HAND_BACK)
        if handles:
            waits = [asyncio.ensure_future(h.done.wait()) for h in handles]
            await asyncio.wait(waits, timeout=5)
            for w in waits:
                w.cancel()

    def _give_back(self, handle: RunHandle) -> bool:
        """Put a queued run that never started back in the shared run queue, for any
        server process; False if it is not there to give (ended, deleted)."""
        try:
            given = self.runs.unclaim(handle.run_id)
        except Exception:  # then it is cancelled, as before
            log.warning("cannot give run %s back to the queue", handle.run_id, exc_info=True)
            return False
        if given:
            log.info("run %s goes back to the shared queue (shutting down)", handle.run_id)
        return given

    @property
    def closing(self) -> bool:
        """Whether the process is shutting down (no run starts any more)."""
        return self._closing

    @property
    def running(self) -> int:
        return len(self.active)


def _failure(exc: BaseException) -> dict[str, Any]:
    """``run.failed`` data (and the record's error) for a queued run refused at its turn."""
    message = exc.describe() if isinstance(exc, LGPError) else str(exc)
    return {"error_type": type(exc).__name__, "message": message}
