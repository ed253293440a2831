"""The workbench app: composes the panes and routes messages between them and the engine.

Engine work happens in thread workers (see :mod:`lgp_tui.workers`); results come
back as messages and only handlers here update the widgets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import subprocess
import threading
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker

from lgp_engine import (
    STATUS_FOR_EVENT,
    CreatedWorkflow,
    LGPError,
    LoadedWorkflow,
    ReloadOutcome,
    Runner,
    RunStatus,
    Settings,
    asks_for_value,
    load_workflow,
    resolve_in_project,
)

from . import workers
from .agents import AgentBoard, context_windows
from .breakpoints import Breaks
from .chat import chat_capable
from .debugger import BreakpointHook, ToolBreaks
from .input_memory import InputMemory
from .messages import (
    AnomalyHeard,
    DebuggerPaused,
    GraphDescribed,
    RunEnded,
    RunEventReceived,
    RunnerOpened,
    RunRefused,
    RunWaiting,
    SchemasDescribed,
    ServerChanged,
    ServerProblem,
    ServerRunEvent,
    ThreadDeleted,
    ThreadsListed,
    TracingProblem,
    WatchStopped,
    WorkflowLoaded,
    WorkflowLoadFailed,
    WorkflowReloaded,
)
from .screens.interrupt_dialog import InterruptDialog, ResumeAnswer
from .tool_calls import ToolCallLog
from .usage import spent
from .widgets.agents.agent_panel import AgentPanel
from .widgets.explorer.workflow_list import WorkflowList
from .widgets.footer.fitted_footer import FittedFooter
from .widgets.graph.graph_view import GraphView
from .widgets.run.run_bar import DEFAULT_INPUT, RunBar
from .widgets.run_log.run_log import RunLog
from .widgets.source.source_view import SourceView
from .widgets.status.incident_banner import IncidentBanner
from .widgets.status.status_bar import StatusBar

if TYPE_CHECKING:  # the other screens load when first opened: a faster first frame
    from textual.command import Provider

    from lgp_engine import BackgroundServer  # and FastAPI when the server is asked for

    from .screens.chat_screen import ChatScreen
    from .screens.checkpoint_browser import CheckpointBrowser
    from .screens.input_form import FormResult

DEFAULT_WORKFLOW = "basic_workflow"
_LINE = re.compile(r":(\d+)(?::|\b)")


class WorkbenchApp(App[None]):
    """The LGP Workbench terminal UI over one project (``settings``).

    Args:
        settings: The project's validated settings (environment, checkpointer...).
        target: A workflow to open first (file, name or ``langgraph.json``); by
            default ``basic_workflow`` if registered, else the first one listed.
    """

    CSS_PATH = "app.tcss"
    #: The palette also finds workflows, threads and templates by name (lgp_tui.commands).
    COMMANDS = App.COMMANDS | {lambda: _find_provider()}
    TITLE = "LGP Workbench"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r,f5", "run", "Run", id="run", tooltip="Run the workflow with the input"),
        Binding("escape", "cancel", "Cancel", id="cancel", tooltip="Cancel the current run"),
        Binding(
            "ctrl+t",
            "new_workflow",
            "New",
            id="new_workflow",
            tooltip="Create a workflow from a template",
        ),
        Binding(
            "ctrl+b",
            "checkpoints",
            "Browse",
            id="checkpoints",
            tooltip="Browse threads; replay, fork, resume or delete them",
        ),
        Binding(
            "ctrl+g",
            "store",
            "Memory",
            id="store",
            show=False,
            tooltip="Browse and edit the long-term store (memories) of the workflow's runs",
        ),
        Binding(
            "ctrl+s",
            "toggle_server",
            "Server",
            id="toggle_server",
            tooltip="Start or stop the HTTP API over these workflows",
        ),
        Binding(
            "f4",
            "edit",
            "Edit",
            id="edit",
            tooltip="Open the workflow file in $EDITOR (then reload it)",
        ),
        Binding("f1,question_mark", "help", "Help", id="help", tooltip="Show every key"),
        Binding("q,ctrl+q", "quit", "Quit", id="quit", tooltip="Quit the workbench"),
        Binding(
            "f6",
            "resume",
            "Resume",
            id="resume",
            tooltip="Answer the interrupt the last run stopped at",
        ),
        Binding(
            "ctrl+n",
            "chat",
            "Chat",
            id="chat",
            show=False,
            tooltip="The thread as a conversation: send messages, edit one and resend it",
        ),
        Binding(
            "ctrl+o",
            "pick_thread",
            "Threads",
            id="pick_thread",
            show=False,
            tooltip="Pick the thread to run on (or a new one)",
        ),
        Binding(
            "ctrl+f",
            "filter_log",
            "Filter log",
            id="filter_log",
            show=False,
            tooltip="Filter the run log by event type or node (-word hides)",
        ),
        Binding(
            "ctrl+y",
            "copy_trace",
            "Trace URL",
            id="copy_trace",
            tooltip="Copy the last run's trace URL (Langfuse)",
        ),
        Binding(
            "f8",
            "input_form",
            "Form",
            id="input_form",
            show=False,
            tooltip="Edit the input, configurable values and context as a form (from the schemas)",
        ),
        Binding(
            "f7",
            "tool_calls",
            "Tools",
            id="tool_calls",
            show=False,
            tooltip="Every tool call of the runs: node, tool, arguments, result, duration",
        ),
        Binding(
            "f10",
            "agents",
            "Agents",
            id="agents",
            show=False,
            tooltip="The agent panel: a Claude Code session or a model node's calls, live",
        ),
        Binding(
            "ctrl+l",
            "focus_log",
            "Log",
            id="focus_log",
            show=False,
            tooltip="Focus the run log (arrows move, enter folds, c copies, v views)",
        ),
        Binding(
            "f9",
            "focus_graph",
            "Graph",
            id="focus_graph",
            show=False,
            tooltip="Focus the graph pane (arrows move, x xray, b breakpoint, s step)",
        ),
    ]

    def __init__(
        self,
        settings: Settings,
        target: str | None = None,
        *,
        serve: bool = False,
        port: int | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.target = target
        self.serve_on_start = serve
        self.port = port
        self.runner: Runner | None = None
        self.workflow: LoadedWorkflow | None = None
        self.server: BackgroundServer | None = None  # while on
        self.memory = InputMemory(settings.project_dir / ".lgp" / "workbench.json")
        #: The thread last typed or picked for each workflow loaded in this session.
        self._threads: dict[str, str | None] = {}
        #: The template input of workflows just created from a template, until loaded.
        self._created: dict[str, dict[str, Any]] = {}
        self._stack = contextlib.ExitStack()
        self._loading: str | None = None
        self._job: workers.RunJob | None = None
        self._job_action: tuple[str, str | None] | None = None  # (browser action, thread)
        self._outcome = ""
        self._interrupted: tuple[str, list[dict], str | None] | None = None
        self._waiting: tuple[str, list[dict], str | None] | None = None
        self._trace_url: str | None = None  # the last run's trace (Langfuse), for ctrl+y
        self._server_busy = False
        self._server_timer: Timer | None = None
        self._server_worker: Worker[BackgroundServer | None] | None = None
        self._runner_worker: Worker[None] | None = None
        self._watch_stop: threading.Event | None = None
        self._last_run: tuple[str, Any, str | None] | None = None  # workflow, input, thread
        self._step_next = False  # the next run from the run bar goes one node (s, graph pane)
        #: The tool calls of every run seen in this session (f7 shows them).
        self.tool_calls = ToolCallLog()
        #: The agents of the current run (the agent panel, f10) and their context meters.
        self.agents = AgentBoard(context_windows(settings.pricing))
        #: breakpoint() in a node: the run pauses and the debugger screen shows where.
        self.breakpoints = BreakpointHook(
            lambda debugger, where: self.post_message(DebuggerPaused(debugger, where))
        )
        #: "Break when tool X is called": the runs' MCP tool calls it matches wait.
        self.tool_breaks = ToolBreaks(
            lambda held, where: self.post_message(DebuggerPaused(held, where))
        )
        self._run_log: RunLog | None = None  # mounted: the app's panes are up
        self._graph_breaks = ""  # the graph pane's breakpoints, as the status bar says them

    @property
    def ready(self) -> bool:
        """A workflow is loaded and the stores are open: runs can start."""
        return self.workflow is not None and self.runner is not None

    def compose(self) -> ComposeResult:
        yield RunBar(id="run-bar")
        with Horizontal(id="main"):
            with Vertical(id="sidebar"):
                yield WorkflowList(self.settings, id="explorer")
                yield GraphView(id="graph")
            with Vertical(id="center"):
                yield IncidentBanner(id="incident-banner")
                yield Static("", id="reload-banner", markup=False)
                yield SourceView(self.settings, id="source")
                yield AgentPanel(self.agents, id="agent-panel")
                yield Input(
                    id="log-filter",
                    placeholder="filter the log: node.finished, a node name, -custom …",
                )
                yield RunLog(id="run-log")
        yield StatusBar(id="status")
        yield FittedFooter(show_command_palette=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel shows in the footer only while a run is going, Resume only while
        a run waits at an interrupt (the keys stay bound; they just have nothing to do)."""
        if action == "cancel":
            return self._job is not None
        if action == "resume":
            return self._waiting is not None and self._job is None
        if action == "copy_trace":
            return self._trace_url is not None
        if action == "chat":  # for a workflow whose state has a messages list
            return self.workflow is not None and chat_capable(self.workflow)
        return True

    # -- lifecycle -------------------------------------------------------------
    def on_mount(self) -> None:
        self.breakpoints.install()  # breakpoint() in a node pauses here, not on a terminal
        self._run_log = self.query_one(RunLog)
        status = self.query_one(StatusBar)
        status.environment = self.settings.environment
        status.checkpoints = "opening…"
        self._runner_worker = self.run_worker(  # off the first frame's path
            partial(workers.open_runner, self.settings, self._stack, self.post_message),
            name="open the stores",
            group="runner",
            thread=True,
            exit_on_error=False,
        )
        explorer = self.query_one(WorkflowList)
        target = self.target
        if target is None:
            listed = [e.target for e in explorer.entries if e is not None]
            target = DEFAULT_WORKFLOW if DEFAULT_WORKFLOW in listed else next(iter(listed), None)
        if target is not None:
            self.load(target)
        self.query_one("#run-input").focus()
        if self.serve_on_start and target is None:
            self.action_toggle_server()  # else once the workflow loaded: it is served too

    async def on_unmount(self) -> None:
        self.breakpoints.uninstall()  # a run paused at breakpoint() goes on (then stops)
        self.tool_breaks.patterns = ()
        self.tool_breaks.release()
        if self._watch_stop is not None:
            self._watch_stop.set()
        opening = self._runner_worker
        if opening is not None and not opening.is_finished:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(opening.wait(), 30)
        try:
            job = self._job
            if job is not None:
                job.cancel()
                await asyncio.to_thread(job.done.wait, 5)
            starting = self._server_worker
            if starting is not None and self.server is None:  # it started (or is starting)
                with contextlib.suppress(Exception):  # but its message was not handled
                    await asyncio.wait_for(starting.wait(), 30)
                self.server = starting.result  # None if it did not start
            if self.server is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.server.stop)
        finally:
            self._stack.close()

    def _gone(self) -> bool:
        """True once the app is quitting: late worker messages find no widgets (a test's
        ``run_test`` takes the panes down before those flags are set)."""
        log = self._run_log
        return self._exit or self._closing or log is None or not log.is_attached

    def on_tracing_problem(self, message: TracingProblem) -> None:
        if not self._gone():
            self.notify(message.text, title="Tracing", severity="warning", timeout=10)

    def on_runner_opened(self, message: RunnerOpened) -> None:
        if self._gone():
            return
        status = self.query_one(StatusBar)
        if message.error is not None or message.runner is None:
            status.checkpoints = "unavailable"
            error = message.error
            title = error.title if isinstance(error, LGPError) else "Checkpoint store"
            self.notify(str(error), title=title, severity="error", timeout=10)
            return
        self.runner = message.runner
        if self.runner.agents is not None:
            self.runner.agents.tool_gate = self.tool_breaks
        status.checkpoints = _relative(self.runner.store.location, self.settings.project_dir)
        if self.workflow is not None:
            self._describe_graph(self.workflow)
            self.query_one(RunBar).set_state(ready=True)

    # -- loading ---------------------------------------------------------------
    def load(self, target: str) -> None:
        """Load ``target`` in a worker; the panes follow when it reports back."""
        if not self.query_one(SourceView).release(partial(self.load, target)):
            return  # unsaved edits in the source pane: it asks first, then loads
        self._loading = target
        self._watch(None)  # a late reload of the previous workflow must not rerun it
        self.query_one(StatusBar).status = "loading"
        self.query_one(RunBar).set_state(ready=False)
        self.run_worker(
            partial(workers.load, target, self.settings, self.post_message),
            name=f"load {target}",
            group="load",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_workflow_list_selected(self, message: WorkflowList.Selected) -> None:
        self.load(message.target)

    def on_workflow_loaded(self, message: WorkflowLoaded) -> None:
        if self._gone():
            return
        if message.target != self._loading:
            return  # a load that was superseded
        bar = self.query_one(RunBar)
        previous = self.workflow
        if previous is not None:  # each workflow keeps its own thread (issue 16)
            self._threads[previous.name] = bar.thread_id
        self.workflow = message.workflow
        self._watch(message.workflow)
        self._serve_if_asked()
        self.query_one("#reload-banner", Static).display = False
        explorer = self.query_one(WorkflowList)
        explorer.show_error(None)
        explorer.mark(message.target)
        self.query_one(SourceView).show_file(message.workflow.source.path)
        self.sub_title = message.workflow.name
        self.query_one(GraphView).show_graph(None, "Drawing the graph…")
        if self.runner is not None:
            self._describe_graph(message.workflow)
        status = self.query_one(StatusBar)
        status.status = "idle"
        name = message.workflow.name
        if previous is None or previous.name != name:  # a reload keeps what is typed
            bar.thread_id = self._threads.get(name)
            status.thread = bar.thread_id or ""
            created = self._created.pop(name, None)
            bar.input_text = (
                json.dumps(created, ensure_ascii=False)
                if created is not None
                else self.memory.get(name) or DEFAULT_INPUT
            )
        bar.set_state(ready=self.runner is not None)
        self.refresh_bindings()  # ctrl+n (chat) is for workflows with messages
        self._serve(message.workflow)
        for warning in message.workflow.warnings:
            self.notify(warning, title="Workflow warning", severity="warning")

    def _describe_graph(self, workflow: LoadedWorkflow) -> None:
        assert self.runner is not None
        self.run_worker(
            partial(workers.describe_graph, self.runner, workflow, self.post_message),
            name=f"graph {workflow.name}",
            group="graph",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    # -- hot reload --------------------------------------------------------------
    def _watch(self, workflow: LoadedWorkflow | None) -> None:
        """Watch ``workflow``'s files (and stop watching the previous one's)."""
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None
        if workflow is None or workflow.source.path is None:
            return
        self._watch_stop = stop = threading.Event()
        self.run_worker(
            partial(workers.watch_workflow, workflow, self.settings, stop, self.post_message),
            name=f"watch {workflow.name}",
            group="watch",
            thread=True,
            exit_on_error=False,
        )

    def on_workflow_reloaded(self, message: WorkflowReloaded) -> None:
        if (
            self._gone()
            or self.workflow is None
            or message.name != self.workflow.name
            or message.token is not self._watch_stop
        ):
            return  # from a watcher that was stopped since (another workflow, a reload)
        outcome = message.outcome
        log = self.query_one(RunLog)
        for event in outcome.events:
            log.add_reload(event)
        banner = self.query_one("#reload-banner", Static)
        source = self.query_one(SourceView)
        path = self.workflow.source.path
        if not outcome.ok:
            error = str(outcome.error).replace(f"{self.settings.project_dir}{os.sep}", "")
            banner.update(f"⟳ Reload failed: the previous version keeps running. {error}")
            banner.display = True
            line = (
                outcome.error_line
                if outcome.error_file and path and Path(outcome.error_file).name == path.name
                else None
            )
            source.show_file(path, highlight_line=line, keep_scroll=True, reloaded=False)
            return
        banner.display = False
        assert outcome.workflow is not None
        self.workflow = outcome.workflow
        source.show_file(self.workflow.source.path, keep_scroll=True, reloaded=True)
        if self.runner is not None:
            self._describe_graph(self.workflow)
        self._serve(self.workflow, outcome)
        self._rerun_in_place()

    def _rerun_in_place(self) -> None:
        """After a good reload: run the new code on the thread of the last run."""
        from lgp_engine import rerun_plan

        log = self.query_one(RunLog)
        workflow, runner, last = self.workflow, self.runner, self._last_run
        if workflow is None or runner is None:
            return
        if self._job is not None:
            log.add_line(
                Text(
                    "  the run in progress keeps its code; the next run uses the new version",
                    style="dim",
                ),
                "reload.note",
            )
            return
        name, value, thread_id = last if last is not None else (None, None, None)
        if name != workflow.name or thread_id is None:
            log.add_line(Text("  ctrl+r runs the new version", style="dim"), "reload.note")
            return
        try:
            plan = rerun_plan(runner, thread_id)
        except Exception as exc:  # noqa: BLE001 - a locked store must not take the app down
            log.add_line(Text(f"  not rerun: {exc}", style="yellow"), "reload.note")
            return
        if plan.action == "resume" and plan.needs_value:
            log.add_line(
                Text(
                    f"  thread {thread_id} waits at an interrupt: answer it to "
                    "continue with the new code",
                    style="yellow",
                ),
                "reload.note",
            )
            self._waiting = (thread_id, plan.interrupts, None)
            self.query_one(RunBar).set_state(resumable=True)
            self.refresh_bindings()
            self.action_resume()
        elif plan.action == "resume":
            log.add_line(
                Text(
                    f"  ↻ resuming thread {thread_id} from its checkpoint "
                    f"(next: {', '.join(plan.next)})",
                    style="cyan",
                ),
                "reload.note",
            )
            self._start_job(workers.ResumeJob(runner, workflow, thread_id))
        else:
            log.add_line(
                Text(f"  ↻ rerunning on thread {thread_id} with the last input", style="cyan"),
                "reload.note",
            )
            self._start_job(workers.RunJob(runner, workflow, value, thread_id))

    def on_watch_stopped(self, message: WatchStopped) -> None:
        if not self._gone() and self.workflow is not None and message.name == self.workflow.name:
            self.notify(
                f"Hot reload is off for {message.name}: {message.error}",
                title="Watching stopped",
                severity="warning",
            )

    def on_workflow_load_failed(self, message: WorkflowLoadFailed) -> None:
        if self._gone():
            return
        if message.target != self._loading:
            return
        self.workflow = None
        self._watch(None)
        self._serve_if_asked()
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
        if self._gone():
            return
        if message.workflow is self.workflow:
            self.query_one(GraphView).show_graph(
                message.shape, message.note, message.warnings, message.workflow.name
            )

    # -- running ---------------------------------------------------------------
    def action_copy_trace(self) -> None:
        """Copy the last run's trace URL to the clipboard (OSC 52, as the log's c does)."""
        if self._trace_url is None:
            return
        self.copy_to_clipboard(self._trace_url)
        self.notify(f"Copied {self._trace_url}", title="Trace URL")

    def action_run(self) -> None:
        if not self.query_one(RunBar).request_run():
            self.bell()

    def action_new_workflow(self, template: str | None = None) -> None:
        from .screens.template_gallery import TemplateGallery

        gallery = TemplateGallery(self.settings, template=template)
        self.push_screen(gallery, self._open_created)

    def action_checkpoints(self, thread_id: str | None = None) -> None:
        """Open the checkpoint browser (on ``thread_id``, else the newest thread)."""
        if self.runner is None:
            opening = self._runner_worker is not None and not self._runner_worker.is_finished
            self.notify(
                "The checkpoint store is still opening…"
                if opening
                else "The checkpoint store is unavailable.",
                severity="warning" if opening else "error",
            )
            return
        shape = self.query_one(GraphView).shape
        nodes = [n for n in shape.nodes if not n.startswith("__")] if shape else []
        from .screens.checkpoint_browser import CheckpointBrowser

        if (browser := self._browser()) is not None:  # already open (app keys stay live)
            if thread_id is not None:
                browser.select_thread(thread_id)
            return
        runs = self.runner.runs
        self.push_screen(CheckpointBrowser(self.runner.store, nodes, runs=runs, select=thread_id))

    def action_store(self) -> None:
        from .screens.store_browser import StoreBrowser

        if self.runner is None:
            opening = self._runner_worker is not None and not self._runner_worker.is_finished
            self.notify(
                "The stores are still opening…" if opening else "The stores are unavailable.",
                severity="warning" if opening else "error",
            )
            return
        if any(isinstance(s, StoreBrowser) for s in self.screen_stack):
            return  # already open (app keys stay live on its screen)
        self.push_screen(StoreBrowser(self.runner, self.workflow))

    def _open_created(self, created: CreatedWorkflow | None) -> None:
        if created is not None:
            self.query_one(WorkflowList).refresh_entries()
            if created.template.default_input:  # its first run's input is the template's
                self._created[created.name] = created.template.default_input
            self.load(created.name)  # on_workflow_loaded marks it in the explorer

    def action_cancel(self) -> None:
        if self._job is not None:
            self.breakpoints.release()  # a node paused at breakpoint() must not hold it
            self.tool_breaks.release()
            self._job.cancel()
            self.query_one(StatusBar).status = "cancelling"

    def on_run_bar_run_requested(self, message: RunBar.RunRequested) -> None:
        if self.runner is None or self.workflow is None or self._job is not None:
            return
        self.memory.put(self.workflow.name, self.query_one(RunBar).input_text)
        self._last_run = (self.workflow.name, message.input, message.thread_id)
        breaks, self._step_next = self._breaks(step=self._step_next), False
        self._start_job(
            workers.RunJob(
                self.runner, self.workflow, message.input, message.thread_id, message.config, breaks
            )
        )

    def _start_job(self, job: workers.RunJob, action: tuple[str, str | None] | None = None) -> None:
        """Run ``job`` (a run, resume, replay or fork) in the run worker."""
        self._job = job
        self._job_action = action
        self._outcome = ""
        self._interrupted = None
        self._waiting = None
        self.query_one(RunBar).set_state(running=True, resumable=False)
        self.refresh_bindings()
        status = self.query_one(StatusBar)
        status.status = RunStatus.RUNNING
        status.thread = job.thread_id or ""
        self.run_worker(
            partial(job.run, self.post_message),
            name=f"run {job.thread_id or 'new thread'}",
            group="run",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_run_bar_cancel_requested(self, _: RunBar.CancelRequested) -> None:
        self.action_cancel()

    def on_run_event_received(self, message: RunEventReceived) -> None:
        if self._gone():
            return
        event = message.event
        self.query_one(RunLog).add_event(event)
        self.tool_calls.add(event)
        if (chat := self._chat_view()) is not None:
            chat.run_event(event)
        graph = self.query_one(GraphView)
        status = self.query_one(StatusBar)
        if self.query_one(AgentPanel).add(event) is not None and event.type == "agent.init":
            self._show_agents(focus=False)  # a Claude Code session: watch it live
        status.context = self.agents.context
        if event.type == "run.started":
            status.thread = event.thread_id
            status.spent = None
            if event.data.get("resumed"):  # a stopped run goes on (a breakpoint, a step)
                graph.resumed()
            else:
                graph.reset_run()
            last = self._last_run
            if last is not None and last[2] is None and self._job_action is None:
                self._last_run = (last[0], last[1], event.thread_id)  # the new thread's id
        elif event.type == "node.started" and event.node:
            graph.node_started(event.node, event.data.get("path") or ())
        elif event.type == "node.cached" and event.node:
            graph.node_cached(event.node, event.data.get("path") or ())
        elif event.type == "node.finished" and event.node:
            ms = event.data.get("duration_ms")
            node_spent = spent(event.data.get("usage"))
            graph.node_finished(
                event.node,
                ms if isinstance(ms, int | float) else None,
                failed="error" in event.data,
                interrupted=bool(event.data.get("interrupts")),
                spent=node_spent,
                path=event.data.get("path") or (),
            )
            if node_spent is not None:  # the run's so far, until its end says the total
                status.spent = node_spent if status.spent is None else status.spent + node_spent
        if event.is_terminal:
            graph.run_ended()
            if "usage" in event.data:
                status.spent = spent(event.data["usage"])
            url = event.data.get("trace_url")
            self._trace_url = url if isinstance(url, str) else None
            if self._trace_url:
                self.notify(f"Trace: {self._trace_url} (ctrl+y copies it)", title="Langfuse")
            self.refresh_bindings()
        if event.type in STATUS_FOR_EVENT:
            status.status = self._outcome = STATUS_FOR_EVENT[event.type]
        if event.type == "interrupt":
            # a NodeInterrupt asks nothing: it is continued like a breakpoint
            interrupts = [
                i
                for i in event.data.get("interrupts") or []
                if isinstance(i, dict) and asks_for_value(i)
            ]
            self._interrupted = (event.thread_id, interrupts, event.node)
            if isinstance(event.data.get("breakpoint"), dict):
                graph.stopped_at(event.data["breakpoint"])

    def on_run_refused(self, message: RunRefused) -> None:
        if self._gone():
            return
        error = message.error
        title = error.title if isinstance(error, LGPError) else type(error).__name__
        self.query_one(RunLog).add_line(Text(f"✖ {title}: {error}", style="red"), "refused")
        self.query_one(StatusBar).status = RunStatus.FAILED
        self._outcome = f"✖ {title}: {error}"
        if (chat := self._chat_view()) is not None:
            chat.refused(f"✖ {title}: {error}")

    def on_run_waiting(self, message: RunWaiting) -> None:
        if self._gone():
            return
        self.query_one(RunLog).add_line(
            Text(
                f"⏳ thread {message.thread_id} is running {message.holder_run_id[:8]} "
                f"({message.holder}): waiting for it to end",
                style="yellow",
            ),
            "waiting",
        )

    def on_run_ended(self, _: RunEnded) -> None:
        if self._gone():
            return
        self._job = None
        status = self.query_one(StatusBar)
        if status.status in (RunStatus.RUNNING, "cancelling"):  # it reported no outcome
            status.status = "idle"
        action, self._job_action = self._job_action, None
        browser = self._browser()
        if action is not None and browser is not None:
            verb, thread_id = action
            outcome = self._outcome or "ended"
            text = outcome if outcome.startswith("✖") else f"{verb} {outcome}"
            browser.action_finished(thread_id, text)
        self._waiting = self._interrupted
        self.query_one(RunBar).set_state(running=False, resumable=self._waiting is not None)
        self.refresh_bindings()
        if (chat := self._chat_view()) is not None:
            chat.run_ended()
        if self._interrupted is not None:
            asks = bool(self._interrupted[1])  # at a breakpoint it waits for f6 (or s)
            self._interrupted = None
            if asks:
                self.action_resume()

    def action_resume(self) -> None:
        if self._waiting is None or self._job is not None:
            self.notify("No run is waiting at an interrupt.", severity="warning")
            return
        if any(isinstance(screen, InterruptDialog) for screen in self.screen_stack):
            return  # already asking
        thread_id, interrupts, node = self._waiting
        if not interrupts:  # a breakpoint (or a NodeInterrupt): nothing to answer
            self._continue(thread_id)
            return
        self.push_screen(InterruptDialog(thread_id, interrupts, node), self._resume)

    def on_run_bar_resume_requested(self, _: RunBar.ResumeRequested) -> None:
        self.action_resume()

    def _resume(self, answer: ResumeAnswer | None) -> None:
        """Continue the interrupted thread in place (None: leave it interrupted)."""
        if answer is None or self.runner is None or self._job:
            return
        if self._waiting is None or self._waiting[0] != answer.thread_id:
            return  # an answer to a question that is no longer asked
        workflow = self._workflow_for(answer.thread_id)
        if workflow is None:
            return
        self._start_job(
            workers.ResumeJob(self.runner, workflow, answer.thread_id, answer.value, self._breaks())
        )

    # -- breakpoints and stepping (set from the graph pane) ------------------------
    def _breaks(self, *, step: bool = False) -> Breaks:
        """The graph pane's breakpoints for the next run (``step``: and a stop after
        every node)."""
        graph = self.query_one(GraphView)
        breaks = graph.breaks()
        return breaks.stepping(graph.shape.own_nodes) if step and graph.shape else breaks

    def _continue(self, thread_id: str, *, step: bool = False) -> None:
        """Continue a thread stopped at a breakpoint, to the next one (``step``: to
        the end of the next node)."""
        workflow = self._workflow_for(thread_id) if self.runner is not None else None
        if self.runner is None or workflow is None:
            return
        breaks = self._breaks(step=step) if workflow is self.workflow else Breaks()
        self._start_job(workers.ResumeJob(self.runner, workflow, thread_id, breaks=breaks))

    def action_step(self) -> None:
        """Run one node and stop after it: the thread stopped at a breakpoint goes on,
        else a run starts with the run bar's input."""
        if self._job is not None or not self.ready:
            busy = "A run is in progress: wait for it or cancel it (esc)."
            self.notify(busy if self._job else "Not ready yet.", severity="warning")
            return
        if self._waiting is not None:
            thread_id, interrupts, _node = self._waiting
            if interrupts:
                self.notify("The run waits for an answer: f6 answers it.", severity="warning")
            else:
                self._continue(thread_id, step=True)
            return
        self._step_next = self.query_one(RunBar).request_run()

    def on_graph_view_step_requested(self, _: GraphView.StepRequested) -> None:
        self.action_step()

    def on_graph_view_breakpoints_changed(self, message: GraphView.BreakpointsChanged) -> None:
        self._graph_breaks = message.breaks.label
        self._show_breaks()

    def _show_breaks(self) -> None:
        label = ", ".join(b for b in (self._graph_breaks, self.tool_breaks.label) if b)
        for bar in self.query(StatusBar):  # (none once the app is closing)
            bar.breaks = label

    def action_tool_breaks(self) -> None:
        from .screens.tool_break_dialog import ToolBreakDialog

        def chosen(text: str | None) -> None:
            if text is None:
                return
            names = self.tool_breaks.set(text)
            self._show_breaks()
            self.notify(
                f"The next runs stop before calling {', '.join(names)}."
                if names
                else "No tool breaks.",
                title="Tool breaks",
            )

        self.push_screen(ToolBreakDialog(self.tool_breaks.patterns), chosen)

    # -- checkpoint browser actions -------------------------------------------
    def on_checkpoint_browser_action_requested(
        self, message: CheckpointBrowser.ActionRequested
    ) -> None:
        browser = self._browser()
        runner = self.runner
        if runner is None or browser is None:
            return
        if self._job is not None:
            browser.action_finished(None, "A run is in progress: wait for it or cancel it (esc).")
            return
        thread_id = message.thread_id
        if message.action == "delete":
            self.run_worker(
                partial(workers.delete_thread, runner, thread_id, self.post_message),
                name=f"delete {thread_id}",
                group="delete",
                thread=True,
                exit_on_error=False,
            )
            return
        workflow = self._workflow_for(thread_id)
        if workflow is None:
            browser.action_finished(
                None,
                f"✖ cannot tell which workflow thread {thread_id} "
                "ran: open it in the explorer first",
            )
            return
        assert message.checkpoint_id is not None or message.action == "resume"
        job: workers.RunJob
        if message.action == "replay":
            job = workers.ReplayJob(
                runner, workflow, thread_id, message.checkpoint_id or "", message.recorded
            )
        elif message.action == "fork":
            job = workers.ForkJob(
                runner,
                workflow,
                thread_id,
                message.checkpoint_id or "",
                message.update or {},
                message.as_node,
            )
        else:
            job = workers.ResumeJob(runner, workflow, thread_id, message.value)
        self._start_job(job, (message.action, thread_id))

    def on_thread_deleted(self, message: ThreadDeleted) -> None:
        if self._gone():
            return
        browser = self._browser()
        if message.error is None:
            outcome = f"deleted thread {message.thread_id}"
            bar = self.query_one(RunBar)
            if bar.thread_id == message.thread_id:
                bar.thread_id = None
            if self._last_run is not None and self._last_run[2] == message.thread_id:
                self._last_run = None  # a later save must not bring the thread back
            if self._waiting is not None and self._waiting[0] == message.thread_id:
                self._waiting = None
                bar.set_state(resumable=False)
                self.refresh_bindings()
        else:
            error = message.error
            title = error.title if isinstance(error, LGPError) else type(error).__name__
            outcome = f"✖ {title}: {error}"
        if browser is not None:
            browser.action_finished(None, outcome)

    def _workflow_for(self, thread_id: str) -> workers.WorkflowRef | None:
        """The workflow a thread's runs used: the loaded one when it is the same
        file, else a loader the run worker calls (so importing never blocks the UI)."""
        current = self.workflow
        assert self.runner is not None
        try:
            target = self.runner.target_for_thread(thread_id)
        except LGPError:
            return current
        if current is not None and target in (current.source.spec, current.source.label):
            return current
        settings = self.settings
        return lambda: load_workflow(resolve_in_project(target, settings))

    # -- chat view -------------------------------------------------------------------
    def action_chat(self) -> None:
        """The chat view of the current thread (ctrl+n again closes it)."""
        from .screens.chat_screen import ChatScreen

        if (chat := self._chat_view()) is not None:
            chat.action_close()
            return
        if self.runner is None or self.workflow is None:
            self.notify("Wait for the workflow to load and the stores to open.", severity="warning")
            return
        thread_id = self.query_one(RunBar).thread_id
        last = self._last_run
        if thread_id is None and last is not None and last[0] == self.workflow.name:
            thread_id = last[2]  # the thread the last run made
        chat = ChatScreen(self.runner.store, self.workflow.name, thread_id, running=bool(self._job))
        self.push_screen(chat, self.use_thread)

    def _chat_view(self) -> ChatScreen | None:
        if len(self.screen_stack) < 2:
            return None  # (no import of the chat screen before it is ever opened)
        from .screens.chat_screen import ChatScreen

        return next((s for s in self.screen_stack if isinstance(s, ChatScreen)), None)

    def on_chat_screen_run_requested(self, message: ChatScreen.RunRequested) -> None:
        chat = self._chat_view()
        if self.runner is None or self.workflow is None or self._job is not None:
            if chat is not None:
                busy = self._job is not None
                chat.refused("A run is in progress: wait for it." if busy else "Not ready yet.")
            return
        if message.kind == "send":  # a hot reload reruns it, as a run from the bar
            self._last_run = (self.workflow.name, message.value, message.thread_id)
        self._start_job(message.job(self.runner, self.workflow))

    def _browser(self) -> CheckpointBrowser | None:
        from .screens.checkpoint_browser import CheckpointBrowser

        return next(
            (s for s in reversed(self.screen_stack) if isinstance(s, CheckpointBrowser)), None
        )

    # -- threads ---------------------------------------------------------------
    def action_pick_thread(self) -> None:
        if self.runner is None:
            self.bell()
            return
        self.run_worker(
            partial(workers.list_threads, self.runner, self.post_message),
            name="threads",
            group="threads",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_run_bar_thread_pick_requested(self, _: RunBar.ThreadPickRequested) -> None:
        self.action_pick_thread()

    def on_threads_listed(self, message: ThreadsListed) -> None:
        if self._gone():
            return
        if message.error is not None:
            self.notify(str(message.error), title="Cannot list threads", severity="error")
            return
        bar = self.query_one(RunBar)
        from .screens.thread_picker import ThreadPicker

        assert self.runner is not None
        picker = ThreadPicker(message.threads, bar.thread_id, self.runner.store, self.runner.runs)
        self.push_screen(picker, self.use_thread)

    def use_thread(self, thread_id: str | None) -> None:
        """Run on ``thread_id`` from now on (``""``: a new thread; None: no change)."""
        if thread_id is not None:
            bar = self.query_one(RunBar)
            bar.thread_id = thread_id or None
            self.query_one(StatusBar).thread = thread_id
            bar.query_one("#run-input").focus()

    # -- the hosted API --------------------------------------------------------
    def _serve_if_asked(self) -> None:
        """``--serve``: start the server once, after the first load reported back."""
        if self.serve_on_start:
            self.serve_on_start = False
            self.action_toggle_server()

    def action_toggle_server(self) -> None:
        status = self.query_one(StatusBar)
        if self._server_busy:
            self.bell()
            return
        self._server_busy = True
        if self.server is None:
            status.server = "starting"
            self._server_worker = self.run_worker(
                partial(
                    workers.start_server, self.settings, self.workflow, self.port, self.post_message
                ),
                name="server start",
                group="server",
                thread=True,
                exit_on_error=False,
            )
        else:
            status.server = "stopping"
            self.run_worker(
                partial(workers.stop_server, self.server, self.post_message),
                name="server stop",
                group="server",
                thread=True,
                exit_on_error=False,
            )

    def action_serve_on_port(self) -> None:
        """Ask for a port and (re)start the API there (the command palette's
        "Serve on another port…"): a port in use no longer means restarting the app."""
        from .screens.port_dialog import PortDialog

        if self._server_busy:
            self.notify("The server is starting or stopping: try again in a moment.")
            return
        if self.server is not None:
            port, url = self.server.port, self.server.url
        else:
            port = self.port if self.port else self.settings.server.port
            url = None
        self.push_screen(PortDialog(port, url), self._serve_on)

    def _serve_on(self, port: int | None) -> None:
        if port is None:
            return
        if self._server_busy:
            self.bell()
            return
        if self.server is not None and self.server.port == port:
            self.notify(f"Already serving at {self.server.url}.", title="Server")
            return
        self.port = port  # ctrl+s starts it there from now on
        # the worker owns the old server now: quitting meanwhile waits for the worker
        # and stops what it returns (see on_unmount)
        previous, self.server = self.server, None
        if self._server_timer is not None:
            self._server_timer.stop()
            self._server_timer = None
        self._server_busy = True
        self.query_one(StatusBar).server = f"starting on port {port}"
        self._server_worker = self.run_worker(
            partial(
                workers.move_server,
                self.settings,
                self.workflow,
                previous,
                port,
                self.post_message,
            ),
            name="server move",
            group="server",
            thread=True,
            exit_on_error=False,
        )

    def on_server_changed(self, message: ServerChanged) -> None:
        if self._gone():  # on_unmount stops the server it finds
            return
        self._server_busy = False
        status = self.query_one(StatusBar)
        if self._server_timer is not None:
            self._server_timer.stop()
            self._server_timer = None
        self.server = message.server
        if message.error is not None:  # a port in use, a public host without a key...
            # short: the reason is in the notification, and a long one pushed the
            # thread, env and checkpoints fields off the bar (issue 16)
            status.server = "off (not started)"
            hint = (
                '\nTo use another port: ctrl+p, then "Serve on another port…".'
                if isinstance(message.error, LGPError) and message.error.field == "port"
                else ""
            )
            self.notify(
                f"{message.error}{hint}",
                title="Server not started",
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        if self.server is None:
            status.server = "off"
            self.notify("The API server stopped.", title="Server")
            return
        if self.workflow is not None:  # loaded while the server was starting
            self._serve(self.workflow)
        self._show_server()
        self._server_timer = self.set_interval(1.0, self._show_server)
        names = self.server.catalog.names() if self.server.catalog is not None else []
        self.notify(f"Serving {', '.join(names)} at {self.server.url}", title="Server on")
        if self.server.generated_key is not None:
            self._show_key(self.server.url, self.server.generated_key)

    def _show_key(self, url: str, key: str) -> None:
        """Show the key made for this start, once: it is kept nowhere else (no log,
        no file), and the next start makes a new one."""
        header = shlex.quote(f"Authorization: Bearer {key}")
        self.notify(
            "Requests need this key until the server stops (set LGP_API_KEY to choose "
            f"your own):\n{key}\n\ncurl -H {header} {url}/workflows",
            title="API key for this server",
            severity="warning",
            timeout=120,
            markup=False,
        )

    def _serve(self, workflow: LoadedWorkflow, reload: ReloadOutcome | None = None) -> None:
        """While the API is on, it serves what the workbench has loaded; a hot reload
        goes through the server's versions (anomaly detection compares them, and a
        version it rolled back from is not served again)."""
        server = self.server
        if server is None or server.catalog is None:
            return
        if reload is None:
            server.catalog.workflows[workflow.name] = workflow
            return
        self.run_worker(
            partial(workers.serve_reloaded, server, reload, self.post_message),
            name="serve the reload",
            group="server reload",
            thread=True,
            exit_on_error=False,
        )

    def on_server_run_event(self, message: ServerRunEvent) -> None:
        """A run made through the API: in the log as such (``api``), and the thread
        lists learn of its thread when it ends."""
        if self._gone():
            return
        event = message.event
        self.query_one(RunLog).add_event(event, source="api")
        self.tool_calls.add(event, source="api")
        if event.is_terminal:
            browser = self._browser()
            if browser is not None:
                browser.action_refresh()

    def on_server_problem(self, message: ServerProblem) -> None:
        if not self._gone():
            self.notify(message.text, title="Server", severity="warning", timeout=10)

    def on_anomaly_heard(self, message: AnomalyHeard) -> None:
        if self._gone():
            return
        event = message.event
        banner = self.query_one(IncidentBanner)
        banner.show_event(event)
        self.query_one(RunLog).add_line(
            Text(f"api {event.workflow}: {event.line}", style="bold yellow"), "anomaly"
        )
        if event.type == "anomaly.detected":
            self.notify(f"{event.workflow}: {event.line}", title="Anomaly", severity="error")
        elif banner.settled:
            self.set_timer(10.0, self._hide_settled_banner)

    def _hide_settled_banner(self) -> None:
        banner = self.query_one(IncidentBanner)
        if banner.settled:
            banner.dismiss()

    def action_input_form(self) -> None:
        """Open the input form once the workflow's schemas are read (in a worker)."""
        if self.runner is None or self.workflow is None:
            self.notify("No workflow is loaded yet.", severity="warning")
            return
        self.run_worker(
            partial(workers.describe_schemas, self.runner, self.workflow, self.post_message),
            name="describe the schemas",
            group="schemas",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def on_run_bar_form_requested(self, _: RunBar.FormRequested) -> None:
        self.action_input_form()

    def on_schemas_described(self, message: SchemasDescribed) -> None:
        from .screens.input_form import InputForm
        from .widgets.run.run_bar import parse_config, parse_input

        if self._gone() or self.workflow is None or message.name != self.workflow.name:
            return
        if message.error is not None:
            self.notify(f"No form: {message.error}", title="Input form", severity="warning")
            return
        bar = self.query_one(RunBar)
        value, _ = parse_input(bar.input_text)
        config, _ = parse_config(bar.config_text)
        self.push_screen(InputForm(message.name, message.schemas, value, config), self._form_filled)

    def _form_filled(self, result: FormResult | None) -> None:
        if result is None:
            return
        bar = self.query_one(RunBar)
        bar.input_text = json.dumps(result.input, ensure_ascii=False)
        bar.config_text = json.dumps(result.config, ensure_ascii=False) if result.config else ""
        if result.run:
            bar.request_run()

    def on_debugger_paused(self, message: DebuggerPaused) -> None:
        """A node's breakpoint() stopped its run: show where (the screen follows each
        next stop of the same session)."""
        from .screens.debugger_screen import DebuggerScreen

        if self._gone():
            message.debugger.command("continue")
            return
        where = message.paused
        if where.event == "tool":
            self.query_one(RunLog).add_line(
                Text(
                    f"⏸ break on tool {where.function} ({where.stack[0]}): the call waits (c)",
                    style="bold yellow",
                ),
                "breakpoint",
            )
        elif where.event == "line" and not isinstance(self.screen, DebuggerScreen):
            self.query_one(RunLog).add_line(
                Text(
                    f"⏸ breakpoint() in {where.function}() at "
                    f"{Path(where.file).name}:{where.line}: the run waits (n s r c)",
                    style="bold yellow",
                ),
                "breakpoint",
            )
        screen = self.screen
        if isinstance(screen, DebuggerScreen):
            screen.show(message.debugger, where)
        else:
            self.push_screen(DebuggerScreen(message.debugger, where))

    def action_tool_calls(self) -> None:
        from .screens.tool_call_list import ToolCallList

        self.push_screen(ToolCallList(self.tool_calls))

    def action_agents(self) -> None:
        """Show the agent panel in the source pane's place (on the graph pane's node
        when it is focused and that node worked with a model), or hide it."""
        panel = self.query_one(AgentPanel)
        graph = self.query_one(GraphView)
        if graph.has_focus and panel.show_node(graph.current_node):
            self._show_agents(focus=True)
        elif self.query_one("#center").has_class("-agents"):
            self.query_one("#center").remove_class("-agents")
            if panel.has_focus_within:
                self.query_one(SourceView).focus()
        else:
            self._show_agents(focus=True)

    def _show_agents(self, *, focus: bool) -> None:
        center = self.query_one("#center")
        source = self.query_one(SourceView)
        if not focus and not center.has_class("-agents") and (source.dirty or source.has_focus):
            return  # not over the editor while it is being used
        center.add_class("-agents")
        if focus:
            self.query_one("#agent-entries").focus()

    def action_run_costs(self) -> None:
        from .screens.run_costs import RunCosts

        if self.runner is None:
            self.notify("The run store is not open yet.", severity="warning")
            return
        self.push_screen(RunCosts(self.runner.runs, set(self.agents.runs)))

    def action_incidents(self) -> None:
        from .screens.incident_list import IncidentList

        self.push_screen(IncidentList(self.settings, self.query_one(IncidentBanner).incident))

    def _show_server(self) -> None:
        if self.server is not None:
            count = self.server.request_count
            # query, not query_one: the timer may tick once more while the app closes
            for bar in self.query(StatusBar):
                bar.server = f"{self.server.url} · {count} request{'s' if count != 1 else ''}"

    # -- editor, help, log -----------------------------------------------------
    def action_edit(self) -> None:
        source = self.query_one(SourceView)
        path = source.path
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if path is None:
            self.notify("No workflow file to edit.", severity="warning")
            return
        if not source.release(self.action_edit):
            return  # unsaved edits in the source pane: saved or discarded first
        if not editor:
            self.notify(
                f"Set $EDITOR (e.g. export EDITOR=nano) to edit from here; the file is {path}",
                title="No editor",
                severity="warning",
                timeout=8,
            )
            return
        try:
            with self.suspend():
                completed = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except SuspendNotSupported:
            self.notify(
                f"This terminal cannot hand over to an editor; edit {path} elsewhere.",
                severity="warning",
            )
            return
        except OSError as exc:
            self.notify(f"cannot start {editor!r}: {exc}", title="Editor", severity="error")
            return
        if completed.returncode != 0:
            self.notify(f"{editor} exited with {completed.returncode}", severity="warning")
        source.show_file(path)
        if self.workflow is None and self._loading is not None:
            self.load(self._loading)  # it did not load before: try the saved file
        # else the file watcher reloads it (and reruns in place) like any other save

    def action_help(self) -> None:
        from .screens.chat_screen import ChatScreen
        from .screens.checkpoint_browser import CheckpointBrowser
        from .screens.confirm_dialog import ConfirmDialog
        from .screens.fork_dialog import ForkDialog
        from .screens.help_screen import HelpScreen
        from .screens.port_dialog import PortDialog
        from .screens.run_costs import RunCosts
        from .screens.store_browser import StoreBrowser
        from .screens.store_item_dialog import StoreItemDialog
        from .screens.value_viewer import ValueViewer
        from .widgets.chat.chat_log import ChatLog

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(
            HelpScreen(
                [
                    ("Workbench", list(self.BINDINGS)),
                    ("Run log (when focused)", list(RunLog.BINDINGS)),
                    ("Graph pane (when focused)", list(GraphView.BINDINGS)),
                    ("Agent panel (when focused)", list(AgentPanel.BINDINGS)),
                    ("Source editor (when focused)", list(SourceView.BINDINGS)),
                    ("Checkpoint browser", list(CheckpointBrowser.BINDINGS)),
                    ("Fork dialog", list(ForkDialog.BINDINGS)),
                    ("Value viewer", list(ValueViewer.BINDINGS)),
                    ("Chat view", [*ChatScreen.BINDINGS, *ChatLog.BINDINGS]),
                    ("Store browser", list(StoreBrowser.BINDINGS)),
                    ("Cost of recent runs", list(RunCosts.BINDINGS)),
                    (
                        "Dialogs",
                        [
                            *InterruptDialog.BINDINGS,
                            *ConfirmDialog.BINDINGS,
                            *PortDialog.BINDINGS,
                            *StoreItemDialog.BINDINGS,
                        ],
                    ),
                ]
            )
        )

    async def action_quit(self) -> None:
        """Quit; unsaved edits in the source pane are saved or discarded first."""
        if self.screen_stack[0].query_one(SourceView).release(self.exit):
            self.exit()

    def on_source_view_saved(self, _: SourceView.Saved) -> None:
        if self.workflow is None and self._loading is not None:
            self.load(self._loading)  # it did not load before: try the saved file
        # else the file watcher reloads it (and reruns in place) like any other save

    def on_source_view_saved_as(self, message: SourceView.SavedAs) -> None:
        name = message.saved.name
        self.memory.put(name, self.query_one(RunBar).input_text)  # the copy starts alike
        self.query_one(WorkflowList).refresh_entries()
        self.load(name)

    def action_filter_log(self) -> None:
        self.query_one("#log-filter", Input).focus()

    def action_focus_log(self) -> None:
        self.query_one(RunLog).focus()

    def action_focus_graph(self) -> None:
        self.query_one(GraphView).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "log-filter":
            self.query_one(RunLog).set_filter(event.value)

    def on_run_log_view_requested(self, message: RunLog.ViewRequested) -> None:
        from .screens.value_viewer import ValueViewer

        self.push_screen(ValueViewer(message.value, message.title, message.subtitle))

    def on_run_log_copied(self, message: RunLog.Copied) -> None:
        first = message.text.splitlines()[0] if message.text else ""
        self.notify(first[:80], title="Copied to the clipboard")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("quit",):
                yield SystemCommand(
                    binding.description, binding.tooltip, partial(self.run_action, binding.action)
                )
        yield SystemCommand(
            "Break when a tool is called…",
            "Hold the next runs' calls of these MCP tools before they are made (c lets go)",
            self.action_tool_breaks,
        )
        yield SystemCommand(
            "Step one node",
            "Run (or continue the thread stopped at a breakpoint) one node, and stop after it",
            self.action_step,
        )
        yield SystemCommand(
            "Cost of recent runs",
            "The last runs' tokens and cost (workflow, thread, duration), with their total",
            self.action_run_costs,
        )
        yield SystemCommand(
            "Incidents",
            "What the API server's anomaly detector found: error rates, rollbacks, timelines",
            self.action_incidents,
        )
        for source in screen.query(SourceView):  # the source pane's f2 and f3
            yield SystemCommand("Save workflow", "Save the source pane's file", source.action_save)
            yield SystemCommand(
                "Save workflow as…",
                "Save the source pane as a new registered workflow and open it",
                source.action_save_as,
            )
        yield SystemCommand(
            "Serve on another port…",
            "Start the HTTP API on a port you choose (it stops where it runs)",
            self.action_serve_on_port,
        )


def _find_provider() -> type[Provider]:
    from .commands import FindCommands  # with the palette, not at start

    return FindCommands


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
