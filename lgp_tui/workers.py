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
from typing import Any

from textual.message import Message

from lgp_engine import (
    LGPError,
    LoadedWorkflow,
    RunEvent,
    Runner,
    Settings,
    WorkflowLoadError,
    load_workflow,
    resolve_target,
)

from .messages import (
    GraphDescribed,
    RunEnded,
    RunEventReceived,
    RunRefused,
    WorkflowLoaded,
    WorkflowLoadFailed,
)

Post = Callable[[Message], Any]
CANCEL_REASON = "cancelled from the workbench"


def load(target: str, settings: Settings, post: Post) -> None:
    """Resolve and import ``target``; post :class:`WorkflowLoaded` or
    :class:`WorkflowLoadFailed`."""
    path: Path | None = None
    try:
        source = resolve_target(
            target, project_dir=settings.project_dir,
            registry_file=settings.resolve(settings.workflows.registry),
        )
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
        self, runner: Runner, workflow: LoadedWorkflow, input: Any, thread_id: str | None,  # noqa: A002
    ) -> None:
        self.runner = runner
        self.workflow = workflow
        self.input = input
        self.thread_id = thread_id
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self.done = threading.Event()  # set once the worker has finished with the engine

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

    async def _consume(self, post: Post) -> None:
        try:
            async for event in self._stream():
                post(RunEventReceived(event))
        except LGPError as exc:
            post(RunRefused(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - shown in the run log, the app keeps going
            post(RunRefused(exc))

    def _stream(self) -> AsyncIterator[RunEvent]:
        return self.runner.astart(self.workflow, self.input, thread_id=self.thread_id)


class ResumeJob(RunJob):
    """Continues an interrupted thread with ``value`` (the same thread, in place)."""

    def __init__(
        self, runner: Runner, workflow: LoadedWorkflow, thread_id: str, value: Any
    ) -> None:
        super().__init__(runner, workflow, value, thread_id)

    def _stream(self) -> AsyncIterator[RunEvent]:
        assert self.thread_id is not None
        return self.runner.aresume(self.workflow, self.thread_id, self.input)


def describe_graph(runner: Runner, workflow: LoadedWorkflow, post: Post) -> None:
    """Compile ``workflow`` and post its drawable shape as :class:`GraphDescribed`."""
    from .widgets.graph.graph_view import GraphShape

    if workflow.kind == "factory":
        post(GraphDescribed(workflow, None, "Built per run by a factory: no static graph."))
        return
    try:
        shape = GraphShape.from_drawable(runner.executor(workflow).graph().get_graph())
    except Exception as exc:  # noqa: BLE001 - shown in the pane, the app keeps going
        post(GraphDescribed(workflow, None, f"Cannot draw the graph: {exc}"))
        return
    post(GraphDescribed(workflow, shape))
