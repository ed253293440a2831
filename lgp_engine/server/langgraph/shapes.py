"""The LangGraph Agent Server's JSON shapes (assistants, threads, thread states,
runs, interrupts, checkpoints) built from our records and LangGraph's own objects.

Pure conversions: nothing here reads a store.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException

from ...jsonable import to_jsonable
from ...runs import RunRecord
from ...status import RunStatus
from ..catalog import assistant_id_for
from ..times import iso
from ..usage import public_usage

# --------------------------------------------------------------------------- basics

#: Our run statuses in the official vocabulary.
RUN_STATUS: dict[RunStatus, str] = {
    RunStatus.QUEUED: "pending",
    RunStatus.RUNNING: "running",
    RunStatus.COMPLETED: "success",
    RunStatus.FAILED: "error",
    RunStatus.INTERRUPTED: "interrupted",
    RunStatus.CANCELLED: "interrupted",
    RunStatus.ABANDONED: "error",
}
#: The official statuses, each with the statuses of ours it stands for.
OUR_STATUSES: dict[str, frozenset[RunStatus]] = {
    theirs: frozenset(ours for ours, t in RUN_STATUS.items() if t == theirs)
    for theirs in set(RUN_STATUS.values())
}


def not_found(what: str) -> HTTPException:
    return HTTPException(404, f"{what} not found")


def contains(haystack: Any, needle: Any) -> bool:
    """JSON containment (Postgres ``@>``): every key of ``needle`` matches in ``haystack``."""
    if isinstance(needle, dict):
        return isinstance(haystack, dict) and all(
            k in haystack and contains(haystack[k], v) for k, v in needle.items()
        )
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


def updates_json(data: Any) -> Any:
    if isinstance(data, dict) and "__interrupt__" in data:
        return {
            k: (
                [interrupt_json(i, stream=True) for i in v or ()]
                if k == "__interrupt__"
                else to_jsonable(v)
            )
            for k, v in data.items()
        }
    return to_jsonable(data)


# --------------------------------------------------------------------------- thread states


def checkpoint_json(config: Any) -> dict[str, Any] | None:
    """LangGraph's ``runnable_config_to_checkpoint``: ``{thread_id, checkpoint_ns,
    checkpoint_id[, checkpoint_map]}`` or None."""
    conf = (config or {}).get("configurable") or {}
    if not conf.get("thread_id") or not conf.get("checkpoint_id"):
        return None
    out = {
        "thread_id": conf["thread_id"],
        "checkpoint_ns": conf.get("checkpoint_ns") or "",
        "checkpoint_id": conf["checkpoint_id"],
    }
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
        tasks.append(
            {
                "id": t.id,
                "name": t.name,
                "path": to_jsonable(list(t.path or ())),
                "error": _error_text(t.error),
                "interrupts": [interrupt_json(i) for i in t.interrupts or ()],
                "checkpoint": to_jsonable(sub["configurable"])
                if isinstance(sub, dict) and sub.get("configurable")
                else None,
                "state": snapshot_json(sub) if isinstance(sub, StateSnapshot) else None,
                "result": to_jsonable(getattr(t, "result", None)),
            }
        )
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
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "metadata": None,
        "created_at": None,
        "checkpoint": None,
        "parent_checkpoint": None,
        "interrupts": [],
        "checkpoint_id": None,
        "parent_checkpoint_id": None,
    }


# --------------------------------------------------------------------------- runs

#: The key of a Run's ``metadata`` that holds the run's usage (:func:`run_json`).
USAGE_KEY = "usage"


def run_json(record: RunRecord) -> dict[str, Any]:
    """A run record as the official Run; the tokens and cost of its model calls in
    ``metadata.usage`` (a key the server owns: it is absent when there were none)."""
    meta = record.meta or {}
    metadata = {k: v for k, v in (meta.get("metadata") or {}).items() if k != USAGE_KEY}
    usage = public_usage(record.usage)
    if usage is not None:
        metadata[USAGE_KEY] = usage
    if meta.get("trace_url"):
        metadata["trace_url"] = meta["trace_url"]
    kwargs = meta.get("kwargs") or {
        "input": record.input,
        "command": None,
        "config": {},
        "context": {},
        "stream_mode": ["values"],
        "interrupt_before": None,
        "interrupt_after": None,
        "webhook": None,
        "feedback_keys": None,
        "temporary": False,
        "subgraphs": False,
        "resumable": False,
        "checkpoint_during": False,
        "durability": "async",
    }
    updated = max(
        t for t in (record.created_at, record.started_at, record.ended_at) if t is not None
    )
    return {
        "run_id": record.run_id,
        "thread_id": record.thread_id,
        "assistant_id": meta.get("assistant_id") or assistant_id_for(record.workflow),
        "created_at": iso(record.created_at),
        "updated_at": iso(updated),
        "status": RUN_STATUS.get(record.status, record.status),
        "metadata": metadata,
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
        isinstance(t, list | tuple) and len(t) == 2 and isinstance(t[0], str) for t in update
    ):
        update = [tuple(t) for t in update]
    kwargs: dict[str, Any] = {"update": update, "goto": targets or ()}
    if "resume" in cmd:
        kwargs["resume"] = cmd["resume"]
    return Command(**kwargs)
