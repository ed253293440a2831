"""``lgp check``: a workflow's graph checked without running it."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import click

from .common import common_options, handle_errors, json_option, load_target, relpath, setup
from .console import PREFIX, plural

# The warning codes and what each means, as --help lists them.
_CODES = """
    \b
      unreachable                     no path from START leads to the node: it never runs
      dead_end                        nothing follows the node: the run stops there, short
                                      of END
      cycle_without_exit              a loop the run cannot leave: it stops only at the
                                      recursion limit
      undeclared_key                  the node returns a key the state does not declare
                                      (LangGraph drops it silently)
      interrupt_without_checkpointer  interrupt() in a graph the file compiles without a
                                      checkpointer: fine under lgp, not resumable with
                                      plain LangGraph"""


@click.command(
    help=f"""Check WORKFLOW's graph without running it: print each problem found with a
    hint to fix it, or "no problems found".

    WORKFLOW is a file (workflows/x.py), FILE.py:ATTR, a langgraph.json (pick a
    graph with --graph) or a name registered in workflows/config.yaml. Nothing is
    run and nothing is written; the file is imported, as `lgp run` does.

    \b
    What it looks for (the code of each warning):
{_CODES}

    Only what the graph and the workflow's own code show is reported: a route
    computed at run time, a Command(goto=...) without declared destinations, a dict
    built at run time or a node from a library may do anything, so nothing is
    said about them. A factory builds its graph per run: there is nothing to check.

    \b
    Examples:
      lgp check workflows/basic_workflow.py
      lgp check approval_workflow --json
      lgp check path/to/langgraph.json --graph agent

    Exit codes: 0 no problems found, 1 warnings, 2 the workflow does not load (or
    bad usage).
    """
)
@click.argument("workflow")
@click.option("--graph", "graph_name", metavar="NAME", help="Graph of a langgraph.json to check.")
@json_option
@common_options
@handle_errors
def check(
    workflow: str, graph_name: str | None, as_json: bool, env: str | None, verbose: bool
) -> None:
    settings = setup(env, verbose)
    from ..analysis import analyze_workflow

    loaded = load_target(settings, workflow, graph_name)
    analysis = analyze_workflow(loaded)
    if as_json:
        click.echo(json.dumps(analysis.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print(analysis)
    sys.exit(1 if analysis.warnings else 0)


def _print(analysis: Any) -> None:
    name = analysis.workflow
    if analysis.skipped:
        click.echo(f"{PREFIX} {name}: {analysis.skipped}")
    if not analysis.warnings:
        if not analysis.skipped:
            click.echo(f"{PREFIX} ✅ {name}: no problems found")
        return
    click.echo(f"{PREFIX} {name}: {plural(len(analysis.warnings), 'warning')}")
    width = _width()
    for warning in analysis.warnings:
        click.echo("")
        click.echo(f"⚠ {warning.node or name} · {warning.code}")
        click.echo(_indented(warning.message, width))
        click.echo(_indented(f"fix: {warning.hint}", width))
        if warning.path:
            where = relpath(Path(warning.path))
            click.echo(f"  at {where}:{warning.line}" if warning.line else f"  at {where}")


def _width() -> int | None:
    """The terminal's width to wrap at (at most 100), or None when not a terminal
    (pipes and CI get whole lines)."""
    if not sys.stdout.isatty():
        return None
    return min(shutil.get_terminal_size().columns, 100)


def _indented(text: str, width: int | None) -> str:
    if width is None:
        return f"  {text}"
    return textwrap.fill(text, width, initial_indent="  ", subsequent_indent="    ")


COMMANDS = [check]
