"""The ``lgp`` command (also ``python -m lgp_engine``).

Exit codes: 0 success (or a run stopped at an interrupt), 1 the workflow failed,
2 a usage, configuration or loading problem, 130 cancelled with Ctrl+C. Errors
print as one line; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import signal
import sys

import click

from .._version import __version__
from . import agents, cache, check, cost, deploy, incidents, inspection, logs, run, serve, templates
from .common import fail, parse_json_option
from .crons import COMMANDS as CRON_COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lgp")
def cli() -> None:
    """LGP Workbench: run, inspect and debug LangGraph workflows locally.

    \b
    Run:
      lgp run workflows/basic_workflow.py --input '{"input": "hi"}' --thread t1
      lgp resume t1 --value '"yes"'          # answer an interrupt
      lgp check WORKFLOW                     # its graph's problems, without running it
    Look back:
      lgp threads / lgp history t1 / lgp state t1 / lgp diff t1 A B
      lgp runs / lgp events RUN_ID --after 10
      lgp cost --since 7d                    # tokens and USD, by model and workflow
      lgp agents list / lgp agents latest    # Claude Code sessions: tools, errors, cost
      lgp logs query / stats / export        # the JSON Lines trace log (tracing: jsonl)
      lgp cache stats / clear                # the node cache (nodes with a cache_policy)
    Time travel:
      lgp replay t1 --checkpoint ID          # re-run the nodes after ID
      lgp fork t1 --checkpoint ID --update '{"x": 1}'
    Start something new:
      lgp templates / lgp create my_flow --template basic && lgp run my_flow
    Serve over HTTP (LangGraph SDK compatible):
      lgp serve [WORKFLOW|DIR|langgraph.json] --port 8123
      lgp deploy WORKFLOW --target docker|compose|k8s [--apply]
      lgp crons                              # scheduled runs (client.crons): next and last tick
      lgp incidents / lgp incidents show ID  # anomalies the server detected, rollbacks

    Config comes from config/<env>.yaml (see --env); state lives in the
    checkpointer it names (SQLite in .lgp/ by default).
    """


for module in (
    run,
    check,
    inspection,
    cost,
    agents,
    logs,
    cache,
    templates,
    serve,
    deploy,
    incidents,
):
    for command in module.COMMANDS:
        cli.add_command(command)
for command in CRON_COMMANDS:
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    # A parent may start us with SIGINT ignored (a shell's `cmd &`, a test runner);
    # Ctrl+C must still cancel a run (recorded as cancelled, exit 130).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = cli.main(prog_name="lgp", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        code = 0
    except click.UsageError as exc:
        # one line, like every other error of the CLI
        where = f"{exc.ctx.command_path} --help" if exc.ctx else "lgp --help"
        fail(f"{exc.format_message().rstrip('.')} (see `{where}`)", exc.exit_code)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except click.exceptions.Abort:
        fail("Interrupted", 130)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["cli", "main", "parse_json_option"]
