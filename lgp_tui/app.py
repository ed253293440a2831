"""The workbench app: composes the panes and routes messages between them and the engine.

Engine work happens in thread workers (see :mod:`lgp_tui.workers`); results come
back as messages and only handlers here update the widgets.
"""

from __future__ import annotations

import contextlib
import os
import re
from functools import partial
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from lgp_engine import LGPError, LoadedWorkflow, Runner, Settings
from lgp_engine.templates import CreatedWorkflow

from . import workers
from .messages import (
    GraphDescribed,
    RunEnded,
    RunEventReceived,
    RunRefused,
    WorkflowLoaded,
    WorkflowLoadFailed,
)
from .screens.checkpoint_browser import CheckpointBrowser
from .screens.interrupt_dialog import InterruptDialog, ResumeAnswer
from .screens.template_gallery import TemplateGallery
from .widgets.explorer.workflow_list import WorkflowList
from .widgets.graph.graph_view import GraphView
from .widgets.run.run_bar import RunBar
from .widgets.run_log.run_log import RunLog
from .widgets.source.source_view import SourceView
from .widgets.status.status_bar import StatusBar

DEFAULT_WORKFLOW = "basic_workflow"
_STATUS_AFTER = {
    "run.completed": "completed",
    "run.failed": "failed",
    "run.cancelled": "cancelled",
    "interrupt": "interrupted",
}
_LINE = re.compile(r":(\d+)(?::|\b)")


class WorkbenchApp(App[None]):
    """The LGP Workbench terminal UI over one project (``settings``).

    Args:
        settings: The project's validated settings (environment, checkpointer...).
        target: A workflow to open first (file, name or ``langgraph.json``); by
            default ``basic_workflow`` if registered, else the first one listed.
    """

    CSS_PATH = "app.tcss"
    TITLE = "LGP Workbench"
    BINDINGS = [
        Binding("ctrl+r,f5", "run", "Run", id="run", tooltip="Run the workflow with the input"),
        Binding("escape", "cancel", "Cancel", id="cancel", tooltip="Cancel the current run"),
        Binding("ctrl+t", "new_workflow", "New", id="new_workflow",
                tooltip="Create a workflow from a template"),
        Binding("ctrl+b", "checkpoints", "Checkpoints", id="checkpoints",
                tooltip="Browse threads, their history and the state at each checkpoint"),
        Binding("q,ctrl+q", "quit", "Quit", id="quit", tooltip="Quit the workbench"),
    ]

    def __init__(self, settings: Settings, target: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.target = target
        self.runner: Runner | None = None
        self.workflow: LoadedWorkflow | None = None
        self._stack = contextlib.ExitStack()
        self._loading: str | None = None
        self._job: workers.RunJob | None = None
        self._interrupted: tuple[str, list[dict], str | None] | None = None

    def compose(self) -> ComposeResult:
        yield RunBar(id="run-bar")
        with Horizontal(id="main"):
            with Vertical(id="sidebar"):
                yield WorkflowList(self.settings, id="explorer")
                yield GraphView(id="graph")
            with Vertical(id="center"):
                yield SourceView(self.settings.project_dir, id="source")
                yield RunLog(id="run-log")
        yield StatusBar(id="status")
        yield Footer()

    # -- lifecycle -------------------------------------------------------------
    def on_mount(self) -> None:
        status = self.query_one(StatusBar)
        status.environment = self.settings.environment
        try:
            self.runner = self._stack.enter_context(Runner.open(self.settings))
            status.checkpoints = _relative(self.runner.store.location, self.settings.project_dir)
        except LGPError as exc:
            status.checkpoints = "unavailable"
            self.notify(str(exc), title=exc.title, severity="error", timeout=10)
        explorer = self.query_one(WorkflowList)
        target = self.target
        if target is None:
            listed = [e.target for e in explorer.entries if e is not None]
            target = DEFAULT_WORKFLOW if DEFAULT_WORKFLOW in listed else next(iter(listed), None)
        if target is not None:
            self.load(target)
        self.query_one("#run-input").focus()

    def on_unmount(self) -> None:
        job = self._job
        if job is not None:
            job.cancel()
            job.done.wait(5)
        self._stack.close()

    # -- loading ---------------------------------------------------------------
    def load(self, target: str) -> None:
        """Load ``target`` in a worker; the panes follow when it reports back."""
        self._loading = target
        self.query_one(StatusBar).status = "loading"
        self.query_one(RunBar).set_state(ready=False)
        self.run_worker(
            partial(workers.load, target, self.settings, self.post_message),
            name=f"load {target}", group="load", exclusive=True, thread=True,
            exit_on_error=False,
        )

    def on_workflow_list_selected(self, message: WorkflowList.Selected) -> None:
        self.load(message.target)

    def on_workflow_loaded(self, message: WorkflowLoaded) -> None:
        if message.target != self._loading:
            return  # a load that was superseded
        self.workflow = message.workflow
        explorer = self.query_one(WorkflowList)
        explorer.show_error(None)
        explorer.mark(message.target)
        self.query_one(SourceView).show_file(message.workflow.source.path)
        self.sub_title = message.workflow.name
        self.query_one(GraphView).show_graph(None, "Drawing the graph…")
        if self.runner is not None:
            self.run_worker(
                partial(workers.describe_graph, self.runner, message.workflow, self.post_message),
                name=f"graph {message.workflow.name}", group="graph", exclusive=True,
                thread=True, exit_on_error=False,
            )
        self.query_one(StatusBar).status = "idle"
        self.query_one(RunBar).set_state(ready=self.runner is not None)
        for warning in message.workflow.warnings:
            self.notify(warning, title="Workflow warning", severity="warning")

    def on_workflow_load_failed(self, message: WorkflowLoadFailed) -> None:
        if message.target != self._loading:
            return
        self.workflow = None
        explorer = self.query_one(WorkflowList)
        text = str(message.error).replace(f"{self.settings.project_dir}{os.sep}", "")
        explorer.show_error(f"{message.error.title}: {text}")
        explorer.mark(message.target)
        line = _error_line(str(message.error), message.path)
        self.query_one(SourceView).show_file(message.path, highlight_line=line)
        self.query_one(GraphView).show_graph(None, "The workflow did not load.")
        self.sub_title = ""
        self.query_one(StatusBar).status = "load failed"

    def on_graph_described(self, message: GraphDescribed) -> None:
        if message.workflow is self.workflow:
            self.query_one(GraphView).show_graph(message.shape, message.note)

    # -- running ---------------------------------------------------------------
    def action_run(self) -> None:
        if not self.query_one(RunBar).request_run():
            self.bell()

    def action_new_workflow(self) -> None:
        self.push_screen(TemplateGallery(self.settings), self._open_created)

    def action_checkpoints(self) -> None:
        if self.runner is None:
            self.notify("The checkpoint store is unavailable.", severity="error")
            return
        self.push_screen(CheckpointBrowser(self.runner.store))

    def _open_created(self, created: CreatedWorkflow | None) -> None:
        if created is not None:
            self.query_one(WorkflowList).refresh_entries()
            self.load(created.name)  # on_workflow_loaded marks it in the explorer

    def action_cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.query_one(StatusBar).status = "cancelling"

    def on_run_bar_run_requested(self, message: RunBar.RunRequested) -> None:
        if self.runner is None or self.workflow is None or self._job is not None:
            return
        self._start_job(
            workers.RunJob(self.runner, self.workflow, message.input, message.thread_id)
        )

    def _start_job(self, job: workers.RunJob) -> None:
        """Run ``job`` (a run or a resume) in the run worker."""
        assert self.workflow is not None
        self._job = job
        self._interrupted = None
        self.query_one(RunBar).set_state(running=True)
        status = self.query_one(StatusBar)
        status.status = "running"
        status.thread = job.thread_id or ""
        self.run_worker(
            partial(job.run, self.post_message),
            name=f"run {self.workflow.name}", group="run", exclusive=True, thread=True,
            exit_on_error=False,
        )

    def on_run_bar_cancel_requested(self, _: RunBar.CancelRequested) -> None:
        self.action_cancel()

    def on_run_event_received(self, message: RunEventReceived) -> None:
        event = message.event
        self.query_one(RunLog).add_event(event)
        graph = self.query_one(GraphView)
        status = self.query_one(StatusBar)
        if event.type == "run.started":
            status.thread = event.thread_id
            graph.reset_run()
        elif event.type == "node.started" and event.node:
            graph.node_started(event.node)
        elif event.type == "node.finished" and event.node:
            ms = event.data.get("duration_ms")
            graph.node_finished(event.node, ms if isinstance(ms, int | float) else None,
                                failed="error" in event.data)
        if event.is_terminal:
            graph.run_ended()
        if event.type in _STATUS_AFTER:
            status.status = _STATUS_AFTER[event.type]
        if event.type == "interrupt":
            interrupts = [i for i in event.data.get("interrupts") or [] if isinstance(i, dict)]
            self._interrupted = (event.thread_id, interrupts, event.node)

    def on_run_refused(self, message: RunRefused) -> None:
        error = message.error
        title = error.title if isinstance(error, LGPError) else type(error).__name__
        self.query_one(RunLog).add_line(Text(f"✖ {title}: {error}", style="red"))
        self.query_one(StatusBar).status = "failed"

    def on_run_ended(self, _: RunEnded) -> None:
        self._job = None
        self.query_one(RunBar).set_state(running=False)
        status = self.query_one(StatusBar)
        if status.status in ("running", "cancelling"):
            status.status = "idle"
        if self._interrupted is not None:
            thread_id, interrupts, node = self._interrupted
            self._interrupted = None
            self.push_screen(InterruptDialog(thread_id, interrupts, node), self._resume)

    def _resume(self, answer: ResumeAnswer | None) -> None:
        """Continue the interrupted thread in place (None: leave it interrupted)."""
        if answer is None or self.runner is None or self.workflow is None or self._job:
            return
        self._start_job(
            workers.ResumeJob(self.runner, self.workflow, answer.thread_id, answer.value)
        )


def _relative(location: str, root: Path) -> str:
    try:
        return os.path.relpath(location, root)
    except ValueError:
        return location


def _error_line(message: str, path: Path | None) -> int | None:
    """The line number a load error names for ``path``, if any."""
    if path is None:
        return None
    at = message.find(path.name)
    match = _LINE.search(message, at) if at >= 0 else None
    return int(match.group(1)) if match else None
