"""What the LangGraph Agent Server API knows of a thread, read from our stores:
whether it exists, its workflow, its runs in flight, its state, history and status,
and what a finished run answers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ...checkpointing import Head, ThreadInfo, checkpoint_time
from ...errors import NotFoundError
from ...events import RunEvent
from ...jsonable import to_jsonable
from ...loader import LoadedWorkflow
from ...runs import RunRecord, ThreadMeta, owner_alive
from ...status import ERRORED, IN_FLIGHT, RunStatus
from ...timetravel import interrupt_writes, state_values
from ..catalog import assistant_id_for
from ..context import ServerContext
from ..times import iso, now_iso
from .shapes import (
    checkpoint_json,
    contains,
    empty_state,
    interrupt_json,
    not_found,
    snapshot_json,
)

# --------------------------------------------------------------------------- assistants


def _tuple_state(ctx: ServerContext, thread_id: str, tup: Any) -> dict[str, Any]:
    """A ThreadState straight from a checkpoint tuple (no workflow code needed)."""
    cid = tup.config["configurable"]["checkpoint_id"]
    ns = tup.config["configurable"].get("checkpoint_ns", "")
    values = state_values(tup.checkpoint)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for task_id, item in interrupt_writes(tup.pending_writes):
        by_task.setdefault(task_id, []).append(interrupt_json(item))
    info = ctx.live_runner.store.checkpoint(thread_id, cid, checkpoint_ns=ns)
    nxt = list(info.next) if info else []
    tasks = [
        {
            "id": tid,
            "name": nxt[0] if len(nxt) == 1 else None,
            "path": [],
            "error": None,
            "interrupts": items,
            "checkpoint": None,
            "state": None,
            "result": None,
        }
        for tid, items in by_task.items()
    ]
    metadata = dict(tup.metadata or {})
    if metadata.get("checkpoint_ns") == "":
        metadata.pop("checkpoint_ns")
    checkpoint = checkpoint_json(tup.config)
    parent = checkpoint_json(tup.parent_config)
    created = tup.checkpoint.get("ts") or iso(checkpoint_time(cid))
    return {
        "values": to_jsonable(values),
        "next": nxt,
        "tasks": tasks,
        "metadata": to_jsonable(metadata),
        "created_at": created,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": [i for items in by_task.values() for i in items],
        "checkpoint_id": cid,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }


# --------------------------------------------------------------------------- threads


#: A keyword argument the caller left out: read it from the stores. (Callers that
#: have just read a thread's record, newest run or checkpoint summary pass it on,
#: each a query less; None is a value: "there is none".)
UNKNOWN: Any = object()


def checkpoint_info(ctx: ServerContext, thread_id: str) -> ThreadInfo | None:
    """The summary of the thread's checkpoints; None when it has none."""
    try:
        return ctx.live_runner.store.thread(thread_id)
    except NotFoundError:
        return None


def has_checkpoints(ctx: ServerContext, thread_id: str) -> bool:
    return checkpoint_info(ctx, thread_id) is not None


def thread_exists(ctx: ServerContext, thread_id: str) -> bool:
    """Created through the API, or known to the checkpointer (e.g. made by the CLI)."""
    return ctx.live_runner.runs.get_thread(thread_id) is not None or has_checkpoints(ctx, thread_id)


def require_thread(ctx: ServerContext, thread_id: str) -> None:
    if not thread_exists(ctx, thread_id):
        raise not_found(f"Thread with ID {thread_id}")


def thread_metadata(
    ctx: ServerContext,
    thread_id: str,
    *,
    record: ThreadMeta | None = UNKNOWN,
    last: RunRecord | None = UNKNOWN,
) -> dict[str, Any]:
    """The thread's metadata; for threads made outside the API, graph_id/assistant_id
    come from its newest run (``record``, ``last``: its record and newest run, when
    the caller has read them)."""
    if record is UNKNOWN:
        record = ctx.live_runner.runs.get_thread(thread_id)
    meta = dict(record.metadata) if record else {}
    if "graph_id" not in meta:
        if last is UNKNOWN:
            last = ctx.live_runner.runs.latest_for_thread(thread_id)
        if last is not None:
            meta["graph_id"] = last.workflow
            meta.setdefault("assistant_id", assistant_id_for(last.workflow))
    return meta


def thread_workflow(
    ctx: ServerContext,
    thread_id: str,
    metadata: dict[str, Any] | None = None,
    *,
    last: RunRecord | None = UNKNOWN,
) -> LoadedWorkflow | None:
    """The served workflow of a thread: its metadata's graph_id, else its newest run's."""
    if last is UNKNOWN:
        last = ctx.live_runner.runs.latest_for_thread(thread_id)
    meta = metadata if metadata is not None else thread_metadata(ctx, thread_id, last=last)
    names = [meta.get("graph_id")]
    if last is not None:
        names.append(last.workflow)
    for name in names:
        if isinstance(name, str) and name in ctx.catalog.workflows:
            return ctx.catalog.workflows[name]
    return None


def in_flight(ctx: ServerContext, thread_id: str) -> list[RunRecord]:
    """Runs of the thread that are queued or running (here or in another process)."""
    runs = ctx.live_runner.runs
    active = ctx.live_hub.active
    return [
        r
        for r in runs.list_runs(thread_id=thread_id, status=IN_FLIGHT, limit=100)
        # ours but unknown to the hub, or of a process that died: not in flight
        if r.run_id in active or (r.owner != runs.owner and owner_alive(r.owner))
    ]


async def read_state(
    ctx: ServerContext,
    thread_id: str,
    *,
    checkpoint: dict[str, Any] | None = None,
    subgraphs: bool = False,
    metadata: dict[str, Any] | None = None,
    info: ThreadInfo | None = UNKNOWN,
    last: RunRecord | None = UNKNOWN,
) -> dict[str, Any]:
    """The thread's ThreadState (newest, or at ``checkpoint``); through the workflow's
    graph when it is served (tasks, subgraph states), else from the checkpoint itself.
    (``info``, ``last``: its checkpoint summary and newest run, when the caller has
    read them.)"""
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    for key in ("checkpoint_id", "checkpoint_ns", "checkpoint_map"):
        if checkpoint and checkpoint.get(key) is not None:
            conf[key] = checkpoint[key]
    if info is UNKNOWN:
        info = checkpoint_info(ctx, thread_id)
    if info is None:
        if conf.get("checkpoint_id"):
            raise not_found(f"Checkpoint {conf['checkpoint_id']} of thread {thread_id}")
        return empty_state()
    if (
        conf.get("checkpoint_id")
        and not conf["checkpoint_ns"]
        and ctx.live_runner.store.checkpoint(thread_id, conf["checkpoint_id"]) is None
    ):
        raise not_found(f"Checkpoint {conf['checkpoint_id']} of thread {thread_id}")
    wf = thread_workflow(ctx, thread_id, metadata, last=last)
    if wf is not None:
        async with ctx.live_runner.executor(wf).agraph() as graph:
            snap = await graph.aget_state({"configurable": conf}, subgraphs=subgraphs)
        return snapshot_json(snap)
    tup = ctx.live_runner.store.reader().get_tuple({"configurable": conf})
    if tup is None:
        raise not_found(f"Checkpoint {conf.get('checkpoint_id')} of thread {thread_id}")
    return _tuple_state(ctx, thread_id, tup)


async def read_history(
    ctx: ServerContext,
    thread_id: str,
    *,
    limit: int,
    before: str | None,
    metadata_filter: dict[str, Any] | None,
    checkpoint: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """Past ThreadStates of a thread, newest first."""
    if not has_checkpoints(ctx, thread_id):
        return []
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    for key, value in (checkpoint or {}).items():
        if key != "thread_id" and value is not None:
            conf[key] = value
    before_conf = {"configurable": {"checkpoint_id": before}} if before else None
    wf = thread_workflow(ctx, thread_id)
    if wf is not None:
        async with ctx.live_runner.executor(wf).agraph() as graph:
            return [
                snapshot_json(s)
                async for s in graph.aget_state_history(
                    {"configurable": conf},
                    limit=limit,
                    before=before_conf,
                    filter=metadata_filter or None,
                )
            ]
    reader = ctx.live_runner.store.reader()
    return [
        _tuple_state(ctx, thread_id, tup)
        for tup in reader.list(
            {"configurable": conf}, limit=limit, before=before_conf, filter=metadata_filter or None
        )
    ]


def thread_status(
    ctx: ServerContext, thread_id: str, state: dict[str, Any], *, last: RunRecord | None = UNKNOWN
) -> str:
    """idle | busy | interrupted | error, from the hub, the newest run and the state
    (``last``: the newest run, when the caller has read it)."""
    if last is UNKNOWN:
        last = ctx.live_runner.runs.latest_for_thread(thread_id)
    if last is not None and in_flight(ctx, thread_id):  # no run at all: none in flight
        return "busy"
    return _status(last, state)


def _status(last: RunRecord | None, state: dict[str, Any]) -> str:
    """The status of a thread with no run in flight: from its newest run and state
    (``metadata``, ``created_at``, ``next``)."""
    if last is not None and last.status in ERRORED:
        newer = (state.get("metadata") or {}).get("source") == "update" and (
            last.ended_at or 0
        ) < _ts(state.get("created_at"))
        if not newer:
            return "error"
    if (last is not None and last.status == RunStatus.INTERRUPTED) or state.get("next"):
        return "interrupted"
    return "idle"


def _ts(value: Any) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 0.0


async def thread_json(
    ctx: ServerContext,
    thread_id: str,
    *,
    record: ThreadMeta | None = UNKNOWN,
    info: ThreadInfo | None = UNKNOWN,
    last: RunRecord | None = UNKNOWN,
) -> dict[str, Any]:
    """The official Thread shape: ids, times, metadata, status, values, interrupts.

    Each store is read once (``record``, ``info``, ``last``: the thread's record,
    checkpoint summary and newest run, when the caller has just read them)."""
    runs = ctx.live_runner.runs
    if record is UNKNOWN:
        record = runs.get_thread(thread_id)
    if last is UNKNOWN:
        last = runs.latest_for_thread(thread_id)
    metadata = thread_metadata(ctx, thread_id, record=record, last=last)
    if info is UNKNOWN:
        info = checkpoint_info(ctx, thread_id)
    state = await read_state(ctx, thread_id, metadata=metadata, info=info, last=last)
    has_state = state.get("checkpoint") is not None
    info = info if has_state else None
    created = [
        t
        for t in (
            record.created_at if record else None,
            info.created_at.timestamp() if info and info.created_at else None,
        )
        if t is not None
    ]
    updated = [
        t
        for t in (
            record.updated_at if record else None,
            info.updated_at.timestamp() if info and info.updated_at else None,
        )
        if t is not None
    ]
    error = None
    status = thread_status(ctx, thread_id, state, last=last)
    if status == "error" and last is not None and last.error:
        error = {
            "error": last.error.get("error_type"),
            "message": ctx.public(str(last.error.get("message") or "")),
        }
    interrupts: dict[str, list[dict[str, Any]]] = {}
    for task in state.get("tasks") or []:
        if task.get("interrupts"):
            interrupts[task.get("id") or ""] = task["interrupts"]
    state_updated = info.updated_at.timestamp() if info and info.updated_at else None
    return {
        "thread_id": thread_id,
        "created_at": iso(min(created)) if created else now_iso(),
        "updated_at": iso(max(updated)) if updated else now_iso(),
        "state_updated_at": iso(state_updated or (max(updated) if updated else None)),
        "metadata": metadata,
        "status": status,
        "config": {},
        "values": state["values"] if has_state else None,
        "interrupts": interrupts,
        "error": error,
    }


#: The threads a search looks at: the API's and at most this many of the checkpointer's.
SEARCH_CAP = 10000
#: The Thread fields a search can sort by without reading states.
_TIME_KEYS = ("created_at", "updated_at", "state_updated_at")


def find_threads(
    ctx: ServerContext,
    *,
    metadata: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    ids: list[str] | None = None,
    status: str | None = None,
    sort_by: str = "updated_at",
    descending: bool = True,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the threads that match (metadata and values containment, ids,
    status), sorted, and how many match in all; in a fixed number of queries
    whatever the number of threads (states are read from their newest checkpoints,
    all at once, and only for the page unless a filter or the order needs them)."""
    runs, store = ctx.live_runner.runs, ctx.live_runner.store
    records = {t.thread_id: t for t in runs.list_threads()}
    infos = {i.thread_id: i for i in store.threads(limit=SEARCH_CAP)}
    latest = runs.latest_runs()
    busy = {r.thread_id for r in in_flight_runs(ctx)}
    if ids is not None:
        candidates = [t for t in dict.fromkeys(ids) if t in records or t in infos]
    else:
        candidates = list(dict.fromkeys([*records, *infos]))

    def meta(tid: str) -> dict[str, Any]:
        found = dict(records[tid].metadata) if tid in records else {}
        last = latest.get(tid)
        if "graph_id" not in found and last is not None:
            found["graph_id"] = last.workflow
            found.setdefault("assistant_id", assistant_id_for(last.workflow))
        return found

    metas = {t: meta(t) for t in candidates}
    if metadata:
        candidates = [t for t in candidates if contains(metas[t], metadata)]
    with_state = bool(values or status) or sort_by not in (*_TIME_KEYS, "thread_id")
    heads = store.heads(candidates) if with_state else {}

    def build(tid: str, head: Head | None) -> dict[str, Any]:
        return _listed(
            ctx,
            tid,
            records.get(tid),
            infos.get(tid),
            latest.get(tid),
            tid in busy,
            head,
            metas[tid],
        )

    found = [build(t, heads.get(t)) for t in candidates]
    if values:
        found = [t for t in found if contains(t["values"] or {}, values)]
    if status:
        found = [t for t in found if t["status"] == status]
    times = {t: _times(records.get(t), infos.get(t)) for t in candidates}

    def key(thread: dict[str, Any]) -> Any:
        if sort_by in _TIME_KEYS:
            return times[thread["thread_id"]][_TIME_KEYS.index(sort_by)]
        return str(thread.get(sort_by) or "")

    found.sort(key=key, reverse=descending)
    page = found[offset : None if limit is None else offset + limit]
    if not with_state and page:
        heads = store.heads([t["thread_id"] for t in page])
        page = [build(t["thread_id"], heads.get(t["thread_id"])) for t in page]
    return page, len(found)


def in_flight_runs(ctx: ServerContext) -> list[RunRecord]:
    """The runs queued or running (here or in another process), of every thread."""
    runs = ctx.live_runner.runs
    active = ctx.live_hub.active
    return [
        r
        for r in runs.list_runs(status=IN_FLIGHT, limit=100000)
        if r.run_id in active or (r.owner != runs.owner and owner_alive(r.owner))
    ]


def _times(record: ThreadMeta | None, info: ThreadInfo | None) -> tuple[float, float, float]:
    """A thread's created_at, updated_at and state_updated_at (epoch seconds)."""
    created = [
        t
        for t in (
            record.created_at if record else None,
            info.created_at.timestamp() if info and info.created_at else None,
        )
        if t is not None
    ]
    updated = [
        t
        for t in (
            record.updated_at if record else None,
            info.updated_at.timestamp() if info and info.updated_at else None,
        )
        if t is not None
    ]
    state = info.updated_at.timestamp() if info and info.updated_at else None
    return (
        min(created) if created else 0.0,
        max(updated) if updated else 0.0,
        state or (max(updated) if updated else 0.0),
    )


def _listed(
    ctx: ServerContext,
    thread_id: str,
    record: ThreadMeta | None,
    info: ThreadInfo | None,
    last: RunRecord | None,
    busy: bool,
    head: Head | None,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """A Thread from what a search read (no query): as :func:`thread_json` answers it,
    its state read from its newest checkpoint."""
    interrupts: dict[str, list[dict[str, Any]]] = {}
    state: dict[str, Any] = {}
    if head is not None:
        for task_id, item in interrupt_writes(head.pending_writes):
            interrupts.setdefault(task_id, []).append(interrupt_json(item))
        state = {
            "metadata": head.metadata,
            "created_at": head.checkpoint.get("ts"),
            "next": list(head.next),
        }
    status = "busy" if busy else _status(last, state)
    error = None
    if status == "error" and last is not None and last.error:
        error = {
            "error": last.error.get("error_type"),
            "message": ctx.public(str(last.error.get("message") or "")),
        }
    created, updated, state_updated = _times(record, info)
    return {
        "thread_id": thread_id,
        "created_at": iso(created) if created else now_iso(),
        "updated_at": iso(updated) if updated else now_iso(),
        "state_updated_at": iso(state_updated) if state_updated else None,
        "metadata": metadata,
        "status": status,
        "config": {},
        "values": to_jsonable(state_values(head.checkpoint)) if head is not None else None,
        "interrupts": interrupts,
        "error": error,
    }


def candidate_threads(ctx: ServerContext, cap: int = 1000) -> list[str]:
    """Thread ids for search: API-created ones and the checkpointer's, newest first."""
    seen: dict[str, float] = {}
    for t in ctx.live_runner.runs.list_threads():
        seen[t.thread_id] = t.updated_at
    for info in ctx.live_runner.store.threads(limit=cap):
        ts = info.updated_at.timestamp() if info.updated_at else 0.0
        seen[info.thread_id] = max(ts, seen.get(info.thread_id, 0.0))
    return sorted(seen, key=lambda k: seen[k], reverse=True)


def terminal_event(ctx: ServerContext, record: RunRecord) -> RunEvent | None:
    """The event that ended (or paused) a stored run."""
    events = ctx.live_runner.runs.events(record.run_id, max(0, record.last_seq - 1))
    ends = [e for e in events if e.is_terminal]
    return ends[-1] if ends else None


def latest_values(ctx: ServerContext, thread_id: str) -> Any:
    from ...timetravel import state_at

    if not has_checkpoints(ctx, thread_id):
        return {}
    try:
        return to_jsonable(state_at(ctx.live_runner.store, thread_id).values)
    except NotFoundError:
        return {}


def result_body(
    ctx: ServerContext, thread_id: str, terminal: RunEvent | None, last_values: Any = None
) -> Any:
    """What ``runs.wait`` / ``runs.join`` answer: the final values; with ``__interrupt__``
    when the run stopped at an interrupt; ``{"__error__": ...}`` when it failed."""
    if terminal is not None and terminal.type == "run.failed":
        return {
            "__error__": {
                "error": terminal.data.get("error_type"),
                "message": ctx.public(str(terminal.data.get("message") or "")),
            }
        }
    if terminal is not None and terminal.type in ("run.completed", "interrupt"):
        output = terminal.data.get("output")
        if output is None:
            output = latest_values(ctx, thread_id)
        interrupts = terminal.data.get("interrupts") or []
        if terminal.type == "interrupt" and interrupts:
            body = dict(output) if isinstance(output, dict) else {}
            body["__interrupt__"] = [interrupt_json(i, stream=True) for i in interrupts]
            return body
        return output
    if last_values is not None:
        return to_jsonable(last_values)
    return latest_values(ctx, thread_id)
