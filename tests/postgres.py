"""The PostgreSQL of the machine (127.0.0.1:5432, trust auth) for tests: each test
that needs one gets a database of its own, dropped afterwards.

``LGP_TEST_POSTGRES`` overrides the server URL (without a database name); when the
server cannot be reached the tests that need it are skipped, unless
``LGP_REQUIRE_POSTGRES=1`` (CI on a machine that has one) makes that a failure.
"""

from __future__ import annotations

import functools
import os
import uuid

import pytest

SERVER = os.environ.get("LGP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@functools.cache
def available() -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def require() -> None:
    reason = available()
    if reason is None:
        return
    if os.environ.get("LGP_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL at {SERVER} is required: {reason}")
    pytest.skip(f"no PostgreSQL at {SERVER}: {reason}")


def create_database() -> tuple[str, str]:
    """A new empty database: (its URL, its name)."""
    import psycopg

    require()
    name = f"lgp_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{SERVER}/{name}", name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
