"""The database of the ops tables (workflow versions, incidents): the project's
SQLite file, beside the run store, or the checkpointer's PostgreSQL, so that every
process and replica on the project sees the same versions and incident numbers.

The tables are reached through the run store's SQL layer
(:class:`~lgp_engine.backends.sql.Database`: ``?`` placeholders, numbered migrations
on PostgreSQL, one-line errors that never show a password).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..backends.sql import Database, SqliteDatabase, database_for

if TYPE_CHECKING:
    from ..config import Settings


def open_ops_database(settings: Settings, db_path: Path | None = None) -> Database:
    """The project's database: the checkpointer's PostgreSQL, or the SQLite file
    ``db_path`` (default: the checkpointer's file; memory for ``memory``)."""
    cp = settings.checkpointer
    if db_path is None and cp.backend == "sqlite":
        db_path = settings.resolve(cp.path)
    return database_for(settings, db_path)


def existing_ops_database(settings: Settings) -> Database:
    """:func:`open_ops_database` for commands that only read: a SQLite file that does
    not exist yet is not created (an empty database in memory stands for it)."""
    cp = settings.checkpointer
    if cp.backend == "memory" or (
        cp.backend == "sqlite" and not settings.resolve(cp.path).exists()
    ):
        return SqliteDatabase(None)
    return open_ops_database(settings)
