"""Engine work that runs in Textual thread workers.

Each function here runs on a worker thread and reports back only by posting
messages (``post`` is thread-safe in Textual); none of it touches a widget.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from lgp_engine import (
    NO_VALUE,
    LGPError,
    LoadedWorkflow,
    ReloadOutcome,
    RunEvent,
    Runner,
    Settings,
    WorkflowLoadError,
    load_workflow,
    resolve_in_project,
    summarize_threads,
)

from .breakpoints import Breaks
from .messages import (
    AnomalyHeard,
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

if TYPE_CHECKING:
    from lgp_engine import BackgroundServer

Post = Callable[[Message], Any]
#: A workflow, or a loader the run worker calls first (importing never blocks the UI).
WorkflowRef = LoadedWorkflow | Callable[[], LoadedWorkflow]
CANCEL_REASON = "cancelled from the workbench"


def _quiet(line: str) -> None:
    """Where the console tracer's lines go in the workbench: nowhere (the run log
    shows the same)."""


def open_runner(settings: Settings, stack: contextlib.ExitStack, post: Post) -> None:
    """Open the checkpoint and run stores (closed with ``stack``); post :class:`RunnerOpened`."""
    try:
        # no console tracer lines in the middle of the screen; problems are notified
        runner = stack.enter_context(
            Runner.open(settings, console=_quiet, warn=lambda text: post(TracingProblem(text)))
        )
    except Exception as exc:  # noqa: BLE001 - shown as a notification, the app keeps going
        post(RunnerOpened(None, exc))
        return
    post(RunnerOpened(runner, None))


def load(target: str, settings: Settings, post: Post) -> None:
    """Resolve and import ``target``; post :class:`WorkflowLoaded` or
    :class:`WorkflowLoadFailed`."""
    path: Path | None = None
    try:
        source = resolve_in_project(target, settings)
        path = source.path
        workflow = load_workflow(source)
    except LGPError as exc:
        post(WorkflowLoadFailed(target, exc, path))
        return
    except Exception as exc:  # noqa: BLE001 - a loader bug must not kill the app
        post(WorkflowLoadFailed(target, WorkflowLoadError(f"{target}: {exc}"), path))
        return
    post(WorkflowLoaded(target, workflow))


class RunJob:
    """One run of a workflow, driven on a private event loop of the worker thread.

    :meth:`cancel` may be called from any thread: it cancels the task that reads
    the engine's stream, so even a node that blocks for a long time does not
    delay it. The engine then ends the run with ``run.cancelled`` (posted like
    any other event) and records it as cancelled.
    """

    def __init__(
        self,
        runner: Runner,
        workflow: WorkflowRef,
        input: Any,  # noqa: A002 - mirrors Runner.astart
        thread_id: str | None,
        config: dict[str, Any] | None = None,
        breaks: Breaks | None = None,
    ) -> None:
        self.runner = runner
        self.workflow = workflow
        self.input = input
        self.thread_id = thread_id
        self.config = config  # the run config (configurable, tags, recursion_limit...)
        self.breaks = breaks or Breaks()  # where it stops (set from the graph pane)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self.done = threading.Event()  # set once the worker has finished with the engine
        self._post: Post = lambda _message: None  # the app's, once the job runs

    def run(self, post: Post) -> None:
        """Run to the end, posting every event; call on a worker thread."""
        loop = asyncio.new_event_loop()
        try:
            task = loop.create_task(self._consume(post))
            with self._lock:
                self._loop, self._task = loop, task
                if self._cancel_requested:
                    task.cancel(CANCEL_REASON)
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(task)
        finally:
            with self._lock:
                self._loop = self._task = None
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            # close() does not wait for a node still blocking in the default executor
            loop.close()
            self.done.set()
            post(RunEnded())

    def cancel(self) -> None:
        """Ask the run to stop (thread-safe; a no-op once it has ended)."""
        with self._lock:
            self._cancel_requested = True
            if self._loop is not None and self._task is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._task.cancel, CANCEL_REASON)

    def _admission(self, post: Post) -> Any:
        """Waits for a thread another run holds, and says so in the log."""

        def waiting(lease: Any) -> None:
            host, pid = [*lease.owner.split(":"), "?", "?"][:2]
            post(RunWaiting(lease.thread_id, lease.run_id, f"pid {pid} on {host}"))

        return self.runner.admission("enqueue", on_wait=waiting)

    async def _consume(self, post: Post) -> None:
        self._post = post
        try:
            workflow = self.workflow
            if not isinstance(workflow, LoadedWorkflow):
                workflow = workflow()  # import on this worker thread, not the UI's
            async for event in self._stream(workflow):
                post(RunEventReceived(event))
        except LGPError as exc:
            post(RunRefused(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - shown in the run log, the app keeps going
            post(RunRefused(exc))

    def _stream(self, workflow: LoadedWorkflow) -> AsyncIterator[RunEvent]:
        config = dict(self.config or {})
        context = config.pop("context", None)  # the run bar's config carries it
        return self.runner.astart(
            workflow,
            self.input,
            thread_id=self.thread_id,
            config=config or None,
            context=context,
            admission=self._admission(self._post),
            interrupt_before=self.breaks.interrupt_before,
            interrupt_after=self.breaks.interrupt_after,
        )


class ResumeJob(RunJob):
    """Continues a stopped thread in place: with ``value`` for an interrupt, or
    the engine's ``NO_VALUE`` (a thread that stopped with nodes still to run: a
    failed node, a cancel) to run the nodes that were still to run."""

    def __init__(
        self,
        runner: Runner,
        workflow: WorkflowRef,
        thread_id: str,
        value: Any = NO_VALUE,
        breaks: Breaks | None = None,
    ) -> None:
        super().__init__(runner, workflow, value, thread_id, breaks=breaks)
        self.thread_id: str = thread_id

    def _stream(self, workflow: LoadedWorkflow) -> AsyncIterator[RunEvent]:
        return self.runner.aresume(
            workflow,
            self.thread_id,
            self.input,
            admission=self._admission(self._post),
            interrupt_before=self.breaks.interrupt_before,
            interrupt_after=self.breaks.interrupt_after,
        )


class ReplayJob(RunJob):
    """Re-runs the nodes after ``checkpoint_id`` (a new branch of the thread); with
    ``recorded`` (a ``RecordingSource``) a recorded replay, whose model and tool calls
    the recording answers."""

    def __init__(
        self,
        runner: Runner,
        workflow: WorkflowRef,
        thread_id: str,
        checkpoint_id: str,
        recorded: Any = None,
    ) -> None:
        super().__init__(runner, workflow, None, thread_id)
        self.thread_id: str = thread_id
        self.checkpoint_id = checkpoint_id
        self.recorded = recorded

    def _stream(self, workflow: LoadedWorkflow) -> AsyncIterator[RunEvent]:
        return self.runner.areplay(
            workflow,
            self.thread_id,
            self.checkpoint_id,
            admission=self._admission(self._post),
            recorded=self.recorded,
        )


class ForkJob(RunJob):
    """Writes ``update`` onto ``checkpoint_id`` (as ``as_node``) and continues from it."""

    def __init__(
        self,
        runner: Runner,
        workflow: WorkflowRef,
        thread_id: str,
        checkpoint_id: str,
        update: dict[str, Any],
        as_node: str | None,
    ) -> None:
        super().__init__(runner, workflow, update, thread_id)
        self.thread_id: str = thread_id
        self.checkpoint_id = checkpoint_id
        self.as_node = as_node

    def _stream(self, workflow: LoadedWorkflow) -> AsyncIterator[RunEvent]:
        return self.runner.afork(
            workflow,
            self.thread_id,
            self.checkpoint_id,
            self.input,
            as_node=self.as_node,
            admission=self._admission(self._post),
        )


class BranchJob(RunJob):
    """Runs ``input`` from ``checkpoint_id`` instead of the thread's newest checkpoint:
    a new branch of the thread (the chat view's edit-and-resend, as Studio does it)."""

    def __init__(
        self,
        runner: Runner,
        workflow: WorkflowRef,
        input: Any,  # noqa: A002 - mirrors Runner.astart
        thread_id: str,
        checkpoint_id: str,
    ) -> None:
        super().__init__(runner, workflow, input, thread_id)
        self.thread_id: str = thread_id
        self.checkpoint_id = checkpoint_id

    def _stream(self, workflow: LoadedWorkflow) -> AsyncIterator[RunEvent]:
        return self.runner.astart(
            workflow,
            self.input,
            thread_id=self.thread_id,
            checkpoint_id=self.checkpoint_id,
            admission=self._admission(self._post),
        )


def delete_thread(runner: Runner, thread_id: str, post: Post) -> None:
    """Delete a thread; post :class:`ThreadDeleted` (with the error, if it failed)."""
    try:
        runner.delete_thread(thread_id)
    except Exception as exc:  # noqa: BLE001 - shown in place, the app keeps going
        post(ThreadDeleted(thread_id, exc))
        return
    post(ThreadDeleted(thread_id, None))


def list_threads(runner: Runner, post: Post, limit: int = 200) -> None:
    """Post the newest ``limit`` threads, summarized, as :class:`ThreadsListed`."""
    try:
        threads = summarize_threads(runner.store, runner.runs, limit=limit)
    except Exception as exc:  # noqa: BLE001 - shown as a notification
        post(ThreadsListed([], exc))
        return
    post(ThreadsListed(threads, None))


def start_server(
    settings: Settings, workflow: LoadedWorkflow | None, port: int | None, post: Post
) -> BackgroundServer | None:
    """Serve the registered workflows plus ``workflow``; post :class:`ServerChanged`
    and return the running server (None if it did not start)."""
    from lgp_engine import BackgroundServer, Catalog, build_catalog  # FastAPI: only when asked

    try:
        try:
            catalog = build_catalog(settings)
        except LGPError:  # nothing registered: serve what the workbench has open
            if workflow is None:
                raise
            catalog = Catalog()
        if workflow is not None:
            catalog.workflows[workflow.name] = workflow
        server = BackgroundServer(
            settings,
            catalog,
            port=port,
            on_anomaly=lambda event: post(AnomalyHeard(event)),
            on_run_event=lambda event: post(ServerRunEvent(event)),
        )
        server.start()
    except Exception as exc:  # noqa: BLE001 - a port in use is shown in place
        post(ServerChanged(None, exc))
        return None
    post(ServerChanged(server, None))
    return server


def move_server(
    settings: Settings,
    workflow: LoadedWorkflow | None,
    server: BackgroundServer | None,
    port: int,
    post: Post,
) -> BackgroundServer | None:
    """Stop ``server`` (if any) and serve again on ``port``, as :func:`start_server`:
    post one :class:`ServerChanged` and return the new server (None if it did not
    start, e.g. the port is in use: then nothing serves)."""
    if server is not None:
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001 - shown as a notification
            post(ServerChanged(None, exc))
            return None
    return start_server(settings, workflow, port, post)


def serve_reloaded(server: BackgroundServer, outcome: ReloadOutcome, post: Post) -> None:
    """Hand a hot reload to the running API server (recorded as a version, served unless
    an anomaly rolled it back); a failure is said in the log, the server keeps serving."""
    try:
        server.reloaded(outcome)
    except Exception as exc:  # noqa: BLE001 - the previous version keeps serving
        post(ServerProblem(f"The API server keeps the previous version: {exc}"))


def stop_server(server: BackgroundServer, post: Post) -> None:
    """Stop ``server`` (runs in flight are recorded cancelled); post :class:`ServerChanged`."""
    try:
        server.stop()
    finally:
        post(ServerChanged(None, None))


def watch_workflow(
    workflow: LoadedWorkflow, settings: Settings, stop: threading.Event, post: Post
) -> None:
    """Watch ``workflow``'s files until ``stop`` is set; post each :class:`WorkflowReloaded`."""
    from lgp_engine import WorkflowReloader

    try:
        reloader = WorkflowReloader(workflow, settings)
        for outcome in reloader.watch(stop):
            post(WorkflowReloaded(workflow.name, outcome, stop))
    except Exception as exc:  # noqa: BLE001 - hot reload off for this workflow, said once
        post(WatchStopped(workflow.name, exc))


def describe_schemas(runner: Runner, workflow: LoadedWorkflow, post: Post) -> None:
    """Post what a run of ``workflow`` takes (input, configurable, context schemas) as
    :class:`SchemasDescribed`, for the input form."""
    from lgp_engine import run_schemas

    try:
        graph = None if workflow.kind == "factory" else runner.executor(workflow).graph()
        post(SchemasDescribed(workflow.name, run_schemas(graph), None))
    except Exception as exc:  # noqa: BLE001 - the form says why it cannot open
        post(SchemasDescribed(workflow.name, {}, exc))


def describe_graph(runner: Runner, workflow: LoadedWorkflow, post: Post) -> None:
    """Compile ``workflow`` and post its drawable shape (its subgraphs' too, for the
    pane's xray), with the analyzer's warnings about it (``lgp check``), as
    :class:`GraphDescribed`."""
    from .widgets.graph.graph_view import GraphShape

    if workflow.kind == "factory":
        post(GraphDescribed(workflow, None, "Built per run by a factory: no static graph."))
        return
    try:
        shape = GraphShape.from_compiled(runner.executor(workflow).graph())
    except Exception as exc:  # noqa: BLE001 - shown in the pane, the app keeps going
        post(GraphDescribed(workflow, None, f"Cannot draw the graph: {exc}"))
        return
    from lgp_engine import analyze_workflow

    try:
        warnings = analyze_workflow(workflow).warnings
    except Exception as exc:  # noqa: BLE001 - the graph is drawn all the same
        post(GraphDescribed(workflow, shape, f"The check of the graph failed: {exc}"))
        return
    post(GraphDescribed(workflow, shape, warnings=warnings))
