"""What every PostgreSQL-backed store shares: connections from one URL, a URL safe
to show, and schema migrations that several replicas may run at once.

The URL may carry a password: it is shown only through :func:`display_dsn`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import CheckpointError

#: Every lgp migration takes this advisory lock (one replica migrates, the others wait).
_MIGRATION_LOCK = 0x6C67_7001


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
