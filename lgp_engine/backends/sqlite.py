"""One way to open the project's SQLite file, for every store that keeps its own
connection to it (runs, assistants, the long-term store, the node cache)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(
    path: Path | None,
    *,
    busy_timeout_ms: int,
    autocommit: bool = True,
    factory: type[sqlite3.Connection] = sqlite3.Connection,
) -> sqlite3.Connection:
    """A connection to ``path`` (in memory when None) usable from any thread: WAL mode
    and ``synchronous=NORMAL`` for a file, writers waiting ``busy_timeout_ms`` for one
    another. ``autocommit`` leaves transactions to explicit ``BEGIN``s; without it
    Python's ``sqlite3`` opens them (committed by ``with conn``).

    Raises:
        sqlite3.DatabaseError: the file is not a usable database.
    """
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path) if path is not None else ":memory:",
        check_same_thread=False,
        timeout=busy_timeout_ms / 1000,
        isolation_level=None if autocommit else "DEFERRED",  # DEFERRED: sqlite3's default
        factory=factory,
    )
    if path is not None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return conn
