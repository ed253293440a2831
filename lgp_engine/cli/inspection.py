"""``lgp threads``, ``history``, ``state``, ``diff``, ``runs`` and ``events``: looking back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from ..events import EVENT_TYPES
from ..jsonable import dumps
from ..readable_values import pretty
from ..status import RunStatus, status_names
from .common import (
    common_options,
    handle_errors,
    iso,
    json_option,
    open_run_store,
    setup,
    table,
    when,
)
from .console import PREFIX, short, usage_text, usd

#: The width of the type column of ``lgp events`` (its longest type: agent.tool_result).
TYPE_WIDTH = max(map(len, EVENT_TYPES))

# Counts and offsets: never negative, and within what SQLite can compare.
COUNT = click.IntRange(0, 2**31 - 1)


def _readonly(settings: Any) -> Any:
    from ..checkpointing import open_checkpoints

    return open_checkpoints(settings, readonly=True)


@click.command()
@click.option(
    "--limit", default=50, show_default=True, type=COUNT, help="How many threads to show."
)
@click.option(
    "--offset", default=0, show_default=True, type=COUNT, help="How many to skip (paging)."
)
@json_option
@common_options
@handle_errors
def threads(limit: int, offset: int, as_json: bool, env: str | None, verbose: bool) -> None:
    """List threads: id, checkpoint count, created and updated time (newest first)."""
    settings = setup(env, verbose)
    with _readonly(settings) as store:
        rows = store.threads(limit=limit, offset=offset)
        total = store.count_threads()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "thread_id": t.thread_id,
                        "checkpoints": t.checkpoints,
                        "created_at": iso(t.created_at),
                        "updated_at": iso(t.updated_at),
                    }
                    for t in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        click.echo(f"{PREFIX} No threads yet in {store.location}. Run a workflow first.")
        return
    table(
        ["THREAD", "CHECKPOINTS", "CREATED", "UPDATED"],
        [[t.thread_id, str(t.checkpoints), when(t.created_at), when(t.updated_at)] for t in rows],
        ids=("THREAD",),
    )
    if total > offset + len(rows):
        click.echo(
            f"{PREFIX} Showing {offset + 1}-{offset + len(rows)} of {total}; "
            f"use --offset {offset + len(rows)} for more."
        )


@click.command()
@click.argument("thread_id", metavar="THREAD")
@click.option(
    "--limit", default=0, type=COUNT, help="Show at most this many checkpoints (0 = all)."
)
@click.option("--offset", default=0, type=COUNT, help="Skip this many of the newest checkpoints.")
@click.option("--subgraphs", is_flag=True, help="Also list the checkpoints of subgraphs.")
@json_option
@common_options
@handle_errors
def history(
    thread_id: str,
    limit: int,
    offset: int,
    subgraphs: bool,
    as_json: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Show THREAD's checkpoints as a tree, oldest first: forks and replays appear as
    branches (├─ / └─) off the checkpoint they started from."""
    settings = setup(env, verbose)
    from ..timetravel import flatten_tree, history_tree

    with _readonly(settings) as store:
        info = store.thread(thread_id)
        rows = store.history(thread_id, limit=limit or info.checkpoints, offset=offset)
        extra = {}
        if subgraphs:
            for ns in store.namespaces(thread_id):
                if ns:
                    extra[ns] = store.history(thread_id, limit=10_000, checkpoint_ns=ns)
    if as_json:
        out: Any = [_checkpoint_json(c) for c in reversed(rows)]
        if subgraphs:
            out = {
                "checkpoints": out,
                "subgraphs": {
                    ns: [_checkpoint_json(c) for c in reversed(cs)] for ns, cs in extra.items()
                },
            }
        click.echo(json.dumps(out, indent=2))
        return
    roots = history_tree(rows)
    flat = flatten_tree(roots)
    points = _branch_points(roots)
    note = f", {points} branch point(s)" if points else ""
    click.echo(f"{PREFIX} Thread {thread_id}: {info.checkpoints} checkpoint(s){note}")
    table(
        ["STEP", "CHECKPOINT", "SOURCE", "WRITTEN BY", "NEXT", "TIME"],
        [
            [
                f"{prefix}{c.step}",
                c.checkpoint_id,
                c.source or "-",
                _writes(c),
                ", ".join(c.next) or "-",
                when(c.created_at),
            ]
            for prefix, c, _ in flat
        ],
        ids=("STEP", "CHECKPOINT"),
    )
    for ns, cs in extra.items():
        click.echo(f"{PREFIX} Subgraph {ns.split(':')[0]} ({ns}): {len(cs)} checkpoint(s)")
        table(
            ["STEP", "CHECKPOINT", "WRITTEN BY", "NEXT"],
            [
                [str(c.step), c.checkpoint_id, _writes(c), ", ".join(c.next) or "-"]
                for c in reversed(cs)
            ],
            ids=("CHECKPOINT",),
        )


def _branch_points(roots: list[Any]) -> int:
    count, stack = 0, list(roots)
    while stack:
        node = stack.pop()
        count += len(node.children) > 1
        stack.extend(node.children)
    return count


def _writes(c: Any) -> str:
    if c.source in ("update", "fork"):
        return f"({c.source})"
    return ", ".join(c.writes) or "-"


def _checkpoint_json(c: Any) -> dict[str, Any]:
    return {
        "checkpoint_id": c.checkpoint_id,
        "parent_id": c.parent_id,
        "step": c.step,
        "source": c.source,
        "writes": list(c.writes),
        "next": list(c.next),
        "created_at": iso(c.created_at),
    }


@click.command()
@click.argument("thread_id", metavar="THREAD")
@click.option(
    "--checkpoint",
    "checkpoint",
    metavar="ID",
    help="Show the state at this checkpoint (default: the newest).",
)
@click.option(
    "--subgraphs",
    is_flag=True,
    help="Include the state of subgraphs (loads the thread's workflow).",
)
@click.option(
    "--workflow",
    "-w",
    "workflow",
    metavar="TARGET",
    help="Workflow for --subgraphs (default: the one the thread's last run used).",
)
@json_option
@common_options
@handle_errors
def state(
    thread_id: str,
    checkpoint: str | None,
    subgraphs: bool,
    workflow: str | None,
    as_json: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Show THREAD's state values, next nodes and pending interrupts."""
    settings = setup(env, verbose)
    from ..timetravel import state_at

    with _readonly(settings) as store:
        checkpoint_id = store.find_checkpoint(thread_id, checkpoint) if checkpoint else None
        snap = state_at(store, thread_id, checkpoint_id)
    sub: dict[str, Any] = {}
    if subgraphs:
        sub = _subgraph_states(settings, thread_id, snap.checkpoint_id, workflow)
    data = {
        "thread_id": snap.thread_id,
        "checkpoint_id": snap.checkpoint_id,
        "parent_id": snap.parent_id,
        "step": snap.step,
        "source": snap.source,
        "next": list(snap.next),
        "interrupts": snap.interrupts,
        "values": snap.values,
    }
    if subgraphs:
        data["subgraphs"] = sub
    if as_json:
        click.echo(dumps(data, indent=2))
        return
    click.echo(
        f"{PREFIX} Thread {thread_id} at checkpoint {snap.checkpoint_id} "
        f"(step {snap.step}, {snap.source})"
    )
    click.echo(f"{PREFIX} Next: {', '.join(snap.next) or '(nothing: the run ended here)'}")
    for item in snap.interrupts:
        click.echo(f"{PREFIX} Waiting for a value: {short(item['value'], 400)}")
    click.echo(pretty(snap.values))
    for path, values in sub.items():
        click.echo(f"{PREFIX} Subgraph {path}:")
        click.echo(pretty(values))


def _subgraph_states(
    settings: Any, thread_id: str, checkpoint_id: str, workflow: str | None
) -> dict[str, Any]:
    from .. import sync_bridge
    from ..runner import Runner
    from .common import load_target

    with Runner.open(settings) as runner:
        loaded = load_target(settings, workflow or runner.target_for_thread(thread_id))

        async def read() -> dict[str, Any]:
            async with runner.executor(loaded).agraph() as graph:
                config = {"configurable": {"thread_id": thread_id, "checkpoint_id": checkpoint_id}}
                snap = await graph.aget_state(config, subgraphs=True)
                out: dict[str, Any] = {}

                def walk(s: Any, path: str) -> None:
                    for task in s.tasks:
                        if task.state is not None and hasattr(task.state, "values"):
                            sub_path = f"{path}/{task.name}" if path else task.name
                            out[sub_path] = task.state.values
                            walk(task.state, sub_path)

                walk(snap, "")
                return out

        return sync_bridge.run(read())


@click.command()
@click.argument("thread_id", metavar="THREAD")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@json_option
@common_options
@handle_errors
def diff(thread_id: str, a: str, b: str, as_json: bool, env: str | None, verbose: bool) -> None:
    """Compare THREAD's state at checkpoints A and B: keys added (+), removed (-)
    and changed (~), nested values included (paths like `analysis.words[0]`), chat
    messages one line each (`messages: +1 tool (get_weather, 1.6 kB): ...`)."""
    settings = setup(env, verbose)
    from ..timetravel import diff_checkpoints

    with _readonly(settings) as store:
        first = store.find_checkpoint(thread_id, a)
        second = store.find_checkpoint(thread_id, b)
        sa, sb, changes = diff_checkpoints(store, thread_id, first, second)
    if as_json:
        click.echo(
            dumps(
                {
                    "from": sa.checkpoint_id,
                    "to": sb.checkpoint_id,
                    "changes": [
                        {"kind": c.kind, "path": c.path, "before": c.before, "after": c.after}
                        for c in changes
                    ],
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"{PREFIX} {thread_id}: step {sa.step} ({sa.checkpoint_id}) → "
        f"step {sb.step} ({sb.checkpoint_id})"
    )
    if not changes:
        click.echo(f"{PREFIX} No differences.")
        return
    from ..state_changes import describe_diff

    lines = describe_diff(sa.values, sb.values)  # chat messages one line each, by role
    for line in lines:
        click.echo(line.text)
    counts = {k: sum(1 for c in lines if c.kind == k) for k in ("added", "removed", "changed")}
    click.echo(
        f"{PREFIX} {counts['added']} added, {counts['removed']} removed, "
        f"{counts['changed']} changed"
    )


@click.command()
@click.option("--thread", "thread_id", metavar="ID", help="Only runs of this thread.")
@click.option(
    "--status",
    type=click.Choice(status_names()),
    metavar="STATUS",
    help=f"Only runs with this status: {', '.join(status_names())}.",
)
@click.option("--limit", default=50, show_default=True, type=COUNT, help="How many runs to show.")
@json_option
@common_options
@handle_errors
def runs(
    thread_id: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """List runs, newest first: id, thread, workflow, kind, status, duration, and the
    tokens and cost of their model calls (`lgp cost` sums them).

    Runs whose process died mid-run (kill -9, power loss) show as `abandoned`;
    `lgp resume THREAD` finishes them from their last checkpoint."""
    settings = setup(env, verbose)
    store = open_run_store(settings)
    wanted = RunStatus(status) if status else None
    records = store.list_runs(thread_id=thread_id, status=wanted, limit=limit) if store else []
    if store:
        store.close()
    if as_json:
        click.echo(dumps([r.__dict__ for r in records], indent=2))
        return
    if not records:
        click.echo(f"{PREFIX} No runs yet.")
        return
    table(
        [
            "RUN",
            "THREAD",
            "WORKFLOW",
            "KIND",
            "STATUS",
            "STARTED",
            "DURATION",
            "EVENTS",
            "TOKENS",
            "COST",
        ],
        [
            [
                r.run_id,
                r.thread_id,
                r.workflow,
                r.kind,
                r.status,
                _ts(r.created_at),
                f"{r.duration_ms / 1000:.2f}s" if r.duration_ms is not None else "-",
                str(r.last_seq),
                *_spent(r.usage),
            ]
            for r in records
        ],
        ids=("RUN", "THREAD"),
    )


def _spent(usage: Any) -> list[str]:
    """TOKENS and COST of a run: ``-`` for a run that called no model."""
    if not usage_text(usage):
        return ["-", "-"]
    return [f"{int(usage.get('total_tokens') or 0):,}", usd(float(usage.get("cost_usd") or 0))]


def _ts(value: float | None) -> str:
    if value is None:
        return "-"
    return when(dt.datetime.fromtimestamp(value, tz=dt.UTC))


@click.command()
@click.argument("run_id", metavar="RUN_ID")
@click.option(
    "--after",
    "after",
    default=0,
    show_default=True,
    metavar="SEQ",
    type=COUNT,
    help="Only events with a seq greater than this.",
)
@json_option
@common_options
@handle_errors
def events(run_id: str, after: int, as_json: bool, env: str | None, verbose: bool) -> None:
    """Print RUN_ID's recorded events in order (all of them, or those after --after)."""
    settings = setup(env, verbose)
    from ..errors import NotFoundError

    store = open_run_store(settings)
    if store is None:
        raise NotFoundError(f"unknown run {run_id!r}", hint="`lgp runs` lists them")
    try:
        record = store.find(run_id)
        found = store.events(record.run_id, after)
    finally:
        store.close()
    for e in found:
        if as_json:
            click.echo(e.to_json())
        else:
            where = f" {e.node}" if e.node else ""
            click.echo(f"{e.seq:>6} {_ts(e.ts)} {e.type:<{TYPE_WIDTH}}{where} {short(e.data, 160)}")


COMMANDS = [threads, history, state, diff, runs, events]
