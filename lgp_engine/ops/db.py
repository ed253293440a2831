"""The database of the ops tables (workflow versions, incidents): the project's
SQLite file, beside the run store, or the checkpointer's PostgreSQL, so that every
process and replica on the project sees the same versions and incident numbers.

Queries are written once with ``?`` placeholders; on PostgreSQL they become
``%s``. Database errors come out as one-line
:class:`~lgp_engine.errors.CheckpointError` s naming the file or the server (never
a password).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CheckpointError

if TYPE_CHECKING:
    from ..config import Settings

Row = tuple[Any, ...]


class OpsDb:
    """One connection (behind a lock) to the project's database.

    Args:
        path: The SQLite file (None: in memory, this process only).
        dsn: A PostgreSQL URL instead of ``path``.
        busy_timeout_ms: How long a SQLite writer waits for another one.
    """

    def __init__(
        self, path: Path | None = None, *, dsn: str | None = None, busy_timeout_ms: int = 5000
    ) -> None:
        self._lock = threading.RLock()
        self.postgres = dsn is not None
        if dsn is not None:
            from ..backends.postgres import connect, display_dsn

            self.where = f"PostgreSQL at {display_dsn(dsn)}"
            self._conn: Any = connect(dsn)
        else:
            from ..backends.sqlite import connect as sqlite_connect

            self.where = str(path) if path is not None else "memory"
            try:
                self._conn = sqlite_connect(path, busy_timeout_ms=busy_timeout_ms)
            except sqlite3.Error as exc:
                raise CheckpointError(f"cannot open {self.where}: {exc}") from None

    @classmethod
    def for_settings(cls, settings: Settings, db_path: Path | None = None) -> OpsDb:
        """The project's database: the checkpointer's PostgreSQL, or the SQLite file
        ``db_path`` (default: the checkpointer's file; memory for ``memory``)."""
        cp = settings.checkpointer
        if cp.backend == "postgres":
            return cls(dsn=cp.postgres_dsn)
        if cp.backend == "memory":
            return cls(None)
        return cls(db_path or settings.resolve(cp.path), busy_timeout_ms=cp.busy_timeout_ms)

    @classmethod
    def existing(cls, settings: Settings) -> OpsDb | None:
        """:meth:`for_settings` for commands that only read: None when there is no
        database yet (a SQLite file that does not exist is not created)."""
        cp = settings.checkpointer
        if cp.backend == "memory":
            return None
        if cp.backend == "sqlite" and not settings.resolve(cp.path).exists():
            return None
        return cls.for_settings(settings)

    # -- statements ----------------------------------------------------------------
    def migrate(self, name: str, sqlite_schema: str, postgres_steps: Iterable[str]) -> None:
        """Create the tables of ``name``: ``sqlite_schema`` (idempotent DDL) on SQLite,
        the numbered ``postgres_steps`` once on PostgreSQL (replicas migrate once)."""
        with self._lock, self._errors():
            if self.postgres:
                from ..backends.postgres import migrate

                migrate(self._conn, name, list(postgres_steps))
            else:
                self._conn.executescript(sqlite_schema)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it changed."""
        with self._lock, self._errors():
            return int(self._conn.execute(self._sql(sql), params).rowcount)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock, self._errors():
            return [tuple(r) for r in self._conn.execute(self._sql(sql), params).fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """The statements inside commit together or not at all (SQLite: ``BEGIN
        IMMEDIATE``, so writers of other processes wait their turn)."""
        with self._lock:
            if self.postgres:
                with self._errors(), self._conn.transaction():
                    yield
                return
            with self._errors():
                self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            with self._errors():
                self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- internals -----------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise CheckpointError(f"{self.where}: {exc}") from None
        except Exception as exc:
            if not self.postgres or type(exc).__module__.split(".", 1)[0] != "psycopg":
                raise
            text = str(exc).strip()
            line = text.splitlines()[0] if text else type(exc).__name__
            raise CheckpointError(f"{self.where}: {line}") from None
