"""Versions of a workflow's code, recorded when it is loaded, reloaded or deployed.

A *version* is a content hash of the code a hot reload watches: the workflow's
module and the local modules it imports (:func:`~lgp_engine.backends.node_cache.code_sources`),
by their paths relative to the workflow's folder, so the same code has the same
version on every machine. With it the sources are kept (a *snapshot*), so an earlier
version can be loaded again while the files on disk hold another one (a rollback,
:meth:`lgp_engine.reload.WorkflowReloader.reload_now` with ``sources``).

Every load is a row of the workflow's history (``load``, ``reload``, ``deploy``,
``rollback``); the *previous* version of a version is the one loaded before it that
was never rolled back from. A version an anomaly rolled back from is marked ``bad``
(with the version that replaced it): a reload that finds the same code keeps the
rollback, and other processes serving it roll back too.

Tables (the project's SQLite file, or PostgreSQL): ``lgp_workflow_versions``,
``lgp_workflow_version_files``, ``lgp_workflow_loads``.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .db import open_ops_database

if TYPE_CHECKING:
    from ..backends.sql import Database
    from ..config import Settings
    from ..loader import LoadedWorkflow

#: Hex digits of a version (48 bits: collisions are not a concern per workflow).
VERSION_LENGTH = 12
LoadReason = Literal["load", "reload", "deploy", "rollback"]

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgp_workflow_versions (
    workflow    TEXT NOT NULL,
    version     TEXT NOT NULL,
    created_at  REAL NOT NULL,
    reason      TEXT NOT NULL,
    files       TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'ok',
    replaced_by TEXT,
    incident_id TEXT,
    PRIMARY KEY (workflow, version)
);
CREATE TABLE IF NOT EXISTS lgp_workflow_version_files (
    workflow TEXT NOT NULL,
    version  TEXT NOT NULL,
    path     TEXT NOT NULL,
    source   BLOB NOT NULL,
    PRIMARY KEY (workflow, version, path)
);
CREATE TABLE IF NOT EXISTS lgp_workflow_loads (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow TEXT NOT NULL,
    version  TEXT NOT NULL,
    reason   TEXT NOT NULL,
    ts       REAL NOT NULL,
    owner    TEXT
);
CREATE INDEX IF NOT EXISTS lgp_workflow_loads_wf ON lgp_workflow_loads (workflow, id);
"""

_POSTGRES_STEPS = [
    "CREATE TABLE IF NOT EXISTS lgp_workflow_versions (workflow TEXT NOT NULL, "
    "version TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, reason TEXT NOT NULL, "
    "files TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'ok', replaced_by TEXT, "
    "incident_id TEXT, PRIMARY KEY (workflow, version))",
    "CREATE TABLE IF NOT EXISTS lgp_workflow_version_files (workflow TEXT NOT NULL, "
    "version TEXT NOT NULL, path TEXT NOT NULL, source BYTEA NOT NULL, "
    "PRIMARY KEY (workflow, version, path))",
    "CREATE TABLE IF NOT EXISTS lgp_workflow_loads (id BIGSERIAL PRIMARY KEY, "
    "workflow TEXT NOT NULL, version TEXT NOT NULL, reason TEXT NOT NULL, "
    "ts DOUBLE PRECISION NOT NULL, owner TEXT)",
    "CREATE INDEX IF NOT EXISTS lgp_workflow_loads_wf ON lgp_workflow_loads (workflow, id)",
]


@dataclass(frozen=True)
class CodeVersion:
    """The version of a loaded workflow's code and the sources it hashes."""

    version: str
    sources: dict[Path, bytes]  # real path -> source, as loaded
    folder: Path | None  # what the hashed paths are relative to


@dataclass(frozen=True)
class WorkflowVersion:
    """A recorded version of a workflow.

    Attributes:
        workflow: The workflow's name.
        version: The content hash.
        created_at: When it was first recorded (seconds since the epoch).
        reason: How it was first seen: ``load``, ``reload``, ``deploy``, ``rollback``.
        files: Its files (paths as loaded).
        status: ``ok``, or ``bad`` once an anomaly rolled it back.
        replaced_by: For a bad version, the version the rollback restored.
        incident_id: For a bad version, the incident that rolled it back.
    """

    workflow: str
    version: str
    created_at: float
    reason: str
    files: tuple[str, ...]
    status: str = "ok"
    replaced_by: str | None = None
    incident_id: str | None = None

    @property
    def bad(self) -> bool:
        return self.status == "bad"


@dataclass(frozen=True)
class VersionLoad:
    """One row of a workflow's history: a version became the served one."""

    workflow: str
    version: str
    reason: str
    ts: float
    owner: str | None


def code_version(workflow: LoadedWorkflow) -> CodeVersion:
    """The version of ``workflow``'s code as loaded (its snapshot when it was loaded
    from one) and its sources. An unreadable file counts as empty."""
    from ..backends.node_cache import code_sources
    from ..reload import workflow_folder

    folder = workflow_folder(workflow)
    digest = hashlib.sha256()
    sources: dict[Path, bytes] = {}
    for path, source in code_sources(workflow):
        data = source if source is not None else b""
        sources[path] = data
        shown = os.path.relpath(path, folder) if folder is not None else str(path)
        digest.update(shown.replace(os.sep, "/").encode() + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return CodeVersion(digest.hexdigest()[:VERSION_LENGTH], sources, folder)


class VersionStore:
    """The recorded versions and load history of every workflow of a project."""

    def __init__(self, db: Database, *, owns_db: bool = False) -> None:
        self.db = db
        self._owns_db = owns_db
        db.migrate("workflow_versions", _SQLITE_SCHEMA, _POSTGRES_STEPS)

    @classmethod
    def open(cls, settings: Settings, db_path: Path | None = None) -> VersionStore:
        """The project's store (see :func:`~lgp_engine.ops.db.open_ops_database`);
        close it after use."""
        return cls(open_ops_database(settings, db_path), owns_db=True)

    def close(self) -> None:
        if self._owns_db:
            self.db.close()

    # -- recording -----------------------------------------------------------------
    def record(
        self, workflow: LoadedWorkflow, reason: LoadReason, *, owner: str | None = None
    ) -> WorkflowVersion:
        """Record that ``workflow`` (as loaded) is served now: its version (with its
        sources, the first time) and a row of its history. Sets
        ``workflow.version``, which its runs then carry (``run.started``, run meta)."""
        code = code_version(workflow)
        name = workflow.name
        now = time.time()
        files = "\n".join(str(p) for p in code.sources)
        with self.db.transaction():
            added = self.db.execute(
                "INSERT INTO lgp_workflow_versions (workflow, version, created_at, reason, files)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (workflow, version) DO NOTHING",
                (name, code.version, now, reason, files),
            )
            if added:
                for path, source in code.sources.items():
                    self.db.execute(
                        "INSERT INTO lgp_workflow_version_files (workflow, version, path, source)"
                        " VALUES (?, ?, ?, ?)",
                        (name, code.version, str(path), source),
                    )
            self.db.execute(
                "INSERT INTO lgp_workflow_loads (workflow, version, reason, ts, owner) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, code.version, reason, now, owner or _owner()),
            )
        workflow.version = code.version
        found = self.get(name, code.version)
        assert found is not None
        return found

    def mark_bad(
        self, workflow: str, version: str, *, replaced_by: str | None, incident_id: str | None
    ) -> None:
        """Mark ``version`` rolled back from (by ``incident_id``, to ``replaced_by``)."""
        self.db.execute(
            "UPDATE lgp_workflow_versions SET status = 'bad', replaced_by = ?, incident_id = ? "
            "WHERE workflow = ? AND version = ?",
            (replaced_by, incident_id, workflow, version),
        )

    def mark_good(self, workflow: str, version: str) -> None:
        """Clear the ``bad`` mark (it may be served again after reloads)."""
        self.db.execute(
            "UPDATE lgp_workflow_versions SET status = 'ok', replaced_by = NULL "
            "WHERE workflow = ? AND version = ?",
            (workflow, version),
        )

    # -- reading -------------------------------------------------------------------
    def get(self, workflow: str, version: str) -> WorkflowVersion | None:
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM lgp_workflow_versions WHERE workflow = ? AND version = ?",
            (workflow, version),
        )
        return _version(row) if row else None

    def versions(self, workflow: str) -> list[WorkflowVersion]:
        """Every recorded version of ``workflow``, newest first."""
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM lgp_workflow_versions WHERE workflow = ? "
            "ORDER BY created_at DESC",
            (workflow,),
        )
        return [_version(r) for r in rows]

    def history(self, workflow: str, limit: int = 50) -> list[VersionLoad]:
        """The loads of ``workflow``, newest first."""
        rows = self.db.fetchall(
            "SELECT workflow, version, reason, ts, owner FROM lgp_workflow_loads "
            "WHERE workflow = ? ORDER BY id DESC LIMIT ?",
            (workflow, limit),
        )
        return [VersionLoad(r[0], r[1], r[2], float(r[3]), r[4]) for r in rows]

    def loaded_at(self, workflow: str, version: str) -> float | None:
        """When ``version`` last became the served one."""
        row = self.db.fetchone(
            "SELECT ts FROM lgp_workflow_loads WHERE workflow = ? AND version = ? "
            "ORDER BY id DESC LIMIT 1",
            (workflow, version),
        )
        return float(row[0]) if row else None

    def previous(self, workflow: str, version: str) -> WorkflowVersion | None:
        """The version served before the newest load of ``version`` that was never
        rolled back from (None when there is none)."""
        newest = self.db.fetchone(
            "SELECT MAX(id) FROM lgp_workflow_loads WHERE workflow = ? AND version = ?",
            (workflow, version),
        )
        if newest is None or newest[0] is None:
            return None
        row = self.db.fetchone(
            f"SELECT {_COLUMNS_V} FROM lgp_workflow_loads l JOIN lgp_workflow_versions v "
            "ON v.workflow = l.workflow AND v.version = l.version "
            "WHERE l.workflow = ? AND l.id < ? AND l.version <> ? AND v.status <> 'bad' "
            "ORDER BY l.id DESC LIMIT 1",
            (workflow, newest[0], version),
        )
        return _version(row) if row else None

    def bad(self, workflow: str) -> dict[str, WorkflowVersion]:
        """The versions of ``workflow`` rolled back from, by version."""
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM lgp_workflow_versions WHERE workflow = ? AND status = 'bad'",
            (workflow,),
        )
        return {r[1]: _version(r) for r in rows}

    def snapshot(self, workflow: str, version: str) -> dict[Path, bytes]:
        """The sources of ``version`` (path as loaded -> source); empty if unknown."""
        rows = self.db.fetchall(
            "SELECT path, source FROM lgp_workflow_version_files "
            "WHERE workflow = ? AND version = ? ORDER BY path",
            (workflow, version),
        )
        return {Path(p): bytes(src) for p, src in rows}


_COLUMNS = "workflow, version, created_at, reason, files, status, replaced_by, incident_id"
_COLUMNS_V = ", ".join(f"v.{c.strip()}" for c in _COLUMNS.split(","))


def _version(row: tuple[object, ...]) -> WorkflowVersion:
    files = str(row[4] or "")
    return WorkflowVersion(
        workflow=str(row[0]),
        version=str(row[1]),
        created_at=float(row[2]),  # type: ignore[arg-type]
        reason=str(row[3]),
        files=tuple(f for f in files.split("\n") if f),
        status=str(row[5]),
        replaced_by=None if row[6] is None else str(row[6]),
        incident_id=None if row[7] is None else str(row[7]),
    )


def _owner() -> str:
    from ..runs import owner_token

    return owner_token()
