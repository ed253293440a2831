"""Threads as a person reads them: a name, the workflow, how its last run stands,
when it last changed and where it came from.

:func:`summarize_threads` reads a page of threads from the checkpoint store and what
the run store knows of them in a fixed number of queries, whatever their number
(no query per thread). A thread's name is the ``name`` in its metadata (the same
metadata the Agent Server API's threads carry, so ``client.threads.get`` shows it),
set with :func:`rename_thread`, else a short text of its first input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .checkpointing import CheckpointStore, ThreadInfo
from .errors import NotFoundError, UsageError
from .readable_values import as_message, inline
from .runs import RunRecord, RunStore, ThreadRuns, owner_alive
from .status import IN_FLIGHT, RunStatus
from .timetravel import interrupt_writes

#: The longest name :func:`rename_thread` keeps.
MAX_THREAD_NAME = 120
#: How long a name made from a thread's first input may be.
TITLE_LENGTH = 60
#: Input keys that usually hold what a person typed, read first for a name.
_TEXT_KEYS = ("input", "question", "query", "prompt", "message", "text", "task", "topic")

#: A thread's status: its newest run's, else what its newest checkpoint says
#: (``idle``: nodes are still to run and no run is going).
ThreadStatus = Literal[
    "queued", "running", "interrupted", "completed", "failed", "cancelled", "abandoned", "idle"
]


@dataclass(frozen=True)
class Lineage:
    """Where a thread's newest branch (or the thread itself) came from.

    Attributes:
        kind: ``fork`` (an edited past state, continued), ``replay`` (the nodes
            after a past checkpoint run again) or ``copy`` (a copy of another
            thread, made through the API).
        thread_id: The thread it came from (the thread itself for a fork or replay).
        checkpoint_id: The checkpoint it started from, when known.
        run_id: The fork or replay run, or for a copy the run of the other thread
            that wrote its first checkpoint.
    """

    kind: Literal["fork", "replay", "copy"]
    thread_id: str
    checkpoint_id: str | None
    run_id: str | None


@dataclass(frozen=True)
class ThreadSummary:
    """One thread, summarized for a listing (see :func:`summarize_threads`).

    Attributes:
        name: The name set with :func:`rename_thread`, else a short text of the
            thread's first input (its first human message), else its id.
        named: Whether ``name`` was set by someone (not made from the input).
        workflow: The workflow its newest run ran, if known.
        status: See :data:`ThreadStatus`; None when nothing tells.
        updated_at: When its newest checkpoint was written.
        error: The newest run's error message when it failed.
    """

    thread_id: str
    name: str
    named: bool
    workflow: str | None
    status: ThreadStatus | None
    checkpoints: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    lineage: Lineage | None = None
    run_id: str | None = None
    error: str | None = None

    def matches(self, query: str) -> bool:
        """Whether every word of ``query`` is in the name, id, workflow, status or
        lineage kind (case-insensitive); an empty query matches every thread."""
        fields = [self.name, self.thread_id, self.workflow or "", self.status or ""]
        if self.lineage is not None:
            fields += [self.lineage.kind, self.lineage.thread_id]
        haystack = " ".join(fields).casefold()
        return all(word in haystack for word in query.casefold().split())


def summarize_threads(
    store: CheckpointStore, runs: RunStore, *, limit: int = 200, offset: int = 0
) -> list[ThreadSummary]:
    """A page of the store's threads, most recently updated first, summarized from
    the checkpoint and run stores in a fixed number of queries."""
    return summarize(store, runs, store.threads(limit=limit, offset=offset))


def summarize(
    store: CheckpointStore, runs: RunStore, infos: list[ThreadInfo]
) -> list[ThreadSummary]:
    """:func:`summarize_threads` for threads already listed (``store.threads()``)."""
    ids = [i.thread_id for i in infos]
    known = runs.thread_runs(ids)
    origins = store.origin_runs(ids)
    firsts = {tid: r.first.run_id for tid, r in known.items() if r.first is not None}
    foreign = {tid: run for tid, run in origins.items() if firsts.get(tid) != run}
    origin_runs = runs.runs_by_id(list(foreign.values())) if foreign else {}
    # threads no run tells about: their newest checkpoints say whether they wait
    unknown = [t for t in ids if t not in known or known[t].latest is None]
    heads = store.heads(unknown) if unknown else {}
    out = []
    for info in infos:
        tid = info.thread_id
        mine = known.get(tid)
        origin = origin_runs.get(foreign.get(tid, ""))
        if origin is not None and origin.thread_id == tid:
            origin = None  # a run of its own whose records were pruned first
        latest = mine.latest if mine else None
        status: ThreadStatus | None
        if latest is not None:
            status = _run_status(latest)
        elif tid in heads:
            head = heads[tid]
            waiting = any(True for _ in interrupt_writes(head.pending_writes))
            status = "interrupted" if waiting else ("idle" if head.next else "completed")
        else:
            status = None
        metadata = mine.metadata if mine else {}
        named = _name_of(metadata)
        first = (mine.first if mine else None) or origin
        title = named or (input_title(first.input) if first else None) or tid
        ran = latest or origin
        workflow = ran.workflow if ran is not None else None
        if workflow is None and isinstance(metadata.get("graph_id"), str):
            workflow = metadata["graph_id"]
        error = None
        if latest is not None and latest.status == RunStatus.FAILED and latest.error:
            error = str(latest.error.get("message") or latest.error.get("error_type") or "")
        out.append(
            ThreadSummary(
                thread_id=tid,
                name=title,
                named=named is not None,
                workflow=workflow,
                status=status,
                checkpoints=info.checkpoints,
                created_at=info.created_at,
                updated_at=info.updated_at,
                lineage=_lineage(tid, mine, origin),
                run_id=latest.run_id if latest else None,
                error=error or None,
            )
        )
    return out


def rename_thread(
    store: CheckpointStore, runs: RunStore, thread_id: str, name: str | None
) -> str | None:
    """Name a thread (``name`` in its metadata); an empty name or None removes the
    name, so the thread is named after its first input again. Returns the name kept
    (whitespace runs made one space); :class:`UsageError` if it is too long,
    :class:`NotFoundError` if the thread is unknown."""
    text = " ".join((name or "").split())
    if len(text) > MAX_THREAD_NAME:
        raise UsageError(
            f"{{field}} is {len(text)} characters long; at most {MAX_THREAD_NAME}",
            field="name",
            code="name_too_long",
            thread_id=thread_id,
        )
    if runs.get_thread(thread_id) is None:
        try:
            store.thread(thread_id)
        except NotFoundError:
            if runs.latest_for_thread(thread_id) is None:
                raise
    if text:
        runs.put_thread(thread_id, {"name": text})
    else:
        runs.put_thread(thread_id, remove=("name",))
    runs.touch_thread(thread_id)
    return text or None


def input_title(value: Any, limit: int = TITLE_LENGTH) -> str | None:
    """A short text of a run's input to name its thread by: its first human
    message, else the text under a key such as ``input`` or ``question``, else the
    first text in it, else the input on one line. None for no input or a resume."""
    text = _input_text(value)
    if text is None:
        return None
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _input_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    message = as_message(value)
    if message is not None:
        return message.content
    if not isinstance(value, Mapping):
        return inline(value)
    if "command" in value and len(value) == 1:  # a resume (Command): no new input
        return None
    messages = value.get("messages")
    if isinstance(messages, list | tuple) and messages:
        views = [v for v in (as_message(m) for m in messages) if v is not None]
        human = next((v for v in views if v.role in ("human", "user")), None)
        if human is not None or views:
            return (human or views[0]).content
        if isinstance(messages[0], str):
            return messages[0]
    for key in _TEXT_KEYS:
        if isinstance(value.get(key), str) and value[key].strip():
            return str(value[key])
    for item in value.values():
        if isinstance(item, str) and item.strip():
            return item
    return inline(value) if value else None


def _name_of(metadata: Mapping[str, Any]) -> str | None:
    name = metadata.get("name")
    return name if isinstance(name, str) and name.strip() else None


def _run_status(run: RunRecord) -> ThreadStatus:
    if run.status in IN_FLIGHT and not owner_alive(run.owner):
        return "abandoned"  # its process died; the next open marks it so
    return run.status.value


def _lineage(thread_id: str, mine: ThreadRuns | None, origin: RunRecord | None) -> Lineage | None:
    if origin is not None and origin.thread_id != thread_id:
        return Lineage("copy", origin.thread_id, None, origin.run_id)
    branch = mine.branch if mine else None
    if branch is None or branch.kind not in ("fork", "replay"):
        return None
    kind: Literal["fork", "replay"] = "fork" if branch.kind == "fork" else "replay"
    at = (mine.branch_of if mine else None) or branch.checkpoint_id
    return Lineage(kind, thread_id, at, branch.run_id)
