"""The databases the run and assistant stores are tested on: a SQLite file in the
test's folder, or a PostgreSQL database of its own (``postgres_dsn``).

A test module parametrizes a fixture over :data:`BACKENDS` with :func:`store_db`;
the test then opens stores on it (as many as it likes: each is another connection,
as another process would have) and reaches under them with :meth:`StoreDb.sql`.

Creating a PostgreSQL database takes ~0.4 s, so the tests of a module share one
(:func:`postgres_module_dsn`, imported by the module), emptied before each test;
a test that needs a database nobody has touched takes ``postgres_dsn``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.assistants import AssistantStore
from lgp_engine.backends.sql import Database, open_database
from lgp_engine.runs import RunStore

BACKENDS = ["sqlite", "postgres"]


class StoreDb:
    """One database for the stores under test."""

    def __init__(self, backend: str, target: Path | str) -> None:
        self.backend = backend
        #: The SQLite file or the PostgreSQL URL (what ``open_database`` takes).
        self.target = target

    @property
    def path(self) -> Path | None:
        """The SQLite file; None on PostgreSQL."""
        return self.target if isinstance(self.target, Path) else None

    def database(self) -> Database:
        return open_database(self.target)

    def runs(self) -> RunStore:
        return RunStore(None, database=self.database())

    def assistants(self) -> AssistantStore:
        return AssistantStore(None, database=self.database())

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``statement`` (``?`` placeholders) on a connection of its own: rows of
        a SELECT, else nothing."""
        db = self.database()
        try:
            if statement.lstrip().upper().startswith("SELECT"):
                return db.fetchall(statement, params)
            db.execute(statement, params)
            return []
        finally:
            db.close()

    def __repr__(self) -> str:
        return f"StoreDb({self.backend})"


@pytest.fixture(scope="module")
def postgres_module_dsn() -> Iterator[str]:
    """A PostgreSQL database for the tests of one module (skips without a server)."""
    from tests import postgres

    dsn, name = postgres.create_database()
    try:
        yield dsn
    finally:
        postgres.drop_database(name)


def empty_tables(dsn: str) -> None:
    """Delete every row of the lgp tables at ``dsn`` (the schema and its recorded
    migrations stay)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename LIKE 'lgp%' AND tablename <> 'lgp_migrations'"
            )
        ]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")


def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> StoreDb:
    """The :class:`StoreDb` of ``request.param`` (a :data:`BACKENDS` name): a new
    SQLite file, or the module's PostgreSQL database emptied (skipped when the
    machine has none: see ``tests/postgres.py``)."""
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_module_dsn")
        empty_tables(dsn)
        return StoreDb("postgres", dsn)
    return StoreDb("sqlite", tmp_path / ".lgp" / "runs.db")
