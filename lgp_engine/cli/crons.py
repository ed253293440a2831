"""``lgp crons``: the crons of the project's database (made through the API's
``client.crons``): what each runs, when it runs next, and its last tick."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import click

from ..jsonable import dumps
from ..ops.crons import NOT_RUN
from .common import common_options, handle_errors, json_option, setup, table
from .console import PREFIX


@click.command()
@json_option
@common_options(default_env="hosted")
@handle_errors
def crons(as_json: bool, env: str | None, verbose: bool) -> None:
    """List crons, the soonest next tick first: the assistant's graph, its thread (or
    "new": a new thread each tick), the schedule and its time zone, the next tick,
    the last tick and the run it started, and whether it is paused or ended.

    Crons are made, changed and deleted through the API (``client.crons`` of the
    LangGraph SDK); every ``lgp serve`` process on the database runs their ticks,
    each tick once.

    \b
    Examples:
      lgp crons
      lgp crons --env production --json
    """
    settings = setup(env or os.environ.get("LGP_ENV") or "hosted", verbose)
    rows = _crons(settings)
    if as_json:
        click.echo(dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"{PREFIX} No crons. Create one with the LangGraph SDK: client.crons.create")
        return
    table(
        ["CRON", "GRAPH", "THREAD", "SCHEDULE", "NEXT RUN", "LAST TICK", "LAST RUN", "STATE"],
        [
            [
                r["cron_id"],
                r["graph_id"] or r["assistant_id"],
                r["thread_id"] or "new",
                r["schedule"] + (f" ({r['timezone']})" if r["timezone"] else ""),
                _local(r["next_run_date"]),
                _local(r["last_tick"]),
                r["last_run_id"] or "-",
                r["state"],
            ]
            for r in rows
        ],
        ids=("CRON", "LAST RUN"),
    )


def _crons(settings: Any) -> list[dict[str, Any]]:
    """The crons as JSON-ready dicts (none when the environment has no database yet:
    reading never creates one)."""
    from ..assistants import AssistantStore
    from ..ops.crons import CronStore

    backend = settings.checkpointer.backend
    path = settings.resolve(settings.checkpointer.path)
    if backend == "memory" or (backend == "sqlite" and not path.exists()):
        return []
    store = CronStore.for_settings(settings, path)
    assistants = AssistantStore.for_settings(settings, path)
    try:
        found = store.search(sort_by="next_run_date", sort_order="asc")
        rows = []
        for c in found:
            assistant = assistants.get(c.assistant_id)
            claims = store.claims(c.cron_id)
            last = claims[-1] if claims else None
            rows.append(
                {
                    "cron_id": c.cron_id,
                    "assistant_id": c.assistant_id,
                    "graph_id": assistant.graph_id if assistant else None,
                    "thread_id": c.thread_id,
                    "schedule": c.schedule,
                    "timezone": c.timezone,
                    "next_run_date": _iso(c.next_run_date),
                    "end_time": _iso(c.end_time),
                    "last_tick": _iso(last.tick) if last else None,
                    "last_run_id": last.run_id if last and last.run_id != NOT_RUN else None,
                    "state": "paused"
                    if not c.enabled
                    else "ended"
                    if c.next_run_date is None
                    else "active",
                    "metadata": c.metadata,
                }
            )
        return rows
    finally:
        store.close()
        assistants.close()


def _iso(when: float | None) -> str | None:
    return None if when is None else dt.datetime.fromtimestamp(when, dt.UTC).isoformat()


def _local(value: str | None) -> str:
    """An ISO time in this machine's time zone, to the minute (cron ticks are minutes)."""
    if not value:
        return "-"
    return dt.datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")


COMMANDS = [crons]
