"""How a run stands: :class:`RunStatus` and the sets of statuses the engine and its
front ends reason about, defined once.

Status machine::

    queued -> running -> interrupted | completed | failed | cancelled
    interrupted -> running          (resume continues the same run)
    running -> abandoned            (its process died; found on the next start)
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """The status of a recorded run (its value is what the run store keeps)."""

    QUEUED = "queued"
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"


#: Waiting to run or running: the thread is busy.
IN_FLIGHT: frozenset[RunStatus] = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
#: Ended for good: nothing will change the run again.
TERMINAL: frozenset[RunStatus] = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.ABANDONED}
)
#: Stopped before its end; its thread can continue from the last checkpoint
#: (``lgp resume``) when nodes were still to run.
RESUMABLE: frozenset[RunStatus] = frozenset(
    {RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.ABANDONED}
)
#: Ended in an error (the thread shows as ``error`` in the LangGraph API).
ERRORED: frozenset[RunStatus] = frozenset({RunStatus.FAILED, RunStatus.ABANDONED})

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset(
        {RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.ABANDONED}
    ),
    RunStatus.RUNNING: frozenset(
        {
            RunStatus.INTERRUPTED,
            RunStatus.COMPLETED,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
            RunStatus.ABANDONED,
        }
    ),
    RunStatus.INTERRUPTED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
    RunStatus.ABANDONED: frozenset(),
}

#: How a run stands after each event that ends (or pauses) it.
STATUS_FOR_EVENT: dict[str, RunStatus] = {
    "run.completed": RunStatus.COMPLETED,
    "run.failed": RunStatus.FAILED,
    "run.cancelled": RunStatus.CANCELLED,
    "interrupt": RunStatus.INTERRUPTED,
}


def status_names() -> list[str]:
    """Every status, in the order of the status machine (for help and error text)."""
    return [s.value for s in RunStatus]
