"""``lgp templates`` and ``lgp create``: starting new workflows."""

from __future__ import annotations

import json

import click

from .common import common_options, handle_errors, json_option, relpath, setup, table
from .console import PREFIX, short


@click.command()
@json_option
@common_options
@handle_errors
def templates(as_json: bool, env: str | None, verbose: bool) -> None:
    """List the templates `lgp create` can start from."""
    settings = setup(env, verbose)
    from ..templates import list_templates, templates_dir

    found = list_templates(templates_dir(settings))
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": t.name,
                        "description": t.description,
                        "complexity": t.complexity,
                        "default_input": t.default_input,
                    }
                    for t in found
                ],
                indent=2,
            )
        )
        return
    table(
        ["NAME", "COMPLEXITY", "DESCRIPTION"],
        [[t.name, t.complexity, t.description] for t in found],
    )


@click.command()
@click.argument("name")
@click.option(
    "--template",
    "-t",
    "template",
    default="basic",
    show_default=True,
    help="Template to start from (see `lgp templates`).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing workflow of that name.")
@common_options
@handle_errors
def create(name: str, template: str, force: bool, env: str | None, verbose: bool) -> None:
    """Create workflows/NAME.py from a template and register it as NAME.

    \b
    Example:
      lgp create my_flow --template basic && lgp run my_flow
    """
    settings = setup(env, verbose)
    from ..templates import create_workflow

    created = create_workflow(name, template, settings, force=force)
    click.echo(
        f"{PREFIX} ✅ Created {relpath(created.path)} from template '{created.template.name}'"
    )
    for extra in created.files:
        click.echo(f"{PREFIX}    + {relpath(extra)}")
    if created.registered:
        click.echo(f"{PREFIX} Registered '{name}' in {relpath(created.registry)}")
    example = created.template.default_input
    suffix = f" --input '{short(example, 400)}'" if example else ""
    click.echo(f"{PREFIX} Run it: lgp run {name}{suffix}")


COMMANDS = [templates, create]
