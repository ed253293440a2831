"""Pieces every ``lgp`` command shares: options, error handling, output helpers."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from .console import PREFIX, RunPrinter
from .errors import LGPError, UsageError
from .events import RunEvent

_STATE = {"verbose": False}


def fail(message: str, code: int) -> None:
    """Print one error line and exit with ``code``."""
    click.echo(f"{PREFIX} ❌ {message}", err=True)
    sys.exit(code)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`LGPError` (and surprises) into one line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LGPError as exc:
            if _STATE["verbose"]:
                traceback.print_exc()
            fail(f"{exc.title}: {exc}", exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("Interrupted", 130)
        except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
            if _STATE["verbose"]:
                traceback.print_exc()
            hint = "" if _STATE["verbose"] else " (run with --verbose for the traceback)"
            fail(f"Unexpected error: {type(exc).__name__}: {exc}{hint}", 1)

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


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)


def setup(env: str | None, verbose: bool) -> Any:
    """Load ``.env`` and the environment's settings."""
    _STATE["verbose"] = verbose
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
            hint=f"e.g. {option} '{{\"input\": \"hi\"}}'",
        ) from None


def load_target(settings: Any, target: str, graph: str | None = None) -> Any:
    """Resolve and import a workflow target (see ``lgp run --help``)."""
    from .loader import load_workflow, resolve_in_project

    loaded = load_workflow(resolve_in_project(target, settings, graph=graph))
    for warning in loaded.warnings:
        click.echo(f"{PREFIX} ⚠ {warning}", err=True)
    return loaded


def print_events(events: Iterable[RunEvent], *, as_json: bool, verbose: bool,
                 env_flag: str = "") -> int:
    """Print a run's events as they come; the exit code its end calls for."""
    printer = RunPrinter(verbose=verbose, env_flag=env_flag)
    code = 0
    for event in events:
        if as_json:
            click.echo(event.to_json())
        else:
            printer.event(event)
        if event.type == "run.failed":
            code = 1
        elif event.type == "run.cancelled":
            code = 130
    return code


def exit_with(code: int) -> None:
    """Exit; after a cancelled run, don't wait for a node still running in a thread."""
    sys.stdout.flush()
    sys.stderr.flush()
    if code == 130:
        os._exit(130)
    if code:
        sys.exit(code)


def env_flag(settings: Any, env: str | None) -> str:
    """``--env X`` to repeat in suggested commands, when not the default."""
    return f" --env {settings.environment}" if env else ""


def when(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def table(headers: list[str], rows: list[list[str]], *, ids: tuple[str, ...] = ()) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # pipes and CI get whole lines, never wrapped ids
        console = Console(width=1000, no_color=True)
    t = Table(box=None, pad_edge=False, header_style="bold")
    for h in headers:
        t.add_column(h, overflow="fold", no_wrap=h in ids)
    for r in rows:
        t.add_row(*r)
    console.print(t)


def relpath(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
