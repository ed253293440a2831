"""Incidents: what the anomaly detector saw and did, kept in the project's database.

An incident has an id ``INC-<year>-<NNN>`` (numbered per year, unique across every
process on the database: the number comes from a counter row updated in the same
transaction), the workflow, its cause, the metric values that triggered it, the
versions involved (the bad one, the one restored), a timeline, and notes (e.g. that
the file on disk still holds the bad version, and how to restore the good one).

Statuses: ``open`` (being handled), ``rolled_back`` (the previous version serves;
watching its error rate), ``resolved`` (the error rate is back under the
threshold), ``not_recovered`` (the restored version fails as much),
``not_a_regression`` (the previous version failed as much: not rolled back),
``alerted`` (rollback off, or no version to go back to), ``rollback_failed``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ..errors import NotFoundError
from .db import open_ops_database

if TYPE_CHECKING:
    from pathlib import Path

    from ..backends.sql import Database
    from ..config import Settings

IncidentStatus = Literal[
    "open",
    "rolled_back",
    "resolved",
    "not_recovered",
    "not_a_regression",
    "alerted",
    "rollback_failed",
]
#: Statuses after which nothing more happens to an incident.
CLOSED: frozenset[str] = frozenset(
    {"resolved", "not_recovered", "not_a_regression", "alerted", "rollback_failed"}
)

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgp_incidents (
    id               TEXT PRIMARY KEY,
    year             INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    workflow         TEXT NOT NULL,
    status           TEXT NOT NULL,
    cause            TEXT NOT NULL,
    bad_version      TEXT,
    restored_version TEXT,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL,
    body             TEXT NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX IF NOT EXISTS lgp_incidents_created ON lgp_incidents (created_at);
CREATE TABLE IF NOT EXISTS lgp_incident_counters (
    year INTEGER PRIMARY KEY,
    seq  INTEGER NOT NULL
);
"""

_POSTGRES_STEPS = [
    "CREATE TABLE IF NOT EXISTS lgp_incidents (id TEXT PRIMARY KEY, year INTEGER NOT NULL, "
    "seq INTEGER NOT NULL, workflow TEXT NOT NULL, status TEXT NOT NULL, cause TEXT NOT NULL, "
    "bad_version TEXT, restored_version TEXT, created_at DOUBLE PRECISION NOT NULL, "
    "updated_at DOUBLE PRECISION NOT NULL, body TEXT NOT NULL, UNIQUE (year, seq))",
    "CREATE INDEX IF NOT EXISTS lgp_incidents_created ON lgp_incidents (created_at)",
    "CREATE TABLE IF NOT EXISTS lgp_incident_counters (year INTEGER PRIMARY KEY, "
    "seq INTEGER NOT NULL)",
]


@dataclass(frozen=True)
class TimelineEntry:
    """Something that happened in an incident, when."""

    ts: float
    event: str  # version_loaded, threshold_crossed, detected, rollback_started, ...
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": _iso(self.ts),
            "ts": round(self.ts, 3),
            "event": self.event,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Incident:
    """One incident (see the module's docstring for the statuses)."""

    id: str
    workflow: str
    status: str
    cause: str
    created_at: float
    updated_at: float
    bad_version: str | None = None
    restored_version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    timeline: tuple[TimelineEntry, ...] = ()
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # the workflow's files (they may hold the bad version)

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    def to_dict(self) -> dict[str, Any]:
        """JSON for the API and ``--json`` (times as ISO 8601, UTC)."""
        return {
            "id": self.id,
            "workflow": self.workflow,
            "status": self.status,
            "cause": self.cause,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "versions": {"bad": self.bad_version, "restored": self.restored_version},
            "metrics": self.metrics,
            "timeline": [e.to_dict() for e in self.timeline],
            "notes": list(self.notes),
            "files": list(self.files),
        }


class IncidentStore:
    """The incidents of a project."""

    def __init__(self, db: Database, *, owns_db: bool = False) -> None:
        self.db = db
        self._owns_db = owns_db
        db.migrate("incidents", _SQLITE_SCHEMA, _POSTGRES_STEPS)

    @classmethod
    def open(cls, settings: Settings, db_path: Path | None = None) -> IncidentStore:
        return cls(open_ops_database(settings, db_path), owns_db=True)

    def close(self) -> None:
        if self._owns_db:
            self.db.close()

    def create(
        self,
        workflow: str,
        *,
        cause: str,
        status: IncidentStatus = "open",
        bad_version: str | None = None,
        restored_version: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        timeline: list[TimelineEntry] | None = None,
        notes: list[str] | None = None,
        files: list[str] | None = None,
        now: float | None = None,
    ) -> Incident:
        """Record a new incident under the next id of the year."""
        now = time.time() if now is None else now
        year = datetime.fromtimestamp(now, UTC).year
        body = _body(metrics or {}, timeline or [], notes or [], files or [])
        with self.db.transaction():
            row = self.db.fetchone(
                "INSERT INTO lgp_incident_counters (year, seq) VALUES (?, 1) "
                "ON CONFLICT (year) DO UPDATE SET seq = lgp_incident_counters.seq + 1 "
                "RETURNING seq",
                (year,),
            )
            assert row is not None
            seq = int(row[0])
            incident_id = incident_name(year, seq)
            self.db.execute(
                "INSERT INTO lgp_incidents (id, year, seq, workflow, status, cause, bad_version,"
                " restored_version, created_at, updated_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    incident_id,
                    year,
                    seq,
                    workflow,
                    status,
                    cause,
                    bad_version,
                    restored_version,
                    now,
                    now,
                    body,
                ),
            )
        return self.get(incident_id)

    def update(
        self,
        incident_id: str,
        *,
        status: IncidentStatus | None = None,
        cause: str | None = None,
        restored_version: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        timeline: list[TimelineEntry] | None = None,
        notes: list[str] | None = None,
        files: list[str] | None = None,
    ) -> Incident:
        """Change an incident: ``metrics`` are merged in, ``timeline`` entries and
        ``notes`` appended, ``files`` replaced."""
        with self.db.transaction():
            current = self.get(incident_id)
            merged = {**current.metrics, **(metrics or {})}
            entries = sorted([*current.timeline, *(timeline or [])], key=lambda e: e.ts)
            body = _body(
                merged,
                entries,
                [*current.notes, *(notes or [])],
                list(current.files) if files is None else files,
            )
            self.db.execute(
                "UPDATE lgp_incidents SET status = ?, cause = ?, restored_version = ?, "
                "updated_at = ?, body = ? WHERE id = ?",
                (
                    status or current.status,
                    cause or current.cause,
                    restored_version or current.restored_version,
                    time.time(),
                    body,
                    incident_id,
                ),
            )
        return self.get(incident_id)

    def get(self, incident_id: str) -> Incident:
        """One incident (the id is case-insensitive); :class:`NotFoundError` if unknown."""
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM lgp_incidents WHERE id = ?", (incident_id.upper(),)
        )
        if row is None:
            raise NotFoundError(
                f"unknown incident {incident_id!r}",
                code="unknown_incident",
                incident_id=incident_id,
            )
        return _incident(row)

    def list_incidents(
        self, *, workflow: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Incident]:
        """Incidents, newest first."""
        where, params = ("WHERE workflow = ? ", [workflow]) if workflow else ("", [])
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM lgp_incidents {where}"
            "ORDER BY created_at DESC, year DESC, seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_incident(r) for r in rows]


def incident_name(year: int, seq: int) -> str:
    """``INC-2026-001`` (three digits at least)."""
    return f"INC-{year}-{seq:03d}"


_COLUMNS = (
    "id, workflow, status, cause, created_at, updated_at, bad_version, restored_version, body"
)


def _body(
    metrics: Mapping[str, Any], timeline: list[TimelineEntry], notes: list[str], files: list[str]
) -> str:
    return json.dumps(
        {
            "metrics": dict(metrics),
            "timeline": [{"ts": e.ts, "event": e.event, "detail": e.detail} for e in timeline],
            "notes": notes,
            "files": files,
        },
        default=str,
    )


def _incident(row: tuple[Any, ...]) -> Incident:
    body = json.loads(row[8] or "{}")
    return Incident(
        id=row[0],
        workflow=row[1],
        status=row[2],
        cause=row[3],
        created_at=float(row[4]),
        updated_at=float(row[5]),
        bad_version=row[6],
        restored_version=row[7],
        metrics=dict(body.get("metrics") or {}),
        timeline=tuple(
            TimelineEntry(float(e["ts"]), str(e["event"]), str(e.get("detail") or ""))
            for e in body.get("timeline") or []
        ),
        notes=tuple(body.get("notes") or []),
        files=tuple(body.get("files") or []),
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
