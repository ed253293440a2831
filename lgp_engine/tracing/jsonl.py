"""The JSON Lines structured log (seed 002): one object per run event.

    {"ts": "2026-12-01T01:02:03.456789Z", "level": "info", "run_id": "...",
     "thread_id": "...", "workflow": "...", "environment": "...", "node": "...",
     "type": "node.finished", "seq": 7, "data": {...}}

Lines are written by a background thread (the run only puts them on a queue) to
``tracing.path``, rotated by size like :class:`logging.handlers.RotatingFileHandler`
(``traces.jsonl.1`` is the newest rotated file, ``backup_count`` are kept). ``data``
is the event's payload, redacted as persisted, then sanitized (long strings cut).
``lgp logs`` reads these files back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import logging.handlers
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from ..config import TracingSettings
from ..events import RunEvent
from ..jsonable import dumps
from .base import RunInfo
from .sanitize import sanitize

#: How often the writer thread writes what runs have logged since.
WRITE_EVERY_S = 0.05
#: The level of each event type (``info`` for the others).
LEVELS: dict[str, str] = {
    "run.failed": "error",
    "run.cancelled": "warning",
    "tool.denied": "warning",
    "agent.fallback": "warning",
    "agent.repair": "warning",
    "message.delta": "debug",
    "checkpoint": "debug",
    "custom": "debug",
}


def level_of(event: RunEvent) -> str:
    """``error`` for a failed run, tool call or agent session; the type's level else."""
    data = event.data
    if event.type in ("tool.result", "agent.tool_result", "agent.result") and data.get("is_error"):
        return "error"
    return LEVELS.get(event.type, "info")


def line_of(run: RunInfo, event: RunEvent, max_length: int) -> str:
    """The log line of ``event`` (without the newline)."""
    ts = dt.datetime.fromtimestamp(event.ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dumps(
        {
            "ts": ts,
            "level": level_of(event),
            "run_id": event.run_id,
            "thread_id": event.thread_id,
            "workflow": run.workflow,
            "environment": run.environment,
            "node": event.node,
            "type": event.type,
            "seq": event.seq,
            "data": sanitize(dict(event.data), max_length),
        }
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a lock file beside the log; POSIX flock, a
    no-op where there is none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Lines(logging.handlers.RotatingFileHandler):
    """A rotating file of pre-formatted lines."""

    def format(self, record: logging.LogRecord) -> str:
        return str(record.msg)


class JsonlTracer:
    """Writes every event of every run to the JSON Lines log, off the run's thread.

    The run only appends the event to a list; a writer thread wakes every
    :data:`WRITE_EVERY_S` (and on close), formats what came and writes it at once, so
    a run pays neither the formatting nor a thread switch per event."""

    name = "jsonl"

    def __init__(self, settings: TracingSettings, project_dir: Path) -> None:
        path = Path(settings.path).expanduser()
        self.path = path if path.is_absolute() else project_dir / path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_length = settings.max_length
        self._file = _Lines(
            self.path,
            maxBytes=settings.max_bytes if settings.backup_count else 0,
            backupCount=settings.backup_count,
            encoding="utf-8",
            delay=True,
        )
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._pending: list[tuple[RunInfo, RunEvent]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write, name="lgp-jsonl", daemon=True)
        self._writer.start()

    def _write(self) -> None:
        while not self._stop.wait(WRITE_EVERY_S):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        lines = [line_of(run, event, self.max_length) for run, event in batch]
        # several processes may log to one file (lgp serve --workers, a CLI run beside
        # a server): each batch is written under a lock on the log, after following a
        # rotation another process made, so no process writes into a rotated file
        with _locked(self._lock_path):
            self._follow_rotation()
            for line in lines:
                self._file.emit(logging.makeLogRecord({"msg": line}))
            if self._file.stream is not None:
                self._file.stream.flush()

    def _follow_rotation(self) -> None:
        """Reopen the log when the file at its path is no longer the one we hold."""
        stream = self._file.stream
        if stream is None:
            return
        try:
            disk = os.stat(self.path)
        except FileNotFoundError:
            disk = None
        held = os.fstat(stream.fileno())
        if disk is None or (disk.st_ino, disk.st_dev) != (held.st_ino, held.st_dev):
            stream.close()
            self._file.stream = None  # reopened at the next line

    def start_run(self, run: RunInfo) -> None:
        return None

    def event(self, run: RunInfo, event: RunEvent) -> None:
        if not self._stop.is_set():
            with self._lock:
                self._pending.append((run, event))

    def finish_run(self, run: RunInfo, event: RunEvent) -> str | None:
        self.event(run, event)
        return None

    def close(self, timeout_s: float) -> None:
        """Write what is pending (waiting at most ``timeout_s``), then close the file."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._writer.join(timeout_s)
        if not self._writer.is_alive():
            self._file.close()
