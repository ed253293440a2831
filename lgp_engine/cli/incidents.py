"""``lgp incidents``: what the anomaly detector saw and did (``lgp serve`` with
``anomaly.enabled``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from ..events import percent
from ..jsonable import dumps
from .common import common_options, handle_errors, json_option, relpath, setup, table
from .console import PREFIX, clip

_DEFAULT_ENV = "hosted"  # incidents come from `lgp serve`, whose default it is


@click.group(invoke_without_command=True)
@click.option("--workflow", "-w", "workflow", metavar="NAME", help="Only this workflow's.")
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
@common_options(default_env=_DEFAULT_ENV)
@click.pass_context
@handle_errors
def incidents(
    ctx: click.Context,
    workflow: str | None,
    limit: int,
    as_json: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Incidents of the anomaly detector, newest first: a workflow version whose
    runs failed too often, and what was done (rollback, alert).

    \b
    Examples:
      lgp incidents
      lgp incidents --workflow support_bot --json
      lgp incidents show INC-2026-001
      lgp incidents show INC-2026-001 --restore   # write the restored version to disk
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = setup(env or os.environ.get("LGP_ENV") or _DEFAULT_ENV, verbose)
    found = _with_store(settings, lambda s: s.list_incidents(workflow=workflow, limit=limit))
    if as_json:
        click.echo(dumps([i.to_dict() for i in found], indent=2))
        return
    if not found:
        scope = f" for {workflow}" if workflow else ""
        click.echo(f"{PREFIX} No incidents{scope} (environment {settings.environment}).")
        return
    table(
        ["ID", "WORKFLOW", "STATUS", "ERROR RATE", "VERSIONS", "CREATED", "CAUSE"],
        [
            [
                i.id,
                i.workflow,
                i.status,
                _rates(i.metrics),
                _versions(i.bad_version, i.restored_version),
                _when(i.created_at),
                clip(i.cause, 90),
            ]
            for i in found
        ],
        ids=("ID",),
    )


@incidents.command()
@click.argument("incident_id", metavar="ID")
@click.option(
    "--restore",
    is_flag=True,
    help="Write the version the incident rolled back to into the workflow's files.",
)
@click.option("--force", is_flag=True, help="With --restore: overwrite files that changed since.")
@json_option
@common_options(default_env=_DEFAULT_ENV)
@handle_errors
def show(
    incident_id: str, restore: bool, force: bool, as_json: bool, env: str | None, verbose: bool
) -> None:
    """One incident: cause, metrics, versions, timeline and notes.

    With --restore, the files of the version the server rolled back to are written
    back to disk (the rollback leaves the files alone; they hold the bad version).
    A file that holds neither version is left alone unless --force.
    """
    settings = setup(env or os.environ.get("LGP_ENV") or _DEFAULT_ENV, verbose)
    incident = _with_store(settings, lambda s: s.get(incident_id))
    if restore:
        _restore(settings, incident, force)
        incident = _with_store(settings, lambda s: s.get(incident_id))
    if as_json:
        click.echo(dumps(incident.to_dict(), indent=2))
        return
    m = incident.metrics
    click.echo(f"{PREFIX} {incident.id}  {incident.workflow}  {incident.status}")
    click.echo(f"Cause:    {incident.cause}")
    click.echo(f"Versions: {_versions(incident.bad_version, incident.restored_version)}")
    click.echo(f"Metrics:  {_metrics(m)}")
    if "error_rate_after" in m:
        click.echo(
            f"After:    error_rate = {percent(m['error_rate_after'], 1)} over "
            f"{m.get('runs_after')} runs"
        )
    click.echo("Timeline:")
    for entry in incident.timeline:
        click.echo(f"  {_when(entry.ts, ms=True)}  {entry.event:<20} {entry.detail}")
    if incident.files:
        click.echo(f"Files:    {', '.join(incident.files)}")
    for note in incident.notes:
        click.echo(f"Note:     {note}")


def _restore(settings: Any, incident: Any, force: bool) -> None:
    from ..errors import ConflictError
    from ..ops.incidents import TimelineEntry
    from ..ops.versions import VersionStore

    good, bad = incident.restored_version, incident.bad_version
    if not good:
        raise ConflictError(
            f"{incident.id} restored no version (status {incident.status}): nothing to write",
            code="nothing_to_restore",
        )
    store = VersionStore.open(settings)
    try:
        wanted = store.snapshot(incident.workflow, good)
        before = store.snapshot(incident.workflow, bad) if bad else {}
        if not wanted:
            raise ConflictError(f"no sources of version {good} are recorded", code="no_snapshot")
        plan: list[tuple[Path, bytes]] = []
        for path, source in wanted.items():
            current = path.read_bytes() if path.exists() else None
            if current == source:
                continue
            if current is not None and current != before.get(path) and not force:
                raise ConflictError(
                    f"{relpath(path)} changed since {incident.id} (it holds neither version "
                    f"{bad} nor {good}); nothing written",
                    code="changed_since",
                    hint="--force overwrites it",
                )
            plan.append((path, source))
        for path, source in plan:
            _write(path, source)
            click.echo(f"{PREFIX} ✅ Wrote {relpath(path)} (version {good})")
        if not plan:
            click.echo(f"{PREFIX} The files already hold version {good}")
            return
        from ..ops.incidents import IncidentStore

        incidents = IncidentStore(store.db)
        incidents.update(
            incident.id,
            timeline=[
                TimelineEntry(
                    time.time(),
                    "restored_on_disk",
                    f"version {good} written to {', '.join(relpath(p) for p, _ in plan)}",
                )
            ],
        )
    finally:
        store.close()


def _write(path: Path, source: bytes) -> None:
    """Replace ``path`` at once (a watching server never reads half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.lgp-restore")
    tmp.write_bytes(source)
    os.replace(tmp, path)


def _with_store(settings: Any, use: Any) -> Any:
    """``use(store)`` on the project's incidents (an empty store when the project has
    no database yet: reading never creates one)."""
    from ..ops.db import existing_ops_database
    from ..ops.incidents import IncidentStore

    store = IncidentStore(existing_ops_database(settings), owns_db=True)
    try:
        return use(store)
    finally:
        store.close()


def _versions(bad: str | None, restored: str | None) -> str:
    if bad and restored:
        return f"{bad} → {restored}"
    return bad or "-"


def _rates(m: dict[str, Any]) -> str:
    rate = percent(m.get("error_rate"), 1)
    if "error_rate_after" in m:
        return f"{rate} → {percent(m['error_rate_after'], 1)}"
    return rate


def _metrics(m: dict[str, Any]) -> str:
    parts = [
        f"error_rate = {percent(m.get('error_rate'), 1)} ({m.get('failures')} of "
        f"{m.get('runs')} runs in {_num(m.get('window_s'))}s; threshold "
        f"{percent(m.get('threshold'))}, "
        f"min {m.get('min_runs')} runs)"
    ]
    if m.get("detect_s") is not None:
        parts.append(f"detected {m['detect_s']}s after crossing")
    if m.get("since_load_s") is not None:
        parts.append(f"{m['since_load_s']}s after the version was loaded")
    if m.get("previous_version"):
        before = m.get("previous_error_rate")
        rate = percent(before, 1) if before is not None else "no runs seen"
        parts.append(f"previous version {m['previous_version']}: {rate}")
    if m.get("rollback_s") is not None:
        parts.append(f"rollback took {m['rollback_s']}s")
    return "; ".join(parts)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _when(ts: float, *, ms: bool = False) -> str:
    fmt = "%Y-%m-%d %H:%M:%S"
    text = time.strftime(fmt, time.localtime(ts))
    return f"{text}.{int(ts * 1000) % 1000:03d}" if ms else text


COMMANDS = [incidents]
