"""Crons: runs of an assistant on a schedule, as the LangGraph Agent Server has them
(``client.crons``), kept in the project database and fired by every server process
together, each tick by exactly one of them.

A cron is a 5-field cron expression (minute hour day-of-month month day-of-week) read
in an IANA time zone (UTC when none), the run to start on each tick (its ``payload``:
input, config, context, webhook...), and either a thread (every tick runs on it) or
none (every tick runs on a new thread, deleted after the run unless
``on_run_completed`` is ``keep``). ``end_time`` stops it; ``enabled`` pauses it.

Exactly once: every process that serves the API runs a :class:`CronScheduler` over the
same tables. A process that finds a tick due *claims* it by inserting
``(cron_id, tick)`` into ``lgp_cron_claims``, whose primary key is that pair: the one
insert that succeeds runs the tick, the others skip it. Whoever sees the tick, claimed
or not, moves the cron's ``next_run_date`` on (compare-and-set from that tick), so a
process that dies after its claim does not stop the cron. The tick's run is recorded
in the same transaction that names it on the claim (``run_id``), so a claim without
one has no run. A tick whose claimer died before its run was recorded (no ``run_id``,
its process gone) is taken over by another process (one conditional update: one of
them wins) and run then, so a crash between claim and start neither loses the tick
nor runs it twice. Ticks missed while no process
ran are run once, not once per missed tick: the next one is computed from now.

SQLite: the tables live in the run store's file (every process on that file sees
them). PostgreSQL: the same tables in the project's database, for replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..aio import wait_set
from ..errors import ConflictError, NotFoundError, UsageError
from ..jsonable import dumps, to_jsonable

if TYPE_CHECKING:
    from ..backends.sql import Database
    from ..config import Settings

log = logging.getLogger(__name__)

#: One field of a schedule: numbers, names (``MON``, ``JAN``), ``*``, ranges, steps,
#: lists, and croniter's ``L``/``#``/``?``. Five of them, separated by spaces or tabs.
FIELD = r"[0-9A-Za-z*?,/#-]+"
SCHEDULE_PATTERN = rf"^[ \t]*{FIELD}([ \t]+{FIELD}){{4}}[ \t]*$"
SCHEDULE_RULE = (
    "a cron schedule has 5 fields separated by spaces: minute hour day-of-month month "
    "day-of-week (e.g. '*/5 * * * *', '0 9 * * MON-FRI')"
)
RANGES = (
    "minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-6 or SUN-SAT"
)
#: An IANA time zone name, as written (``Europe/Paris``, ``Etc/GMT+5``, ``UTC``).
TIMEZONE_PATTERN = r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"
#: Times a record can hold and show (years 1 to 9999).
MIN_TIME = datetime(1, 1, 2, tzinfo=UTC).timestamp()
MAX_TIME = datetime(9999, 12, 31, tzinfo=UTC).timestamp()

OnRunCompleted = Literal["delete", "keep"]
SORT_COLUMNS = (
    "cron_id",
    "assistant_id",
    "thread_id",
    "next_run_date",
    "end_time",
    "created_at",
    "updated_at",
)


# --------------------------------------------------------------------------- schedules


@functools.cache
def _zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def zone(timezone: str | None) -> tzinfo:
    """The time zone ``timezone`` names (UTC for None); :class:`UsageError` when it is
    not an IANA time zone name."""
    if not timezone:
        return UTC
    if timezone not in _zones():
        raise UsageError(
            f"unknown time zone {timezone!r}: {{field}} takes an IANA name such as "
            "'Europe/Paris', 'America/New_York' or 'UTC'",
            field="timezone",
            code="unknown_timezone",
        )
    from zoneinfo import ZoneInfo

    return ZoneInfo(timezone)


def check_schedule(schedule: str, timezone: str | None = None) -> None:
    """:class:`UsageError` (field ``schedule`` or ``timezone``) unless ``schedule`` is a
    5-field cron expression that fires, in a known time zone."""
    next_tick(schedule, timezone, time.time())


def next_tick(schedule: str, timezone: str | None, after: float) -> int:
    """The first tick of ``schedule`` strictly after ``after`` (epoch seconds), read in
    ``timezone``, as epoch seconds.

    Raises:
        UsageError: the schedule is not a 5-field expression croniter accepts, it never
            fires (``0 0 30 2 *``), or the time zone is unknown.
    """
    from croniter import CroniterBadDateError, CroniterError, croniter

    if not re.fullmatch(SCHEDULE_PATTERN, schedule):
        raise UsageError(
            f"{schedule!r} is not a cron schedule: {SCHEDULE_RULE}",
            field="schedule",
            code="bad_schedule",
        )
    where = zone(timezone)
    start = datetime.fromtimestamp(max(MIN_TIME, min(after, MAX_TIME)), where)
    try:
        found = croniter(" ".join(schedule.split()), start).get_next(datetime)
    except CroniterBadDateError:
        raise UsageError(
            f"{schedule!r} never fires (no date matches it)",
            field="schedule",
            code="bad_schedule",
        ) from None
    except (CroniterError, ValueError, KeyError) as exc:
        reason = str(exc).strip()
        if reason.startswith("[") and "] " in reason:  # croniter's words: "[EXPR] why"
            reason = reason.split("] ", 1)[1]
        if reason.startswith("is not acceptable"):
            reason = f"a field is not one cron knows or is out of range ({RANGES})"
        raise UsageError(
            f"{schedule!r} is not a valid cron schedule: {reason or type(exc).__name__}",
            field="schedule",
            code="bad_schedule",
        ) from None
    return int(found.timestamp())


def _following(cron: CronRecord, after: float) -> int | None:
    """The cron's next tick after ``after``; None once it is past ``end_time``."""
    tick = next_tick(cron.schedule, cron.timezone, after)
    return None if cron.end_time is not None and tick > cron.end_time else tick


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class CronRecord:
    """A cron: what runs (``payload`` with ``assistant_id``), where (``thread_id``, or a
    new thread per tick), when (``schedule`` in ``timezone``, until ``end_time``), and
    its next tick (``next_run_date``, None when it has none left). Times are epoch
    seconds."""

    cron_id: str
    assistant_id: str
    thread_id: str | None
    user_id: str | None
    schedule: str
    timezone: str | None
    payload: dict[str, Any]
    metadata: dict[str, Any]
    on_run_completed: OnRunCompleted | None
    end_time: float | None
    enabled: bool
    next_run_date: int | None
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Claim:
    """A tick of a cron, claimed by a process (``owner``); ``run_id`` once it started."""

    cron_id: str
    tick: int
    owner: str
    claimed_at: float
    run_id: str | None


_COLUMNS = (
    "cron_id, assistant_id, thread_id, user_id, schedule, timezone, payload, metadata, "
    "on_run_completed, end_time, enabled, next_run_date, created_at, updated_at"
)

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgp_crons (
    cron_id          TEXT PRIMARY KEY,
    assistant_id     TEXT NOT NULL,
    thread_id        TEXT,
    user_id          TEXT,
    schedule         TEXT NOT NULL,
    timezone         TEXT,
    payload          TEXT NOT NULL,
    metadata         TEXT NOT NULL,
    on_run_completed TEXT,
    end_time         REAL,
    enabled          INTEGER NOT NULL,
    next_run_date    INTEGER,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS lgp_crons_due ON lgp_crons (next_run_date) WHERE enabled = 1;
CREATE TABLE IF NOT EXISTS lgp_cron_claims (
    cron_id    TEXT NOT NULL,
    tick       INTEGER NOT NULL,
    owner      TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    run_id     TEXT,
    PRIMARY KEY (cron_id, tick)
) WITHOUT ROWID;
"""

_POSTGRES_STEPS = [
    "CREATE TABLE IF NOT EXISTS lgp_crons (cron_id TEXT PRIMARY KEY, "
    "assistant_id TEXT NOT NULL, thread_id TEXT, user_id TEXT, schedule TEXT NOT NULL, "
    "timezone TEXT, payload TEXT NOT NULL, metadata TEXT NOT NULL, on_run_completed TEXT, "
    "end_time DOUBLE PRECISION, enabled INTEGER NOT NULL, next_run_date BIGINT, "
    "created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS lgp_crons_due ON lgp_crons (next_run_date) WHERE enabled = 1",
    "CREATE TABLE IF NOT EXISTS lgp_cron_claims (cron_id TEXT NOT NULL, tick BIGINT NOT NULL, "
    "owner TEXT NOT NULL, claimed_at DOUBLE PRECISION NOT NULL, run_id TEXT, "
    "PRIMARY KEY (cron_id, tick))",
]

#: Names the run of a claim of this process's that names none yet.
_NAME_RUN = (
    "UPDATE lgp_cron_claims SET run_id = ? "
    "WHERE cron_id = ? AND tick = ? AND owner = ? AND run_id IS NULL"
)
#: A claim without a run this old whose claimer is gone is run by another process.
ORPHAN_GRACE_S = 10.0
#: How often a scheduler looks for such claims.
ORPHAN_CHECK_S = 5.0
#: Older orphaned claims are left alone: a tick is run late by minutes, not by days.
ORPHAN_MAX_AGE_S = 600.0
#: The ``run_id`` of a claimed tick that its process chose not to run (its thread busy
#: with ``reject``, its thread deleted...) or could not start: not an orphan.
NOT_RUN = "-"
#: Claims older than this are deleted (a tick is claimed within seconds of being due).
KEEP_CLAIMS_S = 7 * 24 * 3600.0


class CronStore:
    """The crons and their claimed ticks, in SQLite (WAL mode) or PostgreSQL.

    Args:
        path: The SQLite file (the run store's); None: in memory, this process only.
        busy_timeout_ms: How long an SQLite writer waits for another one.
        database: The database to use instead of ``path`` (a PostgreSQL one: see
            :meth:`for_settings`); the store closes it.

    Raises:
        CheckpointError: the database cannot be opened (one line naming it).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        busy_timeout_ms: int = 5000,
        database: Database | None = None,
    ) -> None:
        from ..backends.sql import open_store_database
        from ..runs import owner_token

        db = open_store_database(
            database,
            path,
            busy_timeout_ms=busy_timeout_ms,
            schema="crons",
            sqlite_schema=_SQLITE_SCHEMA,
            steps=_POSTGRES_STEPS,
            store="cron store",
        )
        self._db = db
        self.where = db.where
        self.owner = owner_token()

    @classmethod
    def for_settings(cls, settings: Settings, db_path: Path | None) -> CronStore:
        """The crons of ``settings``: in the checkpointer's PostgreSQL database when its
        backend is ``postgres``, else in the SQLite file ``db_path`` (the run store's;
        None: in memory)."""
        from ..backends.sql import database_for

        return cls(db_path, database=database_for(settings, db_path))

    def close(self) -> None:
        self._db.close()

    # -- crons ------------------------------------------------------------------
    def create(
        self,
        assistant_id: str,
        schedule: str,
        *,
        thread_id: str | None = None,
        timezone: str | None = None,
        payload: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        on_run_completed: OnRunCompleted | None = None,
        end_time: float | None = None,
        enabled: bool = True,
        user_id: str | None = None,
        now: float | None = None,
    ) -> CronRecord:
        """A new cron, its first tick the schedule's next after ``now``.

        Raises:
            UsageError: a bad schedule or time zone.
        """
        now = time.time() if now is None else now
        record = CronRecord(
            cron_id=str(uuid.uuid4()),
            assistant_id=assistant_id,
            thread_id=thread_id,
            user_id=user_id,
            schedule=schedule,
            timezone=timezone or None,
            payload=to_jsonable(payload or {}),
            metadata=to_jsonable(metadata or {}),
            on_run_completed=None if thread_id else (on_run_completed or "delete"),
            end_time=_clamp(end_time),
            enabled=enabled,
            next_run_date=None,
            created_at=now,
            updated_at=now,
        )
        record = replace(record, next_run_date=_following(record, now))
        self._db.execute(
            f"INSERT INTO lgp_crons ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            _row(record),
        )
        return record

    def get(self, cron_id: str) -> CronRecord:
        rows = self._select("WHERE cron_id = ?", (cron_id,))
        if not rows:
            raise NotFoundError(f"cron {cron_id} not found", code="unknown_cron", cron_id=cron_id)
        return rows[0]

    def update(self, cron_id: str, *, now: float | None = None, **changes: Any) -> CronRecord:
        """Change fields of a cron (``schedule``, ``timezone``, ``end_time``,
        ``enabled``, ``payload``, ``metadata``, ``on_run_completed``, ``user_id``). Its
        next tick is computed again from ``now`` when its timing changed or it is
        enabled again (ticks while it was paused are not caught up).

        Raises:
            NotFoundError: no such cron.
            UsageError: a bad schedule or time zone.
        """
        now = time.time() if now is None else now
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise TypeError(f"cannot change {sorted(unknown)} of a cron")
        if "end_time" in changes:
            changes["end_time"] = _clamp(changes["end_time"])
        if "timezone" in changes:
            changes["timezone"] = changes["timezone"] or None
        for key in ("payload", "metadata"):
            if key in changes:
                changes[key] = to_jsonable(changes[key] or {})
        with self._db.transaction():
            rows = self._select(f"WHERE cron_id = ?{self._db.dialect.for_update}", (cron_id,))
            if not rows:
                raise NotFoundError(
                    f"cron {cron_id} not found", code="unknown_cron", cron_id=cron_id
                )
            before = rows[0]
            if before.thread_id is not None:
                changes.pop("on_run_completed", None)  # a thread's cron keeps its thread
            after = replace(before, updated_at=now, **changes)
            timing = ("schedule", "timezone", "end_time")
            if any(getattr(after, k) != getattr(before, k) for k in timing) or (
                after.enabled and not before.enabled
            ):
                after = replace(after, next_run_date=_following(after, now))
            self._db.execute(
                "UPDATE lgp_crons SET schedule = ?, timezone = ?, payload = ?, metadata = ?, "
                "on_run_completed = ?, end_time = ?, enabled = ?, next_run_date = ?, "
                "updated_at = ?, user_id = ? WHERE cron_id = ?",
                (
                    after.schedule,
                    after.timezone,
                    dumps(after.payload),
                    dumps(after.metadata),
                    after.on_run_completed,
                    after.end_time,
                    int(after.enabled),
                    after.next_run_date,
                    after.updated_at,
                    after.user_id,
                    cron_id,
                ),
            )
        return after

    def delete(self, cron_id: str) -> None:
        """Forget a cron and its claims (:class:`NotFoundError` if there is none)."""
        with self._db.transaction():
            gone = self._db.execute("DELETE FROM lgp_crons WHERE cron_id = ?", (cron_id,))
            self._db.execute("DELETE FROM lgp_cron_claims WHERE cron_id = ?", (cron_id,))
        if not gone:
            raise NotFoundError(f"cron {cron_id} not found", code="unknown_cron", cron_id=cron_id)

    def search(
        self,
        *,
        assistant_id: str | None = None,
        thread_id: str | None = None,
        enabled: bool | None = None,
        sort_by: str = "created_at",
        sort_order: Literal["asc", "desc"] = "desc",
    ) -> list[CronRecord]:
        """The crons matching every filter given, sorted (absent values last)."""
        if sort_by not in SORT_COLUMNS:
            raise UsageError(f"cannot sort crons by {sort_by!r}", field="sort_by")
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("assistant_id", assistant_id), ("thread_id", thread_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if enabled is not None:
            where.append("enabled = ?")
            params.append(int(enabled))
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        order = "ASC" if sort_order == "asc" else "DESC"
        return self._select(
            f"{clause}ORDER BY ({sort_by} IS NULL), {sort_by} {order}, cron_id {order}",
            tuple(params),
        )

    # -- the scheduler's side ---------------------------------------------------
    def due(self, now: float) -> list[CronRecord]:
        """The enabled crons whose next tick is at or before ``now``, oldest first."""
        return self._select(
            "WHERE enabled = 1 AND next_run_date IS NOT NULL AND next_run_date <= ? "
            "ORDER BY next_run_date",
            (int(now),),
        )

    def earliest(self) -> int | None:
        """The next tick of all enabled crons (None when none has one)."""
        row = self._db.fetchone(
            "SELECT MIN(next_run_date) FROM lgp_crons WHERE enabled = 1 "
            "AND next_run_date IS NOT NULL"
        )
        return int(row[0]) if row and row[0] is not None else None

    def claim(self, cron_id: str, tick: int, following: int | None) -> bool:
        """Claim ``tick`` of the cron for this process (True: it won, it runs the tick)
        and move the cron's next tick on to ``following`` if it is still ``tick``
        (whoever won: a process that dies after its claim does not stop the cron)."""
        with self._db.transaction():
            won = self._db.execute(
                "INSERT INTO lgp_cron_claims (cron_id, tick, owner, claimed_at) "
                "VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                (cron_id, tick, self.owner, time.time()),
            )
            self.skip(cron_id, tick, following)
        return won == 1

    def skip(self, cron_id: str, tick: int, following: int | None) -> None:
        """Move the cron's next tick from ``tick`` to ``following`` (a no-op when it
        is not ``tick`` any more)."""
        self._db.execute(
            "UPDATE lgp_crons SET next_run_date = ? WHERE cron_id = ? AND next_run_date = ?",
            (following, cron_id, tick),
        )

    def started(self, cron_id: str, tick: int, run_id: str) -> None:
        """Record the run a claimed tick started (or :data:`NOT_RUN`), unless the claim
        names one already (:meth:`linker` did it with the run) or is another's now."""
        self._db.execute(_NAME_RUN, (run_id, cron_id, tick, self.owner))

    def linker(self, cron_id: str, tick: int) -> Link:
        """What names the run of this process's claim of ``tick`` in the transaction
        that records the run (:meth:`lgp_engine.runs.RunStore.create`'s ``along``): the
        run and its claim's link commit together, so a crash between the two can
        neither leave a started run that looks orphaned (run again by another
        process) nor a claim that names no run. Raises :class:`ConflictError` (and
        the run is not recorded) when the claim is not this process's any more."""

        def link(db: Database, run_id: str) -> None:
            linked = db.execute(_NAME_RUN, (run_id, cron_id, tick, self.owner))
            if linked != 1:
                raise ConflictError(
                    f"tick {tick} of cron {cron_id} is not this process's claim any more",
                    code="claim_lost",
                )

        return link

    def give_back(self, cron_id: str, tick: int) -> bool:
        """Undo this process's claim of ``tick`` (it could not run it: it is stopping):
        the claim goes, and the cron's next tick moves back to ``tick`` if it moved
        past it, in one transaction, so another process (or this one, started again)
        claims and runs it. False if the claim is not this process's."""
        with self._db.transaction():
            mine = self._db.execute(
                "DELETE FROM lgp_cron_claims WHERE cron_id = ? AND tick = ? AND owner = ?",
                (cron_id, tick, self.owner),
            )
            if mine:
                self._db.execute(
                    "UPDATE lgp_crons SET next_run_date = ? WHERE cron_id = ? "
                    "AND (next_run_date IS NULL OR next_run_date > ?)",
                    (tick, cron_id, tick),
                )
        return mine == 1

    def claims(self, cron_id: str | None = None) -> list[Claim]:
        """Claimed ticks (of one cron), oldest first."""
        where = "WHERE cron_id = ? " if cron_id is not None else ""
        rows = self._db.fetchall(
            "SELECT cron_id, tick, owner, claimed_at, run_id FROM lgp_cron_claims "
            f"{where}ORDER BY tick, cron_id",
            (cron_id,) if cron_id is not None else (),
        )
        return [Claim(r[0], int(r[1]), r[2], float(r[3]), r[4]) for r in rows]

    def orphaned(self, claimed_before: float) -> list[Claim]:
        """Claims whose run never started, made before ``claimed_before`` (their
        claimer may have died between the claim and the start)."""
        rows = self._db.fetchall(
            "SELECT cron_id, tick, owner, claimed_at, run_id FROM lgp_cron_claims "
            "WHERE run_id IS NULL AND claimed_at < ? ORDER BY tick, cron_id",
            (claimed_before,),
        )
        return [Claim(r[0], int(r[1]), r[2], float(r[3]), r[4]) for r in rows]

    def take_over(self, claim: Claim) -> bool:
        """Make an orphaned claim this process's (True: it won, it runs the tick)."""
        return (
            self._db.execute(
                "UPDATE lgp_cron_claims SET owner = ?, claimed_at = ? "
                "WHERE cron_id = ? AND tick = ? AND owner = ? AND run_id IS NULL",
                (self.owner, time.time(), claim.cron_id, claim.tick, claim.owner),
            )
            == 1
        )

    def prune_claims(self, before: float) -> int:
        """Delete claims of ticks before ``before``; how many."""
        return self._db.execute("DELETE FROM lgp_cron_claims WHERE tick < ?", (int(before),))

    # -- internals --------------------------------------------------------------
    def _select(self, tail: str, params: tuple[Any, ...]) -> list[CronRecord]:
        rows = self._db.fetchall(f"SELECT {_COLUMNS} FROM lgp_crons {tail}", params)
        return [
            CronRecord(
                cron_id=r[0],
                assistant_id=r[1],
                thread_id=r[2],
                user_id=r[3],
                schedule=r[4],
                timezone=r[5],
                payload=json.loads(r[6]),
                metadata=json.loads(r[7]),
                on_run_completed=r[8],
                end_time=float(r[9]) if r[9] is not None else None,
                enabled=bool(r[10]),
                next_run_date=int(r[11]) if r[11] is not None else None,
                created_at=float(r[12]),
                updated_at=float(r[13]),
            )
            for r in rows
        ]


_CHANGEABLE = frozenset(
    {
        "schedule",
        "timezone",
        "end_time",
        "enabled",
        "payload",
        "metadata",
        "on_run_completed",
        "user_id",
    }
)


def _clamp(when: float | None) -> float | None:
    return None if when is None else max(MIN_TIME, min(float(when), MAX_TIME))


def _row(r: CronRecord) -> tuple[Any, ...]:
    return (
        r.cron_id,
        r.assistant_id,
        r.thread_id,
        r.user_id,
        r.schedule,
        r.timezone,
        dumps(r.payload),
        dumps(r.metadata),
        r.on_run_completed,
        r.end_time,
        int(r.enabled),
        r.next_run_date,
        r.created_at,
        r.updated_at,
    )


# --------------------------------------------------------------------------- scheduler

#: Names a claimed tick's run in the transaction that records it (:meth:`CronStore.linker`).
Link = Callable[["Database", str], None]
#: Starts the run of a claimed tick, recording it with the tick's :data:`Link`; returns
#: its run id (None when none started).
Fire = Callable[[CronRecord, int, Link], Awaitable[str | None]]


class CronScheduler:
    """Fires the due ticks of a :class:`CronStore` in this process, each tick only if
    this process claims it.

    It sleeps until the earliest next tick, at most ``reread_s`` (crons made by other
    processes are seen that soon), and wakes early on :meth:`wake` (a cron made,
    changed or deleted here). Each claimed tick calls ``fire`` in a task of its own,
    so a run that waits for its thread never holds up other ticks.

    Args:
        store: The crons.
        fire: Starts a tick's run.
        reread_s: Longest sleep between two looks at the table.
        clock: Epoch seconds now (tests pass their own).
        claiming: Whether this process takes ticks now (a stopping server does not:
            the other processes do, or this one once started again).
    """

    def __init__(
        self,
        store: CronStore,
        fire: Fire,
        *,
        reread_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        claiming: Callable[[], bool] = lambda: True,
    ) -> None:
        self.store = store
        self.fire = fire
        self.reread_s = reread_s
        self.clock = clock
        self.claiming = claiming
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._firing: set[asyncio.Task[None]] = set()
        self._pruned_at = 0.0
        self._orphans_at = 0.0
        self._failing = False

    def wake(self) -> None:
        """Look at the table again now (call from the scheduler's event loop)."""
        if self._wake is not None:
            self._wake.set()

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="lgp-crons")

    async def stop(self) -> None:
        """Stop looking (ticks already firing finish starting their runs)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._firing:
            await asyncio.wait(set(self._firing), timeout=5)

    async def __aenter__(self) -> CronScheduler:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run_due(self) -> list[tuple[CronRecord, int]]:
        """Claim every due tick (firing those this process won); the ones it won."""
        now = self.clock()
        won: list[tuple[CronRecord, int]] = []
        if not self.claiming():
            return won
        for cron in await asyncio.to_thread(self.store.due, now):
            if not self.claiming():
                break
            tick = cron.next_run_date
            assert tick is not None
            if cron.end_time is not None and tick > cron.end_time:
                await asyncio.to_thread(self.store.skip, cron.cron_id, tick, None)
                continue
            try:  # missed ticks (every process was down) run once: the next is after now
                following = _following(cron, max(now, tick))
            except UsageError:  # validated when made: a time zone that left the system
                log.warning("cron %s: its schedule cannot be read any more", cron.cron_id)
                following = None
            if await asyncio.to_thread(self.store.claim, cron.cron_id, tick, following):
                won.append((cron, tick))
                task = asyncio.create_task(self._fire(cron, tick))
                self._firing.add(task)
                task.add_done_callback(self._firing.discard)
        won += await self._adopt_orphans(now)
        if now - self._pruned_at > 3600:
            self._pruned_at = now
            await asyncio.to_thread(self.store.prune_claims, now - KEEP_CLAIMS_S)
        return won

    async def _adopt_orphans(self, now: float) -> list[tuple[CronRecord, int]]:
        """Run the ticks whose claimer died before starting their run (see the
        module's docstring); the ones taken here."""
        from ..runs import owner_alive

        if now - self._orphans_at < ORPHAN_CHECK_S:
            return []
        self._orphans_at = now
        taken = []
        claims = await asyncio.to_thread(self.store.orphaned, now - ORPHAN_GRACE_S)
        for claim in claims:
            if claim.claimed_at < now - ORPHAN_MAX_AGE_S:
                continue  # too late to run it now: the next tick comes instead
            if claim.owner == self.store.owner or owner_alive(claim.owner):
                continue  # starting (a run may wait for its thread), or on another host
            if not await asyncio.to_thread(self.store.take_over, claim):
                continue  # another process took it
            try:
                cron = await asyncio.to_thread(self.store.get, claim.cron_id)
            except NotFoundError:
                continue  # deleted since
            log.warning(
                "cron %s: tick %s was claimed by %s, which died before starting its run; "
                "running it here",
                claim.cron_id,
                claim.tick,
                claim.owner,
            )
            taken.append((cron, claim.tick))
            task = asyncio.create_task(self._fire(cron, claim.tick))
            self._firing.add(task)
            task.add_done_callback(self._firing.discard)
        return taken

    async def _fire(self, cron: CronRecord, tick: int) -> None:
        run_id: str | None = None
        try:
            run_id = await self.fire(cron, tick, self.store.linker(cron.cron_id, tick))
        except Exception:
            log.exception("cron %s: the run of tick %s did not start", cron.cron_id, tick)
        try:  # a tick this process decided not to run (or could not) is not an orphan
            await asyncio.to_thread(self.store.started, cron.cron_id, tick, run_id or NOT_RUN)
        except Exception:
            log.exception("cron %s: cannot record how tick %s went", cron.cron_id, tick)

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            delay = self.reread_s
            try:
                await self.run_due()
                earliest = await asyncio.to_thread(self.store.earliest)
                if earliest is not None:
                    delay = min(delay, max(0.05, earliest - self.clock()))
                if self._failing:
                    log.warning("crons: the cron table can be read again")
                    self._failing = False
            except Exception:
                if not self._failing:  # once per failing streak, not every few seconds
                    log.exception("crons: cannot read or claim due ticks; trying again")
                    self._failing = True
            await wait_set(self._wake, delay)
