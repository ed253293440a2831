"""One small SQL layer under the run and assistant stores: SQLite or PostgreSQL.

A store writes its queries once, with ``?`` placeholders, and asks the
:class:`Dialect` for the few pieces that differ (reading a field of a JSON column,
``FOR UPDATE``, a LIMIT that means "all"). A :class:`Database` runs them:

* :class:`SqliteDatabase`: one connection (WAL mode) behind a lock, as the stores
  always had; a transaction is ``BEGIN IMMEDIATE`` (writers of other processes wait).
* :class:`PostgresDatabase`: a psycopg connection pool, so the server's threads do
  not queue on one connection; a statement outside a transaction commits alone, one
  inside :meth:`Database.transaction` runs on that transaction's connection (the
  thread's), so a store's helpers can be called inside and outside a transaction.

Errors come out in the project's hierarchy: a duplicate key is a
:class:`DuplicateError` (a :class:`~lgp_engine.errors.ConflictError`), anything
else a :class:`DatabaseError` (a :class:`~lgp_engine.errors.CheckpointError`), one
line that names the file or the server, never a password.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from ..errors import CheckpointError, ConflictError
from . import postgres
from .sqlite import connect as sqlite_connect

Row = tuple[Any, ...]
Params = Sequence[Any]


class DatabaseError(CheckpointError):
    """The run store's (or assistant store's) database failed or cannot be reached."""

    title = "Database error"


class DuplicateError(ConflictError):
    """A row with that key exists already (a run id, an event's seq...)."""

    title = "Already exists"


class Dialect:
    """The pieces of SQL that differ between SQLite and PostgreSQL.

    JSON columns are text in both (what was written comes back byte for byte); a
    *document* is such a column made readable by :meth:`json_doc` (``{}`` when the
    text is not JSON), which :meth:`json_text` and :meth:`json_num` read a top-level
    key of.
    """

    name: Literal["sqlite", "postgres"] = "sqlite"
    #: Appended to a SELECT that is about to be updated in the same transaction.
    for_update = ""
    #: The ``LIMIT ?`` value that means no limit.
    no_limit: int | None = -1

    def json_doc(self, column: str) -> str:
        """``column`` (JSON text) as a document, ``{}`` when it is not valid JSON."""
        return f"(CASE WHEN json_valid({column}) THEN {column} ELSE '{{}}' END)"

    def json_event(self, column: str) -> str:
        """``column`` as a document, for text written by this program (always JSON)."""
        return column

    def json_text(self, doc: str, key: str) -> str:
        """The value of ``key`` in ``doc`` (text for strings; NULL when missing)."""
        return f"json_extract({doc}, '$.{key}')"

    def json_num(self, doc: str, key: str) -> str:
        """The value of ``key`` in ``doc`` as a number to sum (NULL when missing)."""
        return f"json_extract({doc}, '$.{key}')"

    def json_objects(self, doc: str, key: str, alias: str) -> tuple[str, str]:
        """A FROM item that lists the members of the object ``doc.key`` as
        ``alias.key``/``alias.value`` (a document), and the condition that keeps the
        members whose value is an object."""
        return f"json_each({doc}, '$.{key}') AS {alias}", f"{alias}.type = 'object'"


class PostgresDialect(Dialect):
    name: Literal["sqlite", "postgres"] = "postgres"
    for_update = " FOR UPDATE"
    no_limit = None

    def json_doc(self, column: str) -> str:
        return f"COALESCE(lgp_json({column}), '{{}}'::jsonb)"

    def json_event(self, column: str) -> str:
        return f"lgp_json({column})"

    def json_text(self, doc: str, key: str) -> str:
        return f"({doc} ->> '{key}')"

    def json_num(self, doc: str, key: str) -> str:
        return (
            f"(CASE WHEN jsonb_typeof({doc} -> '{key}') = 'number' "
            f"THEN ({doc} ->> '{key}')::double precision END)"
        )

    def json_objects(self, doc: str, key: str, alias: str) -> tuple[str, str]:
        members = (
            f"(CASE WHEN jsonb_typeof({doc} -> '{key}') = 'object' "
            f"THEN {doc} -> '{key}' ELSE '{{}}'::jsonb END)"
        )
        return f"jsonb_each({members}) AS {alias}", f"jsonb_typeof({alias}.value) = 'object'"


#: A PostgreSQL function every schema that reads JSON text creates: the text as
#: JSONB, NULL when it is not JSON PostgreSQL can hold (``\u0000`` is valid JSON
#: that JSONB refuses). Steps of :func:`postgres.migrate` may use it.
PG_JSON_FUNCTION = """
CREATE OR REPLACE FUNCTION lgp_json(doc TEXT) RETURNS JSONB
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN doc::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$
"""


class Database(abc.ABC):
    """Runs a store's statements (``?`` placeholders) on SQLite or PostgreSQL: the
    interface :class:`SqliteDatabase` and :class:`PostgresDatabase` implement."""

    dialect: Dialect
    #: ``sqlite`` (a file), ``memory`` (SQLite in memory) or ``postgres``.
    backend: Literal["sqlite", "memory", "postgres"]
    #: The SQLite file (None in memory and on PostgreSQL).
    path: Path | None = None
    #: Where the data is, fit to show: the file, ``memory``, or the URL without password.
    where: str

    @abc.abstractmethod
    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; how many rows it changed."""

    @abc.abstractmethod
    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement; the rows it answered."""

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """All statements of this thread inside commit together or not at all (a
        nested call joins the outer transaction)."""

    @abc.abstractmethod
    def migrate(self, name: str, sqlite_schema: str, steps: Iterable[str]) -> None:
        """Create the schema ``name``: ``sqlite_schema`` (idempotent DDL) on SQLite,
        the numbered ``steps`` on PostgreSQL (once, even with several replicas)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection (a shared pool: once its last user closed it)."""


class SqliteDatabase(Database):
    """One SQLite connection (WAL mode for a file) shared by the threads of a store."""

    dialect = Dialect()

    def __init__(self, path: Path | None, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.backend = "sqlite" if path is not None else "memory"
        self.where = str(path) if path is not None else "memory"
        self._lock = threading.RLock()
        try:
            self._conn = sqlite_connect(path, busy_timeout_ms=busy_timeout_ms)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open {self.where}: {exc}") from None

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"{exc}", code="duplicate") from None
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.where}: {exc}") from None

    def execute(self, sql: str, params: Params = ()) -> int:
        with self._lock, self._errors():
            return self._conn.execute(sql, params).rowcount

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        with self._lock, self._errors():
            return self._conn.execute(sql, params).fetchall()

    def script(self, sql: str) -> None:
        with self._lock, self._errors():
            self._conn.executescript(sql)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._conn.in_transaction:
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

    def migrate(self, name: str, sqlite_schema: str, steps: Iterable[str]) -> None:
        self.script(sqlite_schema)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """``sql`` with ``?`` placeholders (outside quotes) as psycopg's ``%s`` and
    literal ``%`` doubled."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" else ch)
    return "".join(out)


class PostgresDatabase(Database):
    """A pool of up to ``pool_size`` psycopg connections (autocommit; transactions
    explicit) to the database at ``dsn``.

    Raises:
        CheckpointError: the server cannot be reached (names it, not the password).
    """

    dialect = PostgresDialect()
    backend: Literal["sqlite", "memory", "postgres"] = "postgres"

    def __init__(self, dsn: str, *, pool_size: int = 10, timeout_s: float = 30.0) -> None:
        from psycopg_pool import ConnectionPool

        self.where = postgres.display_dsn(dsn)
        self._password = _password(dsn)
        postgres.connect(dsn).close()  # an unreachable server says so now, in one line
        self._local = threading.local()
        self._pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs={"autocommit": True, "connect_timeout": 10},
            timeout=timeout_s,
            name=f"lgp {self.where}",
            open=False,
        )
        try:
            with self._errors():
                self._pool.open(wait=True, timeout=timeout_s)
        except DatabaseError:
            self._pool.close()  # or it goes on trying in the background
            raise

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            yield
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateError(self._line(exc), code="duplicate") from None
        except (psycopg.Error, PoolTimeout) as exc:
            raise DatabaseError(f"PostgreSQL at {self.where}: {self._line(exc)}") from None

    def _line(self, exc: BaseException) -> str:
        text = str(exc).strip()
        line = text.splitlines()[0] if text else type(exc).__name__
        return line.replace(self._password, "***") if self._password else line

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        with self._pool.connection() as conn:
            yield conn

    def execute(self, sql: str, params: Params = ()) -> int:
        with self._errors(), self._connection() as conn:
            return int(conn.execute(to_pyformat(sql), params).rowcount)

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        with self._errors(), self._connection() as conn:
            return list(conn.execute(to_pyformat(sql), params).fetchall())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._errors(), self._pool.connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def migrate(self, name: str, sqlite_schema: str, steps: Iterable[str]) -> None:
        with self._errors(), self._pool.connection() as conn:
            postgres.migrate(conn, name, steps)

    def close(self) -> None:
        """Close the pool (a :meth:`shared` database: once its last user closed it)."""
        with _SHARED_LOCK:
            self._users -= 1
            if self._users > 0:
                return
            if _SHARED.get(self._key) is self:
                del _SHARED[self._key]
        self._pool.close()

    _users = 1
    _key: tuple[str, int] = ("", 0)

    @classmethod
    def shared(cls, dsn: str, *, pool_size: int = 10) -> PostgresDatabase:
        """The process's one pool for ``dsn``, shared by every store that asks (runs,
        assistants, leases, crons, versions, incidents): a replica holds ``pool_size``
        connections for them, not ``pool_size`` each. Each caller closes it once."""
        key = (dsn, pool_size)
        with _SHARED_LOCK:
            found = _SHARED.get(key)
            if found is not None:
                found._users += 1
                return found
        made = cls(dsn, pool_size=pool_size)  # connects outside the lock
        made._key = key
        with _SHARED_LOCK:
            found = _SHARED.get(key)
            if found is None:
                _SHARED[key] = made
                return made
            found._users += 1
        made._pool.close()  # another thread made it meanwhile
        return found


_SHARED: dict[tuple[str, int], PostgresDatabase] = {}
_SHARED_LOCK = threading.Lock()


def _password(dsn: str) -> str | None:
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(dsn).get("password")
    except Exception:  # noqa: BLE001 - a URL psycopg cannot read has no password to hide
        return None
    return str(value) if value else None


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgres://", "postgresql://"))


def open_database(
    target: str | Path | None, *, busy_timeout_ms: int = 5000, pool_size: int = 10
) -> Database:
    """The database at ``target``: a ``postgresql://`` URL, a SQLite file, or None
    (SQLite in memory)."""
    if is_postgres_url(target):
        assert isinstance(target, str)
        return PostgresDatabase(target, pool_size=pool_size)
    return SqliteDatabase(
        Path(target) if target is not None else None, busy_timeout_ms=busy_timeout_ms
    )


def open_store_database(
    database: Database | None,
    path: Path | None,
    *,
    busy_timeout_ms: int,
    schema: str,
    sqlite_schema: str,
    steps: Iterable[str],
    store: str,
    then: Callable[[Database], None] | None = None,
) -> Database:
    """A store's database, its schema made: ``database``, else SQLite at ``path`` (None:
    in memory); migrated as ``schema`` (then ``then``). A failure closes it and is a
    one-line :class:`CheckpointError` naming the ``store`` and where it is."""
    db = database or SqliteDatabase(path, busy_timeout_ms=busy_timeout_ms)
    try:
        db.migrate(schema, sqlite_schema, steps)
        if then is not None:
            then(db)
    except DatabaseError as exc:
        db.close()
        raise CheckpointError(f"cannot open the {store} {exc.message}") from None
    return db


def database_for(settings: Any, db_path: Path | None) -> Database:
    """The database of the run and assistant stores for ``settings``: the
    checkpointer's PostgreSQL when its backend is ``postgres`` (the process's shared
    pool), else SQLite at ``db_path`` (the checkpoint file; None in memory)."""
    checkpointer = settings.checkpointer
    if checkpointer.backend == "postgres":
        return PostgresDatabase.shared(checkpointer.postgres_dsn, pool_size=checkpointer.pool_size)
    return SqliteDatabase(db_path, busy_timeout_ms=checkpointer.busy_timeout_ms)
