"""The run store: run records and their ordered event logs, beside the checkpoints.

Checkpoints hold a thread's state; the run store holds what happened: one record
per run (workflow, status, input, times, error) and every :class:`RunEvent` it
emitted, in order. Events are written before anyone sees them, so
``events(run_id, after_seq)`` replays a run exactly, also after a restart.

Statuses and their transitions are in :mod:`lgp_engine.status`.

A run is *owned* by the process executing it (host, pid and that process's start
time). When a store is opened, running runs whose owner is gone are marked
``abandoned``; their thread can be resumed from its last checkpoint.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from .backends.sql import (
    PG_JSON_FUNCTION,
    Database,
    SqliteDatabase,
    database_for,
    open_store_database,
)
from .errors import AmbiguousError, ConflictError, NotFoundError
from .events import RunEvent
from .jsonable import dumps
from .status import IN_FLIGHT, TERMINAL, TRANSITIONS, RunStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgp_runs (
    run_id       TEXT PRIMARY KEY,
    thread_id    TEXT NOT NULL,
    workflow     TEXT NOT NULL,
    target       TEXT,
    kind         TEXT NOT NULL DEFAULT 'run',
    status       TEXT NOT NULL,
    input        TEXT,
    checkpoint_id TEXT,
    created_at   REAL NOT NULL,
    started_at   REAL,
    ended_at     REAL,
    duration_ms  REAL,
    error        TEXT,
    usage        TEXT,
    owner        TEXT,
    last_seq     INTEGER NOT NULL DEFAULT 0,
    meta         TEXT
);
CREATE INDEX IF NOT EXISTS lgp_runs_thread ON lgp_runs (thread_id, created_at);
CREATE INDEX IF NOT EXISTS lgp_runs_status ON lgp_runs (status);
CREATE TABLE IF NOT EXISTS lgp_threads (
    thread_id  TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    metadata   TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS lgp_events (
    run_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    ts      REAL NOT NULL,
    type    TEXT NOT NULL,
    node    TEXT,
    payload TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lgp_events_type ON lgp_events (type);
CREATE TABLE IF NOT EXISTS lgp_recordings (
    run_id    TEXT NOT NULL,
    after_seq INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    node      TEXT,
    payload   TEXT NOT NULL,
    PRIMARY KEY (run_id, after_seq, n)
) WITHOUT ROWID;
"""

#: The same tables on PostgreSQL (numbered steps: a new column is a new step). JSON
#: stays text, as written; ``rowid`` is SQLite's implicit one made explicit (the
#: insertion order that breaks ties between runs created in the same instant).
_PG_SCHEMA = (
    PG_JSON_FUNCTION,
    """
CREATE TABLE lgp_runs (
    run_id       TEXT PRIMARY KEY,
    rowid        BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    thread_id    TEXT NOT NULL,
    workflow     TEXT NOT NULL,
    target       TEXT,
    kind         TEXT NOT NULL DEFAULT 'run',
    status       TEXT NOT NULL,
    input        TEXT,
    checkpoint_id TEXT,
    created_at   DOUBLE PRECISION NOT NULL,
    started_at   DOUBLE PRECISION,
    ended_at     DOUBLE PRECISION,
    duration_ms  DOUBLE PRECISION,
    error        TEXT,
    usage        TEXT,
    owner        TEXT,
    last_seq     BIGINT NOT NULL DEFAULT 0,
    meta         TEXT
);
CREATE INDEX lgp_runs_thread ON lgp_runs (thread_id, created_at);
CREATE INDEX lgp_runs_status ON lgp_runs (status);
CREATE INDEX lgp_runs_created ON lgp_runs (created_at);
CREATE TABLE lgp_threads (
    thread_id  TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    metadata   TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE lgp_events (
    run_id  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    ts      DOUBLE PRECISION NOT NULL,
    type    TEXT NOT NULL,
    node    TEXT,
    payload TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX lgp_events_type ON lgp_events (type);
""",
    # the model and tool calls of each run, for recorded replays (lgp_engine.providers.replay)
    """
CREATE TABLE lgp_recordings (
    run_id    TEXT NOT NULL,
    after_seq BIGINT NOT NULL,
    n         INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    node      TEXT,
    payload   TEXT NOT NULL,
    PRIMARY KEY (run_id, after_seq, n)
);
""",
)


#: The PostgreSQL channel every appended event is announced on (payload: its run id).
EVENTS_CHANNEL = "lgp_events"

#: The owner of a run waiting in the shared run queue: no process has it yet, any
#: server process with a free slot may claim it (:meth:`RunStore.claim_queued`).
SHARED_QUEUE = "queue"
#: The payload announced on :data:`EVENTS_CHANNEL` when a run joins the shared queue.
QUEUE_SIGNAL = "lgp-queue"

#: The counts of a usage total (``RunRecord.usage``) that :meth:`RunStore.usage_summary` sums.
USAGE_COUNTS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "calls",
)


class UsageBucket(TypedDict):
    """Tokens, calls and cost of a group of runs (all of them, a model, a workflow)."""

    runs: int  # how many runs of the group made model calls (by workflow: all its runs)
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float


class UsageSummary(UsageBucket):
    """What :meth:`RunStore.usage_summary` answers: the totals of the runs matched,
    then the same by ``provider:model`` and by workflow (costliest first)."""

    runs_with_usage: int
    by_model: dict[str, UsageBucket]
    by_workflow: dict[str, UsageBucket]


# last_seq is refreshed whenever the status changes (appending an event stays one INSERT)
_LAST_SEQ = (
    "last_seq = COALESCE((SELECT MAX(seq) FROM lgp_events e WHERE e.run_id = lgp_runs.run_id), 0)"
)


#: Written in the transaction that records a run (see :meth:`RunStore.create`).
Along = Callable[[Database, str], None]
#: One SQL statement (``?`` placeholders) and its parameters.
Statement = tuple[str, Sequence[Any]]


class IllegalTransition(ConflictError):
    """A run was asked to move to a status its current status does not allow."""

    title = "Invalid run state"


@dataclass(frozen=True)
class RunRecord:
    """One run as stored."""

    run_id: str
    thread_id: str
    workflow: str
    target: str | None
    kind: str
    status: RunStatus
    input: Any
    checkpoint_id: str | None
    created_at: float
    started_at: float | None
    ended_at: float | None
    duration_ms: float | None
    error: dict[str, Any] | None
    usage: dict[str, Any] | None
    owner: str | None
    last_seq: int  # the newest event's seq as of the last status change
    meta: dict[str, Any] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class ThreadMeta:
    """A thread's record in the run store (threads created through the API)."""

    thread_id: str
    created_at: float
    updated_at: float
    metadata: dict[str, Any]


@dataclass(frozen=True)
class ThreadMerge:
    """Metadata merged into the thread's record as a run on it is recorded (see
    :meth:`RunStore.create`), with the record as the caller read it (None: none read)."""

    metadata: dict[str, Any]
    known: ThreadMeta | None = None


@dataclass(frozen=True)
class ThreadRuns:
    """What the run store knows of a thread, for listings (:meth:`RunStore.thread_runs`).

    Attributes:
        latest: Its newest run (its status is the thread's).
        first: Its first run (its input names the thread).
        branch: Its newest fork or replay run.
        branch_of: The checkpoint that fork or replay started from.
        metadata: Its record's metadata (set through the API or a rename), or ``{}``.
    """

    thread_id: str
    latest: RunRecord | None
    first: RunRecord | None
    branch: RunRecord | None
    branch_of: str | None
    metadata: dict[str, Any]


#: Ids per ``IN (...)`` of a listing's queries (well under SQLite's variable limit).
_IN_CHUNK = 500


def _process_start(pid: int) -> str | None:
    """Start time of ``pid`` (clock ticks since boot) on Linux, else None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def owner_token(pid: int | None = None) -> str:
    """Identifies a live process: ``host:pid:start``."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or '?'}"


def owner_alive(token: str | None) -> bool:
    """Whether the process behind an owner token still runs (unknown hosts count as alive)."""
    if not token:
        return False
    if token == SHARED_QUEUE:
        return True  # in the shared queue: a server process will take it
    try:
        host, pid_s, start = token.rsplit(":", 2)
        pid = int(pid_s)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another machine: we cannot tell, so we do not touch it
    current = _process_start(pid)
    if current is not None:
        return start in ("?", current)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """Run records and event logs in SQLite (WAL mode) or PostgreSQL.

    Args:
        path: The SQLite file (may be the checkpoint file); None for in-memory.
        busy_timeout_ms: How long a SQLite writer waits for another one.
        database: The database to use instead of ``path`` (a PostgreSQL one: see
            :meth:`for_settings`); the store closes it.

    Attributes:
        path: The SQLite file; None in memory and on PostgreSQL.
        backend: ``sqlite``, ``memory`` or ``postgres``.
        where: Where the runs are, fit to show (the file, ``memory``, the URL
            without its password).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        busy_timeout_ms: int = 5000,
        database: Database | None = None,
    ) -> None:
        db = open_store_database(
            database,
            path,
            busy_timeout_ms=busy_timeout_ms,
            schema="runs",
            sqlite_schema=_SCHEMA,
            steps=_PG_SCHEMA,
            store="run store",
            then=_migrate_sqlite,
        )
        self._db = db
        self._sql = db.dialect
        self.path = db.path
        self.backend = db.backend
        self.where = db.where
        self.owner = owner_token()

    @classmethod
    def for_settings(cls, settings: Any, db_path: Path | None) -> RunStore:
        """The run store of ``settings``: in the checkpointer's PostgreSQL database
        when its backend is ``postgres`` (a pool of ``pool_size`` connections), else
        in the SQLite file ``db_path`` (None: in memory)."""
        return cls(db_path, database=database_for(settings, db_path))

    def close(self) -> None:
        self._db.close()

    # -- runs -------------------------------------------------------------------
    def create(
        self,
        run_id: str,
        thread_id: str,
        workflow: str,
        *,
        target: str | None = None,
        kind: str = "run",
        input: Any = None,  # noqa: A002
        checkpoint_id: str | None = None,
        status: RunStatus = RunStatus.QUEUED,
        meta: dict[str, Any] | None = None,
        shared: bool = False,
        along: Along | None = None,
        thread: ThreadMerge | None = None,
    ) -> RunRecord:
        """Record a new run (``queued`` unless told otherwise), owned by this process
        (``shared``: by no process yet, in the shared run queue, where any server
        process may claim it); :class:`DuplicateError` if the id is taken. ``along``
        is called with the database and the run id inside the same transaction: what
        it writes commits with the run or, if it raises, neither does (a cron tick's
        claim names its run this way: a crash leaves both or neither).

        ``thread``: metadata merged into the thread's record first, as
        :meth:`put_thread` does; on PostgreSQL, when the record as the caller read it
        is known, in the statement that records the run (one round trip; a record
        changed meanwhile is merged again after it)."""
        cas: tuple[str, str] | None = None  # the thread's merged metadata, what it was
        if thread is not None:
            one = self._sql.name == "postgres" and not shared and along is None
            if one and thread.known is not None and thread.metadata:
                cas = (
                    dumps({**thread.known.metadata, **thread.metadata}),
                    dumps(thread.known.metadata),  # written by dumps: the stored text
                )
            else:
                self.put_thread(thread_id, thread.metadata, known=thread.known)
        insert = (
            "INSERT INTO lgp_runs (run_id, thread_id, workflow, target, kind, status, input,"
            " checkpoint_id, created_at, owner, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            f"RETURNING {_RUN_COLUMNS}"
        )
        if shared and self._sql.name == "postgres":  # the server processes with a free slot
            insert = _announcing(insert, f"'{QUEUE_SIGNAL}'")
        params = (
            run_id,
            thread_id,
            workflow,
            target,
            kind,
            RunStatus(status).value,
            dumps(input),
            checkpoint_id,
            time.time(),
            SHARED_QUEUE if shared else self.owner,
            dumps(meta or {}),
        )
        if cas is not None:
            insert = (
                "WITH thread AS (UPDATE lgp_threads SET metadata = ?, updated_at = ? "
                "WHERE thread_id = ? AND metadata = ? RETURNING thread_id) "
                f"{insert}, (SELECT COUNT(*) FROM thread)"
            )
            rows = self._db.fetchall(insert, (cas[0], time.time(), thread_id, cas[1], *params))
            if thread is not None and not rows[0][-1]:  # changed (or gone) since it was read
                self.put_thread(thread_id, thread.metadata)
        elif along is None:  # one statement: no transaction around it
            rows = self._db.fetchall(insert, params)
        else:
            with self._db.transaction():
                rows = self._db.fetchall(insert, params)
                along(self._db, run_id)
        return _records(rows)[0]

    def get(self, run_id: str) -> RunRecord:
        """One run; :class:`NotFoundError` if unknown."""
        rows = self._select("WHERE run_id = ?", (run_id,))
        if not rows:
            raise NotFoundError(f"unknown run {run_id!r}", code="unknown_run", run_id=run_id)
        return rows[0]

    def find(self, run_id_prefix: str) -> RunRecord:
        """A run by id or unique id prefix (at least 6 characters)."""
        try:
            return self.get(run_id_prefix)
        except NotFoundError:
            if len(run_id_prefix) < 6:
                raise
        rows = self._select(  # LIKE would read _ and % in the prefix as wildcards
            "WHERE lower(substr(run_id, 1, ?)) = lower(?) ORDER BY created_at",
            (len(run_id_prefix), run_id_prefix),
        )
        if len(rows) == 1:
            return rows[0]
        if not rows:
            raise NotFoundError(
                f"unknown run {run_id_prefix!r}", code="unknown_run", run_id=run_id_prefix
            )
        raise AmbiguousError(
            f"run id prefix {run_id_prefix!r} is ambiguous ({len(rows)} runs); give more of the id",
            field="run_id",
            code="ambiguous_run",
            run_id=run_id_prefix,
        )

    def list_runs(
        self,
        *,
        thread_id: str | None = None,
        status: RunStatus | Collection[RunStatus] | None = None,
        limit: int = 50,
        offset: int = 0,
        oldest_first: bool = False,
    ) -> list[RunRecord]:
        """Runs, newest first (or oldest first); ``status`` one status or several."""
        clauses: list[str] = []
        params: list[Any] = []
        if thread_id is not None:
            clauses.append("thread_id = ?")
            params.append(thread_id)
        if status is not None:
            wanted = [RunStatus(status)] if isinstance(status, str) else sorted(status)
            clauses.append(f"status IN ({','.join('?' * len(wanted))})")
            params.extend(RunStatus(s).value for s in wanted)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        order = "ASC" if oldest_first else "DESC"
        return self._select(
            f"{where} ORDER BY created_at {order}, rowid {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )

    def usage_summary(
        self, *, workflow: str | None = None, since: datetime | float | None = None
    ) -> UsageSummary:
        """Tokens, calls and cost of the runs of ``workflow`` (all by default) created
        at or after ``since`` (a datetime, or seconds since the epoch), summed in SQL:
        totals, by ``provider:model`` and by workflow. Runs without usage count as 0.

        ``runs`` is how many runs matched; ``runs_with_usage`` how many of them
        called a model (by model, ``runs`` counts the runs that called it)."""
        clauses: list[str] = ["1 = 1"]
        params: list[Any] = []
        if workflow is not None:
            clauses.append("workflow = ?")
            params.append(workflow)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since.timestamp() if isinstance(since, datetime) else float(since))
        sql = self._sql
        usage = sql.json_doc("usage")  # '{}' for none or a damaged value

        def sums(doc: str) -> str:
            counts = ", ".join(f"COALESCE(SUM({sql.json_num(doc, k)}), 0)" for k in USAGE_COUNTS)
            return f"{counts}, COALESCE(SUM({sql.json_num(doc, 'cost_usd')}), 0.0)"

        has_calls = f"CASE WHEN COALESCE({sql.json_num(usage, 'calls')}, 0) > 0 THEN 1 ELSE 0 END"
        where = "WHERE " + " AND ".join(clauses)
        total = self._db.fetchone(
            f"SELECT COUNT(*), COALESCE(SUM({has_calls}), 0), {sums(usage)} FROM lgp_runs {where}",
            params,
        )
        assert total is not None
        by_workflow = self._db.fetchall(
            f"SELECT workflow, COUNT(*), {sums(usage)} FROM lgp_runs {where} "
            "GROUP BY workflow ORDER BY 9 DESC, 5 DESC, workflow",
            params,
        )
        models, is_object = sql.json_objects(usage, "by_model", "m")
        by_model = self._db.fetchall(
            f"SELECT m.key, COUNT(*), {sums('m.value')} FROM lgp_runs, {models} "
            f"{where} AND {is_object} GROUP BY m.key ORDER BY 9 DESC, 5 DESC, m.key",
            params,
        )
        return UsageSummary(
            **_bucket(total[0], total[2:]),
            runs_with_usage=int(total[1]),
            by_model={row[0]: _bucket(row[1], row[2:]) for row in by_model},
            by_workflow={row[0]: _bucket(row[1], row[2:]) for row in by_workflow},
        )

    def last_seq(self, run_id: str) -> int:
        """The seq of the run's newest persisted event (0 if none)."""
        row = self._db.fetchone(
            "SELECT COALESCE(MAX(seq), 0) FROM lgp_events WHERE run_id = ?", (run_id,)
        )
        return int(row[0]) if row else 0

    def latest_runs(self) -> dict[str, RunRecord]:
        """The newest run of every thread that has one, in one query (for listings)."""
        newest = self._select(
            "WHERE rowid IN (SELECT (SELECT r.rowid FROM lgp_runs r "
            "WHERE r.thread_id = t.thread_id ORDER BY r.created_at DESC, r.rowid DESC LIMIT 1) "
            "FROM (SELECT DISTINCT thread_id FROM lgp_runs) t)",
            (),
        )
        return {r.thread_id: r for r in newest}

    def latest_for_thread(self, thread_id: str) -> RunRecord | None:
        rows = self.list_runs(thread_id=thread_id, limit=1)
        return rows[0] if rows else None

    def transition(
        self,
        run_id: str,
        status: RunStatus,
        *,
        event: RunEvent | None = None,
        also: Statement | None = None,
        **fields: Any,
    ) -> RunRecord:
        """Move a run to ``status``; :class:`IllegalTransition` if not allowed.

        One conditional UPDATE: of two processes moving the same run, one wins.
        ``event`` (the event that ends the run) is appended first, as :meth:`append`
        would, even when the move is refused; on PostgreSQL in the same statement.
        ``also`` (a DELETE, INSERT or UPDATE of another table, e.g. the run's thread
        lease given up as it ends) is written whether the move is refused or not: on
        PostgreSQL in the same statement (one round trip and commit), on SQLite after
        it."""
        if also is not None and self._sql.name != "postgres":
            try:
                return self.transition(run_id, status, event=event, **fields)
            finally:
                self._db.execute(*also)
        moved = self._move(run_id, RunStatus(status), event, also, None, fields)
        assert moved is not None  # no condition: moved, or refused (raised)
        return moved

    def start_if(self, run_id: str, taken: Statement, **fields: Any) -> RunRecord | None:
        """Move a run to ``running`` if the statement ``taken`` (the thread's lease
        taken for it: an INSERT or UPDATE that returns a row when it did) returns a row;
        None (nothing moved) when it returns none. On PostgreSQL in one statement. As
        :meth:`transition` otherwise: :class:`IllegalTransition` when the move is
        refused, what ``taken`` wrote staying written (the caller undoes it)."""
        if self._sql.name != "postgres":
            if not self._db.fetchall(*taken):
                return None
            return self.transition(run_id, RunStatus.RUNNING, **fields)
        return self._move(run_id, RunStatus.RUNNING, None, None, taken, fields)

    def _move(
        self,
        run_id: str,
        status: RunStatus,
        event: RunEvent | None,
        also: Statement | None,
        when: Statement | None,
        fields: dict[str, Any],
    ) -> RunRecord | None:
        """:meth:`transition`, and :meth:`start_if`'s move on PostgreSQL (``when``)."""
        if event is not None and self._sql.name != "postgres":
            self.append(event)
            event = None
        sets = ["status = ?", _LAST_SEQ]
        values: list[Any] = [status.value]
        now = time.time()
        if status == RunStatus.RUNNING:
            sets += ["started_at = COALESCE(started_at, ?)", "ended_at = NULL", "owner = ?"]
            values += [now, self.owner]
        if status in TERMINAL or status == RunStatus.INTERRUPTED:
            sets.append("ended_at = ?")
            values.append(now)
        for key in ("duration_ms", "error", "usage", "meta"):
            if key in fields:
                sets.append(f"{key} = ?")
                value = fields[key]
                values.append(value if key == "duration_ms" else dumps(value))
        allowed = [s.value for s, nxt in TRANSITIONS.items() if status in nxt]
        if event is not None and not allowed:
            self.append(event)
            event = None
        params: list[Any] = [*values, run_id, *allowed]
        if event is not None:  # its seq counts too (the statement does not see its row)
            sets[1] = (
                f"last_seq = GREATEST({_LAST_SEQ.split(' = ', 1)[1]}, (SELECT seq FROM appended))"
            )
        marks = ",".join("?" * len(allowed))
        cond = " AND EXISTS (SELECT 1 FROM cond)" if when is not None else ""
        update = (
            f"UPDATE lgp_runs SET {', '.join(sets)} WHERE run_id = ? AND status IN ({marks})"
            f"{cond} RETURNING {_RUN_COLUMNS}"
        )
        if when is not None and allowed:  # one row: the run's columns (NULL if not moved)
            update = (
                f"WITH cond AS ({when[0]}), moved AS ({update}) SELECT moved.*, "
                "(SELECT COUNT(*) FROM cond) FROM (SELECT 1) AS one LEFT JOIN moved ON TRUE"
            )
            params = [*when[1], *params]
        if self._sql.name == "postgres" and (
            event is not None or status in TERMINAL | {RunStatus.INTERRUPTED}
        ):
            # who waits for the run's end (another replica) reads its status on this,
            # sent as the update commits
            update = _announcing(update, "run_id")
        if event is not None:
            update = (
                "WITH appended AS (INSERT INTO lgp_events (run_id, seq, ts, type, node, payload) "
                f"VALUES (?,?,?,?,?,?) RETURNING seq), {update.removeprefix('WITH ')}"
            )
            params = [*_event_row(event), *params]
        if also is not None and allowed:  # a data-modifying CTE runs whatever the update does
            joined = f", {update[5:]}" if update.startswith("WITH ") else f" {update}"
            update = f"WITH also AS ({also[0]}){joined}"
            params = [*also[1], *params]
        elif also is not None:
            self._db.execute(*also)
        moved = (
            []
            if not allowed
            else self._db.fetchall(  # conditional: another process may have moved it
                update, params
            )
        )
        if when is not None and moved:
            if not moved[0][-1]:  # ``when`` returned nothing: the run was not to move
                return None
            moved = [row for row in moved if row[0] is not None]
        if not moved:
            if event is not None and self._sql.name == "postgres":
                # refused, but its event is written: followers elsewhere hear of it
                self._db.execute(f"SELECT pg_notify('{EVENTS_CHANNEL}', ?)", (run_id,))
            now_status = self.get(run_id).status  # NotFoundError when there is no such run
            raise IllegalTransition(f"run {run_id} is {now_status}; it cannot become {status}")
        return _records(moved)[0]

    def claim(self, run_id: str, owner: str | None, status: RunStatus) -> bool:
        """Make this process the run's owner if it is still ``status`` and owned by
        ``owner`` (a replica that died): one process wins, the others get False."""
        changed = self._db.execute(
            "UPDATE lgp_runs SET owner = ? WHERE run_id = ? AND status = ? "
            "AND owner IS NOT DISTINCT FROM ?",
            (self.owner, run_id, status, owner),
        )
        return changed == 1

    def queued_shared(self, thread_id: str | None = None) -> int:
        """How many runs wait in the shared run queue (of ``thread_id``: a run queued on
        a thread after one of these must wait there too, to keep the thread's order)."""
        where = "status = 'queued' AND owner = ?"
        params: list[Any] = [SHARED_QUEUE]
        if thread_id is not None:
            where += " AND thread_id = ?"
            params.append(thread_id)
        row = self._db.fetchone(f"SELECT COUNT(*) FROM lgp_runs WHERE {where}", params)
        return int(row[0]) if row else 0

    def claim_queued(self) -> RunRecord | None:
        """Take the oldest run of the shared run queue whose thread is free (no run of
        it executes, none queued before it), as this process's; None when there is
        none. One statement: of several processes claiming at once, each gets another
        run (PostgreSQL skips the rows others have locked; SQLite writes one at a time)."""
        skip = " FOR UPDATE SKIP LOCKED" if self._sql.name == "postgres" else ""
        rows = self._db.fetchall(
            "UPDATE lgp_runs SET owner = ? WHERE owner = ? AND status = 'queued' AND run_id = ("
            "SELECT r.run_id FROM lgp_runs r WHERE r.status = 'queued' AND r.owner = ? "
            "AND NOT EXISTS (SELECT 1 FROM lgp_runs o WHERE o.thread_id = r.thread_id "
            "AND o.run_id <> r.run_id AND (o.status = 'running' "
            "OR (o.status = 'queued' AND o.created_at < r.created_at))) "
            f"ORDER BY r.created_at LIMIT 1{skip}) RETURNING {_RUN_COLUMNS}",
            (self.owner, SHARED_QUEUE, SHARED_QUEUE),
        )
        return _records(rows)[0] if rows else None

    def unclaim(self, run_id: str) -> bool:
        """Give a run this process claimed but did not start back to the shared queue."""
        changed = self._db.execute(
            "UPDATE lgp_runs SET owner = ? WHERE run_id = ? AND owner = ? AND status = 'queued'",
            (SHARED_QUEUE, run_id, self.owner),
        )
        return changed == 1

    def cancel_queued(self, run_id: str, reason: str) -> bool:
        """Cancel a run that waits in the shared run queue (its only event says
        why); False if it is not there (claimed meanwhile, or ended)."""
        from .events import RunEvent

        with self._db.transaction():
            moved = self._db.fetchall(
                "UPDATE lgp_runs SET status = 'cancelled', ended_at = ?, owner = ?, last_seq = 1 "
                "WHERE run_id = ? AND status = 'queued' AND owner = ? RETURNING thread_id",
                (time.time(), self.owner, run_id, SHARED_QUEUE),
            )
            if moved:
                self.append(RunEvent(run_id, 1, "run.cancelled", moved[0][0], {"reason": reason}))
        if moved and self._sql.name == "postgres":  # who waits for its end, anywhere
            self._db.execute(f"SELECT pg_notify('{EVENTS_CHANNEL}', ?)", (run_id,))
        return bool(moved)

    def reap_abandoned(self) -> list[RunRecord]:
        """Mark runs whose owning process is gone as ``abandoned``; returns them.

        A run that another process took over meanwhile (another owner) or moved on
        (another status) is left alone, and so is a run made through the HTTP API: a
        server takes it over and carries it on (``lgp_engine.server.adoption``)."""
        reaped = []
        error = dumps({"error_type": "Abandoned", "message": "the process running it stopped"})
        for run in self._select(f"WHERE status IN {_sql_set(IN_FLIGHT)}", ()):
            if run.owner == self.owner or owner_alive(run.owner) or (run.meta or {}).get("api"):
                continue
            changed = self._db.execute(
                f"UPDATE lgp_runs SET status = 'abandoned', ended_at = ?, error = ?, {_LAST_SEQ} "
                f"WHERE run_id = ? AND status IN {_sql_set(IN_FLIGHT)} "
                "AND owner IS NOT DISTINCT FROM ?",
                (time.time(), error, run.run_id, run.owner),
            )
            if changed:
                reaped.append(self.get(run.run_id))
        return reaped

    def prune(self, *, max_age_days: float | None = None, max_runs: int | None = None) -> int:
        """Delete finished runs (and their events) older than the limits; returns how many."""
        doomed: set[str] = set()
        done = f"status IN {_sql_set(TERMINAL)}"
        if max_age_days is not None:
            cutoff = time.time() - max_age_days * 86400
            doomed |= {
                r[0]
                for r in self._db.fetchall(
                    f"SELECT run_id FROM lgp_runs WHERE {done} AND created_at < ?", (cutoff,)
                )
            }
        if max_runs is not None:
            doomed |= {
                r[0]
                for r in self._db.fetchall(
                    f"SELECT run_id FROM lgp_runs WHERE {done} ORDER BY created_at DESC "
                    "LIMIT ? OFFSET ?",
                    (self._sql.no_limit, max_runs),
                )
            }
        if doomed:
            ids = sorted(doomed)
            marks = ",".join("?" * len(ids))
            with self._db.transaction():
                self._db.execute(f"DELETE FROM lgp_events WHERE run_id IN ({marks})", ids)
                self._db.execute(f"DELETE FROM lgp_recordings WHERE run_id IN ({marks})", ids)
                self._db.execute(f"DELETE FROM lgp_runs WHERE run_id IN ({marks})", ids)
        return len(doomed)

    def delete_run(self, run_id: str) -> None:
        """Forget one run: its record, events and recorded calls (a no-op when unknown)."""
        with self._db.transaction():
            self._db.execute("DELETE FROM lgp_events WHERE run_id = ?", (run_id,))
            self._db.execute("DELETE FROM lgp_recordings WHERE run_id = ?", (run_id,))
            self._db.execute("DELETE FROM lgp_runs WHERE run_id = ?", (run_id,))

    # -- threads (metadata of threads created through the API) ---------------------
    def put_thread(
        self,
        thread_id: str,
        metadata: dict[str, Any] | None = None,
        *,
        remove: Collection[str] = (),
        known: ThreadMeta | None = None,
    ) -> ThreadMeta:
        """Create a thread record, or merge ``metadata`` into the existing one; the
        keys in ``remove`` are dropped from it. Merges of concurrent callers all land:
        each is a compare-and-set of the metadata it read, tried again on a change.

        ``known`` is the record as the caller just read it (:meth:`get_thread`): the
        merge then starts from it instead of reading it again. A new record is one
        statement, a merge usually one too (a round trip each on PostgreSQL)."""
        now = time.time()
        changes = bool(metadata or remove)
        if known is None or not changes:
            made = self.create_thread(thread_id, metadata)
            if made is not None:
                return made
            if not changes:
                found = self.get_thread(thread_id)
                return found if found is not None else self.put_thread(thread_id)
        # what the record holds: as ``known`` says (written by dumps, so dumped again
        # it is the stored text), else read; the UPDATE applies only if it is unchanged
        raw = dumps(known.metadata) if known is not None else None
        while True:
            if raw is None:
                row = self._db.fetchone(
                    "SELECT metadata FROM lgp_threads WHERE thread_id = ?", (thread_id,)
                )
                if row is None:  # deleted meanwhile: a new record with the metadata
                    return self.put_thread(
                        thread_id, {k: v for k, v in (metadata or {}).items() if k not in remove}
                    )
                raw = str(row[0])
            current = _loads(raw)
            merged = {**(current if isinstance(current, dict) else {}), **(metadata or {})}
            for key in remove:
                merged.pop(key, None)
            moved = self._db.fetchone(
                "UPDATE lgp_threads SET metadata = ?, updated_at = ? "
                f"WHERE thread_id = ? AND metadata = ? RETURNING {_THREAD_COLUMNS}",
                (dumps(merged), now, thread_id, raw),
            )
            if moved is not None:
                return _thread(moved)
            raw = None  # changed (or gone) since it was read: read it again

    def create_thread(
        self, thread_id: str, metadata: dict[str, Any] | None = None
    ) -> ThreadMeta | None:
        """Create a thread record, in one statement; None (and nothing changed) when
        the thread has one already."""
        now = time.time()
        made = self._db.fetchone(
            "INSERT INTO lgp_threads (thread_id, created_at, updated_at, metadata) "
            f"VALUES (?,?,?,?) ON CONFLICT (thread_id) DO NOTHING RETURNING {_THREAD_COLUMNS}",
            (thread_id, now, now, dumps(metadata or {})),
        )
        return _thread(made) if made is not None else None

    def get_thread(self, thread_id: str) -> ThreadMeta | None:
        row = self._db.fetchone(
            f"SELECT {_THREAD_COLUMNS} FROM lgp_threads WHERE thread_id = ?", (thread_id,)
        )
        return _thread(row) if row else None

    def list_threads(self) -> list[ThreadMeta]:
        return [_thread(r) for r in self._db.fetchall(f"SELECT {_THREAD_COLUMNS} FROM lgp_threads")]

    def thread_runs(self, thread_ids: Sequence[str]) -> dict[str, ThreadRuns]:
        """What a listing of these threads shows from the run store (their newest and
        first runs, newest fork or replay and metadata), in a few queries whatever
        their number; threads with neither a run nor a record are left out."""
        found: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(thread_ids))
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            branch = "kind IN ('fork', 'replay')"
            rows = self._db.fetchall(
                f"SELECT {_RUN_COLUMNS}, newest, oldest, branch FROM (SELECT {_RUN_COLUMNS}, "
                "ROW_NUMBER() OVER (PARTITION BY thread_id "
                "ORDER BY created_at DESC, rowid DESC) AS newest, "
                "ROW_NUMBER() OVER (PARTITION BY thread_id "
                "ORDER BY created_at ASC, rowid ASC) AS oldest, "
                f"CASE WHEN {branch} THEN ROW_NUMBER() OVER (PARTITION BY thread_id, {branch} "
                "ORDER BY created_at DESC, rowid DESC) END AS branch "
                f"FROM lgp_runs WHERE thread_id IN ({marks})) ranked "
                "WHERE newest = 1 OR oldest = 1 OR branch = 1",
                chunk,
            )
            width = len(_RUN_COLUMNS.split(","))
            for row in rows:
                record = _records([row[:width]])[0]
                newest, oldest, branch_at = row[width:]
                entry = found.setdefault(record.thread_id, {})
                if newest == 1:
                    entry["latest"] = record
                if oldest == 1:
                    entry["first"] = record
                if branch_at == 1:
                    entry["branch"] = record
            for tid, meta in self._db.fetchall(
                f"SELECT thread_id, metadata FROM lgp_threads WHERE thread_id IN ({marks})",
                chunk,
            ):
                loaded = _loads(meta)
                found.setdefault(tid, {})["metadata"] = loaded if isinstance(loaded, dict) else {}
        branches = [e["branch"].run_id for e in found.values() if "branch" in e]
        started: dict[str, dict[str, Any]] = {}
        for start in range(0, len(branches), _IN_CHUNK):
            chunk = branches[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for run_id, payload in self._db.fetchall(
                "SELECT run_id, payload FROM lgp_events WHERE type = 'run.started' "
                f"AND run_id IN ({marks}) ORDER BY seq DESC",
                chunk,
            ):
                data = _loads(payload)
                if isinstance(data, dict):
                    started[run_id] = data  # the first start wins (rows newest first)
        out = {}
        for tid, entry in found.items():
            branch_run = entry.get("branch")
            data = started.get(branch_run.run_id, {}) if branch_run else {}
            of = data.get("fork_of") or data.get("replay_of")
            out[tid] = ThreadRuns(
                thread_id=tid,
                latest=entry.get("latest"),
                first=entry.get("first"),
                branch=branch_run,
                branch_of=of if isinstance(of, str) else None,
                metadata=entry.get("metadata", {}),
            )
        return out

    def runs_by_id(self, run_ids: Sequence[str]) -> dict[str, RunRecord]:
        """The runs with these ids that are recorded, in a few queries."""
        ids = list(dict.fromkeys(run_ids))
        out: dict[str, RunRecord] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for record in self._select(f"WHERE run_id IN ({marks})", chunk):
                out[record.run_id] = record
        return out

    def touch_thread(self, thread_id: str) -> None:
        self._db.execute(
            "UPDATE lgp_threads SET updated_at = ? WHERE thread_id = ?", (time.time(), thread_id)
        )

    def delete_thread(self, thread_id: str) -> None:
        """Forget a thread's record, runs, events and recorded calls (checkpoints are
        the saver's)."""
        with self._db.transaction():
            for table in ("lgp_events", "lgp_recordings"):
                self._db.execute(
                    f"DELETE FROM {table} WHERE run_id IN "
                    "(SELECT run_id FROM lgp_runs WHERE thread_id = ?)",
                    (thread_id,),
                )
            self._db.execute("DELETE FROM lgp_runs WHERE thread_id = ?", (thread_id,))
            self._db.execute("DELETE FROM lgp_threads WHERE thread_id = ?", (thread_id,))

    # -- events -----------------------------------------------------------------
    def append(self, event: RunEvent) -> None:
        """Persist one event (before it is handed to any consumer);
        :class:`DuplicateError` if the run has an event with that seq."""
        self.append_many([event])

    def append_many(self, events: Sequence[RunEvent]) -> None:
        """Persist events (of one run or several) in one statement: all of them or,
        on an error, none; :class:`DuplicateError` if a run has an event with one of
        their seqs. On PostgreSQL the same statement tells followers on every replica,
        once per run (the runner's group commit writes the events of all the runs of a
        process that are ready together: :class:`~lgp_engine.runner.Runner`)."""
        if not events:
            return
        rows = ",".join(["(?,?,?,?,?,?)"] * len(events))
        insert = f"INSERT INTO lgp_events (run_id, seq, ts, type, node, payload) VALUES {rows}"
        if self._sql.name == "postgres":  # and tell followers on every replica, same trip
            insert = (
                f"WITH e AS ({insert} RETURNING run_id) SELECT pg_notify('{EVENTS_CHANNEL}', "
                "run_id) FROM (SELECT DISTINCT run_id FROM e) AS appended"
            )
        params: list[Any] = []
        for e in events:
            params += _event_row(e)
        self._db.execute(insert, params)

    def events(
        self, run_id: str, after_seq: int = 0, *, limit: int | None = None
    ) -> list[RunEvent]:
        """The run's events with ``seq > after_seq``, in order."""
        run = self.get(run_id)
        rows = self._db.fetchall(
            "SELECT seq, ts, type, node, payload FROM lgp_events WHERE run_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (run_id, after_seq, self._sql.no_limit if limit is None else limit),
        )
        return [
            RunEvent(
                run_id=run_id,
                seq=seq,
                type=type_,
                thread_id=run.thread_id,
                data=json.loads(payload),
                node=node,
                ts=ts,
            )
            for seq, ts, type_, node, payload in rows
        ]

    def count_runs(self, *, workflow: str | None = None, since: float | None = None) -> int:
        """How many runs (of ``workflow``, created at or after ``since``) are recorded."""
        clauses: list[str] = ["1 = 1"]
        params: list[Any] = []
        if workflow is not None:
            clauses.append("workflow = ?")
            params.append(workflow)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        row = self._db.fetchone(
            f"SELECT COUNT(*) FROM lgp_runs WHERE {' AND '.join(clauses)}", params
        )
        return int(row[0]) if row else 0

    def agent_invocations(self, session_id: str) -> list[tuple[str, str, str]]:
        """``(run_id, checkpoint, tip)`` of each recorded invocation of Claude Code
        session ``session_id``, oldest first: the checkpoint its step ran from, and the
        last message it left in the conversation (where a branch from there resumes)."""
        sql = self._sql
        doc = sql.json_event("payload")
        rows = self._db.fetchall(
            f"SELECT run_id, {sql.json_text(doc, 'checkpoint')}, {sql.json_text(doc, 'tip')} "
            f"FROM lgp_events WHERE type = 'agent.result' "
            f"AND {sql.json_text(doc, 'session_id')} = ? "
            f"AND {sql.json_text(doc, 'tip')} IS NOT NULL ORDER BY ts, seq",
            (session_id,),
        )
        return [(str(run), str(at or ""), str(tip)) for run, at, tip in rows]

    def cache_counts(
        self, *, workflow: str | None = None, run_id: str | None = None
    ) -> list[tuple[str, str, int, int]]:
        """``(workflow, node, hits, misses)`` of nodes with a cache policy, from the
        events (``node.cached``; ``node.finished`` marked ``cache: miss``) of every run,
        or of one run."""
        clauses = [self._cache_event()]
        params: list[Any] = []
        if workflow is not None:
            clauses.append("r.workflow = ?")
            params.append(workflow)
        if run_id is not None:
            clauses.append("e.run_id = ?")
            params.append(run_id)
        rows = self._db.fetchall(
            "SELECT r.workflow, e.node, "
            "SUM(CASE WHEN e.type = 'node.cached' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN e.type = 'node.finished' THEN 1 ELSE 0 END) FROM lgp_events e "
            "JOIN lgp_runs r ON r.run_id = e.run_id "
            f"WHERE {' AND '.join(clauses)} GROUP BY r.workflow, e.node "
            "ORDER BY r.workflow, e.node",
            params,
        )
        return [(str(w), str(n), int(h), int(m)) for w, n, h, m in rows]

    def last_cache_run(self, workflow: str) -> str | None:
        """The newest run of ``workflow`` that ran or served a node with a cache policy."""
        row = self._db.fetchone(
            "SELECT e.run_id FROM lgp_events e JOIN lgp_runs r ON r.run_id = e.run_id "
            f"WHERE r.workflow = ? AND {self._cache_event()} "
            "ORDER BY r.created_at DESC, e.ts DESC LIMIT 1",
            (workflow,),
        )
        return str(row[0]) if row else None

    def _cache_event(self) -> str:
        """The condition of an event of a node with a cache policy: served from the
        cache, or run (a miss)."""
        miss = self._sql.json_text(self._sql.json_event("e.payload"), "cache")
        return f"(e.type = 'node.cached' OR (e.type = 'node.finished' AND {miss} = 'miss'))"

    def events_of_types(
        self,
        types: Collection[str],
        *,
        since: float | None = None,
        run_ids: Collection[str] | None = None,
    ) -> list[RunEvent]:
        """Events of the given types across runs, in time order (then by run and seq),
        each with its run's thread id: those recorded at or after ``since`` (seconds
        since the epoch), of the runs ``run_ids`` only when given."""
        if not types or (run_ids is not None and not run_ids):
            return []
        clauses = [f"e.type IN ({','.join('?' * len(types))})"]
        params: list[Any] = list(types)
        if since is not None:
            clauses.append("e.ts >= ?")
            params.append(float(since))
        if run_ids is not None:
            clauses.append(f"e.run_id IN ({','.join('?' * len(run_ids))})")
            params.extend(run_ids)
        rows = self._db.fetchall(
            "SELECT e.run_id, e.seq, e.ts, e.type, e.node, e.payload, r.thread_id "
            "FROM lgp_events e JOIN lgp_runs r ON r.run_id = e.run_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY e.ts, e.run_id, e.seq",
            params,
        )
        return [
            RunEvent(
                run_id=run_id,
                seq=seq,
                type=type_,
                thread_id=thread_id,
                data=json.loads(payload),
                node=node,
                ts=ts,
            )
            for run_id, seq, ts, type_, node, payload, thread_id in rows
        ]

    # -- recorded calls (recorded replays: lgp_engine.providers.replay) ----------
    def add_recordings(self, run_id: str, recordings: Sequence[dict[str, Any]]) -> None:
        """Keep the model and tool calls a run recorded (each a dict with ``kind``,
        ``node``, ``after_seq``: the seq of the event before it, and the call's
        fields), in one statement. The calls recorded after one event are added
        together, once (the runner adds them before the next event)."""
        if not recordings:
            return
        rows = ",".join(["(?,?,?,?,?,?)"] * len(recordings))
        params: list[Any] = []
        for n, rec in enumerate(recordings):
            payload = {k: v for k, v in rec.items() if k not in ("kind", "node", "after_seq")}
            params += (
                run_id,
                int(rec.get("after_seq") or 0),
                n,
                str(rec.get("kind")),
                rec.get("node"),
                dumps(payload),
            )
        self._db.execute(
            f"INSERT INTO lgp_recordings (run_id, after_seq, n, kind, node, payload) VALUES {rows}",
            params,
        )

    def recordings(self, run_id: str, *, after_seq: int = 0) -> list[dict[str, Any]]:
        """The calls ``run_id`` recorded after its event ``after_seq``, in order: each
        its fields with ``kind``, ``node``, ``after_seq`` and ``run_id``."""
        rows = self._db.fetchall(
            "SELECT after_seq, kind, node, payload FROM lgp_recordings "
            "WHERE run_id = ? AND after_seq >= ? ORDER BY after_seq, n",
            (run_id, after_seq),
        )
        return [
            {**json.loads(payload), "kind": kind, "node": node, "after_seq": seq, "run_id": run_id}
            for seq, kind, node, payload in rows
        ]

    def recording_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """How many calls each of these runs recorded (runs without any left out)."""
        if not run_ids:
            return {}
        rows = self._db.fetchall(
            "SELECT run_id, COUNT(*) FROM lgp_recordings "
            f"WHERE run_id IN ({','.join('?' * len(run_ids))}) GROUP BY run_id",
            list(run_ids),
        )
        return {str(run_id): int(count) for run_id, count in rows}

    def checkpoint_seq(self, run_id: str, checkpoint_id: str) -> int | None:
        """The seq of the ``checkpoint`` event with which ``run_id`` saved the root
        checkpoint ``checkpoint_id``; None when it did not save it."""
        doc = self._sql.json_event("payload")
        row = self._db.fetchone(
            "SELECT MIN(seq) FROM lgp_events WHERE run_id = ? AND type = 'checkpoint' AND "
            f"{self._sql.json_text(doc, 'checkpoint_id')} = ?",
            (run_id, checkpoint_id),
        )
        return int(row[0]) if row and row[0] is not None else None

    # -- helpers ----------------------------------------------------------------
    def _select(self, tail: str, params: Sequence[Any]) -> list[RunRecord]:
        return _records(self._db.fetchall(f"SELECT {_RUN_COLUMNS} FROM lgp_runs {tail}", params))


#: The columns of a :class:`RunRecord`, in its fields' order.
_RUN_COLUMNS = (
    "run_id, thread_id, workflow, target, kind, status, input, checkpoint_id, created_at, "
    "started_at, ended_at, duration_ms, error, usage, owner, last_seq, meta"
)


def _event_row(event: RunEvent) -> tuple[Any, ...]:
    """An event's values for the columns of ``lgp_events``, in order."""
    return (event.run_id, event.seq, event.ts, event.type, event.node, dumps(event.data))


def _announcing(statement: str, payload: str) -> str:
    """A PostgreSQL ``statement`` that returns :data:`_RUN_COLUMNS`, also announcing
    ``payload`` (an SQL expression over those columns) on :data:`EVENTS_CHANNEL` for
    each row, in the same round trip; its rows are the statement's (the notice's
    column last)."""
    return (
        f"WITH changed AS ({statement}) SELECT {_RUN_COLUMNS}, "
        f"pg_notify('{EVENTS_CHANNEL}', {payload}) FROM changed"
    )


#: The columns of a :class:`ThreadMeta`, in its fields' order.
_THREAD_COLUMNS = "thread_id, created_at, updated_at, metadata"


def _thread(row: Sequence[Any]) -> ThreadMeta:
    return ThreadMeta(row[0], row[1], row[2], _loads(row[3]) or {})


def _migrate_sqlite(db: Database) -> None:
    """Add columns that newer versions introduced to an older SQLite store."""
    if not isinstance(db, SqliteDatabase):
        return  # PostgreSQL's are numbered migrations
    have = {r[1] for r in db.fetchall("PRAGMA table_info(lgp_runs)")}
    for column, ddl in (("meta", "TEXT"),):
        if column not in have:
            db.execute(f"ALTER TABLE lgp_runs ADD COLUMN {column} {ddl}")


def _records(rows: Sequence[Sequence[Any]]) -> list[RunRecord]:
    return [
        RunRecord(
            run_id=r[0],
            thread_id=r[1],
            workflow=r[2],
            target=r[3],
            kind=r[4],
            status=RunStatus(r[5]),
            input=_loads(r[6]),
            checkpoint_id=r[7],
            created_at=r[8],
            started_at=r[9],
            ended_at=r[10],
            duration_ms=r[11],
            error=_loads(r[12]),
            usage=_loads(r[13]),
            owner=r[14],
            last_seq=r[15],
            meta=_loads(r[16]),
        )
        for r in rows
    ]


def _bucket(runs: int, sums: tuple[Any, ...]) -> UsageBucket:
    """A :class:`UsageBucket` from a run count and the sums of a usage query (the
    :data:`USAGE_COUNTS`, then the cost)."""
    counts = dict(zip(USAGE_COUNTS, (int(v or 0) for v in sums), strict=False))
    return UsageBucket(
        runs=int(runs),
        calls=counts["calls"],
        input_tokens=counts["input_tokens"],
        output_tokens=counts["output_tokens"],
        total_tokens=counts["total_tokens"],
        cache_read_tokens=counts["cache_read_tokens"],
        cache_write_tokens=counts["cache_write_tokens"],
        cost_usd=round(float(sums[len(USAGE_COUNTS)] or 0.0), 8),
    )


def _sql_set(statuses: frozenset[RunStatus]) -> str:
    """``('a', 'b')`` for a SQL ``IN``: statuses are fixed names, never user input."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(statuses)) + ")"


def _loads(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw
