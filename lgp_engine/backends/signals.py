"""How a follower in one process learns, without polling, that another process
appended events to a run.

On PostgreSQL every appended event is announced on a channel
(:data:`~lgp_engine.runs.EVENTS_CHANNEL`, in the same statement as the insert); a
server process listens on one connection and wakes the followers of that run at
once. On SQLite there is no such channel: followers poll the file (a local read of
microseconds) every :data:`SQLITE_POLL_S`.

The run store stays the truth: a signal only says "read the store again", so a lost
one costs at most the fallback interval (:data:`LISTEN_FALLBACK_S`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

from ..aio import wait_set
from ..runs import EVENTS_CHANNEL

log = logging.getLogger(__name__)

#: How often a follower reads a SQLite store for another process's events.
SQLITE_POLL_S = 0.02
#: How often a listening follower reads the store anyway (a signal may be lost).
LISTEN_FALLBACK_S = 1.0


class EventSignals:
    """Wakes followers when a run's events are appended anywhere.

    Args:
        dsn: The PostgreSQL URL to listen on; None polls (SQLite, memory).
    """

    def __init__(self, dsn: str | None = None) -> None:
        self.dsn = dsn
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    @property
    def listens(self) -> bool:
        """Whether followers are woken (else they poll)."""
        return self._listening.is_set()

    async def start(self) -> None:
        """Start listening (PostgreSQL); returns once the channel is listened to, or
        at once when there is none (or it cannot be reached: followers then poll)."""
        if self.dsn is None or self._task is not None:
            return
        self._task = asyncio.create_task(self._listen(), name="lgp-event-signals")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=10)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def wait(self, run_id: str, *, fallback_s: float = LISTEN_FALLBACK_S) -> bool:
        """Until events of ``run_id`` may have been appended: a signal, or the poll
        (fallback) interval; whether it was a signal. ``run_id`` may be another key
        announced on the channel (:data:`~lgp_engine.runs.QUEUE_SIGNAL`)."""
        if not self.listens:
            await asyncio.sleep(SQLITE_POLL_S)
            return False
        event = asyncio.Event()
        self._waiters[run_id].add(event)
        try:
            return await wait_set(event, fallback_s)
        finally:
            waiters = self._waiters.get(run_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[run_id]

    def _wake(self, run_id: str) -> None:
        for event in self._waiters.get(run_id, ()):
            event.set()

    async def _listen(self) -> None:
        """LISTEN on one connection for the process; reconnects after a failure
        (followers poll meanwhile)."""
        import psycopg

        assert self.dsn is not None
        delay = 0.5
        while True:
            conn: Any = None
            try:
                conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
                await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                self._listening.set()
                delay = 0.5
                async for note in conn.notifies():
                    self._wake(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database went away: poll, retry
                if self._listening.is_set() or delay == 0.5:
                    log.warning("event signals: %s; followers poll until it is back", exc)
                self._listening.clear()
                for waiters in list(self._waiters.values()):
                    for event in waiters:
                        event.set()  # they read the store and come back polling
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
