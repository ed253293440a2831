"""The tracer contract: one more consumer of a run's typed event stream.

The :class:`~lgp_engine.Runner` hands every event of every run, once persisted, to
the active tracers (``tracing.backends`` in the config) through :class:`Tracing`,
which keeps a tracer's failure from ever reaching the run: an exception is caught,
counted (``lgp_tracer_export_failures_total``) and reported once as a warning, with
what to fix.

A tracer never patches LangGraph or the providers: everything it knows comes from
the events (node timings, model calls with usage and cost in ``node.finished``'s
``usage.llm_calls``, tool calls, Claude Code sessions) and from :class:`RunInfo`.
What it sends out of the process is sanitized first (see :mod:`.sanitize`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..events import RunEvent

log = logging.getLogger("lgp_engine.tracing")


@dataclass(frozen=True)
class RunInfo:
    """What a tracer knows of a run besides its events."""

    run_id: str
    thread_id: str
    workflow: str
    environment: str
    kind: str = "run"  # run, resume, replay, fork
    repository: str | None = None  # the project the workflow belongs to
    runtime_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Tracer(Protocol):
    """A destination for runs: the console, a JSON Lines log, Langfuse..."""

    name: str

    def start_run(self, run: RunInfo) -> None:
        """A run began (before its first event)."""

    def event(self, run: RunInfo, event: RunEvent) -> None:
        """One event of the run, as persisted (redacted). Must not block."""

    def finish_run(self, run: RunInfo, event: RunEvent) -> str | None:
        """The run ended with ``event`` (completed, failed, cancelled, interrupted).
        Returns the URL of its trace when the tracer has one."""

    def close(self, timeout_s: float) -> None:
        """Send what is pending, waiting at most ``timeout_s``; stop."""


class Tracing:
    """The active tracers of a process, as one; a failing tracer never fails a run."""

    def __init__(
        self, tracers: Sequence[Tracer], *, warn: Callable[[str], None] | None = None
    ) -> None:
        self.tracers = list(tracers)
        self._warn = warn or log.warning
        self._failed: set[str] = set()
        self._lock = threading.Lock()
        #: Tracer exports that failed, by tracer (for /metrics).
        self.failures: dict[str, int] = {}

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tracers]

    def failure_counts(self) -> dict[str, int]:
        """Failures by tracer: what a tracer counts itself (``export_failures``: the
        batches Langfuse never got), else the failures :meth:`failed` heard of."""
        out = {}
        for tracer in self.tracers:
            own = getattr(tracer, "export_failures", None)
            out[tracer.name] = own if isinstance(own, int) else self.failures.get(tracer.name, 0)
        return out

    def __bool__(self) -> bool:
        return bool(self.tracers)

    def failed(self, name: str, problem: str) -> None:
        """Count a failure of tracer ``name``; warn about it the first time only."""
        with self._lock:
            self.failures[name] = self.failures.get(name, 0) + 1
            first = name not in self._failed
            self._failed.add(name)
        if first:
            self._warn(f"tracing: {name}: {problem}")

    def _each(self, what: str, call: Callable[[Tracer], Any]) -> list[Any]:
        out = []
        for tracer in self.tracers:
            try:
                out.append(call(tracer))
            except Exception as exc:  # noqa: BLE001 - a tracer must never fail the run
                self.failed(tracer.name, f"{what} failed: {type(exc).__name__}: {exc}")
        return out

    def start_run(self, run: RunInfo) -> None:
        self._each("start_run", lambda t: t.start_run(run))

    def event(self, run: RunInfo, event: RunEvent) -> None:
        self._each("event", lambda t: t.event(run, event))

    def finish_run(self, run: RunInfo, event: RunEvent) -> str | None:
        """End the run in every tracer; the first trace URL one of them gives."""
        urls = self._each("finish_run", lambda t: t.finish_run(run, event))
        return next((u for u in urls if u), None)

    def close(self, timeout_s: float = 1.0) -> None:
        """Close every tracer within ``timeout_s`` in all."""
        deadline = time.monotonic() + timeout_s
        # one after the other, each with what is left: local ones first (a file closes
        # at once), then those that send over the network get the rest
        ordered = sorted(self.tracers, key=lambda t: bool(getattr(t, "remote", False)))
        for tracer in ordered:
            try:
                tracer.close(max(deadline - time.monotonic(), 0.0))
            except Exception as exc:  # noqa: BLE001 - a tracer must never fail the run
                self.failed(tracer.name, f"close failed: {type(exc).__name__}: {exc}")
