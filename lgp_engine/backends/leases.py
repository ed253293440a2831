"""Thread leases: at most one run executes on a thread at a time, across every
process and replica that shares the database.

A run holds its thread's lease (one row per thread: the run and the process
executing it) while it executes and renews it (:meth:`ThreadLeases.renew`) well
within ``ttl_s``. Another run of the thread, from any process, finds the lease held
and acts by its multitask strategy (see :mod:`lgp_engine.runner`): it waits, gives
up, or asks the holder to stop (:meth:`request_cancel`; the holder sees the request
when it polls). A lease is the holder's only while the row names both its run and its
process: a run whose lease moved to another process (taken over) learns it at its
next poll and stops.

When a holder dies its thread is freed: at once when it was a process of this host
that is gone, else once the lease expired. A lease marked *adoptable* (a run made
through the HTTP API, which a server carries on: :mod:`lgp_engine.server.adoption`)
is left to :meth:`take_over` instead, so that no other run overtakes it; it is free
to anyone only a further ``ttl_s`` after it expired (no server came).

Every call is one statement through the shared SQL layer (a PostgreSQL pool that
reconnects, or the SQLite file); times are the database's clock on PostgreSQL (so
replicas with skewed clocks agree on expiry) and this host's on SQLite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .sql import Database, PostgresDatabase, SqliteDatabase

if TYPE_CHECKING:
    from ..config import Settings

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgp_thread_leases (
    thread_id   TEXT PRIMARY KEY,
    run_id      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at  REAL NOT NULL,
    cancel      TEXT,
    adoptable   INTEGER NOT NULL DEFAULT 0
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
    "ALTER TABLE lgp_thread_leases ADD COLUMN IF NOT EXISTS adoptable INTEGER NOT NULL DEFAULT 0",
]

#: How long a lease lasts without renewal (a replica that died frees its threads then).
DEFAULT_TTL_S = 30.0

_COLUMNS = "thread_id, run_id, owner, expires_at, cancel, adoptable"


@dataclass(frozen=True)
class Lease:
    """Who holds a thread: the run, its process (``host:pid:start``), until when, the
    reason another run asked it to stop (None if nobody did), and whether a server
    carries it on if its process dies."""

    thread_id: str
    run_id: str
    owner: str
    expires_at: float
    cancel: str | None
    adoptable: bool = False


class ThreadLeases:
    """The lease table of one database (SQLite file, memory, or PostgreSQL).

    Args:
        path: The SQLite file (None: in memory, this process only).
        dsn: A PostgreSQL URL instead of ``path``.
        ttl_s: How long a lease lasts without renewal.
        database: An open database to use instead (closed with the leases).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        dsn: str | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        busy_timeout_ms: int = 5000,
        pool_size: int = 10,
        database: Database | None = None,
    ) -> None:
        from ..runs import owner_token

        self.ttl_s = ttl_s
        self.owner = owner_token()
        if database is None:
            database = (
                PostgresDatabase.shared(dsn, pool_size=pool_size)
                if dsn is not None
                else SqliteDatabase(path, busy_timeout_ms=busy_timeout_ms)
            )
        self._db = database
        self.postgres = database.backend == "postgres"
        database.migrate("thread_leases", _SQLITE_SCHEMA, _POSTGRES_STEPS)
        if not self.postgres:
            have = {r[1] for r in database.fetchall("PRAGMA table_info(lgp_thread_leases)")}
            if "adoptable" not in have:  # made by an earlier version
                database.execute(
                    "ALTER TABLE lgp_thread_leases ADD COLUMN adoptable INTEGER NOT NULL DEFAULT 0"
                )
        # the time in a statement: the database's clock, or this host's passed in
        self._now = "EXTRACT(EPOCH FROM clock_timestamp())" if self.postgres else "?"

    @classmethod
    def for_settings(cls, settings: Settings, db_path: Path | None) -> ThreadLeases:
        """The leases of the project's database (the checkpointer's)."""
        cp = settings.checkpointer
        ttl = settings.runs.lease_s
        if cp.backend == "postgres":
            return cls(dsn=cp.postgres_dsn, ttl_s=ttl, pool_size=cp.pool_size)
        return cls(db_path, ttl_s=ttl, busy_timeout_ms=cp.busy_timeout_ms)

    def close(self) -> None:
        self._db.close()

    # -- the lease --------------------------------------------------------------
    def acquire(self, thread_id: str, run_id: str, *, adoptable: bool = False) -> Lease | None:
        """Take ``thread_id`` for ``run_id`` in this process: None when taken (or
        already held by it here), else the lease that holds it. A holder that is gone
        loses the lease to this run: an expired one, or one of a dead process of this
        host, unless it is adoptable (then only :meth:`take_over`, or expiry plus
        another ``ttl_s``, frees it)."""
        holder = self._try(thread_id, run_id, adoptable)
        if holder is None or holder.adoptable:
            return holder
        from ..runs import owner_alive

        if not owner_alive(holder.owner):  # died without releasing: take over now
            self._db.execute(
                "UPDATE lgp_thread_leases SET expires_at = 0 WHERE thread_id = ? "
                "AND run_id = ? AND owner = ?",
                (holder.thread_id, holder.run_id, holder.owner),
            )
            holder = self._try(thread_id, run_id, adoptable)
        return holder

    def renew(self, thread_id: str, run_id: str) -> tuple[bool, str | None]:
        """Extend the lease; (still held by ``run_id`` in this process, the cancel
        request if any)."""
        self._db.execute(
            f"UPDATE lgp_thread_leases SET expires_at = {self._now} + ? "
            "WHERE thread_id = ? AND run_id = ? AND owner = ?",
            (*self._clock(), self.ttl_s, thread_id, run_id, self.owner),
        )
        return self.check(thread_id, run_id)

    def check(self, thread_id: str, run_id: str) -> tuple[bool, str | None]:
        """(whether ``run_id`` still holds its thread in this process, the reason
        another run asked it to stop, if one did)."""
        row = self._db.fetchone(
            "SELECT run_id, owner, cancel FROM lgp_thread_leases WHERE thread_id = ?",
            (thread_id,),
        )
        if row is None or row[0] != run_id or row[1] != self.owner:
            return False, None
        return True, row[2]

    def release(self, thread_id: str, run_id: str) -> None:
        """Give the thread up (a no-op unless ``run_id`` holds it in this process)."""
        self._db.execute(*self.release_statement(thread_id, run_id))

    def release_statement(self, thread_id: str, run_id: str) -> tuple[str, tuple[str, ...]]:
        """:meth:`release` as a statement to run with another one (a run's end
        recorded and its lease given up in one round trip)."""
        return (
            "DELETE FROM lgp_thread_leases WHERE thread_id = ? AND run_id = ? AND owner = ?",
            (thread_id, run_id, self.owner),
        )

    def request_cancel(self, run_id: str, reason: str) -> bool:
        """Ask the process executing ``run_id`` to cancel it (kept if the run is taken
        over meanwhile); False if it holds no lease (not running anywhere)."""
        return bool(
            self._db.execute(
                "UPDATE lgp_thread_leases SET cancel = ? WHERE run_id = ?", (reason, run_id)
            )
        )

    def holder(self, thread_id: str) -> Lease | None:
        """The lease on ``thread_id`` (expired or not), if any."""
        row = self._db.fetchone(
            f"SELECT {_COLUMNS} FROM lgp_thread_leases WHERE thread_id = ?", (thread_id,)
        )
        return _lease(row) if row else None

    def held(self) -> list[Lease]:
        """Every lease, for status views and the reaper."""
        return [_lease(r) for r in self._db.fetchall(f"SELECT {_COLUMNS} FROM lgp_thread_leases")]

    # -- replicas ---------------------------------------------------------------
    def heartbeat(self) -> None:
        """Say this process is alive (a server does it every few seconds: the runs it
        queued are taken over by another one once it stops)."""
        self._db.execute(
            f"INSERT INTO lgp_replicas (owner, heartbeat_at) VALUES (?, {self._now}) "
            "ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            (self.owner, *self._clock()),
        )

    def forget_replica(self) -> None:
        """This process stops serving (a clean shutdown)."""
        self._db.execute("DELETE FROM lgp_replicas WHERE owner = ?", (self.owner,))

    def replica_alive(self, owner: str | None) -> bool:
        """Whether the server process ``owner`` beat within the lease time (a process
        of this host that is gone is dead at once)."""
        from ..runs import owner_alive

        if not owner or not owner_alive(owner):
            return False
        if owner == self.owner:
            return True
        row = self._db.fetchone(
            f"SELECT 1 FROM lgp_replicas WHERE owner = ? AND heartbeat_at > {self._now} - ?",
            (owner, *self._clock(), self.ttl_s),
        )
        return row is not None

    def orphaned(self, thread_id: str, run_id: str) -> bool:
        """Whether running ``run_id`` lost its process: it holds no live lease on its
        thread (none, expired, or its process of this host is gone)."""
        from ..runs import owner_alive

        row = self._db.fetchone(
            f"SELECT owner, expires_at < {self._now} FROM lgp_thread_leases "
            "WHERE thread_id = ? AND run_id = ?",
            (*self._clock(), thread_id, run_id),
        )
        return row is None or bool(row[1]) or not owner_alive(row[0])

    def take_over(self, thread_id: str, run_id: str) -> bool:
        """Move ``run_id``'s lease to this process if it is orphaned (see
        :meth:`orphaned`): one process wins, the others get False. Until the run goes
        on here, no other run can take the thread from under it; its old process, if
        it comes back, finds the lease gone at its next poll and stops."""
        from ..runs import owner_alive

        row = self._db.fetchone(
            f"SELECT owner, expires_at < {self._now} FROM lgp_thread_leases "
            "WHERE thread_id = ? AND run_id = ?",
            (*self._clock(), thread_id, run_id),
        )
        if row is None:  # released (or never taken): hold it anew
            return bool(
                self._db.execute(
                    "INSERT INTO lgp_thread_leases (thread_id, run_id, owner, acquired_at, "
                    f"expires_at, adoptable) VALUES (?, ?, ?, {self._now}, {self._now} + ?, 1) "
                    "ON CONFLICT (thread_id) DO NOTHING",
                    (thread_id, run_id, self.owner, *self._clock(), *self._clock(), self.ttl_s),
                )
            )
        if row[0] != self.owner and not row[1] and owner_alive(row[0]):
            return False  # its process is alive after all
        return bool(
            self._db.execute(
                f"UPDATE lgp_thread_leases SET owner = ?, expires_at = {self._now} + ? "
                "WHERE thread_id = ? AND run_id = ? AND owner = ?",
                (self.owner, *self._clock(), self.ttl_s, thread_id, run_id, row[0]),
            )
        )

    # -- internals --------------------------------------------------------------
    def _clock(self) -> tuple[float, ...]:
        """The ``now`` parameter of a statement (none on PostgreSQL: its own clock)."""
        return () if self.postgres else (time.time(),)

    def _try(self, thread_id: str, run_id: str, adoptable: bool) -> Lease | None:
        """One statement when the thread is free; the holder's lease when it is not.
        Free: no row, or an expired lease (an adoptable one only a further ``ttl_s``
        later), or this very run's in this process. A cancel request survives."""
        taken = self._db.fetchone(*self.take_statement(thread_id, run_id, adoptable))
        if taken is not None:
            return None
        holder = self.holder(thread_id)
        if holder is None:  # released between the two statements: try again
            return self._try(thread_id, run_id, adoptable)
        if holder.run_id == run_id and holder.owner == self.owner:
            return None
        return holder

    def take_statement(
        self, thread_id: str, run_id: str, adoptable: bool
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement that takes ``thread_id`` for ``run_id`` when it is free (see
        :meth:`_try`) and then returns a row; to run alone or with another one (a
        queued run's lease and its start in one round trip)."""
        now, c = self._now, self._clock()
        return (
            "INSERT INTO lgp_thread_leases (thread_id, run_id, owner, acquired_at, "
            f"expires_at, adoptable) VALUES (?, ?, ?, {now}, {now} + ?, ?) "
            "ON CONFLICT (thread_id) DO UPDATE SET run_id = excluded.run_id, "
            "owner = excluded.owner, acquired_at = excluded.acquired_at, "
            "expires_at = excluded.expires_at, adoptable = excluded.adoptable, "
            "cancel = CASE WHEN lgp_thread_leases.run_id = excluded.run_id "
            "THEN lgp_thread_leases.cancel END "
            f"WHERE lgp_thread_leases.expires_at < {now} - "
            "(CASE WHEN lgp_thread_leases.adoptable = 1 THEN ? ELSE 0 END) "
            "OR (lgp_thread_leases.run_id = excluded.run_id "
            "AND lgp_thread_leases.owner = excluded.owner) RETURNING run_id",
            (thread_id, run_id, self.owner, *c, *c, self.ttl_s, int(adoptable), *c, self.ttl_s),
        )


def _lease(row: Any) -> Lease:
    return Lease(row[0], row[1], row[2], row[3], row[4], bool(row[5]))
