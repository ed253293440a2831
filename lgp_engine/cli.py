"""The ``lgp`` command (also ``python -m lgp_engine``).

Exit codes: 0 success (or a run stopped at an interrupt), 1 the workflow failed,
2 a usage, configuration or loading problem. Errors print as one line; ``--verbose``
adds the traceback.
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .console import PREFIX, RunPrinter, short
from .errors import LGPError, UsageError

_VERBOSE = False


def _fail(message: str, code: int) -> None:
    click.echo(f"{PREFIX} ❌ {message}", err=True)
    sys.exit(code)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`LGPError` (and surprises) into one line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LGPError as exc:
            if _VERBOSE:
                traceback.print_exc()
            _fail(f"{exc.title}: {exc}", exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except KeyboardInterrupt:
            _fail("Interrupted", 130)
        except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
            if _VERBOSE:
                traceback.print_exc()
            hint = "" if _VERBOSE else " (run with --verbose for the traceback)"
            _fail(f"Unexpected error: {type(exc).__name__}: {exc}{hint}", 1)

    return wrapper


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--env`` and ``--verbose`` on every command."""
    fn = click.option(
        "--env", "env", metavar="ENV", envvar="LGP_ENV", default=None,
        help="Config environment: experiment (default), hosted, production; or $LGP_ENV.",
    )(fn)
    fn = click.option(
        "--verbose", "-v", is_flag=True, help="More detail; tracebacks on errors."
    )(fn)
    return fn


def _setup(env: str | None, verbose: bool) -> Any:
    global _VERBOSE
    _VERBOSE = verbose
    from dotenv import load_dotenv

    from .config import load_settings

    dotenv = Path.cwd() / ".env"
    if dotenv.is_file():
        load_dotenv(dotenv, override=False)
    return load_settings(env)


def parse_json_option(raw: str | None, option: str) -> Any:
    """Parse ``--input``-style values: inline JSON or ``@file.json``."""
    if raw is None:
        return None
    text = raw
    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{option}: cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        src = raw[1:] if raw.startswith("@") else option
        raise UsageError(
            f"invalid JSON in {src}: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            hint='e.g. --input \'{"input": "hi"}\'',
        ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="lgp-workbench", prog_name="lgp")
def cli() -> None:
    """LGP Workbench: run, inspect and serve LangGraph workflows locally.

    \b
    Quick start:
      lgp run workflows/basic_workflow.py --input '{"input": "hi"}' --thread t1
      lgp history t1          # every checkpoint of thread t1
      lgp templates           # what `lgp create` can start from
      lgp create my_flow --template basic && lgp run my_flow

    Config comes from config/<env>.yaml (see --env); state lives in the
    checkpointer it names (SQLite in .lgp/ by default).
    """


@cli.command()
@click.argument("workflow")
@click.option("--graph", "graph_name", metavar="NAME", help="Graph of a langgraph.json to run.")
@click.option("--input", "input_", metavar="JSON|@FILE", help="Input as JSON, or @file.json.")
@click.option("--context", "context", metavar="JSON|@FILE",
              help="Runtime context, for graphs with a context_schema.")
@click.option("--thread", "thread_id", metavar="ID", help="Thread to run on (default: a new one).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line (for CI).")
@common_options
@handle_errors
def run(
    workflow: str,
    graph_name: str | None,
    input_: str | None,
    context: str | None,
    thread_id: str | None,
    as_json: bool,
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
      lgp run my_flow --json > events.jsonl

    Exit codes: 0 done (or stopped at an interrupt), 1 the workflow failed,
    2 bad usage, config or workflow.
    """
    payload = parse_json_option(input_, "--input")
    ctx = parse_json_option(context, "--context")
    if thread_id is not None and not thread_id.strip():
        raise UsageError("--thread must not be empty")
    settings = _setup(env, verbose)
    from .checkpointing import open_checkpoints
    from .executor import Executor
    from .loader import load_workflow, resolve_target

    source = resolve_target(
        workflow, graph=graph_name, project_dir=settings.project_dir,
        registry_file=settings.resolve(settings.workflows.registry),
    )
    printer = RunPrinter(verbose=verbose)
    if not as_json:
        printer.line(f"Environment: {settings.environment}")
        picked = f" (graph {graph_name})" if graph_name else ""
        printer.line(f"Loading workflow: {workflow}{picked}")
    loaded = load_workflow(source)
    for warning in loaded.warnings:
        click.echo(f"{PREFIX} ⚠ {warning}", err=True)
    status = "completed"
    with open_checkpoints(settings) as store:
        executor = Executor(loaded, store, environment=settings.environment)
        for event in executor.stream(
            payload if payload is not None else {}, thread_id=thread_id, context=ctx
        ):
            if as_json:
                click.echo(event.to_json())
            else:
                printer.event(event)
            if event.type == "run.failed":
                status = "failed"
            elif event.type == "run.cancelled":
                status = "cancelled"
    if status == "failed":
        sys.exit(1)
    if status == "cancelled":
        sys.exit(130)


@cli.command()
@click.option("--limit", default=50, show_default=True, help="How many threads to show.")
@click.option("--offset", default=0, show_default=True, help="How many to skip (paging).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options
@handle_errors
def threads(limit: int, offset: int, as_json: bool, env: str | None, verbose: bool) -> None:
    """List threads: id, checkpoint count, created and updated time (newest first)."""
    settings = _setup(env, verbose)
    from .checkpointing import open_checkpoints

    with open_checkpoints(settings, readonly=True) as store:
        rows = store.threads(limit=limit, offset=offset)
        total = store.count_threads()
    if as_json:
        click.echo(json.dumps([
            {"thread_id": t.thread_id, "checkpoints": t.checkpoints,
             "created_at": _iso(t.created_at), "updated_at": _iso(t.updated_at)} for t in rows
        ], indent=2))
        return
    if not rows:
        click.echo(f"{PREFIX} No threads yet in {store.location}. Run a workflow first.")
        return
    _table(
        ["THREAD", "CHECKPOINTS", "CREATED", "UPDATED"],
        [[t.thread_id, str(t.checkpoints), _when(t.created_at), _when(t.updated_at)] for t in rows],
    )
    if total > offset + len(rows):
        click.echo(f"{PREFIX} Showing {offset + 1}-{offset + len(rows)} of {total}; "
                   f"use --offset {offset + len(rows)} for more.")


@cli.command()
@click.argument("thread_id", metavar="THREAD")
@click.option("--limit", default=0, help="Show at most this many checkpoints (0 = all).")
@click.option("--offset", default=0, help="Skip this many of the newest checkpoints.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options
@handle_errors
def history(
    thread_id: str, limit: int, offset: int, as_json: bool, env: str | None, verbose: bool
) -> None:
    """List the checkpoints of THREAD, oldest first: step, id, parent, writer, next."""
    settings = _setup(env, verbose)
    from .checkpointing import open_checkpoints

    with open_checkpoints(settings, readonly=True) as store:
        info = store.thread(thread_id)
        rows = store.history(thread_id, limit=limit or info.checkpoints, offset=offset)
    rows.reverse()
    if as_json:
        click.echo(json.dumps([
            {"checkpoint_id": c.checkpoint_id, "parent_id": c.parent_id, "step": c.step,
             "source": c.source, "writes": list(c.writes), "next": list(c.next),
             "created_at": _iso(c.created_at)} for c in rows
        ], indent=2))
        return
    click.echo(f"{PREFIX} Thread {thread_id}: {info.checkpoints} checkpoint(s)")
    _table(
        ["STEP", "CHECKPOINT", "PARENT", "SOURCE", "WRITTEN BY", "NEXT", "TIME"],
        [[str(c.step), c.checkpoint_id, (c.parent_id or "-"), c.source or "-",
          ", ".join(c.writes) or "-", ", ".join(c.next) or "-", _when(c.created_at)]
         for c in rows],
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common_options
@handle_errors
def templates(as_json: bool, env: str | None, verbose: bool) -> None:
    """List the templates `lgp create` can start from."""
    settings = _setup(env, verbose)
    from .templates import list_templates, templates_dir

    found = list_templates(templates_dir(settings))
    if as_json:
        click.echo(json.dumps([
            {"name": t.name, "description": t.description, "complexity": t.complexity,
             "default_input": t.default_input} for t in found
        ], indent=2))
        return
    _table(["NAME", "COMPLEXITY", "DESCRIPTION"],
           [[t.name, t.complexity, t.description] for t in found])


@cli.command()
@click.argument("name")
@click.option("--template", "-t", "template", default="basic", show_default=True,
              help="Template to start from (see `lgp templates`).")
@click.option("--force", is_flag=True, help="Overwrite an existing workflow of that name.")
@common_options
@handle_errors
def create(name: str, template: str, force: bool, env: str | None, verbose: bool) -> None:
    """Create workflows/NAME.py from a template and register it as NAME.

    \b
    Example:
      lgp create my_flow --template basic && lgp run my_flow
    """
    settings = _setup(env, verbose)
    from .templates import create_workflow

    created = create_workflow(name, template, settings, force=force)
    rel = _relpath(created.path)
    click.echo(f"{PREFIX} ✅ Created {rel} from template '{created.template.name}'")
    for extra in created.files:
        click.echo(f"{PREFIX}    + {_relpath(extra)}")
    if created.registered:
        click.echo(f"{PREFIX} Registered '{name}' in {_relpath(created.registry)}")
    example = created.template.default_input
    suffix = f" --input '{short(example, 400)}'" if example else ""
    click.echo(f"{PREFIX} Run it: lgp run {name}{suffix}")


def _relpath(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _when(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _table(headers: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # pipes and CI get whole lines, never wrapped ids
        console = Console(width=1000, no_color=True)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for h in headers:
        table.add_column(h, overflow="fold", no_wrap=h in ("THREAD", "CHECKPOINT", "PARENT"))
    for r in rows:
        table.add_row(*r)
    console.print(table)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="lgp")


__all__ = ["cli", "main", "parse_json_option"]
