"""``lgp cost``: what the recorded runs spent on model calls (tokens, calls, USD)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import click

from ..errors import UsageError
from ..jsonable import dumps
from .common import common_options, handle_errors, json_option, open_run_store, setup, table
from .console import PREFIX, usd

# An age: a number and a unit (minutes, hours, days, weeks).
_AGE = re.compile(r"(\d{1,6})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SINCE_FORMS = (
    "a date (2026-01-31), a date and time (2026-01-31T09:30) or an age (7d, 24h, 30m, 2w)"
)


def parse_since(raw: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """``--since``: a date (local midnight), an ISO date and time (local unless it
    names an offset) or an age before ``now``; an aware datetime.

    Raises:
        UsageError: for anything else (field ``since``).
    """
    text = raw.strip()
    now = now or dt.datetime.now().astimezone()
    age = _AGE.fullmatch(text.lower())
    if age:
        amount, unit = int(age.group(1)), _UNITS[age.group(2)]
        return now - dt.timedelta(**{unit: amount})
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            when = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        else:
            when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{{field}} must be {_SINCE_FORMS}, not {raw!r}", field="since", code="bad_since"
        ) from None
    return when if when.tzinfo else when.astimezone()  # naive: the local time zone


@click.command()
@click.option("--workflow", "-w", "workflow", metavar="NAME", help="Only runs of this workflow.")
@click.option(
    "--since",
    "since",
    metavar="WHEN",
    help="Only runs started at or after WHEN: 2026-01-31, 2026-01-31T09:30, or an age "
    "such as 7d, 24h, 30m, 2w.",
)
@json_option
@common_options
@handle_errors
def cost(
    workflow: str | None, since: str | None, as_json: bool, env: str | None, verbose: bool
) -> None:
    """Sum the tokens and cost of recorded runs: the totals, then by model
    (provider:model) and by workflow.

    Costs come from the price table when each call was made (local models
    cost $0). Reads the run store only; it never creates one.

    \b
    Examples:
      lgp cost                          # every recorded run
      lgp cost --since 7d               # the last seven days
      lgp cost --workflow team --since 2026-01-01
      lgp cost --since 24h --json       # for scripts
    """
    cutoff = parse_since(since) if since is not None else None
    settings = setup(env, verbose)
    from ..runs import RunStore

    store = open_run_store(settings, reap=False)
    if store is None:  # nothing recorded yet: the sums of no runs
        store = RunStore(None)
    try:
        summary = store.usage_summary(workflow=workflow, since=cutoff)
    finally:
        store.close()
    if as_json:
        scope = {"workflow": workflow, "since": cutoff.isoformat() if cutoff else None}
        click.echo(dumps({**scope, **summary}, indent=2))
        return
    _print(summary, workflow, cutoff)


def _print(summary: Any, workflow: str | None, cutoff: dt.datetime | None) -> None:
    scope = "".join(
        [
            f" of workflow {workflow}" if workflow else "",
            f" since {cutoff.strftime('%Y-%m-%d %H:%M')}" if cutoff else "",
        ]
    )
    runs = summary["runs"]
    if not runs:
        click.echo(f"{PREFIX} No runs{scope or ' yet'}.")
        return
    called = summary["runs_with_usage"]
    click.echo(
        f"{PREFIX} {runs} run{'s' * (runs != 1)}{scope}; "
        f"{called} called a model ({summary['calls']} call{'s' * (summary['calls'] != 1)})"
    )
    cached = summary["cache_read_tokens"]
    cached_text = f", {cached:,} cached" if cached else ""
    click.echo(
        f"{PREFIX} Total: {summary['total_tokens']:,} tokens "
        f"({summary['input_tokens']:,} in{cached_text}, {summary['output_tokens']:,} out), "
        f"{usd(summary['cost_usd'])}"
    )
    if summary["by_model"]:
        click.echo()
        table(
            ["MODEL", "CALLS", "INPUT", "OUTPUT", "COST"],
            [
                [name, *_cells(m, "calls", "input_tokens", "output_tokens")]
                for name, m in summary["by_model"].items()
            ],
            ids=("MODEL",),
        )
    click.echo()
    table(
        ["WORKFLOW", "RUNS", "CALLS", "INPUT", "OUTPUT", "COST"],
        [
            [name, *_cells(w, "runs", "calls", "input_tokens", "output_tokens")]
            for name, w in summary["by_workflow"].items()
        ],
        ids=("WORKFLOW",),
    )


def _cells(bucket: Any, *counts: str) -> list[str]:
    """The ``counts`` of a usage bucket (with thousands separators), then its cost."""
    return [*(f"{bucket[k]:,}" for k in counts), usd(bucket["cost_usd"])]


COMMANDS = [cost]
