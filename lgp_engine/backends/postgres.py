"""What every PostgreSQL-backed store shares: connections from one URL, a URL safe
to show, and schema migrations that several replicas may run at once.

The URL may carry a password: it is shown only through :func:`display_dsn`.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import CheckpointError

#: Every lgp migration takes this advisory lock (one replica migrates, the others wait).
_MIGRATION_LOCK = 0x6C67_7001
#: LangGraph's own schema setups (checkpoints, the long-term store) take this one.
_SETUP_LOCK = 0x6C67_7002
#: How long a process waits for another one to finish setting a schema up.
SETUP_WAIT_S = 300.0


def display_dsn(dsn: str) -> str:
    """``dsn`` without its password (``postgresql://user@host:5432/db``)."""
    shown = re.sub(r"(://[^:/@]+):[^@]*@", r"\1@", dsn)
    return re.sub(r"(password=)\S+", r"\1***", shown)


def connect(dsn: str, *, autocommit: bool = True) -> Any:
    """A psycopg connection; a :class:`CheckpointError` that names the server (not
    the password) when it cannot be reached."""
    import psycopg

    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"cannot connect to PostgreSQL at {display_dsn(dsn)}: {reason}"
        ) from None


def first_line(exc: BaseException) -> str:
    """The first line of a database error (psycopg's carry hints and context below)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_pool(dsn: str, size: int, *, name: str) -> Any:
    """A ``psycopg_pool.ConnectionPool`` of up to ``size`` connections in LangGraph's
    style (autocommit, dict rows, prepared statements), opened with one connection.

    The server is reached once first through :func:`connect`, so an unreachable one
    is a one-line :class:`CheckpointError` (the pool itself would retry in the
    background, logging each failure).
    """
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool, PoolTimeout

    connect(dsn).close()
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=size,
        open=False,
        name=name,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            "connect_timeout": 10,
        },
    )
    try:
        pool.open(wait=True, timeout=15)
    except PoolTimeout:
        pool.close()
        raise CheckpointError(
            f"cannot connect to PostgreSQL at {display_dsn(dsn)}: no connection in 15 s"
        ) from None
    return pool


def setup_once(
    dsn: str, what: str, is_current: Callable[[Any], bool], setup: Callable[[Any], None]
) -> None:
    """Run ``setup(conn)`` (LangGraph's ``setup()`` of a saver or store on ``conn``)
    unless ``is_current(conn)`` says the schema is already there, in one process at a
    time across every replica.

    LangGraph's setups are not one transaction (``CREATE INDEX CONCURRENTLY`` cannot
    run in one), so :func:`migrate`'s transaction lock does not fit: a session lock is
    taken instead, and *polled* with ``pg_try_advisory_lock``. A process blocked in
    ``pg_advisory_lock`` would hold a snapshot open, and the holder's ``CREATE INDEX
    CONCURRENTLY`` waits for every older snapshot to end: the two would wait for each
    other.
    """
    import psycopg

    conn = connect(dsn)
    try:
        if _quietly(is_current, conn):
            return
        deadline = time.monotonic() + SETUP_WAIT_S
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (_SETUP_LOCK,)).fetchone()[0]:
            if time.monotonic() > deadline:
                raise CheckpointError(
                    f"PostgreSQL at {display_dsn(dsn)}: another process has been setting up "
                    f"{what} for {SETUP_WAIT_S:.0f} s"
                )
            time.sleep(0.05)
        try:
            if not _quietly(is_current, conn):
                setup(conn)
        except psycopg.Error as exc:
            raise CheckpointError(
                f"cannot set up {what} in PostgreSQL at {display_dsn(dsn)}: {first_line(exc)}"
            ) from None
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
    finally:
        conn.close()


def _quietly(check: Callable[[Any], bool], conn: Any) -> bool:
    """``check(conn)``, False when it fails (no table yet)."""
    import psycopg

    try:
        return check(conn)
    except psycopg.Error:
        return False


def migration_version(conn: Any, table: str) -> int:
    """The newest version recorded in one of LangGraph's migration tables (-1: none)."""
    row = conn.execute(f"SELECT MAX(v) FROM {table}").fetchone()  # our table names
    return -1 if row is None or row[0] is None else int(row[0])


def migrate(conn: Any, name: str, steps: Iterable[str | Callable[[Any], None]]) -> None:
    """Apply the numbered ``steps`` of the schema ``name`` that ``conn``'s database
    lacks, in one transaction under an advisory lock, recording each in
    ``lgp_migrations``: replicas starting together migrate once, in order."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS lgp_migrations (name TEXT NOT NULL, "
            "version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
            "PRIMARY KEY (name, version))"
        )
        row = conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM lgp_migrations WHERE name = %s", (name,)
        ).fetchone()
        done = int(row[0]) if row else 0
        for version, step in enumerate(steps, start=1):
            if version <= done:
                continue
            if callable(step):
                step(conn)
            else:
                conn.execute(step)
            conn.execute(
                "INSERT INTO lgp_migrations (name, version) VALUES (%s, %s)", (name, version)
            )


@contextlib.contextmanager
def pooled_cursor(saver: Any, pipeline: bool, fallback: Callable[..., Any]) -> Iterator[Any]:
    """The cursor of LangGraph's PostgreSQL saver or store (``saver._cursor``) when its
    ``conn`` is a pool: each call on a connection of its own, with no lock around the
    pool (LangGraph's serialises every call); ``fallback`` (the class's own
    ``_cursor``) for a single connection or an open pipeline."""
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    if not isinstance(saver.conn, ConnectionPool) or saver.pipe is not None:
        with fallback(pipeline=pipeline) as cur:
            yield cur
        return
    with saver.conn.connection() as conn:
        if pipeline and saver.supports_pipeline:
            with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                yield cur
        elif pipeline:
            with conn.transaction(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                yield cur
        else:
            with conn.cursor(binary=True, row_factory=dict_row) as cur:
                yield cur
