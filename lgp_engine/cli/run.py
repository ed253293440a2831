"""``lgp run``, ``resume``, ``replay`` and ``fork``: the commands that execute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .common import (
    check_thread_id,
    common_options,
    env_flag,
    exit_with,
    handle_errors,
    load_target,
    open_runner,
    parse_json_option,
    print_events,
    setup,
)
from .console import RunPrinter

_EXIT_CODES = """
    Exit codes: 0 done (or stopped at an interrupt), 1 the workflow failed,
    2 bad usage, config or workflow, 130 cancelled (Ctrl+C; resume later)."""


def _workflow_option(fn: Any) -> Any:
    return click.option(
        "--workflow",
        "-w",
        "workflow",
        metavar="TARGET",
        help="Workflow to use (default: the one the thread's last run used).",
    )(fn)


_CONFIG_HELP = (
    "Run config as JSON or @file.json: configurable values, tags, metadata, "
    "recursion_limit, run_name, max_concurrency "
    """(e.g. '{"configurable": {"user_id": "u1"}, "recursion_limit": 50}')."""
)


def _config_option(fn: Any) -> Any:
    return click.option("--config", "run_config", metavar="JSON|@FILE", help=_CONFIG_HELP)(fn)


def _multitask_option(fn: Any) -> Any:
    return click.option(
        "--multitask",
        "multitask",
        type=click.Choice(["enqueue", "reject", "interrupt", "rollback"]),
        default="enqueue",
        show_default=True,
        help="When another run (of any process: a server, the workbench, another lgp) is "
        "on the thread: wait for it, give up (exit 2), cancel it and run, or cancel it, "
        "delete it and run.",
    )(fn)


def _admission(runner: Any, multitask: str, as_json: bool) -> Any:
    """The run's admission to its thread; a line on stderr when it has to wait."""

    def waiting(lease: Any) -> None:
        if not as_json:
            host, pid = [*lease.owner.split(":"), "?", "?"][:2]
            click.echo(
                f"Thread {lease.thread_id} is running {lease.run_id} (pid {pid} on {host}); "
                f"{'waiting for it to end' if multitask == 'enqueue' else 'cancelling it'}...",
                err=True,
            )

    return runner.admission(multitask, on_wait=waiting)


def _run_config(raw: str | None, thread_id: str | None) -> dict[str, Any] | None:
    """``--config``, parsed and checked before anything is loaded or written."""
    from ..run_config import check_owned_keys, check_run_config

    if raw is None:
        return None
    config = check_run_config(parse_json_option(raw, "--config"), field="config")
    check_owned_keys(config, thread_id, None, field="config")
    return config or None


def _existing(settings: Any, thread_id: str, checkpoint: str | None = None) -> str | None:
    """Check (read-only, creating nothing) that the thread and checkpoint exist."""
    from ..checkpointing import open_checkpoints

    with open_checkpoints(settings, readonly=True) as store:
        store.thread(thread_id)
        return store.find_checkpoint(thread_id, checkpoint) if checkpoint else None


def _on_thread(
    settings: Any,
    env: str | None,
    thread_id: str,
    workflow: str | None,
    as_json: bool,
    verbose: bool,
    operation: Callable[[Any, Any], Any],
) -> None:
    """Run ``operation(runner, loaded_workflow)`` on an existing thread and print it."""

    with open_runner(settings) as runner:
        loaded = load_target(settings, workflow or runner.target_for_thread(thread_id))
        events = operation(runner, loaded)
        code = print_events(
            events, as_json=as_json, verbose=verbose, env_flag=env_flag(settings, env)
        )
    exit_with(code)


@click.command()
@click.argument("workflow")
@click.option("--graph", "graph_name", metavar="NAME", help="Graph of a langgraph.json to run.")
@click.option("--input", "input_", metavar="JSON|@FILE", help="Input as JSON, or @file.json.")
@click.option(
    "--context",
    "context",
    metavar="JSON|@FILE",
    help="Runtime context, for graphs with a context_schema.",
)
@_config_option
@click.option("--thread", "thread_id", metavar="ID", help="Thread to run on (default: a new one).")
@_multitask_option
@click.option(
    "--interrupt-before",
    "interrupt_before",
    metavar="NODE",
    multiple=True,
    help="Stop before this node (repeatable); continue with `lgp resume`.",
)
@click.option(
    "--interrupt-after",
    "interrupt_after",
    metavar="NODE",
    multiple=True,
    help="Stop after this node (repeatable).",
)
@click.option(
    "--max-cost",
    "max_cost",
    type=click.FloatRange(min=0),
    metavar="USD",
    help="Stop the run (budget_exceeded) before a model call would take it past USD "
    "(default: runs.max_cost_usd of the config).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line (for CI).")
@click.option(
    "--watch",
    "watch",
    is_flag=True,
    help="Hot reload: after the run, rerun on every save (same input, same thread) until Ctrl+C.",
)
@common_options
@handle_errors
def run(
    workflow: str,
    graph_name: str | None,
    input_: str | None,
    context: str | None,
    run_config: str | None,
    thread_id: str | None,
    multitask: str,
    interrupt_before: tuple[str, ...],
    interrupt_after: tuple[str, ...],
    max_cost: float | None,
    as_json: bool,
    watch: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Run WORKFLOW on a thread and report each step.

    WORKFLOW is a file (workflows/x.py), FILE.py:ATTR, a langgraph.json (pick a
    graph with --graph) or a name registered in workflows/config.yaml.

    \b
    Examples:
      lgp run workflows/basic_workflow.py --input '{"input": "hi"}' --thread t1
      lgp run path/to/langgraph.json --graph agent --input @input.json
      lgp run approval_workflow --interrupt-before publish
      lgp run my_flow --json > events.jsonl
      lgp run workflows/basic_workflow.py --input '{"input": "hi"}' --watch
      lgp run agent --config '{"configurable": {"user_id": "u1"}, "recursion_limit": 50}'

    \b
    Hot reload (--watch): saving the workflow file, a local module it imports
    (under its own folder or package) or the config reloads the code in about
    a tenth of a second and reruns the same input on the same thread, so the
    thread's history keeps every run. A broken save (syntax error, exception at
    import, graph that does not compile) prints the error with file and line and
    keeps the previous version; the next good save recovers. If the last run
    failed in a node, the save resumes from that node's checkpoint with the new
    code instead. A thread waiting at an interrupt is not rerun: the new code is
    loaded and `lgp resume` continues it. With --json, reload events
    (reload.started/succeeded/failed) are JSON lines too. Ctrl+C stops (exit
    130); a run in progress is cancelled and kept.
    """
    payload = parse_json_option(input_, "--input")
    ctx = parse_json_option(context, "--context")
    check_thread_id(thread_id)
    config = _run_config(run_config, thread_id)
    settings = setup(env, verbose)
    from ..loader import resolve_in_project

    # fail fast (one line, nothing printed before) on a bad target
    resolve_in_project(workflow, settings, graph=graph_name)
    printer = RunPrinter(verbose=verbose)
    if not as_json:
        printer.line(f"Environment: {settings.environment}")
        picked = f" (graph {graph_name})" if graph_name else ""
        printer.line(f"Loading workflow: {workflow}{picked}")
    loaded = load_target(settings, workflow, graph_name)
    from ..runner import Runner

    Runner.check_input(loaded, payload)  # before anything is written
    if watch:
        _watch(
            settings,
            loaded,
            payload,
            thread_id,
            ctx,
            interrupt_before,
            interrupt_after,
            as_json,
            verbose,
            env,
            config,
        )
        return
    _print_injections(settings, loaded, printer, as_json)  # before anything is written
    with open_runner(settings) as runner:
        events = runner.start(
            loaded,
            payload if payload is not None else {},
            thread_id=thread_id,
            context=ctx,
            interrupt_before=list(interrupt_before) or None,
            interrupt_after=list(interrupt_after) or None,
            max_cost_usd=max_cost,
            config=config,
            admission=_admission(runner, multitask, as_json),
        )
        code = print_events(
            events, as_json=as_json, verbose=verbose, env_flag=env_flag(settings, env)
        )
    exit_with(code)


run.help = (run.help or "") + _EXIT_CODES


def _print_injections(settings: Any, loaded: Any, printer: RunPrinter, as_json: bool) -> None:
    """Bind the workflow's agent roles (a role whose provider cannot run is a
    configuration error, exit 2, before any store exists) and say what runs them."""
    from ..providers.factory import injections
    from ..providers.runtime import AgentRuntime

    if loaded.kind == "factory":
        return  # bound when its nodes run
    for injection in injections(loaded.target, AgentRuntime(settings)):
        if not as_json:
            printer.line(f"  ✅ {injection.describe()}")


def _watch(
    settings: Any,
    loaded: Any,
    payload: Any,
    thread_id: str | None,
    ctx: Any,
    interrupt_before: tuple[str, ...],
    interrupt_after: tuple[str, ...],
    as_json: bool,
    verbose: bool,
    env: str | None,
    config: dict[str, Any] | None = None,
) -> None:
    from ..reload import WorkflowReloader
    from .watch import WatchedRun, run_watching

    reloader = WorkflowReloader(loaded, settings)
    watched = WatchedRun(
        payload if payload is not None else {},
        thread_id,
        ctx,
        list(interrupt_before) or None,
        list(interrupt_after) or None,
        config,
    )
    with open_runner(settings) as runner:
        code = run_watching(
            runner,
            reloader,
            watched,
            as_json=as_json,
            verbose=verbose,
            env_flag=env_flag(settings, env),
        )
    exit_with(code)


@click.command()
@click.argument("thread_id", metavar="THREAD")
@click.option(
    "--value",
    "value",
    metavar="JSON|@FILE",
    help="Answer to the interrupt (JSON; an object keyed by interrupt id for several).",
)
@_workflow_option
@_config_option
@_multitask_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
@common_options
@handle_errors
def resume(
    thread_id: str,
    value: str | None,
    workflow: str | None,
    run_config: str | None,
    multitask: str,
    as_json: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Continue THREAD: answer its interrupt, or finish a run that was cancelled,
    failed or abandoned (its process died) from the last checkpoint.

    \b
    Examples:
      lgp resume t1 --value '"yes"'
      lgp resume t1 --value '{"approved": true, "note": "ship it"}'
      lgp resume t1                      # after Ctrl+C or a crash
    """
    settings = setup(env, verbose)
    from ..runner import NO_VALUE

    parsed = parse_json_option(value, "--value") if value is not None else NO_VALUE
    config = _run_config(run_config, thread_id)
    _existing(settings, thread_id)
    _on_thread(
        settings,
        env,
        thread_id,
        workflow,
        as_json,
        verbose,
        lambda runner, wf: runner.resume(
            wf, thread_id, parsed, config=config, admission=_admission(runner, multitask, as_json)
        ),
    )


@click.command()
@click.argument("thread_id", metavar="THREAD")
@click.option(
    "--checkpoint",
    "--from",
    "checkpoint",
    metavar="ID",
    help="Checkpoint to replay from (an id or a unique part of one); with --recorded, "
    "by default where the recorded run started.",
)
@click.option(
    "--recorded",
    is_flag=True,
    help="Answer the model and MCP tool calls from what the original branch recorded "
    "(no new tokens, works offline), then diff the two branches' final states.",
)
@click.option(
    "--run",
    "run_id",
    metavar="RUN_ID",
    help="With --recorded: the run whose recorded calls answer (default: the runs that "
    "made the branch after the checkpoint).",
)
@click.option(
    "--live-fallback",
    "live_fallback",
    is_flag=True,
    help="With --recorded: make the calls the recording lacks live instead of failing.",
)
@_workflow_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
@common_options
@handle_errors
def replay(
    thread_id: str,
    checkpoint: str | None,
    recorded: bool,
    run_id: str | None,
    live_fallback: bool,
    workflow: str | None,
    as_json: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Re-run THREAD from a past checkpoint: the nodes after it run again and a new
    branch grows in the thread's history (the old one stays; see `lgp history`).

    With --recorded the agent nodes' model and MCP tool calls are answered by the
    recording of the original branch (a code change tried on a real past
    conversation, no model server needed); a call the recording lacks fails its node
    (or goes live with --live-fallback). It ends with the differences between the
    original branch's final state and the replay's.

    \b
    Examples:
      lgp replay t1 --checkpoint 1f0a...
      lgp replay t1 --recorded                  # from where the recorded run started
      lgp replay t1 --recorded --from 1f0a... --run 3c4d...
    """
    from ..errors import UsageError

    if not recorded and (run_id is not None or live_fallback):
        flag = "--run" if run_id is not None else "--live-fallback"
        raise UsageError(f"{flag} goes with --recorded", field="recorded", code="needs_recorded")
    if not recorded and checkpoint is None:
        raise UsageError(
            "give the checkpoint to replay from with --checkpoint ID (or replay the "
            "recorded calls with --recorded)",
            field="checkpoint",
            code="checkpoint_required",
        )
    settings = setup(env, verbose)
    if not recorded:
        checkpoint_id = _existing(settings, thread_id, checkpoint)
        _on_thread(
            settings,
            env,
            thread_id,
            workflow,
            as_json,
            verbose,
            lambda runner, wf: runner.replay(wf, thread_id, checkpoint_id),
        )
        return
    _replay_recorded(
        settings, env, thread_id, checkpoint, run_id, live_fallback, workflow, as_json, verbose
    )


def _replay_recorded(
    settings: Any,
    env: str | None,
    thread_id: str,
    checkpoint: str | None,
    run_id: str | None,
    live_fallback: bool,
    workflow: str | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """``lgp replay --recorded``: the replay printed as any, then the branches' diff."""
    from ..jsonable import dumps
    from ..recorded_replay import compare_replay, find_recording, recording_start
    from .console import PREFIX, usage_text

    _existing(settings, thread_id)
    with open_runner(settings) as runner:
        store, runs = runner.store, runner.runs
        if run_id is not None:
            run_id = runs.find(run_id).run_id
        checkpoint_id = (
            store.find_checkpoint(thread_id, checkpoint)
            if checkpoint is not None
            else recording_start(runs, thread_id, run_id)
        )
        source = find_recording(store, runs, thread_id, checkpoint_id, run_id or True)
        loaded = load_target(settings, workflow or runner.target_for_thread(thread_id))
        if not as_json:
            click.echo(
                f"{PREFIX} Recorded replay from {checkpoint_id}: {source.describe()}"
                + (" (live fallback)" if live_fallback else "")
            )
        ended: list[Any] = []
        code = print_events(
            runner.replay(
                loaded, thread_id, checkpoint_id, recorded=source, live_fallback=live_fallback
            ),
            as_json=as_json,
            verbose=verbose,
            env_flag=env_flag(settings, env),
            on_event=lambda e: ended.append(e) if e.is_terminal else None,
        )
        if ended and ended[-1].type in ("run.completed", "interrupt"):  # a branch to compare
            last = ended[-1]
            comparison = compare_replay(store, runs, source, last.run_id)
            lines = comparison.lines()
            if as_json:
                click.echo(
                    dumps(
                        {
                            "type": "replay.diff",
                            "original": comparison.original_checkpoint,
                            "replay": comparison.replay_checkpoint,
                            "recorded_usage": last.data.get("recorded_usage"),
                            "changes": [
                                {
                                    "kind": c.kind,
                                    "path": c.path,
                                    "before": c.before,
                                    "after": c.after,
                                }
                                for c in comparison.changes
                            ],
                        }
                    )
                )
            else:
                spent = usage_text(last.data.get("recorded_usage"))
                if spent:
                    click.echo(
                        f"{PREFIX} Answered from the recording: {spent} not spent again "
                        f"(new: {usage_text(last.data.get('usage')) or '0 tokens, $0'})"
                    )
                original = comparison.original_checkpoint
                replayed = comparison.replay_checkpoint
                click.echo(f"{PREFIX} Original branch ({original}) → replay ({replayed}):")
                if not lines:
                    click.echo(f"{PREFIX} No differences.")
                for line in lines:
                    click.echo(line.text)
    exit_with(code)


@click.command()
@click.argument("thread_id", metavar="THREAD")
@click.option(
    "--checkpoint",
    "checkpoint",
    required=True,
    metavar="ID",
    help="Checkpoint to fork from (an id or a unique part of one).",
)
@click.option(
    "--update",
    "update",
    required=True,
    metavar="JSON|@FILE",
    help="State values to write on it, as a JSON object.",
)
@click.option(
    "--as-node",
    "as_node",
    metavar="NODE",
    help="Write the update as if NODE produced it (decides what runs next).",
)
@_workflow_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
@common_options
@handle_errors
def fork(
    thread_id: str,
    checkpoint: str,
    update: str,
    as_node: str | None,
    workflow: str | None,
    as_json: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Edit THREAD's state at a past checkpoint and continue from there, on a new
    branch; the original history stays as it was.

    \b
    Example:
      lgp fork t1 --checkpoint 1f0a... --update '{"draft": "shorter"}' --as-node draft
    """
    values = parse_json_option(update, "--update")
    settings = setup(env, verbose)
    checkpoint_id = _existing(settings, thread_id, checkpoint)
    _on_thread(
        settings,
        env,
        thread_id,
        workflow,
        as_json,
        verbose,
        lambda runner, wf: runner.fork(wf, thread_id, checkpoint_id, values, as_node=as_node),
    )


COMMANDS = [run, resume, replay, fork]
