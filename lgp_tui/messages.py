"""Messages that carry engine results from workers back to the app.

Workers never touch widgets: they post one of these and the app updates the
panes on its own thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from lgp_engine import LGPError, LoadedWorkflow, ReloadOutcome, RunEvent, Runner, ThreadSummary

if TYPE_CHECKING:
    from lgp_engine import AnomalyEvent, BackgroundServer, GraphWarning

    from .debugger import Paused, Stopped
    from .widgets.graph.graph_view import GraphShape


class WorkflowLoaded(Message):
    """A workflow was imported and is ready to run."""

    def __init__(self, target: str, workflow: LoadedWorkflow) -> None:
        super().__init__()
        self.target = target
        self.workflow = workflow


class WorkflowLoadFailed(Message):
    """A workflow could not be resolved or imported; ``path`` is its file, if known."""

    def __init__(self, target: str, error: LGPError, path: Path | None) -> None:
        super().__init__()
        self.target = target
        self.error = error
        self.path = path


class RunEventReceived(Message):
    """One event of the current run, in order."""

    def __init__(self, event: RunEvent) -> None:
        super().__init__()
        self.event = event


class RunRefused(Message):
    """The engine refused to start a run (bad thread, bad input...); nothing was written."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


class RunWaiting(Message):
    """The run waits for its thread: another run holds it, in this process or another
    (a server, ``lgp run``); it starts once that one ends."""

    def __init__(self, thread_id: str, holder_run_id: str, holder: str) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.holder_run_id = holder_run_id
        self.holder = holder  # "pid 4242 on host"


class RunEnded(Message):
    """The run worker is done (after its last event, or after a refusal)."""


class GraphDescribed(Message):
    """The drawable shape of a loaded workflow's graph (or None and why not), and what
    the analyzer says of it (``lgp check``'s warnings)."""

    def __init__(
        self,
        workflow: LoadedWorkflow,
        shape: GraphShape | None,
        note: str = "",
        warnings: tuple[GraphWarning, ...] = (),
    ) -> None:
        super().__init__()
        self.workflow = workflow
        self.shape = shape
        self.note = note
        self.warnings = warnings


class ThreadDeleted(Message):
    """A thread was deleted (``error`` is None), or deleting it failed."""

    def __init__(self, thread_id: str, error: Exception | None) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.error = error


class ThreadsListed(Message):
    """The newest threads of the store (for the thread picker), or why not."""

    def __init__(self, threads: list[ThreadSummary], error: Exception | None) -> None:
        super().__init__()
        self.threads = threads
        self.error = error


class ServerChanged(Message):
    """The API server is now ``server`` (None: off); ``error`` says why it did not start."""

    def __init__(self, server: BackgroundServer | None, error: Exception | None) -> None:
        super().__init__()
        self.server = server
        self.error = error


class SchemasDescribed(Message):
    """What a run of workflow ``name`` takes (``input``, ``config``, ``context``
    schemas), or why it could not be said."""

    def __init__(
        self, name: str, schemas: dict[str, dict[str, Any] | None], error: Exception | None
    ) -> None:
        super().__init__()
        self.name = name
        self.schemas = schemas
        self.error = error


class ServerRunEvent(Message):
    """An event of a run the workbench's API server executes (made by an HTTP client)."""

    def __init__(self, event: RunEvent) -> None:
        super().__init__()
        self.event = event


class DebuggerPaused(Message):
    """A run stopped at ``breakpoint()`` (or at the next stop of its debugger)."""

    def __init__(self, debugger: Stopped, paused: Paused) -> None:
        super().__init__()
        self.debugger = debugger
        self.paused = paused


class ServerProblem(Message):
    """The API server could not do something asked of it; it keeps serving."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class AnomalyHeard(Message):
    """The API server's anomaly detector acted (detected, rolled back, logged...)."""

    def __init__(self, event: AnomalyEvent) -> None:
        super().__init__()
        self.event = event


class RunnerOpened(Message):
    """The checkpoint and run stores are open (``runner``), or why not (``error``)."""

    def __init__(self, runner: Runner | None, error: Exception | None) -> None:
        super().__init__()
        self.runner = runner
        self.error = error


class TracingProblem(Message):
    """A tracer could not start or send (Langfuse unreachable, no keys...): say so once."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class WorkflowReloaded(Message):
    """A saved change was reloaded (``outcome.ok``) or refused (the old version stays)."""

    def __init__(self, name: str, outcome: ReloadOutcome, token: object = None) -> None:
        super().__init__()
        self.name = name
        self.outcome = outcome
        self.token = token
        """The watcher's stop event: the app ignores outcomes of a watcher it stopped."""


class WatchStopped(Message):
    """Watching a workflow's files failed; hot reload is off for it."""

    def __init__(self, name: str, error: Exception) -> None:
        super().__init__()
        self.name = name
        self.error = error
