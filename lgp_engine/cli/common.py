"""Pieces every ``lgp`` command shares: options, error handling, output helpers."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from ..errors import LGPError, UsageError
from ..events import RunEvent
from .console import PREFIX, RunPrinter

_STATE = {"verbose": False}
EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`

# The CLI's name for each field an engine error can name.
_FLAGS = {
    "input": "--input",
    "context": "--context",
    "value": "--value",
    "update": "--update",
    "as_node": "--as-node",
    "interrupt_before": "--interrupt-before",
    "interrupt_after": "--interrupt-after",
    "graph": "--graph",
    "workflow": "--workflow",
    "force": "--force",
    "thread_id": "--thread",
    "checkpoint_id": "--checkpoint",
    "port": "--port",
    "host": "--host",
    "workers": "--workers",
}
# CLI advice for the kinds of problems the engine reports (``LGPError.code``).
_HINTS = {
    "unknown_thread": "`lgp threads` lists them",
    "unknown_checkpoint": "`lgp history {thread_id}` lists them",
    "ambiguous_checkpoint": "`lgp history {thread_id}` lists them",
    "unknown_run": "`lgp runs` lists them",
    "ambiguous_run": "`lgp runs` lists them",
    "nothing_to_resume": "`lgp replay {thread_id} --checkpoint ID` re-runs from a checkpoint; "
    "`lgp run WORKFLOW --thread {thread_id}` adds input",
    "value_required": "e.g. lgp resume {thread_id} --value '\"yes\"'",
    "unknown_workflow": "or create one with `lgp create NAME`",
    "unknown_agent_target": "`lgp agents list` lists sessions, `lgp runs` runs",
    "ambiguous_agent_target": "`lgp agents list` lists sessions, `lgp runs` runs",
    "no_agent_sessions": "they appear once a workflow with a Claude Code node has run",
    "unknown_incident": "`lgp incidents` lists them",
}


def flag_for(field: str) -> str:
    """The option that sets ``field`` (``interrupt_before`` -> ``--interrupt-before``)."""
    return _FLAGS.get(field, "--" + field.replace("_", "-"))


def describe(exc: LGPError) -> str:
    """An engine error in the CLI's words: its flags, and its advice."""
    text = exc.describe(flag_for)
    advice = _HINTS.get(exc.code or "")
    if advice:
        with contextlib.suppress(KeyError, IndexError):  # advice needs a detail not given
            text += f" ({advice.format(**exc.details)})"
    return text


def fail(message: str, code: int) -> NoReturn:
    """Print one error line and exit with ``code``."""
    click.echo(f"{PREFIX} ❌ {message}", err=True)
    sys.exit(code)


class StdoutClosed(Exception):
    """The reader of our output went away (``lgp run --json | head -2``)."""


def quiet_exit_on_closed_stdout() -> NoReturn:
    """End like other Unix tools when stdout is closed: no message, no traceback
    (and none at interpreter exit either), exit status 141."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    os._exit(EXIT_STDOUT_CLOSED)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`LGPError` (and surprises) into one line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LGPError as exc:
            if _STATE["verbose"]:
                traceback.print_exc()
            fail(f"{exc.title}: {describe(exc)}", exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("Interrupted", 130)
        except (StdoutClosed, BrokenPipeError):
            quiet_exit_on_closed_stdout()
        except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
            if _STATE["verbose"]:
                traceback.print_exc()
            hint = "" if _STATE["verbose"] else " (run with --verbose for the traceback)"
            fail(f"Unexpected error: {type(exc).__name__}: {exc}{hint}", 1)

    return wrapper


def common_options(fn: Callable[..., Any] | None = None, *, default_env: str = "experiment") -> Any:
    """``--env`` and ``--verbose`` on every command (``default_env``: the environment
    used when neither ``--env`` nor ``$LGP_ENV`` names one)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option(
            "--env",
            "env",
            metavar="ENV",
            envvar="LGP_ENV",
            default=None,
            help=f"Config environment (config/ENV.yaml): experiment, hosted, production; "
            f"default $LGP_ENV, else {default_env}.",
        )(fn)
        return click.option(
            "--verbose", "-v", is_flag=True, help="More detail; tracebacks on errors."
        )(fn)

    return decorate(fn) if fn is not None else decorate


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)


def setup(env: str | None, verbose: bool) -> Any:
    """Load ``.env`` and the environment's settings."""
    _STATE["verbose"] = verbose
    from dotenv import load_dotenv

    from ..config import load_settings

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
        except UnicodeDecodeError as exc:
            raise UsageError(f"{option}: {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        src = raw[1:] if raw.startswith("@") else option
        raise UsageError(
            f"invalid JSON in {src}: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            hint=f"e.g. {option} {_example(option, text)}",
        ) from None


def _example(option: str, text: str) -> str:
    """A valid value for ``option``, shaped like what the user typed."""
    if option == "--value":
        word = text.strip()
        if word and word[0] not in '{["' and "'" not in word and len(word) <= 40:
            return shlex.quote(json.dumps(word))  # yes -> '"yes"'
        return """'"yes"'"""
    if option == "--update":
        return """'{"key": "new value"}'"""
    if option == "--context":
        return """'{"user_id": "u1"}'"""
    return """'{"input": "hi"}'"""


def check_thread_id(thread_id: str | None) -> str | None:
    """``--thread`` as given, or a :class:`UsageError` naming what is wrong with it."""
    if thread_id is None:
        return None
    from ..ids import check_thread_id as check

    return check(thread_id, field="thread_id")


def load_target(settings: Any, target: str, graph: str | None = None) -> Any:
    """Resolve and import a workflow target (see ``lgp run --help``)."""
    from ..loader import load_workflow, resolve_in_project

    loaded = load_workflow(resolve_in_project(target, settings, graph=graph))
    for warning in loaded.warnings:
        click.echo(f"{PREFIX} ⚠ {warning}", err=True)
    return loaded


def print_events(
    events: Iterator[RunEvent],
    *,
    as_json: bool,
    verbose: bool,
    env_flag: str = "",
    on_event: Callable[[RunEvent], None] | None = None,
) -> int:
    """Print a run's events as they come (``on_event`` sees each first); the exit code
    its end calls for.

    When our stdout is closed mid-run, the run is cancelled (and recorded as such)
    before :class:`StdoutClosed` is raised.
    """
    printer = RunPrinter(verbose=verbose, env_flag=env_flag)
    code = 0
    try:
        for event in events:
            if on_event is not None:
                on_event(event)
            if as_json:
                click.echo(event.to_json())
            else:
                printer.event(event)
            if event.type == "run.failed":
                code = 1
            elif event.type == "run.cancelled":
                code = 130
    except BrokenPipeError:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # cancels the run; the runner records it before the store closes
        raise StdoutClosed from None
    return code


@contextlib.contextmanager
def open_runner(settings: Any) -> Iterator[Any]:
    """``Runner.open`` for a command that runs workflows: tracing problems are one
    ``⚠`` line each on stderr, and ``Observability: Langfuse enabled`` is said first
    when Langfuse is on."""
    from ..runner import Runner

    def warn(message: str) -> None:
        click.echo(f"{PREFIX} ⚠ {message}", err=True)

    with Runner.open(settings, warn=warn) as runner:
        if "langfuse" in runner.tracing.names:
            click.echo(f"{PREFIX} Observability: Langfuse enabled", err=True)
        yield runner


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


def open_run_store(settings: Any, *, reap: bool = True) -> Any:
    """The environment's run store, or None when it has none yet: reading commands
    never create the SQLite file (nor a run store of the memory checkpointer, whose
    runs die with their process). On PostgreSQL it is the database the servers
    share (its tables are made if missing). ``reap``: mark runs of processes that
    died as abandoned first."""
    from ..runs import RunStore

    backend = settings.checkpointer.backend
    path = settings.resolve(settings.checkpointer.path)
    if backend == "memory" or (backend == "sqlite" and not path.exists()):
        return None
    store = RunStore.for_settings(settings, path)
    if reap:
        store.reap_abandoned()
    return store


def relpath(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
