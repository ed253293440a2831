"""Assistants: a graph with a stored run config, context, metadata, name and description.

Like the LangGraph Agent Server's. Every change writes a new *version* of the
assistant (the versions stay); :meth:`AssistantStore.set_latest` makes any version
the current one again. A run with an assistant starts from the current version's
config and context, the run's own values on top.

A *system* assistant stands for a served graph itself: one per graph, its id derived
from the graph's name (:func:`system_assistant_id`), made by the server that serves
the graph (:meth:`AssistantStore.ensure_system`). It cannot be deleted nor moved to
another graph; its config may change like any assistant's.

The config and the context stay one: ``config["configurable"]`` and ``context`` are
the same values (the Agent Server's rule, since LangGraph 0.6 passes a run's context
where ``configurable`` used to carry it), so setting either sets both.

The tables live in the run store's database (a connection of their own: the SQLite
file in WAL mode, or the PostgreSQL database several replicas share), so every
process on it sees the same assistants.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .backends.sql import Database, database_for, open_store_database
from .errors import ConflictError, NotFoundError, UsageError
from .jsonable import dumps, to_jsonable
from .run_config import OWNED_KEYS, check_run_config

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgp_assistants (
    assistant_id TEXT PRIMARY KEY,
    version      INTEGER NOT NULL,
    system       INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lgp_assistant_versions (
    assistant_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    graph_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    config       TEXT NOT NULL,
    context      TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    created_at   REAL NOT NULL,
    PRIMARY KEY (assistant_id, version)
) WITHOUT ROWID;
"""

#: The same tables on PostgreSQL (numbered steps: a change is a new step).
_PG_SCHEMA = (
    """
CREATE TABLE lgp_assistants (
    assistant_id TEXT PRIMARY KEY,
    version      INTEGER NOT NULL,
    system       INTEGER NOT NULL DEFAULT 0,
    created_at   DOUBLE PRECISION NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL
);
CREATE TABLE lgp_assistant_versions (
    assistant_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    graph_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    config       TEXT NOT NULL,
    context      TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (assistant_id, version)
);
""",
)

# The namespace the LangGraph Agent Server derives a graph's own assistant id with.
SYSTEM_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
#: The name of an assistant created without one (the Agent Server's default).
DEFAULT_NAME = "Untitled"
#: The metadata of a system assistant.
SYSTEM_METADATA = {"created_by": "system"}

IfExists = Literal["raise", "do_nothing"]


@functools.lru_cache(maxsize=1024)
def system_assistant_id(graph_id: str) -> str:
    """The id of ``graph_id``'s own assistant: the one LangGraph's server gives it
    (remembered: every run request and thread listing asks for it)."""
    return str(uuid.uuid5(SYSTEM_NAMESPACE, graph_id))


@dataclass(frozen=True)
class AssistantVersion:
    """One version of an assistant, as it was written."""

    assistant_id: str
    version: int
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class AssistantRecord:
    """An assistant: its current version's values, when it was made and last changed."""

    assistant_id: str
    version: int
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    created_at: float
    updated_at: float
    system: bool


def settings_of(
    config: dict[str, Any] | None, context: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A checked ``(config, context)`` pair with ``config["configurable"] == context``
    (:class:`UsageError` if both carry values, or if the config is not a run config:
    see :func:`~lgp_engine.run_config.check_run_config`). The run's own keys
    (``thread_id``, ``checkpoint_id``, ...) are no assistant's: left out."""
    checked = check_run_config(config)
    configurable = {
        k: v for k, v in (checked.pop("configurable", None) or {}).items() if k not in OWNED_KEYS
    }
    if configurable and context:
        raise UsageError(
            "give the assistant's values in {field} or in config.configurable, not both",
            field="context",
            code="context_twice",
        )
    if context is not None and not isinstance(context, dict):
        raise UsageError("{field} must be an object", field="context", code="not_an_object")
    values = to_jsonable(configurable or context or {})
    if values:
        checked["configurable"] = values
    return to_jsonable(checked), values


class AssistantStore:
    """Assistants and their versions in SQLite (WAL mode) or PostgreSQL.

    Every change is one transaction that first locks the assistant's row (on
    PostgreSQL), so replicas changing one assistant at once each write a version.

    Args:
        path: The SQLite file (the run store's); None for an in-memory store.
        busy_timeout_ms: How long a SQLite writer waits for another one.
        database: The database to use instead of ``path`` (see :meth:`for_settings`);
            the store closes it.
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
            schema="assistants",
            sqlite_schema=_SCHEMA,
            steps=_PG_SCHEMA,
            store="assistant store",
        )
        self._db = db
        self.path = db.path
        self.backend = db.backend

    @classmethod
    def for_settings(cls, settings: Any, db_path: Path | None) -> AssistantStore:
        """The assistant store of ``settings``, beside its run store: in the
        checkpointer's PostgreSQL database when its backend is ``postgres``, else
        in the SQLite file ``db_path`` (None: in memory)."""
        return cls(db_path, database=database_for(settings, db_path))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AssistantStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------
    def get(self, assistant_id: str) -> AssistantRecord | None:
        """The assistant with this id, at its current version; None if there is none."""
        found = self._select("WHERE a.assistant_id = ?", (assistant_id,))
        return found[0] if found else None

    def require(self, assistant_id: str) -> AssistantRecord:
        """:meth:`get`, or :class:`NotFoundError`."""
        found = self.get(assistant_id)
        if found is None:
            raise NotFoundError(
                f"assistant {assistant_id!r} not found",
                field="assistant_id",
                code="unknown_assistant",
            )
        return found

    def list_assistants(self, graph_ids: Collection[str] | None = None) -> list[AssistantRecord]:
        """Every assistant (of these graphs), newest first."""
        if graph_ids is None:
            return self._select("ORDER BY a.created_at DESC, v.name", ())
        ids = list(graph_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._select(
            f"WHERE v.graph_id IN ({marks}) ORDER BY a.created_at DESC, v.name", tuple(ids)
        )

    def versions(self, assistant_id: str) -> list[AssistantVersion]:
        """The assistant's versions, newest first (:class:`NotFoundError` if unknown)."""
        self.require(assistant_id)
        rows = self._db.fetchall(
            "SELECT assistant_id, version, graph_id, name, description, config, context, "
            "metadata, created_at FROM lgp_assistant_versions WHERE assistant_id = ? "
            "ORDER BY version DESC",
            (assistant_id,),
        )
        return [
            AssistantVersion(
                r[0], r[1], r[2], r[3], r[4], _loads(r[5]), _loads(r[6]), _loads(r[7]), r[8]
            )
            for r in rows
        ]

    # -- writing ----------------------------------------------------------------
    def ensure_system(self, graph_id: str, *, description: str | None = None) -> AssistantRecord:
        """``graph_id``'s own assistant, made if missing. While it is unchanged (one
        version) its description follows the graph's."""
        assistant_id = system_assistant_id(graph_id)
        now = time.time()
        with self._db.transaction():
            made = self._db.execute(
                "INSERT INTO lgp_assistants (assistant_id, version, system, created_at, "
                "updated_at) VALUES (?, 1, 1, ?, ?) ON CONFLICT (assistant_id) DO NOTHING",
                (assistant_id, now, now),
            )
            if made:
                self._write_version(
                    assistant_id, 1, graph_id, graph_id, description, {}, {}, SYSTEM_METADATA, now
                )
            elif self._lock_row(assistant_id):
                self._db.execute(
                    "UPDATE lgp_assistant_versions SET description = ? WHERE assistant_id = ? "
                    "AND version = 1 AND (SELECT COUNT(*) FROM lgp_assistant_versions "
                    "WHERE assistant_id = ?) = 1",
                    (description, assistant_id, assistant_id),
                )
        return self.require(assistant_id)

    def create(
        self,
        graph_id: str,
        *,
        assistant_id: str | None = None,
        config: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        if_exists: IfExists = "raise",
    ) -> AssistantRecord:
        """A new assistant of ``graph_id`` at version 1 (a random id unless given).

        An id that is taken is a :class:`ConflictError`, or (``if_exists="do_nothing"``)
        answers the existing assistant unchanged.
        """
        stored_config, values = settings_of(config, context)
        if metadata is not None and not isinstance(metadata, dict):
            raise UsageError("{field} must be an object", field="metadata", code="not_an_object")
        assistant_id = assistant_id or str(uuid.uuid4())
        now = time.time()
        with self._db.transaction():
            made = self._db.execute(
                "INSERT INTO lgp_assistants (assistant_id, version, system, created_at, "
                "updated_at) VALUES (?, 1, 0, ?, ?) ON CONFLICT (assistant_id) DO NOTHING",
                (assistant_id, now, now),
            )
            if made:
                self._write_version(
                    assistant_id,
                    1,
                    graph_id,
                    name or DEFAULT_NAME,
                    description,
                    stored_config,
                    values,
                    to_jsonable(metadata or {}),
                    now,
                )
        if not made and if_exists != "do_nothing":
            raise ConflictError(
                f"assistant {assistant_id} already exists",
                field="assistant_id",
                code="assistant_exists",
            )
        return self.require(assistant_id)

    def update(
        self,
        assistant_id: str,
        *,
        graph_id: str | None = None,
        config: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> AssistantRecord:
        """A new version of the assistant from its current one: what is given replaces
        (``metadata`` merges into the current metadata), the rest stays."""
        given_config, given_values = settings_of(config, context)
        if metadata is not None and not isinstance(metadata, dict):
            raise UsageError("{field} must be an object", field="metadata", code="not_an_object")
        now = time.time()
        with self._db.transaction():
            self._lock_row(assistant_id)
            current = self.require(assistant_id)
            if current.system and graph_id is not None and graph_id != current.graph_id:
                raise ConflictError(
                    f"assistant {assistant_id} is the system assistant of graph "
                    f"{current.graph_id!r}: it cannot move to another graph (create an "
                    "assistant of that graph instead)",
                    field="graph_id",
                    code="system_assistant",
                )
            # an empty config keeps the current one (as the Agent Server does); values
            # change when given (configurable or context), else stay
            new_config = dict(given_config if config else current.config)
            values = given_values if given_values or context is not None else current.context
            new_config.pop("configurable", None)
            if values:
                new_config["configurable"] = values
            version = self._next_version(assistant_id)
            self._write_version(
                assistant_id,
                version,
                graph_id or current.graph_id,
                name if name is not None else current.name,
                description if description is not None else current.description,
                new_config,
                values,
                {**current.metadata, **to_jsonable(metadata or {})},
                now,
            )
            self._db.execute(
                "UPDATE lgp_assistants SET version = ?, updated_at = ? WHERE assistant_id = ?",
                (version, now, assistant_id),
            )
        return self.require(assistant_id)

    def set_latest(self, assistant_id: str, version: int) -> AssistantRecord:
        """Make ``version`` the assistant's current one (:class:`NotFoundError` if the
        assistant or that version does not exist)."""
        with self._db.transaction():
            self._lock_row(assistant_id)
            self.require(assistant_id)
            found = self._db.fetchone(
                "SELECT 1 FROM lgp_assistant_versions WHERE assistant_id = ? AND version = ?",
                (assistant_id, version),
            )
            if found is None:
                raise NotFoundError(
                    f"version {version} of assistant {assistant_id} not found",
                    field="version",
                    code="unknown_version",
                )
            self._db.execute(
                "UPDATE lgp_assistants SET version = ?, updated_at = ? WHERE assistant_id = ?",
                (version, time.time(), assistant_id),
            )
        return self.require(assistant_id)

    def delete(self, assistant_id: str) -> AssistantRecord:
        """Forget the assistant and its versions; what it was. A system assistant is
        refused (:class:`ConflictError`): it stays while its graph is served."""
        with self._db.transaction():
            self._lock_row(assistant_id)
            current = self.require(assistant_id)
            if current.system:
                raise ConflictError(
                    f"assistant {assistant_id} is the system assistant of graph "
                    f"{current.graph_id!r}: it stays while the graph is served",
                    field="assistant_id",
                    code="system_assistant",
                )
            self._db.execute(
                "DELETE FROM lgp_assistant_versions WHERE assistant_id = ?", (assistant_id,)
            )
            self._db.execute("DELETE FROM lgp_assistants WHERE assistant_id = ?", (assistant_id,))
        return current

    # -- internals --------------------------------------------------------------
    def _lock_row(self, assistant_id: str) -> bool:
        """Inside a transaction: lock the assistant's row until it ends (PostgreSQL;
        SQLite's ``BEGIN IMMEDIATE`` holds the whole file); whether it exists."""
        found = self._db.fetchone(
            f"SELECT 1 FROM lgp_assistants WHERE assistant_id = ?{self._db.dialect.for_update}",
            (assistant_id,),
        )
        return found is not None

    def _next_version(self, assistant_id: str) -> int:
        row = self._db.fetchone(
            "SELECT COALESCE(MAX(version), 0) FROM lgp_assistant_versions WHERE assistant_id = ?",
            (assistant_id,),
        )
        return int(row[0]) + 1 if row else 1

    def _write_version(
        self,
        assistant_id: str,
        version: int,
        graph_id: str,
        name: str,
        description: str | None,
        config: dict[str, Any],
        context: dict[str, Any],
        metadata: dict[str, Any],
        created_at: float,
    ) -> None:
        self._db.execute(
            "INSERT INTO lgp_assistant_versions (assistant_id, version, graph_id, name, "
            "description, config, context, metadata, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                assistant_id,
                version,
                graph_id,
                name,
                description,
                dumps(config),
                dumps(context),
                dumps(metadata),
                created_at,
            ),
        )

    def _select(self, tail: str, params: Sequence[Any]) -> list[AssistantRecord]:
        rows = self._db.fetchall(
            "SELECT a.assistant_id, a.version, v.graph_id, v.name, v.description, v.config, "
            "v.context, v.metadata, a.created_at, a.updated_at, a.system "
            "FROM lgp_assistants a JOIN lgp_assistant_versions v "
            "ON v.assistant_id = a.assistant_id AND v.version = a.version " + tail,
            params,
        )
        return [
            AssistantRecord(
                assistant_id=r[0],
                version=r[1],
                graph_id=r[2],
                name=r[3],
                description=r[4],
                config=_loads(r[5]),
                context=_loads(r[6]),
                metadata=_loads(r[7]),
                created_at=r[8],
                updated_at=r[9],
                system=bool(r[10]),
            )
            for r in rows
        ]


def _loads(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
