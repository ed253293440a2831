"""Shared pieces of the LangGraph Agent Server compatible API (``routes/lg_*``).

Our records and LangGraph's own objects converted to the shapes the official
server answers with (assistants, threads, thread states, runs), the thread
bookkeeping those routes share (existence, workflow, status), and
:class:`LgStream`: the per-run buffer that turns raw LangGraph stream parts (and
our :class:`RunEvent` s) into the SSE events ``langgraph_sdk`` expects.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from fastapi import HTTPException

from ..checkpointing import checkpoint_time
from ..errors import NotFoundError
from ..events import RunEvent
from ..jsonable import to_jsonable
from ..loader import LoadedWorkflow
from ..runs import RunRecord, owner_alive
from ..timetravel import interrupt_writes, state_values
from .catalog import assistant_id_for
from .context import ServerContext

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- basics

STREAM_MODES = frozenset({"values", "updates", "messages", "messages-tuple", "custom", "debug",
                          "tasks", "checkpoints", "events"})

RUN_STATUS = {"queued": "pending", "running": "running", "completed": "success",
              "failed": "error", "interrupted": "interrupted", "cancelled": "interrupted",
              "abandoned": "error"}
OUR_STATUSES: dict[str, tuple[str, ...]] = {}
for _ours, _theirs in RUN_STATUS.items():
    OUR_STATUSES.setdefault(_theirs, ())
    OUR_STATUSES[_theirs] += (_ours,)
IN_FLIGHT = ("queued", "running")


def iso(value: float | dt.datetime | None) -> str | None:
    """An ISO 8601 time with ``+00:00`` (from epoch seconds or a datetime)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def not_found(what: str) -> HTTPException:
    return HTTPException(404, f"{what} not found")


def contains(haystack: Any, needle: Any) -> bool:
    """JSON containment (Postgres ``@>``): every key of ``needle`` matches in ``haystack``."""
    if isinstance(needle, dict):
        return isinstance(haystack, dict) and all(
            k in haystack and contains(haystack[k], v) for k, v in needle.items())
    if isinstance(needle, list) and isinstance(haystack, list):
        return all(any(contains(h, n) for h in haystack) for n in needle)
    return bool(haystack == needle)


def apply_select(obj: dict[str, Any], select: Iterable[str] | None) -> dict[str, Any]:
    """Keep only the selected fields; ``values.x`` keeps one key of a nested dict."""
    if not select:
        return obj
    out: dict[str, Any] = {}
    for path in select:
        head, _, rest = path.partition(".")
        if head not in obj:
            continue
        if rest and isinstance(obj[head], dict):
            sub = out.setdefault(head, {})
            if isinstance(sub, dict):
                sub.update(apply_select(obj[head], [rest]))
        else:
            out[head] = obj[head]
    return out


# --------------------------------------------------------------------------- assistants


def assistant_json(ctx: ServerContext, name: str) -> dict[str, Any]:
    """The built-in assistant of a served workflow (one per workflow, like ``langgraph dev``)."""
    wf = ctx.catalog.workflows[name]
    started = iso(ctx.started_at)
    return {"assistant_id": assistant_id_for(name), "graph_id": name, "config": {},
            "context": {}, "metadata": {"created_by": "system"}, "name": name,
            "description": wf.source.description or None, "created_at": started,
            "updated_at": started, "version": 1}


def workflow_for(ctx: ServerContext, assistant_or_graph: str) -> LoadedWorkflow:
    """The workflow an assistant id (or graph name) stands for; 404 if none."""
    try:
        return ctx.catalog.get(assistant_or_graph)
    except NotFoundError:
        raise HTTPException(404, f"Assistant '{assistant_or_graph}' not found "
                                 f"(served: {', '.join(ctx.catalog.names()) or 'none'})") from None


# --------------------------------------------------------------------------- interrupts


def interrupt_json(item: Any, *, stream: bool = False) -> dict[str, Any]:
    """An interrupt as ``{id, value}`` (states) or ``{value, id, response_schema}`` (streams)."""
    if isinstance(item, dict):
        value, iid, schema = item.get("value"), item.get("id"), item.get("response_schema")
    else:
        value = getattr(item, "value", item)
        iid = getattr(item, "id", None)
        schema = getattr(item, "response_schema", None)
    schema = schema if isinstance(schema, dict) else None
    if stream:
        return {"value": to_jsonable(value), "id": iid, "response_schema": schema}
    out = {"id": iid, "value": to_jsonable(value)}
    if schema is not None:
        out["response_schema"] = schema
    return out


def _updates_json(data: Any) -> Any:
    if isinstance(data, dict) and "__interrupt__" in data:
        return {k: ([interrupt_json(i, stream=True) for i in v or ()]
                    if k == "__interrupt__" else to_jsonable(v)) for k, v in data.items()}
    return to_jsonable(data)


# --------------------------------------------------------------------------- thread states


def checkpoint_json(config: Any) -> dict[str, Any] | None:
    """LangGraph's ``runnable_config_to_checkpoint``: ``{thread_id, checkpoint_ns,
    checkpoint_id[, checkpoint_map]}`` or None."""
    conf = (config or {}).get("configurable") or {}
    if not conf.get("thread_id") or not conf.get("checkpoint_id"):
        return None
    out = {"thread_id": conf["thread_id"], "checkpoint_ns": conf.get("checkpoint_ns") or "",
           "checkpoint_id": conf["checkpoint_id"]}
    if "checkpoint_map" in conf:
        out["checkpoint_map"] = to_jsonable(conf["checkpoint_map"])
    return out


def snapshot_json(snap: Any) -> dict[str, Any]:
    """A LangGraph ``StateSnapshot`` as the official ThreadState."""
    from langgraph.types import StateSnapshot

    metadata = dict(snap.metadata) if snap.metadata is not None else None
    if metadata is not None and metadata.get("checkpoint_ns") == "":
        metadata.pop("checkpoint_ns")
    tasks = []
    for t in snap.tasks:
        sub = t.state
        tasks.append({
            "id": t.id, "name": t.name, "path": to_jsonable(list(t.path or ())),
            "error": _error_text(t.error),
            "interrupts": [interrupt_json(i) for i in t.interrupts or ()],
            "checkpoint": to_jsonable(sub["configurable"])
            if isinstance(sub, dict) and sub.get("configurable") else None,
            "state": snapshot_json(sub) if isinstance(sub, StateSnapshot) else None,
            "result": to_jsonable(getattr(t, "result", None)),
        })
    checkpoint = checkpoint_json(snap.config)
    parent = checkpoint_json(snap.parent_config)
    return {
        "values": to_jsonable(snap.values),
        "next": list(snap.next),
        "tasks": tasks,
        "metadata": to_jsonable(metadata),
        "created_at": snap.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": [interrupt_json(i) for i in getattr(snap, "interrupts", ()) or ()],
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }


def _error_text(error: Any) -> Any:
    if error is None:
        return None
    if isinstance(error, BaseException):
        return f"{type(error).__name__}({error})"
    return to_jsonable(error)


def empty_state() -> dict[str, Any]:
    """The ThreadState of a thread without checkpoints."""
    return {"values": {}, "next": [], "tasks": [], "metadata": None, "created_at": None,
            "checkpoint": None, "parent_checkpoint": None, "interrupts": [],
            "checkpoint_id": None, "parent_checkpoint_id": None}


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
    tasks = [{"id": tid, "name": nxt[0] if len(nxt) == 1 else None, "path": [], "error": None,
              "interrupts": items, "checkpoint": None, "state": None, "result": None}
             for tid, items in by_task.items()]
    metadata = dict(tup.metadata or {})
    if metadata.get("checkpoint_ns") == "":
        metadata.pop("checkpoint_ns")
    checkpoint = checkpoint_json(tup.config)
    parent = checkpoint_json(tup.parent_config)
    created = tup.checkpoint.get("ts") or iso(checkpoint_time(cid))
    return {"values": to_jsonable(values), "next": nxt, "tasks": tasks,
            "metadata": to_jsonable(metadata), "created_at": created,
            "checkpoint": checkpoint, "parent_checkpoint": parent,
            "interrupts": [i for items in by_task.values() for i in items],
            "checkpoint_id": cid,
            "parent_checkpoint_id": parent["checkpoint_id"] if parent else None}


# --------------------------------------------------------------------------- threads


def has_checkpoints(ctx: ServerContext, thread_id: str) -> bool:
    try:
        ctx.live_runner.store.thread(thread_id)
    except NotFoundError:
        return False
    return True


def thread_exists(ctx: ServerContext, thread_id: str) -> bool:
    """Created through the API, or known to the checkpointer (e.g. made by the CLI)."""
    return ctx.live_runner.runs.get_thread(thread_id) is not None or has_checkpoints(
        ctx, thread_id)


def require_thread(ctx: ServerContext, thread_id: str) -> None:
    if not thread_exists(ctx, thread_id):
        raise not_found(f"Thread with ID {thread_id}")


def thread_metadata(ctx: ServerContext, thread_id: str) -> dict[str, Any]:
    """The thread's metadata; for threads made outside the API, graph_id/assistant_id
    come from its newest run."""
    record = ctx.live_runner.runs.get_thread(thread_id)
    meta = dict(record.metadata) if record else {}
    if "graph_id" not in meta:
        last = ctx.live_runner.runs.latest_for_thread(thread_id)
        if last is not None:
            meta["graph_id"] = last.workflow
            meta.setdefault("assistant_id", assistant_id_for(last.workflow))
    return meta


def thread_workflow(ctx: ServerContext, thread_id: str,
                    metadata: dict[str, Any] | None = None) -> LoadedWorkflow | None:
    """The served workflow of a thread: its metadata's graph_id, else its newest run's."""
    meta = metadata if metadata is not None else thread_metadata(ctx, thread_id)
    names = [meta.get("graph_id")]
    last = ctx.live_runner.runs.latest_for_thread(thread_id)
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
    records = []
    for status in IN_FLIGHT:
        for r in runs.list(thread_id=thread_id, status=status, limit=100):
            # ours but unknown to the hub, or of a process that died: not in flight
            if r.run_id in active or (r.owner != runs.owner and owner_alive(r.owner)):
                records.append(r)
    return records


async def read_state(ctx: ServerContext, thread_id: str, *, checkpoint: dict[str, Any] | None
                     = None, subgraphs: bool = False,
                     metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The thread's ThreadState (newest, or at ``checkpoint``); through the workflow's
    graph when it is served (tasks, subgraph states), else from the checkpoint itself."""
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    for key in ("checkpoint_id", "checkpoint_ns", "checkpoint_map"):
        if checkpoint and checkpoint.get(key) is not None:
            conf[key] = checkpoint[key]
    if not has_checkpoints(ctx, thread_id):
        if conf.get("checkpoint_id"):
            raise not_found(f"Checkpoint {conf['checkpoint_id']} of thread {thread_id}")
        return empty_state()
    if conf.get("checkpoint_id") and not conf["checkpoint_ns"] and \
            ctx.live_runner.store.checkpoint(thread_id, conf["checkpoint_id"]) is None:
        raise not_found(f"Checkpoint {conf['checkpoint_id']} of thread {thread_id}")
    wf = thread_workflow(ctx, thread_id, metadata)
    if wf is not None:
        async with ctx.live_runner.executor(wf).agraph() as graph:
            snap = await graph.aget_state({"configurable": conf}, subgraphs=subgraphs)
        return snapshot_json(snap)
    tup = ctx.live_runner.store.reader().get_tuple({"configurable": conf})
    if tup is None:
        raise not_found(f"Checkpoint {conf.get('checkpoint_id')} of thread {thread_id}")
    return _tuple_state(ctx, thread_id, tup)


async def read_history(ctx: ServerContext, thread_id: str, *, limit: int, before: str | None,
                       metadata_filter: dict[str, Any] | None,
                       checkpoint: dict[str, Any] | None) -> list[dict[str, Any]]:
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
            return [snapshot_json(s) async for s in graph.aget_state_history(
                {"configurable": conf}, limit=limit, before=before_conf,
                filter=metadata_filter or None)]
    reader = ctx.live_runner.store.reader()
    return [_tuple_state(ctx, thread_id, tup) for tup in reader.list(
        {"configurable": conf}, limit=limit, before=before_conf,
        filter=metadata_filter or None)]


def thread_status(ctx: ServerContext, thread_id: str, state: dict[str, Any]) -> str:
    """idle | busy | interrupted | error, from the hub, the newest run and the state."""
    if in_flight(ctx, thread_id):
        return "busy"
    last = ctx.live_runner.runs.latest_for_thread(thread_id)
    if last is not None and last.status in ("failed", "abandoned"):
        newer = (state.get("metadata") or {}).get("source") == "update" and \
            (last.ended_at or 0) < _ts(state.get("created_at"))
        if not newer:
            return "error"
    if (last is not None and last.status == "interrupted") or state.get("next"):
        return "interrupted"
    return "idle"


def _ts(value: Any) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 0.0


async def thread_json(ctx: ServerContext, thread_id: str) -> dict[str, Any]:
    """The official Thread shape: ids, times, metadata, status, values, interrupts."""
    runs = ctx.live_runner.runs
    record = runs.get_thread(thread_id)
    metadata = thread_metadata(ctx, thread_id)
    state = await read_state(ctx, thread_id, metadata=metadata)
    has_state = state.get("checkpoint") is not None
    info = ctx.live_runner.store.thread(thread_id) if has_state else None
    created = [t for t in (record.created_at if record else None,
                           info.created_at.timestamp() if info and info.created_at else None)
               if t is not None]
    updated = [t for t in (record.updated_at if record else None,
                           info.updated_at.timestamp() if info and info.updated_at else None)
               if t is not None]
    last = runs.latest_for_thread(thread_id)
    error = None
    status = thread_status(ctx, thread_id, state)
    if status == "error" and last is not None and last.error:
        error = {"error": last.error.get("error_type"), "message": last.error.get("message")}
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


def candidate_threads(ctx: ServerContext, cap: int = 1000) -> list[str]:
    """Thread ids for search: API-created ones and the checkpointer's, newest first."""
    seen: dict[str, float] = {}
    for t in ctx.live_runner.runs.list_threads():
        seen[t.thread_id] = t.updated_at
    for info in ctx.live_runner.store.threads(limit=cap):
        ts = info.updated_at.timestamp() if info.updated_at else 0.0
        seen[info.thread_id] = max(ts, seen.get(info.thread_id, 0.0))
    return sorted(seen, key=lambda k: seen[k], reverse=True)


# --------------------------------------------------------------------------- runs


def run_json(record: RunRecord) -> dict[str, Any]:
    """A run record as the official Run."""
    meta = record.meta or {}
    kwargs = meta.get("kwargs") or {
        "input": record.input, "command": None, "config": {}, "context": {},
        "stream_mode": ["values"], "interrupt_before": None, "interrupt_after": None,
        "webhook": None, "feedback_keys": None, "temporary": False, "subgraphs": False,
        "resumable": False, "checkpoint_during": False, "durability": "async"}
    updated = max(t for t in (record.created_at, record.started_at, record.ended_at)
                  if t is not None)
    return {
        "run_id": record.run_id,
        "thread_id": record.thread_id,
        "assistant_id": meta.get("assistant_id") or assistant_id_for(record.workflow),
        "created_at": iso(record.created_at),
        "updated_at": iso(updated),
        "status": RUN_STATUS.get(record.status, record.status),
        "metadata": meta.get("metadata") or {},
        "multitask_strategy": meta.get("multitask_strategy") or "enqueue",
        "kwargs": kwargs,
        "langsmith_session_name": None,
    }


def command_from(cmd: dict[str, Any]) -> Any:
    """A ``langgraph.types.Command`` from the API's ``command`` object (``map_cmd``)."""
    from langgraph.types import Command, Send

    goto = cmd.get("goto")
    if goto is not None and not isinstance(goto, list):
        goto = [goto]
    targets = None
    if goto:
        targets = []
        for item in goto:
            if isinstance(item, dict):
                if "node" not in item:
                    raise HTTPException(422, "command.goto: each object needs a 'node'")
                targets.append(Send(item["node"], item.get("input")))
            else:
                targets.append(item)
    update = cmd.get("update")
    if isinstance(update, list) and all(
            isinstance(t, list | tuple) and len(t) == 2 and isinstance(t[0], str) for t in update):
        update = [tuple(t) for t in update]
    kwargs: dict[str, Any] = {"update": update, "goto": targets or ()}
    if "resume" in cmd:
        kwargs["resume"] = cmd["resume"]
    return Command(**kwargs)


def terminal_event(ctx: ServerContext, record: RunRecord) -> RunEvent | None:
    """The event that ended (or paused) a stored run."""
    events = ctx.live_runner.runs.events(record.run_id, max(0, record.last_seq - 1))
    ends = [e for e in events if e.is_terminal]
    return ends[-1] if ends else None


def latest_values(ctx: ServerContext, thread_id: str) -> Any:
    from ..timetravel import state_at

    if not has_checkpoints(ctx, thread_id):
        return {}
    try:
        return to_jsonable(state_at(ctx.live_runner.store, thread_id).values)
    except NotFoundError:
        return {}


def result_body(ctx: ServerContext, thread_id: str, terminal: RunEvent | None,
                last_values: Any = None) -> Any:
    """What ``runs.wait`` / ``runs.join`` answer: the final values; with ``__interrupt__``
    when the run stopped at an interrupt; ``{"__error__": ...}`` when it failed."""
    if terminal is not None and terminal.type == "run.failed":
        return {"__error__": {"error": terminal.data.get("error_type"),
                              "message": terminal.data.get("message")}}
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


# --------------------------------------------------------------------------- streams


class LgStream:
    """One run's LangGraph-style stream: ``(event, data)`` frames for the requested
    stream modes, buffered so any number of SSE followers can read them in order.

    ``on_part`` receives the executor's raw LangGraph parts, ``on_event`` our
    RunEvents (``events`` mode, the terminal event, ``error``).
    """

    def __init__(self, modes: Iterable[str] = (), subgraphs: bool = False) -> None:
        self.modes = frozenset(modes)
        self.subgraphs = subgraphs
        self.frames: list[tuple[str, Any]] = []
        self.done = False
        self.terminal: RunEvent | None = None
        self.last_values: Any = None
        self._wake = asyncio.Event()
        self._messages: dict[Any, Any] = {}
        self._step: dict[tuple[str, ...], int] = {}

    # producers ------------------------------------------------------------------
    def _push(self, event: str, data: Any) -> None:
        self.frames.append((event, data))
        self._wake.set()
        self._wake = asyncio.Event()

    def on_part(self, part: dict[str, Any]) -> None:
        """Called by the executor with every raw part; never lets an error reach the run."""
        try:
            self._on_part(part)
        except Exception:  # noqa: BLE001 - a stream conversion problem must not fail the run
            log.exception("cannot convert a LangGraph stream part (%s)", part.get("type"))

    def _on_part(self, part: dict[str, Any]) -> None:
        kind = part.get("type")
        ns: tuple[str, ...] = tuple(part.get("ns") or ())
        data = part.get("data")
        if kind == "values" and not ns:
            self.last_values = data
        if not self.modes:
            return
        if kind == "messages":
            self._message(ns, data)
            return
        if ns and not self.subgraphs:
            return
        suffix = "|" + "|".join(ns) if ns else ""
        modes = self.modes
        if kind == "values" and "values" in modes:
            payload = to_jsonable(data)
            interrupts = part.get("interrupts") or ()
            if interrupts and isinstance(payload, dict):
                payload["__interrupt__"] = [interrupt_json(i, stream=True) for i in interrupts]
            self._push("values" + suffix, payload)
        elif kind == "updates" and "updates" in modes:
            self._push("updates" + suffix, _updates_json(data))
        elif kind == "custom" and "custom" in modes:
            self._push("custom" + suffix, to_jsonable(data))
        elif kind == "tasks":
            if "tasks" in modes:
                self._push("tasks" + suffix, to_jsonable(data))
            if "debug" in modes:
                done = "input" not in (data or {})
                self._push("debug" + suffix, {
                    "step": self._step.get(ns, -1) + 1, "timestamp": now_iso(),
                    "type": "task_result" if done else "task", "payload": to_jsonable(data)})
        elif kind == "checkpoints":
            step = ((data or {}).get("metadata") or {}).get("step")
            if isinstance(step, int):
                self._step[ns] = step
            if "checkpoints" in modes:
                self._push("checkpoints" + suffix, to_jsonable(data))
            if "debug" in modes:
                payload = to_jsonable(data)
                if isinstance(payload, dict):
                    payload["checkpoint"] = checkpoint_json(data.get("config"))
                    payload["parent_checkpoint"] = checkpoint_json(data.get("parent_config"))
                self._push("debug" + suffix, {"step": step, "timestamp": now_iso(),
                                              "type": "checkpoint", "payload": payload})

    def _message(self, ns: tuple[str, ...], data: Any) -> None:
        try:
            chunk, meta = data
        except (TypeError, ValueError):
            return
        suffix = "|" + "|".join(ns) if ns and self.subgraphs else ""
        if "messages-tuple" in self.modes:
            self._push("messages" + suffix, [to_jsonable(chunk), to_jsonable(meta)])
            return
        if "messages" not in self.modes:
            return
        from langchain_core.messages import BaseMessageChunk

        key = getattr(chunk, "id", None)
        if key in self._messages and isinstance(chunk, BaseMessageChunk):
            try:
                self._messages[key] = self._messages[key] + chunk
            except Exception:  # noqa: BLE001 - chunks that do not add up restart the message
                self._messages[key] = chunk
        else:
            if key not in self._messages:
                self._push("messages/metadata", {key: {"metadata": to_jsonable(meta)}})
            self._messages[key] = chunk
        kind = "messages/partial" if isinstance(chunk, BaseMessageChunk) else "messages/complete"
        self._push(kind, [to_jsonable(self._messages[key])])

    def on_event(self, event: RunEvent) -> None:
        if "events" in self.modes:
            self._push("events", event.to_dict())
        if event.is_terminal:
            self.terminal = event
            if event.type == "run.failed":
                self._push("error", {"error": event.data.get("error_type"),
                                     "message": event.data.get("message")})

    def close(self) -> None:
        self.done = True
        self._wake.set()

    # consumers ------------------------------------------------------------------
    async def follow(self, start: int = 0) -> AsyncIterator[tuple[str, Any]]:
        """The frames from ``start`` on, live, until the run has stopped."""
        i = start
        while True:
            wake = self._wake
            while i < len(self.frames):
                yield self.frames[i]
                i += 1
            if self.done:
                return
            await wake.wait()


async def tap(events: AsyncIterator[RunEvent], stream: LgStream) -> AsyncIterator[RunEvent]:
    """Pass a runner operation's events through, showing each to ``stream`` first."""
    try:
        async for event in events:
            stream.on_event(event)
            yield event
    finally:
        stream.close()
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
