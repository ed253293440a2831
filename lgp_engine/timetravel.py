"""Reading the past of a thread: state at a checkpoint, diffs, and the branch tree.

These read the checkpointer directly and need no workflow code, so they work on
any thread, even one whose workflow no longer imports.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from .checkpointing import CheckpointInfo, CheckpointStore
from .errors import NotFoundError
from .jsonable import to_jsonable

_INTERNAL_PREFIXES = ("branch:", "__", "start:")


@dataclass(frozen=True)
class StateAt:
    """A thread's state at one checkpoint."""

    thread_id: str
    checkpoint_id: str
    parent_id: str | None
    step: int | None
    source: str | None
    values: dict[str, Any]
    next: tuple[str, ...]
    metadata: dict[str, Any]
    interrupts: list[dict[str, Any]] = field(default_factory=list)


def state_values(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's state keys (LangGraph's internal channels left out)."""
    return {
        k: v
        for k, v in (checkpoint.get("channel_values") or {}).items()
        if not k.startswith(_INTERNAL_PREFIXES)
    }


def interrupt_writes(pending_writes: Any) -> Iterator[tuple[str, Any]]:
    """``(task_id, Interrupt)`` for each interrupt among a checkpoint's pending writes."""
    for task_id, channel, value in pending_writes or []:
        if channel == "__interrupt__":
            for item in value if isinstance(value, list | tuple) else [value]:
                yield task_id, item


def _root_checkpoint(store: CheckpointStore, thread_id: str, checkpoint_id: str | None) -> Any:
    """The thread's (root graph's) checkpoint tuple at ``checkpoint_id`` (default: its
    newest); :class:`NotFoundError` for an unknown thread or checkpoint."""
    store.thread(thread_id)  # NotFoundError for an unknown thread
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    tup = store.reader().get_tuple({"configurable": configurable})
    if tup is None:
        raise NotFoundError(
            f"unknown checkpoint {checkpoint_id!r} in thread {thread_id!r}",
            field="checkpoint_id",
            code="unknown_checkpoint",
            thread_id=thread_id,
        )
    return tup


def state_at(store: CheckpointStore, thread_id: str, checkpoint_id: str | None = None) -> StateAt:
    """The state of ``thread_id`` at ``checkpoint_id`` (default: its newest checkpoint)."""
    tup = _root_checkpoint(store, thread_id, checkpoint_id)
    cid = tup.config["configurable"]["checkpoint_id"]
    parent = tup.parent_config["configurable"]["checkpoint_id"] if tup.parent_config else None
    values = state_values(tup.checkpoint)
    info = store.checkpoint(thread_id, cid)
    interrupts = _interrupts(tup.pending_writes)
    return StateAt(
        thread_id=thread_id,
        checkpoint_id=cid,
        parent_id=parent,
        step=tup.metadata.get("step"),
        source=tup.metadata.get("source"),
        values=values,
        next=info.next if info else (),
        metadata=dict(tup.metadata),
        interrupts=interrupts,
    )


@dataclass(frozen=True)
class MessagesAt:
    """A thread's chat messages at one checkpoint (see :func:`messages_at`).

    Attributes:
        messages: The state's messages list; None when the state has no such key.
        next: The nodes to run next (empty once the thread's run ended).
        interrupts: What the thread waits for (``{"id": ..., "value": ...}`` each).
    """

    thread_id: str
    checkpoint_id: str
    parent_id: str | None
    messages: list[Any] | None
    next: tuple[str, ...]
    interrupts: list[dict[str, Any]] = field(default_factory=list)


def messages_at(
    store: CheckpointStore,
    thread_id: str,
    checkpoint_id: str | None = None,
    *,
    key: str = "messages",
) -> MessagesAt:
    """The chat messages of ``thread_id`` at ``checkpoint_id`` (default: its newest
    checkpoint): the list under ``key`` in its state, what runs next and what it
    waits for, to show a conversation.

    On SQLite only that list is decoded, and each LangChain message in it is its dict
    form (``{"type": "human", "content": ..., "id": ...}``, which
    :func:`~lgp_engine.as_message` reads) rather than an object built again: a
    10,000-message thread reads in ~0.1 s where :func:`state_at` takes ~0.4 s. On the
    other backends, or when the list holds values of other types, the messages are
    the objects :func:`state_at` reads.
    """
    store.thread(thread_id)  # NotFoundError for an unknown thread
    stored = store.stored_checkpoint(thread_id, checkpoint_id)
    if stored is not None and stored.type == "msgpack":
        with _collector_paused():  # thousands of new dicts: no full collections meanwhile
            found, messages = _packed_messages(stored.blob, key)
        if found is not None:
            info = store.checkpoint(thread_id, stored.checkpoint_id)
            return MessagesAt(
                thread_id=thread_id,
                checkpoint_id=stored.checkpoint_id,
                parent_id=stored.parent_id,
                messages=messages if found else None,
                next=info.next if info else (),
                interrupts=_interrupts(stored.pending_writes),
            )
    state = state_at(store, thread_id, checkpoint_id)
    value = state.values.get(key)
    return MessagesAt(
        thread_id=thread_id,
        checkpoint_id=state.checkpoint_id,
        parent_id=state.parent_id,
        messages=list(value) if isinstance(value, list | tuple) else None,
        next=state.next,
        interrupts=state.interrupts,
    )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection inside: a big list decoded at once otherwise sets off
    collections of the whole heap, which took longer than the decoding itself."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


_EXT_PYDANTIC_V2 = 5  # langgraph.checkpoint.serde.jsonplus: (module, class, dump, method)


def _packed_messages(blob: bytes, key: str) -> tuple[bool | None, list[Any]]:
    """``(found, messages)`` from a msgpack checkpoint blob: ``found`` False when its
    state has no ``key`` list, None when the list holds something other than LangChain
    messages and plain values (then it must be read the usual way)."""
    import ormsgpack

    def keep(code: int, data: bytes) -> tuple[str, int, bytes]:
        return ("ext", code, data)

    unknown = False

    def message(code: int, data: bytes) -> Any:
        nonlocal unknown
        if code == _EXT_PYDANTIC_V2:
            packed = ormsgpack.unpackb(data, ext_hook=message, option=ormsgpack.OPT_NON_STR_KEYS)
            if (
                isinstance(packed, list | tuple)
                and len(packed) >= 3
                and str(packed[0]).startswith("langchain_core.messages")
                and isinstance(packed[2], dict)
            ):
                return packed[2]
        unknown = True
        return None

    try:
        raw = ormsgpack.unpackb(blob, ext_hook=keep, option=ormsgpack.OPT_NON_STR_KEYS)
        values = raw.get("channel_values") if isinstance(raw, dict) else None
    except Exception:  # noqa: BLE001 - not what is expected: read it the usual way
        return None, []
    if not isinstance(values, dict) or key not in values:
        return False, []
    packed = values[key]
    if not isinstance(packed, list):
        return None, []
    out: list[Any] = []
    for item in packed:
        if isinstance(item, tuple) and len(item) == 3 and item[0] == "ext":
            try:
                item = message(item[1], item[2])
            except Exception:  # noqa: BLE001
                return None, []
        elif isinstance(item, dict | list):
            return None, []  # may hold packed values further down
        if unknown:
            return None, []
        out.append(item)
    return True, out


def _interrupts(pending_writes: Any) -> list[dict[str, Any]]:
    return [
        {"id": getattr(item, "id", None), "value": to_jsonable(getattr(item, "value", item))}
        for _task, item in interrupt_writes(pending_writes)
    ]


# --------------------------------------------------------------------------- diff

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference between two states, at a dotted path (``a.b[2]``)."""

    kind: ChangeKind
    path: str
    before: Any = None
    after: Any = None


def diff_values(before: Any, after: Any, path: str = "") -> list[Change]:
    """Structured differences from ``before`` to ``after`` (JSON-like values)."""
    a, b = to_jsonable(before), to_jsonable(after)
    return _diff(a, b, path)


def _diff(a: Any, b: Any, path: str) -> list[Change]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[Change] = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append(Change("added", sub, after=b[key]))
            elif key not in b:
                out.append(Change("removed", sub, before=a[key]))
            else:
                out.extend(_diff(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(min(len(a), len(b))):
            out.extend(_diff(a[i], b[i], f"{path}[{i}]"))
        for i in range(len(a), len(b)):
            out.append(Change("added", f"{path}[{i}]", after=b[i]))
        for i in range(len(b), len(a)):
            out.append(Change("removed", f"{path}[{i}]", before=a[i]))
        return out
    if a != b or type(a) is not type(b):
        return [Change("changed", path or "(root)", before=a, after=b)]
    return []


def diff_checkpoints(
    store: CheckpointStore, thread_id: str, a: str, b: str
) -> tuple[StateAt, StateAt, list[Change]]:
    """The two states and the changes from checkpoint ``a`` to checkpoint ``b``."""
    first = state_at(store, thread_id, a)
    second = state_at(store, thread_id, b)
    return first, second, diff_values(first.values, second.values)


# --------------------------------------------------------------------------- tree


@dataclass
class HistoryNode:
    """A checkpoint in the thread's history tree."""

    info: CheckpointInfo
    children: list[HistoryNode] = field(default_factory=list)


def history_tree(checkpoints: list[CheckpointInfo]) -> list[HistoryNode]:
    """Roots of the tree formed by parent links (children oldest first)."""
    nodes = {c.checkpoint_id: HistoryNode(c) for c in checkpoints}
    roots: list[HistoryNode] = []
    for c in sorted(checkpoints, key=lambda c: c.checkpoint_id):
        node = nodes[c.checkpoint_id]
        parent = nodes.get(c.parent_id) if c.parent_id else None
        (parent.children if parent else roots).append(node)
    return roots


def flatten_tree(roots: list[HistoryNode]) -> list[tuple[str, CheckpointInfo, int]]:
    """``(prefix, checkpoint, branch_depth)`` rows for drawing the tree as text.

    A straight run of checkpoints stays in one column; where a checkpoint has
    several children, each child starts a branch drawn with ``├─`` / ``└─``.
    """
    rows: list[tuple[str, CheckpointInfo, int]] = []

    def walk(node: HistoryNode, lead: str, head: str, depth: int) -> None:
        current, prefix = node, head
        while True:
            rows.append((prefix, current.info, depth))
            prefix = lead
            if len(current.children) == 1:
                current = current.children[0]
                continue
            for i, child in enumerate(current.children):
                last = i == len(current.children) - 1
                walk(
                    child,
                    lead + ("   " if last else "│  "),
                    lead + ("└─ " if last else "├─ "),
                    depth + 1,
                )
            return

    for root in roots:
        walk(root, "", "", 0)
    return rows


@dataclass(frozen=True)
class SubgraphState:
    """A subgraph invocation of a thread at its newest checkpoint (see
    :func:`subgraph_states`).

    Attributes:
        namespace: Its checkpoint namespace (``research:<task id>``; nested ones are
            joined with ``|``).
        path: The subgraph nodes it runs in, outermost first (``("research",)``).
        parent_id: The thread's (root) checkpoint the step that ran it started from.
        state: Its own state: values (keys of its own too), what it runs next, what it
            waits for.
    """

    namespace: str
    path: tuple[str, ...]
    parent_id: str
    state: StateAt


def subgraph_states(
    store: CheckpointStore, thread_id: str, checkpoint_id: str | None = None
) -> list[SubgraphState]:
    """The subgraphs that ran in the step that made ``checkpoint_id`` (default: the
    thread's newest checkpoint) or that run (or wait, interrupted) in the step after
    it, each at its newest checkpoint; outer subgraphs before those nested in them.
    A LangGraph subgraph keeps its own checkpoints in a namespace of the thread, tied
    to the root checkpoint its step started from (``parents`` in their metadata)."""
    saver = store.reader()
    tup = _root_checkpoint(store, thread_id, checkpoint_id)
    here = tup.config["configurable"]["checkpoint_id"]
    before = tup.parent_config["configurable"]["checkpoint_id"] if tup.parent_config else None
    found: list[SubgraphState] = []
    for namespace in store.namespaces(thread_id):
        if not namespace:
            continue
        config = {"thread_id": thread_id, "checkpoint_ns": namespace}
        sub = saver.get_tuple({"configurable": config})
        parent = ((sub.metadata or {}).get("parents") or {}).get("") if sub else None
        if sub is None or parent not in (here, before) or parent is None:
            continue
        cid = sub.config["configurable"]["checkpoint_id"]
        info = store.checkpoint(thread_id, cid, checkpoint_ns=namespace)
        sub_parent = (
            sub.parent_config["configurable"]["checkpoint_id"] if sub.parent_config else None
        )
        state = StateAt(
            thread_id=thread_id,
            checkpoint_id=cid,
            parent_id=sub_parent,
            step=sub.metadata.get("step"),
            source=sub.metadata.get("source"),
            values=state_values(sub.checkpoint),
            next=info.next if info else (),
            metadata=dict(sub.metadata),
            interrupts=[
                {
                    "id": getattr(item, "id", None),
                    "value": to_jsonable(getattr(item, "value", item)),
                }
                for _task, item in interrupt_writes(sub.pending_writes)
            ],
        )
        path = tuple(part.split(":", 1)[0] for part in namespace.split("|"))
        found.append(SubgraphState(namespace, path, parent, state))
    found.sort(key=lambda s: (s.parent_id, len(s.path), s.path, s.namespace))
    return found
