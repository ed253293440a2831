"""Thread leases: at most one run executes on a thread at a time, across every
process and replica that shares the database.

A run holds its thread's lease (one row per thread) while it executes and renews it
(:meth:`ThreadLeases.renew`) well within ``ttl_s``. Another run of the thread, from
any process, finds the lease held and acts by its multitask strategy (see
:mod:`lgp_engine.runner`): it waits, gives up, or asks the holder to stop
(:meth:`request_cancel`; the holder sees the request when it renews or polls). A
lease whose holder died is taken over: at once when the holder was a process of
this host that is gone, else once it expired (a replica on another host).

SQLite: one row per thread in the project file, every change one statement (atomic
across processes); times are this host's clock. PostgreSQL: the same table, times
from the database's clock, so replicas with skewed clocks agree on expiry.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgp_thread_leases (
    thread_id   TEXT PRIMARY KEY,
    run_id      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at  REAL NOT NULL,
    cancel      TEXT
);
CREATE TABLE IF NOT EXISTS lgp_replicas (
    owner        TEXT PRIMARY KEY,
    heartbeat_at REAL NOT NULL
);
"""

_POSTGRES_STEPS = [
    "CREATE TABLE IF NOT EXISTS lgp_thread_leases (thread_id TEXT PRIMARY KEY, "
    "run_id TEXT NOT NULL, owner TEXT NOT NULL, acquired_at DOUBLE PRECISION NOT NULL, "
    "expires_at DOUBLE PRECISION NOT NULL, cancel TEXT)",
    "CREATE TABLE IF NOT EXISTS lgp_replicas (owner TEXT PRIMARY KEY, "
    "heartbeat_at DOUBLE PRECISION NOT NULL)",
]

#: How long a lease lasts without renewal (a replica that died frees its threads then).
DEFAULT_TTL_S = 30.0


@dataclass(frozen=True)
class Lease:
    """Who holds a thread: the run, its process (``host:pid:start``), until when,
    and the reason another run asked it to stop (None if nobody did)."""

    thread_id: str
    run_id: str
    owner: str
    expires_at: float
    cancel: str | None


class ThreadLeases:
    """The lease table of one database (SQLite file, memory, or PostgreSQL).

    Args:
        path: The SQLite file (None: in memory, this process only).
        dsn: A PostgreSQL URL instead of ``path``.
        ttl_s: How long a lease lasts without renewal.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        dsn: str | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        busy_timeout_ms: int = 5000,
    ) -> None:
        from ..runs import owner_token

        self.ttl_s = ttl_s
        self.owner = owner_token()
        self._lock = threading.Lock()
        self.postgres = dsn is not None
        if dsn is not None:
            from .postgres import connect, migrate

            self._conn: Any = connect(dsn)
            migrate(self._conn, "thread_leases", _POSTGRES_STEPS)
            self._now = "EXTRACT(EPOCH FROM clock_timestamp())"
            self._mark = "%s"
        else:
            from .sqlite import connect as sqlite_connect

            self._conn = sqlite_connect(path, busy_timeout_ms=busy_timeout_ms)
            self._conn.executescript(_SQLITE_SCHEMA)
            self._now = "?"  # this host's clock, passed in
            self._mark = "?"

    @classmethod
    def for_settings(cls, settings: Settings, db_path: Path | None) -> ThreadLeases:
        """The leases of the project's database (the checkpointer's)."""
        cp = settings.checkpointer
        ttl = settings.runs.lease_s
        if cp.backend == "postgres":
            return cls(dsn=cp.postgres_dsn, ttl_s=ttl)
        return cls(db_path, ttl_s=ttl, busy_timeout_ms=cp.busy_timeout_ms)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- the lease --------------------------------------------------------------
    def acquire(self, thread_id: str, run_id: str) -> Lease | None:
        """Take ``thread_id`` for ``run_id``: None when taken (or already held by it),
        else the lease of the run that holds it. A holder that is gone (expired, or
        a dead process of this host) loses the lease to this run."""
        holder = self._try(thread_id, run_id)
        if holder is None:
            return None
        from ..runs import owner_alive

        if not owner_alive(holder.owner):  # died without releasing: take over now
            self._take_from(holder, run_id)
            holder = self._try(thread_id, run_id)
        return holder

    def renew(self, thread_id: str, run_id: str) -> tuple[bool, str | None]:
        """Extend the lease; (still held by ``run_id``, the cancel request if any)."""
        m = self._mark
        with self._lock:
            self._conn.execute(
                f"UPDATE lgp_thread_leases SET expires_at = {self._now} + {m} "
                f"WHERE thread_id = {m} AND run_id = {m}",
                (*self._clock(), self.ttl_s, thread_id, run_id),
            )
            row = self._conn.execute(
                f"SELECT run_id, cancel FROM lgp_thread_leases WHERE thread_id = {m}",
                (thread_id,),
            ).fetchone()
        if row is None or row[0] != run_id:
            return False, None
        return True, row[1]

    def cancel_requested(self, thread_id: str, run_id: str) -> str | None:
        """The reason another run asked ``run_id`` to stop, or None."""
        m = self._mark
        with self._lock:
            row = self._conn.execute(
                f"SELECT cancel FROM lgp_thread_leases WHERE thread_id = {m} AND run_id = {m}",
                (thread_id, run_id),
            ).fetchone()
        return row[0] if row else None

    def release(self, thread_id: str, run_id: str) -> None:
        """Give the thread up (a no-op unless ``run_id`` holds it)."""
        m = self._mark
        with self._lock:
            self._conn.execute(
                f"DELETE FROM lgp_thread_leases WHERE thread_id = {m} AND run_id = {m}",
                (thread_id, run_id),
            )

    def request_cancel(self, run_id: str, reason: str) -> bool:
        """Ask the process executing ``run_id`` to cancel it; False if it holds no
        lease (not running anywhere)."""
        m = self._mark
        with self._lock:
            cur = self._conn.execute(
                f"UPDATE lgp_thread_leases SET cancel = {m} WHERE run_id = {m}",
                (reason, run_id),
            )
        return bool(cur.rowcount)

    def holder(self, thread_id: str) -> Lease | None:
        """The lease on ``thread_id`` (expired or not), if any."""
        m = self._mark
        with self._lock:
            row = self._conn.execute(
                "SELECT thread_id, run_id, owner, expires_at, cancel FROM lgp_thread_leases "
                f"WHERE thread_id = {m}",
                (thread_id,),
            ).fetchone()
        return Lease(*row) if row else None

    def held(self) -> list[Lease]:
        """Every lease, for status views and the reaper."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT thread_id, run_id, owner, expires_at, cancel FROM lgp_thread_leases"
            ).fetchall()
        return [Lease(*r) for r in rows]

    # -- replicas ---------------------------------------------------------------
    def heartbeat(self) -> None:
        """Say this process is alive (a server does it every third of the lease time:
        the runs it queued are taken over by another one once it stops)."""
        m, now = self._mark, self._now
        with self._lock:
            self._conn.execute(
                f"INSERT INTO lgp_replicas (owner, heartbeat_at) VALUES ({m}, {now}) "
                "ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                (self.owner, *self._clock()),
            )

    def forget_replica(self) -> None:
        """This process stops serving (a clean shutdown)."""
        with self._lock:
            self._conn.execute(
                f"DELETE FROM lgp_replicas WHERE owner = {self._mark}", (self.owner,)
            )

    def replica_alive(self, owner: str | None) -> bool:
        """Whether the server process ``owner`` beat within the lease time (a process
        of this host that is gone is dead at once)."""
        from ..runs import owner_alive

        if not owner or not owner_alive(owner):
            return False
        if owner == self.owner:
            return True
        m, now = self._mark, self._now
        with self._lock:
            row = self._conn.execute(
                f"SELECT 1 FROM lgp_replicas WHERE owner = {m} AND heartbeat_at > {now} - {m}",
                (owner, *self._clock(), self.ttl_s),
            ).fetchone()
        return row is not None

    def orphaned(self, thread_id: str, run_id: str) -> bool:
        """Whether running ``run_id`` lost its process: it holds no live lease on its
        thread (none, expired, or its process of this host is gone)."""
        from ..runs import owner_alive

        m, now = self._mark, self._now
        with self._lock:
            row = self._conn.execute(
                f"SELECT owner, expires_at < {now} FROM lgp_thread_leases "
                f"WHERE thread_id = {m} AND run_id = {m}",
                (*self._clock(), thread_id, run_id),
            ).fetchone()
        return row is None or bool(row[1]) or not owner_alive(row[0])

    def take_over(self, thread_id: str, run_id: str) -> bool:
        """Move ``run_id``'s lease to this process if it is orphaned (see
        :meth:`orphaned`): one process wins, the others get False. Until the run goes
        on here, no other run can take the thread from under it."""
        from ..runs import owner_alive

        m, now = self._mark, self._now
        with self._lock:
            row = self._conn.execute(
                f"SELECT owner, expires_at < {now} FROM lgp_thread_leases "
                f"WHERE thread_id = {m} AND run_id = {m}",
                (*self._clock(), thread_id, run_id),
            ).fetchone()
            if row is None:  # released: hold it anew
                cur = self._conn.execute(
                    "INSERT INTO lgp_thread_leases (thread_id, run_id, owner, acquired_at, "
                    f"expires_at) VALUES ({m}, {m}, {m}, {now}, {now} + {m}) "
                    "ON CONFLICT (thread_id) DO NOTHING",
                    (thread_id, run_id, self.owner, *self._clock(), *self._clock(), self.ttl_s),
                )
                return bool(cur.rowcount)
            if row[0] != self.owner and not row[1] and owner_alive(row[0]):
                return False  # its process is alive after all
            cur = self._conn.execute(
                f"UPDATE lgp_thread_leases SET owner = {m}, expires_at = {now} + {m}, "
                f"cancel = NULL WHERE thread_id = {m} AND run_id = {m} AND owner = {m}",
                (self.owner, *self._clock(), self.ttl_s, thread_id, run_id, row[0]),
            )
            return bool(cur.rowcount)

    # -- internals --------------------------------------------------------------
    def _clock(self) -> tuple[float, ...]:
        """The ``now`` parameter of a statement (none on PostgreSQL: its own clock)."""
        return () if self.postgres else (time.time(),)

    def _try(self, thread_id: str, run_id: str) -> Lease | None:
        m, now = self._mark, self._now
        now_ = self._clock()
        with self._lock:
            self._conn.execute(
                "INSERT INTO lgp_thread_leases (thread_id, run_id, owner, acquired_at, "
                f"expires_at) VALUES ({m}, {m}, {m}, {now}, {now} + {m}) "
                "ON CONFLICT (thread_id) DO UPDATE SET run_id = excluded.run_id, "
                "owner = excluded.owner, acquired_at = excluded.acquired_at, "
                "expires_at = excluded.expires_at, cancel = NULL "
                f"WHERE lgp_thread_leases.expires_at < {now} "
                "OR lgp_thread_leases.run_id = excluded.run_id",
                (thread_id, run_id, self.owner, *now_, *now_, self.ttl_s, *now_),
            )
            row = self._conn.execute(
                "SELECT thread_id, run_id, owner, expires_at, cancel FROM lgp_thread_leases "
                f"WHERE thread_id = {m}",
                (thread_id,),
            ).fetchone()
        if row is None:  # released between the two statements: try again
            return self._try(thread_id, run_id)
        lease = Lease(*row)
        return None if lease.run_id == run_id else lease

    def _take_from(self, holder: Lease, run_id: str) -> None:
        """Replace a dead holder's lease (only if it is still that holder's)."""
        m = self._mark
        with self._lock:
            self._conn.execute(
                f"UPDATE lgp_thread_leases SET expires_at = 0 WHERE thread_id = {m} "
                f"AND run_id = {m} AND owner = {m}",
                (holder.thread_id, holder.run_id, holder.owner),
            )
