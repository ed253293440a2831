"""``lgp cache``: the node cache (nodes with a LangGraph ``cache_policy``)."""

from __future__ import annotations

from typing import Any

import click

from ..jsonable import dumps
from .common import common_options, handle_errors, json_option, open_run_store, setup, table
from .console import PREFIX


@click.group()
def cache() -> None:
    """The node cache: what nodes with a cache_policy have stored, how often a run
    was served from it, and clearing it.

    Entries are keyed by the node's input and the workflow's code: an edit (or,
    with node_cache.invalidate_on: git, a new commit) makes the node run again.
    """


@cache.command()
@click.option("--workflow", "-w", "workflow", metavar="NAME", help="Only this workflow.")
@json_option
@common_options
@handle_errors
def stats(workflow: str | None, as_json: bool, env: str | None, verbose: bool) -> None:
    """Per node: entries stored, hits and misses of every recorded run, and the hit
    rate of the workflow's last run (100% once every cached node was served).

    \b
    Examples:
      lgp cache stats
      lgp cache stats --workflow enrich --json
    """
    settings = setup(env, verbose)
    report = _report(settings, workflow)
    if as_json:
        click.echo(dumps({"workflow": workflow, "nodes": report}, indent=2))
        return
    if not report:
        scope = f" for workflow {workflow}" if workflow else ""
        click.echo(f"{PREFIX} The node cache is empty{scope}: no node with a cache_policy ran.")
        return
    table(
        ["WORKFLOW", "NODE", "ENTRIES", "SIZE", "HITS", "MISSES", "HIT RATE", "LAST RUN"],
        [
            [
                r["workflow"],
                r["node"],
                str(r["entries"]),
                _size(r["bytes"]),
                str(r["hits"]),
                str(r["misses"]),
                _rate(r["hits"], r["misses"]),
                _rate(r["last_run"]["hits"], r["last_run"]["misses"]) if r["last_run"] else "-",
            ]
            for r in report
        ],
        ids=("WORKFLOW", "NODE"),
    )


@cache.command()
@click.option("--workflow", "-w", "workflow", metavar="NAME", help="Only this workflow.")
@common_options
@handle_errors
def clear(workflow: str | None, env: str | None, verbose: bool) -> None:
    """Delete cached node results (every workflow's, or one's); the next runs
    execute those nodes again.

    \b
    Examples:
      lgp cache clear
      lgp cache clear --workflow enrich
    """
    settings = setup(env, verbose)
    db = _cache_db(settings)
    if db is None:
        click.echo(f"{PREFIX} Nothing to clear: no database yet.")
        return
    try:
        gone = db.clear(workflow)
    finally:
        db.close()
    scope = f" of workflow {workflow}" if workflow else ""
    click.echo(f"{PREFIX} Cleared {gone} cached result{'s' * (gone != 1)}{scope}.")


def _cache_db(settings: Any) -> Any:
    """The node cache of the environment's database (None when there is none yet:
    reading and clearing never create one, nor its table on PostgreSQL)."""
    from ..backends.node_cache import NodeCacheDb

    if settings.checkpointer.backend == "postgres":
        return NodeCacheDb(settings, None, create=False)
    path = settings.resolve(settings.checkpointer.path)
    if settings.checkpointer.backend != "sqlite" or not path.exists():
        return None
    return NodeCacheDb(settings, path)


def _report(settings: Any, workflow: str | None) -> list[dict[str, Any]]:
    db = _cache_db(settings)
    runs = open_run_store(settings, reap=False)
    try:
        entries: dict[tuple[str, str], list[int]] = {}
        for wf, node, _fingerprint, count, size in db.entries(workflow) if db else []:
            got = entries.setdefault((wf, node), [0, 0])
            got[0] += count
            got[1] += size
        counts = {
            (w, n): (h, m) for w, n, h, m in (runs.cache_counts(workflow=workflow) if runs else [])
        }
        last: dict[tuple[str, str], tuple[int, int]] = {}
        for wf in sorted({w for w, _ in counts}):
            run_id = runs.last_cache_run(wf) if runs else None
            if run_id is not None:
                for w, n, h, m in runs.cache_counts(workflow=wf, run_id=run_id):
                    last[(w, n)] = (h, m)
    finally:
        if db is not None:
            db.close()
        if runs is not None:
            runs.close()
    report = []
    for key in sorted(set(entries) | set(counts)):
        hits, misses = counts.get(key, (0, 0))
        stored = entries.get(key, [0, 0])
        in_last = last.get(key)
        report.append(
            {
                "workflow": key[0],
                "node": key[1],
                "entries": stored[0],
                "bytes": stored[1],
                "hits": hits,
                "misses": misses,
                "hit_rate": hits / (hits + misses) if hits + misses else None,
                "last_run": {"hits": in_last[0], "misses": in_last[1]} if in_last else None,
            }
        )
    return report


def _rate(hits: int, misses: int) -> str:
    return f"{100 * hits / (hits + misses):.0f}%" if hits + misses else "-"


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB"


COMMANDS = [cache]
