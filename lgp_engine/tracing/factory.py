"""The tracers a config asks for (``tracing.backends``), ready to be fed runs."""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from ..errors import LGPError
from .base import Tracer, Tracing, log


def open_tracing(
    settings: Settings,
    *,
    warn: Callable[[str], None] | None = None,
    console: Callable[[str], None] | None = None,
) -> Tracing:
    """The active tracers of ``settings``. A tracer that cannot start (Langfuse without
    keys or without its SDK) is left out with a warning: tracing never stops a run."""
    say = warn or log.warning
    tracing = Tracing([], warn=say)
    config = settings.tracing
    for name in config.active:
        try:
            tracing.tracers.append(_tracer(name, settings, console, tracing))
        except LGPError as exc:  # its text carries its hint
            say(f"tracing: {name} is off: {exc}")
        except Exception as exc:  # noqa: BLE001 - an unwritable log path must not stop runs
            say(f"tracing: {name} is off: {type(exc).__name__}: {exc}")
    return tracing


def _tracer(
    name: str, settings: Settings, console: Callable[[str], None] | None, tracing: Tracing
) -> Tracer:
    if name == "console":
        from .console import ConsoleTracer

        return ConsoleTracer(console)
    if name == "jsonl":
        from .jsonl import JsonlTracer

        return JsonlTracer(settings.tracing, settings.project_dir)
    from .langfuse import LangfuseTracer

    return LangfuseTracer(
        settings.tracing,
        environment=settings.environment,
        on_problem=lambda problem: tracing.failed("langfuse", problem),
    )
