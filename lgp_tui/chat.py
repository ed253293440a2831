"""The chat view's model: a thread's messages as the turns of a conversation.

A :class:`Turn` is one message read by role (:func:`lgp_engine.as_message`), with the
results of its tool calls folded under it: a tool message that answers a call of an
earlier AI message is shown with that call, not on its own. :class:`Transcript`
keeps the turns read from the thread's state and those a run adds while it goes
(its input, each node's messages, the tokens a model streams), until the state is
read again at the run's end.

:func:`branch_point` finds where an earlier human message entered the thread, so it
can be edited and sent again as a new branch (see :class:`BranchPoint`). Everything
here reads the checkpoint store through the engine's public API and runs in the
chat screen's workers, never on the UI thread for a big thread.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lgp_engine import (
    CheckpointInfo,
    CheckpointStore,
    LoadedWorkflow,
    MessageView,
    UsageError,
    as_message,
    inline,
    messages_at,
)

KEY = "messages"
"""The state key a chat view shows (as LangGraph Studio's chat mode)."""
TAIL = 200
"""How many of the newest messages a big thread shows first, the rest following."""


def chat_capable(workflow: LoadedWorkflow) -> bool:
    """Whether ``workflow``'s state has a ``messages`` channel. A graph built per run
    (a factory) cannot be told before it runs: it counts as one."""
    channels = getattr(workflow.target, "channels", None)
    if not isinstance(channels, Mapping):
        return True
    return KEY in channels


@dataclass(eq=False)
class Turn:
    """One message of the conversation, with the results of its tool calls.

    Attributes:
        view: The message read by role and content.
        raw: The message as read (its dict form or the object), for the value viewer.
        index: Its place in the thread's messages; None for one a run is adding.
        results: The tool messages answering its calls: call position -> (view, raw).
        streaming: A model is still writing it (tokens of a ``message.delta``).
        node: The node whose model streams it.
    """

    view: MessageView
    raw: Any
    index: int | None = None
    results: dict[int, tuple[MessageView, Any]] = field(default_factory=dict)
    streaming: bool = False
    node: str | None = None
    serial: int = 0

    @property
    def key(self) -> str:
        """What identifies it across reads (its id, else its place): unfolded calls
        stay unfolded when the thread is read again."""
        if self.view.id:
            return self.view.id
        return f"#{self.index}" if self.index is not None else f"live-{self.serial}"

    @property
    def role(self) -> str:
        return self.view.role


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection inside: building the turns of a big thread makes tens of
    thousands of objects, and each full collection of the app's heap meanwhile cost
    more than the building."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def tail_start(messages: list[Any], size: int = TAIL) -> int:
    """Where the newest ``size`` messages start, moved back to a human message (so a
    tool call and its result are never cut apart): what a view shows first."""
    if len(messages) <= size:
        return 0
    for at in range(len(messages) - size, 0, -1):
        if view_of(messages[at]).role == "human":
            return at
    return 0


def view_of(value: Any) -> MessageView:
    """``value`` as a message; a value that is not one (a string in a list of
    strings...) as the ``value`` role with its one-line JSON."""
    view = as_message(value)
    if view is not None:
        return view
    return MessageView(role="value", content=value if isinstance(value, str) else inline(value))


class Transcript:
    """The turns shown: those read from the state, then those the current run adds."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.base = 0
        """How many of :attr:`turns` come from the state read last."""
        self._calls: dict[str, tuple[Turn, int]] = {}  # call id -> (turn, position)
        self._ids: dict[str, Turn] = {}  # message id -> its turn
        self._serial = 0

    def __len__(self) -> int:
        return len(self.turns)

    @staticmethod
    def build(messages: list[Any], offset: int = 0) -> list[Turn]:
        """The turns of a thread's ``messages`` (call :meth:`set_base` with them); the
        first is the thread's message ``offset``."""
        transcript = Transcript()
        for index, message in enumerate(messages, start=offset):
            transcript._add(view_of(message), message, index)
        return transcript.turns

    def set_base(self, turns: list[Turn], *, keep_live: bool) -> None:
        """Show ``turns`` (from :meth:`build`) as the thread's state; the turns a run
        added are kept after them with ``keep_live`` (the state was read mid-run)."""
        live = self.turns[self.base :] if keep_live else []
        self.turns = []
        self._calls = {}
        self._ids = {}
        for turn in turns:
            self._append(turn)
        self.base = len(self.turns)
        for turn in live:
            self._add(turn.view, turn.raw, None, streaming=turn.streaming, node=turn.node)

    # -- what a run adds ---------------------------------------------------------------
    def add(self, message: Any) -> int | None:
        """Add a message a run wrote (an input's, a node's); the index of the first turn
        that changed, None if none did."""
        return self._add(view_of(message), message, None)

    def stream(self, message_id: str | None, content: Any, node: str | None) -> int:
        """Append a chunk of a model's message (``message.delta``): to the message of
        that id being written, else a new one. Returns the turn's index."""
        text = view_of({"type": "AIMessageChunk", "content": content}).content
        for at in range(len(self.turns) - 1, self.base - 1, -1):
            turn = self.turns[at]
            if turn.streaming and message_id is not None and turn.view.id == message_id:
                turn.view = MessageView(
                    role="ai", content=turn.view.content + text, id=message_id, name=turn.view.name
                )
                return at
        self._serial += 1
        view = MessageView(role="ai", content=text, id=message_id)
        self._append(Turn(view, None, None, streaming=True, node=node, serial=self._serial))
        return len(self.turns) - 1

    def end_streams(self, node: str | None) -> int | None:
        """Drop the messages ``node``'s models were writing (its update has the final
        ones); the index of the first turn that changed."""
        first: int | None = None
        kept: list[Turn] = []
        for at, turn in enumerate(self.turns):
            if turn.streaming and (node is None or turn.node == node):
                first = at if first is None else first
                continue
            kept.append(turn)
        if first is not None:
            self.turns = kept
        return first

    # -- building ------------------------------------------------------------------
    def _add(
        self,
        view: MessageView,
        raw: Any,
        index: int | None,
        *,
        streaming: bool = False,
        node: str | None = None,
    ) -> int | None:
        if view.role == "remove":  # RemoveMessage: the message of that id goes
            return self._remove(view.content)
        if view.role == "tool" and view.tool_call_id in self._calls:
            turn, position = self._calls[view.tool_call_id]
            turn.results[position] = (view, raw)
            return self.turns.index(turn) if index is None else None
        same = self._ids.get(view.id) if view.id is not None else None
        if same is not None and same in self.turns:  # add_messages replaces it by its id
            same.view, same.raw, same.streaming = view, raw, streaming
            if index is not None:
                same.index = index
            self._index_calls(same)
            return self.turns.index(same)
        self._serial += 1
        turn = Turn(view, raw, index, streaming=streaming, node=node, serial=self._serial)
        self._append(turn)
        return len(self.turns) - 1

    def _append(self, turn: Turn) -> None:
        self.turns.append(turn)
        if turn.view.id is not None:
            self._ids[turn.view.id] = turn
        self._index_calls(turn)

    def _index_calls(self, turn: Turn) -> None:
        for position, call_id in enumerate(turn.view.call_ids):
            if call_id is not None:
                self._calls[call_id] = (turn, position)

    def _remove(self, message_id: str) -> int | None:
        if message_id == "__remove_all__":  # langgraph's REMOVE_ALL_MESSAGES
            self.turns, self.base, self._calls, self._ids = [], 0, {}, {}
            return 0
        turn = self._ids.pop(message_id, None)
        if turn is None or turn not in self.turns:
            return None
        at = self.turns.index(turn)
        del self.turns[at]
        if at < self.base:
            self.base -= 1
        return at


# -- edit and resend ------------------------------------------------------------------
@dataclass(frozen=True)
class BranchPoint:
    """Where to send an edited human message again from, so it starts a new branch.

    Attributes:
        checkpoint_id: The checkpoint the new branch grows from.
        kind: ``input``: the message came in a run's input; run the workflow from
            ``checkpoint_id`` with the new input (as Studio does). ``update``: a node
            or a state update wrote it; write the new message as ``as_node`` onto
            ``checkpoint_id`` and go on from there (a fork).
        as_node: The node that wrote it (``update`` only).
        before: Messages written together with it, before it (sent again with it).
        keep: How many of the thread's messages stay as they are on the new branch.
    """

    checkpoint_id: str
    kind: Literal["input", "update"]
    as_node: str | None
    before: list[Any]
    keep: int


def branch_point(
    store: CheckpointStore, thread_id: str, head_id: str, index: int, message: Any
) -> BranchPoint:
    """The :class:`BranchPoint` for ``message``, the thread's ``index``-th message at
    checkpoint ``head_id``: the first checkpoint of ``head_id``'s lineage that has it
    (found by bisection, each step reading one checkpoint's messages), and the one
    before it.

    Raises:
        UsageError: The message is not in the thread at ``head_id``, or it was in its
            first checkpoint (there is nothing before it to branch from).
    """
    count = store.thread(thread_id).checkpoints
    infos = {c.checkpoint_id: c for c in store.history(thread_id, limit=max(count, 1))}
    lineage: list[CheckpointInfo] = []
    at: str | None = head_id
    while at is not None and at in infos:
        lineage.append(infos[at])
        at = infos[at].parent_id
    lineage.reverse()  # oldest first
    wanted = view_of(message)

    def holds(info: CheckpointInfo) -> list[Any] | None:
        messages = messages_at(store, thread_id, info.checkpoint_id, key=KEY).messages or []
        if len(messages) > index and _same(view_of(messages[index]), wanted):
            return messages
        return None

    if not lineage or holds(lineage[-1]) is None:
        raise UsageError(
            f"message {index + 1} is not in thread {thread_id} any more: read it again",
            field="message",
            code="message_gone",
        )
    low, high = 0, len(lineage) - 1  # holds(lineage[high]); find the first that does
    while low < high:
        middle = (low + high) // 2
        if holds(lineage[middle]) is not None:
            high = middle
        else:
            low = middle + 1
    if high == 0:
        raise UsageError(
            f"message {index + 1} is in the first checkpoint of thread {thread_id}: "
            "there is nothing before it to branch from",
            field="message",
            code="no_checkpoint_before",
        )
    added, parent = lineage[high], lineage[high - 1]
    now = holds(added) or []
    previous = messages_at(store, thread_id, parent.checkpoint_id, key=KEY).messages or []
    keep = min(len(previous), index)
    before = now[keep:index]
    if added.writes == ("__start__",) and parent.source == "input":
        origin = parent.parent_id or parent.checkpoint_id  # the state before that input
        return BranchPoint(origin, "input", None, before, keep)
    writer = next((w for w in added.writes if not w.startswith("__")), None)
    return BranchPoint(parent.checkpoint_id, "update", writer, before, keep)


def _same(a: MessageView, b: MessageView) -> bool:
    if a.id is not None and b.id is not None:
        return a.id == b.id
    return (a.role, a.content) == (b.role, b.content)
