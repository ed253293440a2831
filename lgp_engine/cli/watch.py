"""``lgp run --watch``: run, then rerun in place on every save until Ctrl+C.

The first run goes as usual. Then a :class:`~lgp_engine.reload.WorkflowReloader`
watches the workflow, its local modules and the config; each save reloads the
code (a broken save keeps the previous version) and reruns the same input on the
same thread, so the thread's history keeps growing. A run that failed in a node
is resumed from its last checkpoint with the new code ("re-run from here"); a
thread waiting at an interrupt is not rerun: the new code is loaded and the line
to resume it is printed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..errors import LGPError
from ..events import ReloadEvent, RunEvent
from ..loader import LoadedWorkflow
from ..reload import WorkflowReloader, rerun_plan
from ..runner import Runner
from .common import describe, print_events, relpath
from .console import RunPrinter


@dataclass
class WatchedRun:
    """What every rerun repeats."""

    payload: Any
    thread_id: str | None
    context: Any = None
    interrupt_before: list[str] | None = None
    interrupt_after: list[str] | None = None
    config: dict[str, Any] | None = None


class _Session:
    def __init__(
        self, runner: Runner, run: WatchedRun, *, as_json: bool, verbose: bool, env_flag: str
    ) -> None:
        self.runner = runner
        self.run = run
        self.as_json = as_json
        self.verbose = verbose
        self.env_flag = env_flag
        # with --json, stdout is JSON lines only; the human lines go to stderr
        self.info = RunPrinter(sys.stderr if as_json else None, verbose=verbose)

    def emit(self, event: RunEvent | ReloadEvent) -> None:
        click.echo(event.to_json())

    def execute(self, workflow: LoadedWorkflow, *, resume: bool = False) -> int:
        """One run on the watched thread (or a resume of it); its exit code
        (130 when cancelled)."""
        code = 0
        try:
            if resume:
                assert self.run.thread_id is not None
                events = self.runner.resume(
                    workflow, self.run.thread_id, context=self.run.context, config=self.run.config
                )
            else:
                events = self.runner.start(
                    workflow,
                    self.run.payload,
                    thread_id=self.run.thread_id,
                    context=self.run.context,
                    interrupt_before=self.run.interrupt_before,
                    interrupt_after=self.run.interrupt_after,
                    config=self.run.config,
                )
            code = print_events(
                events,
                as_json=self.as_json,
                verbose=self.verbose,
                env_flag=self.env_flag,
                on_event=self._follow_thread,
            )
        except LGPError as exc:  # e.g. --interrupt-before names a node the edit removed
            self.info.line(f"❌ {exc.title}: {describe(exc)}")
            code = 1
        return code

    def _follow_thread(self, event: RunEvent) -> None:
        self.run.thread_id = event.thread_id  # a new thread's id, once the run has one


def run_watching(
    runner: Runner,
    reloader: WorkflowReloader,
    run: WatchedRun,
    *,
    as_json: bool,
    verbose: bool,
    env_flag: str,
) -> int:
    """Run once, then rerun after every successful reload; returns the exit code.

    Returns 130 on Ctrl+C (a run in progress is cancelled and recorded as such);
    a failing run or a broken save never ends the loop.
    """
    session = _Session(runner, run, as_json=as_json, verbose=verbose, env_flag=env_flag)
    info = session.info
    try:
        if session.execute(reloader.current) == 130:
            return 130

        def ready(paths: list[Path]) -> None:
            info.line("Hot reload: ON")
            info.line(f"Watching: {', '.join(relpath(p) for p in paths)}")
            info.line(f"Save a file to rerun on thread {run.thread_id}; Ctrl+C to stop")

        for outcome in reloader.watch(on_ready=ready):
            if as_json:
                for event in outcome.events:
                    session.emit(event)
            info.reload(outcome, relpath)
            if not outcome.ok:
                continue
            plan = rerun_plan(runner, run.thread_id)
            resume = plan.action == "resume"
            if resume and (plan.status == "interrupted" or plan.needs_value):
                value = " --value '<JSON>'" if plan.needs_value else ""
                info.line(
                    f"Thread {run.thread_id} is waiting at an interrupt: not rerun. "
                    "The new code answers it:"
                )
                info.line(f"Resume with: lgp resume {run.thread_id}{value}{env_flag}")
                continue
            if resume:
                info.line(
                    f"The last run stopped ({plan.status}) before "
                    f"{', '.join(plan.next)}: resuming from that checkpoint with the "
                    "new code"
                )
            if session.execute(reloader.current, resume=resume) == 130:
                return 130
    except KeyboardInterrupt:
        pass
    info.line(f"Stopped watching (thread {run.thread_id} keeps its history)")
    return 130
