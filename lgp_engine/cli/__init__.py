"""The ``lgp`` command (also ``python -m lgp_engine``).

Exit codes: 0 success (or a run stopped at an interrupt), 1 the workflow failed,
2 a usage, configuration or loading problem, 130 cancelled with Ctrl+C. Errors
print as one line; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import click

from .._version import __version__
from . import inspection, run, serve, templates
from .common import parse_json_option


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lgp")
def cli() -> None:
    """LGP Workbench: run, inspect and debug LangGraph workflows locally.

    \b
    Run:
      lgp run workflows/basic_workflow.py --input '{"input": "hi"}' --thread t1
      lgp resume t1 --value '"yes"'          # answer an interrupt
    Look back:
      lgp threads / lgp history t1 / lgp state t1 / lgp diff t1 A B
      lgp runs / lgp events RUN_ID --after 10
    Time travel:
      lgp replay t1 --checkpoint ID          # re-run the nodes after ID
      lgp fork t1 --checkpoint ID --update '{"x": 1}'
    Start something new:
      lgp templates / lgp create my_flow --template basic && lgp run my_flow
    Serve over HTTP (LangGraph SDK compatible):
      lgp serve [WORKFLOW|DIR|langgraph.json] --port 8123

    Config comes from config/<env>.yaml (see --env); state lives in the
    checkpointer it names (SQLite in .lgp/ by default).
    """


for module in (run, inspection, templates, serve):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="lgp")


__all__ = ["cli", "main", "parse_json_option"]
