"""Incidents of the anomaly detector: ``GET /incidents``, ``GET /incidents/{id}``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ...ops.incidents import Incident, IncidentStore
from ..context import Ctx, ServerContext
from ..params import Offset
from ..served import served_versions

router = APIRouter(tags=["LGP"])

IncidentIdPath = Annotated[
    str, Path(min_length=1, max_length=40, description="An incident id, e.g. INC-2026-001.")
]


class IncidentVersions(BaseModel):
    bad: str | None = Field(description="The version whose runs failed too often.")
    restored: str | None = Field(description="The version rolled back to (null if none).")


class TimelineItem(BaseModel):
    at: str = Field(description="When (ISO 8601, UTC).")
    ts: float = Field(description="When (seconds since the epoch).")
    event: str = Field(
        description="version_loaded, first_failure, threshold_crossed, detected, "
        "rollback_started, rollback_completed, rollback_failed, rollback_skipped, "
        "rollback_followed, recovered, not_recovered."
    )
    detail: str


class IncidentInfo(BaseModel):
    """What the anomaly detector saw and did about one workflow version."""

    id: str = Field(description="INC-<year>-<number>.")
    workflow: str
    status: str = Field(
        description="open, rolled_back, resolved, not_recovered, not_a_regression, "
        "alerted or rollback_failed."
    )
    cause: str
    created_at: str
    updated_at: str
    versions: IncidentVersions
    metrics: dict[str, Any] = Field(
        description="error_rate, threshold, runs, failures, failure_kinds, window_s, "
        "min_runs, detect_s, since_load_s, previous_version, previous_error_rate, "
        "rollback_s, error_rate_after, runs_after..."
    )
    timeline: list[TimelineItem]
    notes: list[str]
    files: list[str] = Field(description="The workflow's files, relative to the project.")


def _store(ctx: ServerContext) -> IncidentStore:
    served = served_versions(ctx)
    assert served is not None, "the app's lifespan has not started"
    return served.incidents


def _info(ctx: ServerContext, incident: Incident) -> IncidentInfo:
    body = incident.to_dict()
    body["notes"] = [ctx.public(n) for n in body["notes"]]
    body["files"] = [ctx.public(f) for f in body["files"]]
    return IncidentInfo(**body)


@router.get("/incidents")
async def incidents(
    ctx: Ctx,
    workflow: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only this workflow's.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many at most.")] = 50,
    offset: Offset = 0,
) -> list[IncidentInfo]:
    """Incidents of the anomaly detector, newest first (every process on the project's
    database records them here)."""
    found = await asyncio.to_thread(
        _store(ctx).list_incidents, workflow=workflow, limit=limit, offset=offset
    )
    return [_info(ctx, i) for i in found]


@router.get("/incidents/{incident_id}")
async def incident(incident_id: IncidentIdPath, ctx: Ctx) -> IncidentInfo:
    """One incident: cause, metrics, versions, timeline (404 if unknown)."""
    return _info(ctx, await asyncio.to_thread(_store(ctx).get, incident_id))
