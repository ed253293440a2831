"""The chat view (ctrl+n): the current thread's messages as a conversation, for workflows
whose state has a ``messages`` list, as LangGraph Studio's chat mode.

The conversation (:class:`~lgp_tui.widgets.chat.chat_log.ChatLog`) is read from the
thread's newest checkpoint in a worker (:func:`lgp_engine.messages_at`), and follows
the runs as they go: their input, each node's messages, the tokens a model streams
(``message.delta``), appended live; at a run's end the thread is read again. The box
below sends a human message on the thread: the app runs the workflow with
``{"messages": [{"role": "user", "content": ...}]}`` as its Run does, so the run log,
the graph and the status bar follow it too. A thread that waits at an interrupt is
not sent a new message: the chat says so and offers the answer (f6).

Time travel: ``e`` on an earlier human message puts it in the box to edit; enter
sends it again as a new branch of the thread, from the checkpoint before that message
came in (:func:`lgp_tui.chat.branch_point`); the old branch stays in the history.

The screen asks the app for runs with :class:`ChatScreen.RunRequested`; the app
hands it the run's events (:meth:`ChatScreen.run_event`), its end
(:meth:`ChatScreen.run_ended`) and refusals (:meth:`ChatScreen.refused`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from lgp_engine import (
    CheckpointStore,
    LGPError,
    LoadedWorkflow,
    MessagesAt,
    NotFoundError,
    RunEvent,
    Runner,
    inline,
    messages_at,
)

from ..chat import KEY, BranchPoint, Transcript, Turn, branch_point, collector_paused, tail_start
from ..widgets.chat.chat_log import ChatLog, Layout, lay_out
from ..widgets.footer.fitted_footer import FittedFooter

if TYPE_CHECKING:
    from .. import workers
    from .interrupt_dialog import ResumeAnswer

Post = Callable[[Message], Any]
RunKind = Literal["send", "resume", "branch", "fork"]
_PLACEHOLDER = "Type a message; enter sends it on this thread"
#: From this many messages, a thread's objects are frozen out of garbage collection.
FREEZE_AT = 1000


# -- worker bodies (run on worker threads; they only post messages) -----------------
def _read(
    store: CheckpointStore,
    thread_id: str,
    width: int,
    unfolded: frozenset[str],
    post: Post,
    generation: int = 0,
    taken: threading.Event | None = None,
) -> None:
    """Read the thread; post its newest messages laid out for ``width`` first when it
    has many (:func:`~lgp_tui.chat.tail_start`), then all of them. In between it waits
    (a moment at most) until ``taken`` says they are on screen: building the rest
    meanwhile would slow the UI thread down, which shares the interpreter with it."""
    try:
        at = messages_at(store, thread_id, key=KEY)
    except NotFoundError:  # nothing run on it yet
        post(ChatScreen.ThreadRead(thread_id, None, [], None, generation=generation))
        return
    except Exception as exc:  # noqa: BLE001 - shown in place, the app keeps going
        post(ChatScreen.ReadFailed(thread_id, exc))
        return
    messages = at.messages or []
    with collector_paused():
        tail = tail_start(messages)
        if tail:
            turns = Transcript.build(messages[tail:], offset=tail)
            newest = _laid(turns, width, unfolded)
            post(
                ChatScreen.ThreadRead(
                    thread_id, at, turns, newest, generation=generation, taken=taken
                )
            )
            if taken is not None:
                taken.wait(2.0)
        turns = Transcript.build(messages)
        layout = _laid(turns, width, unfolded)
    post(ChatScreen.ThreadRead(thread_id, at, turns, layout, generation=generation))


def _laid(turns: list[Turn], width: int, unfolded: frozenset[str]) -> Layout | None:
    if width <= 0:
        return None
    layout = Layout(width, unfolded)
    lay_out(turns, layout)
    return layout


def _find_branch(
    store: CheckpointStore,
    thread_id: str,
    head_id: str,
    turn: Turn,
    text: str,
    messages: list[Any],
    post: Post,
) -> None:
    assert turn.index is not None
    try:
        point = branch_point(store, thread_id, head_id, turn.index, turn.raw)
    except Exception as exc:  # noqa: BLE001
        post(ChatScreen.ReadFailed(thread_id, exc))
        return
    kept = Transcript.build(messages[: point.keep])
    post(ChatScreen.BranchFound(thread_id, turn.index, text, point, kept))


class ChatScreen(Screen[str | None]):
    """The chat view of ``thread_id`` (None: a new conversation); dismissed with the
    thread it showed last, so the run bar goes on with it.

    Args:
        store: The open checkpoint store (``app.runner.store``).
        workflow: The loaded workflow's name (for the title).
        thread_id: The thread to show.
        running: A run is in progress as it opens.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel_run",
            "Cancel run",
            id="chat.cancel",
            tooltip="Cancel the run in progress",
        ),
        Binding(
            "escape",
            "back",
            "Close",
            id="chat.close",
            tooltip="Stop editing a message; else close the chat view",
        ),
        Binding(
            "f6",
            "answer",
            "Answer",
            id="chat.answer",
            tooltip="Answer the interrupt the thread waits at",
        ),
        Binding(
            "f2",
            "new_chat",
            "New chat",
            id="chat.new",
            tooltip="Start a conversation on a new thread",
        ),
        Binding("up", "to_conversation", "Messages", show=False),
    ]

    class RunRequested(Message):
        """Ask the app to run the workflow for the chat: ``send`` a message (``value``
        is the input), ``resume`` an interrupt (``value`` the answer), ``branch``
        (``value`` the input, run from ``checkpoint_id``) or ``fork`` (``value`` the
        update, written onto ``checkpoint_id`` as ``as_node``)."""

        def __init__(
            self,
            kind: RunKind,
            thread_id: str | None,
            value: Any,
            checkpoint_id: str | None = None,
            as_node: str | None = None,
        ) -> None:
            super().__init__()
            self.kind = kind
            self.thread_id = thread_id
            self.value = value
            self.checkpoint_id = checkpoint_id
            self.as_node = as_node

        def job(self, runner: Runner, workflow: LoadedWorkflow) -> workers.RunJob:
            """The run worker's job for this request."""
            from .. import workers

            if self.kind == "send":
                return workers.RunJob(runner, workflow, self.value, self.thread_id)
            assert self.thread_id is not None
            if self.kind == "resume":
                return workers.ResumeJob(runner, workflow, self.thread_id, self.value)
            assert self.checkpoint_id is not None
            if self.kind == "branch":
                return workers.BranchJob(
                    runner, workflow, self.value, self.thread_id, self.checkpoint_id
                )
            return workers.ForkJob(
                runner, workflow, self.thread_id, self.checkpoint_id, self.value, self.as_node
            )

    class ThreadRead(Message):
        """The thread's messages at its newest checkpoint (``at`` None: no thread yet)
        as ``turns``, laid out (``layout``, None: not yet); ``complete`` is False for
        the newest of many, shown while the others are read."""

        def __init__(
            self,
            thread_id: str,
            at: MessagesAt | None,
            turns: list[Turn],
            layout: Layout | None,
            *,
            generation: int = 0,
            taken: threading.Event | None = None,
        ) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.at = at
            self.turns = turns
            self.layout = layout
            self.generation = generation
            self.taken = taken
            """Set once these are on screen (None: they are all of the thread's)."""

        @property
        def complete(self) -> bool:
            return self.taken is None

    class BranchFound(Message):
        """Where the edited message ``index`` goes again from, and the turns kept."""

        def __init__(
            self, thread_id: str, index: int, text: str, point: BranchPoint, kept: list[Turn]
        ) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.index = index
            self.text = text
            self.point = point
            self.kept = kept

    class ReadFailed(Message):
        """Reading the thread (or where a message came in) failed."""

        def __init__(self, thread_id: str, error: Exception) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.error = error

    def __init__(
        self,
        store: CheckpointStore,
        workflow: str,
        thread_id: str | None,
        *,
        running: bool = False,
    ) -> None:
        super().__init__(id="chat")
        self.store = store
        self.workflow = workflow
        self.thread_id = thread_id
        self.running = running
        self.head: MessagesAt | None = None
        """The thread's newest checkpoint as read last (None: not read, or no thread)."""
        self.messages: list[Any] = []
        self.loaded = False
        """The thread was read whole (or there is none yet)."""
        self.shown = False
        """The thread's newest messages are shown (maybe not all yet: see ``loaded``)."""
        self._generation = 0  # of the reads: a late answer to an older one is dropped
        self.waiting: list[dict[str, Any]] = []
        """The interrupts the thread waits at (as read, or as the run just said)."""
        self.waiting_node: str | None = None
        self.editing: Turn | None = None
        self.status = ""
        """The line under the conversation, as text (what a run does, problems)."""
        self._sent = ""  # the text of the last message sent, back in the box if refused
        self._branching = False

    # -- layout ----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ChatLog(id="chat-log")
        yield Static("", id="chat-status", markup=False)
        yield Input(placeholder=_PLACEHOLDER, id="chat-input", select_on_focus=False)
        yield FittedFooter()

    def on_mount(self) -> None:
        self._title()
        self.query_one("#chat-input").border_title = "Message"
        self.query_one("#chat-input").focus()
        self.call_after_refresh(self._reload)  # once laid out: the read lays out for the width

    @property
    def log_view(self) -> ChatLog:
        return self.query_one(ChatLog)

    def _title(self) -> None:
        thread = f"thread {self.thread_id}" if self.thread_id else "new thread"
        self.log_view.border_title = f"Chat · {self.workflow} · {thread}"

    def _say(self, text: str, style: str = "") -> None:
        self.status = text
        self.query_one("#chat-status", Static).update(Text(text, style=style))

    # -- reading ---------------------------------------------------------------------
    def _reload(self) -> None:
        self._generation += 1
        if self.thread_id is None:
            self.head, self.messages, self.waiting = None, [], []
            self.log_view.set_turns([])
            self.loaded = self.shown = True
            self._idle_status()
            return
        log = self.log_view
        self.run_worker(
            partial(
                _read,
                self.store,
                self.thread_id,
                log.content_width,
                frozenset(log.unfolded),
                self.post_message,
                self._generation,
                threading.Event(),
            ),
            name=f"chat read {self.thread_id}",
            group="chat-read",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_chat_screen_thread_read(self, message: ThreadRead) -> None:
        if message.thread_id != self.thread_id or message.generation != self._generation:
            return  # a thread shown before, or an older read of it
        at = message.at
        self.head = at
        self.messages = list(at.messages or []) if at is not None else []
        self.log_view.set_turns(message.turns, keep_live=self.running, layout=message.layout)
        self.shown = True
        self.loaded = message.complete
        if message.complete and len(self.messages) >= FREEZE_AT:
            # a long conversation's objects live as long as the view: left in the
            # collector's oldest generation, each full collection scanned them all
            # (frames of 200+ ms while scrolling 10,000 messages). Frozen, they are
            # skipped (reference counting still frees them).
            gc.freeze()
        if message.taken is not None:
            self.call_after_refresh(message.taken.set)  # the rest may be built now
        if not self.running:
            self.waiting = at.interrupts if at is not None else []
            self.waiting_node = at.next[0] if at is not None and at.next else None
            self._idle_status()

    def on_chat_screen_read_failed(self, message: ReadFailed) -> None:
        self._branching = False
        error = message.error
        title = error.title if isinstance(error, LGPError) else type(error).__name__
        self._say(f"✖ {title}: {error}", "red")
        self.loaded = True

    def _idle_status(self) -> None:
        if self.head is not None and self.head.messages is None:
            self._say(
                f"Thread {self.thread_id} has no messages list in its state: the chat "
                f"shows the {KEY!r} key of a workflow's state.",
                "yellow",
            )
        elif self.waiting:
            self._say(self._waiting_text(), "yellow")
        elif self.thread_id is None:
            self._say("A new conversation: the first message starts a thread.", "dim")
        elif self.status.startswith(("⏸", "Thread", "A new")):
            self._say("")  # no longer so (what the last run did stays said)

    def _waiting_text(self, head: str = "⏸ Thread") -> str:
        where = f" at {self.waiting_node}" if self.waiting_node else ""
        value = self.waiting[0].get("value") if self.waiting else None
        asked = value.get("question") if isinstance(value, dict) else value
        if isinstance(asked, str):
            asked = asked if len(asked) <= 70 else asked[:69] + "…"
        elif asked is not None:
            asked = inline(asked, 70)
        what = f": {asked}" if asked is not None else ""
        return f"{head} {_short(self.thread_id)} waits{where}{what} · f6 answers it"

    # -- the app's run, as it goes ----------------------------------------------------
    def run_event(self, event: RunEvent) -> None:
        """One event of the app's current run."""
        log = self.log_view
        if event.type == "run.started":
            self.running = True
            self.waiting = []
            self.refresh_bindings()
            if event.thread_id != self.thread_id:  # a new thread (or another one's run):
                self.thread_id = event.thread_id  # what the run adds, then read at its end
                self.head, self.messages = None, []
                log.set_turns([])
                self._title()
            for message in _run_messages(event.data):
                log.add(message)
            self._say(f"● running on thread {_short(event.thread_id)}…", "cyan")
            return
        if event.thread_id != self.thread_id:
            return
        path = event.data.get("path") or []
        if event.type == "message.delta":
            kind = str(event.data.get("message_type") or "")
            if kind.endswith("Chunk"):  # a token; whole messages come with the node's update
                message_id = event.data.get("id")
                log.stream(
                    message_id if isinstance(message_id, str) else None,
                    event.data.get("content"),
                    event.node,
                )
                self._say(f"● {event.node or 'a model'} is writing…", "cyan")
        elif event.type == "node.finished" and not path:
            log.end_streams(event.node)
            update = event.data.get("update")
            if isinstance(update, dict) and KEY in update:
                found = update[KEY]
                for message in found if isinstance(found, list) else [found]:
                    log.add(message)
        elif event.type == "interrupt":
            self.waiting = [i for i in event.data.get("interrupts") or [] if isinstance(i, dict)]
            self.waiting_node = event.node
            self._say(self._waiting_text(), "yellow")
        elif event.type == "run.completed":
            self._say("✓ run completed", "green")
        elif event.type == "run.failed":
            self._say(f"✖ run failed: {event.data.get('message') or ''}", "red")
        elif event.type == "run.cancelled":
            self._say("■ run cancelled", "yellow")

    def run_ended(self) -> None:
        """The app's run is over (after its last event): read the thread again."""
        self.running = False
        self._branching = False
        self.log_view.end_streams(None)
        self.refresh_bindings()
        self._reload()

    def refused(self, text: str) -> None:
        """The app did not run what the chat asked (or the engine refused it)."""
        self._branching = False
        self._say(text, "red")
        box = self.query_one("#chat-input", Input)
        if self._sent and not box.value:
            box.value = self._sent  # what was typed is not lost
        self._sent = ""

    # -- sending -----------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        if self.running or self._branching:
            self.app.bell()
            self._say("A run is in progress: wait for it, or esc cancels it.", "yellow")
            return
        if not self.loaded:
            self.app.bell()
            self._say("Still reading the thread…", "yellow")
            return
        if self.editing is not None:
            self._resend(self.editing, text)
            return
        if self.waiting:  # a new message would leave the question behind: answer it first
            self.app.bell()
            self._say(self._waiting_text("⏸ Not sent: thread"), "yellow")
            self.action_answer()
            return
        self._sent = text
        event.input.value = ""
        self._say("sending…", "cyan")
        value = {KEY: [{"role": "user", "content": text}]}
        self.post_message(self.RunRequested("send", self.thread_id, value))

    def _resend(self, turn: Turn, text: str) -> None:
        if self.thread_id is None or self.head is None or turn.index is None:
            self._say("That message is not in the thread's state yet: read it again.", "red")
            return
        self._branching = True
        self._sent = text
        self._say(f"Finding where message {turn.index + 1} came into the thread…", "cyan")
        self.run_worker(
            partial(
                _find_branch,
                self.store,
                self.thread_id,
                self.head.checkpoint_id,
                turn,
                text,
                self.messages,
                self.post_message,
            ),
            name=f"chat branch {self.thread_id}",
            group="chat-branch",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_chat_screen_branch_found(self, message: BranchFound) -> None:
        if message.thread_id != self.thread_id:
            return
        point = message.point
        edited = {"role": "user", "content": message.text}
        sent = [*point.before, edited]
        self._stop_editing(clear=True)
        self.log_view.set_turns(message.kept)  # the new branch, as it starts
        self._say(
            f"↳ message {message.index + 1} goes again as a new branch "
            f"(from checkpoint …{point.checkpoint_id[-8:]}); the old one stays in the history",
            "cyan",
        )
        if point.kind == "input":
            request = self.RunRequested("branch", self.thread_id, {KEY: sent}, point.checkpoint_id)
        else:
            request = self.RunRequested(
                "fork", self.thread_id, {KEY: sent}, point.checkpoint_id, point.as_node
            )
        self.post_message(request)

    # -- keys ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return self.running and self.editing is None
        if action == "back":
            return not (self.running and self.editing is None)
        if action == "answer":
            return bool(self.waiting) and not self.running
        return True

    async def action_cancel_run(self) -> None:
        await self.app.run_action("cancel")  # the app's: it owns the run worker

    def action_back(self) -> None:
        if self.editing is not None:
            self._stop_editing(clear=True)
            self._idle_status()
            return
        self.dismiss(self.thread_id)

    def action_close(self) -> None:
        self.dismiss(self.thread_id)

    def action_new_chat(self) -> None:
        if self.running:
            self.app.bell()
            self._say("A run is in progress: wait for it, or esc cancels it.", "yellow")
            return
        self._stop_editing(clear=False)
        self.thread_id = None
        self._title()
        self._reload()
        self.query_one("#chat-input").focus()

    def action_to_conversation(self) -> None:
        if self.log_view.select_last("human"):
            self.log_view.focus()

    def action_answer(self) -> None:
        if not self.waiting or self.thread_id is None:
            self.app.bell()
            return
        from .interrupt_dialog import InterruptDialog

        if any(isinstance(s, InterruptDialog) for s in self.app.screen_stack):
            return
        self.app.push_screen(
            InterruptDialog(self.thread_id, self.waiting, self.waiting_node), self._answered
        )

    def _answered(self, answer: ResumeAnswer | None) -> None:
        if answer is None or answer.thread_id != self.thread_id:
            return
        self._say("resuming…", "cyan")
        self.post_message(self.RunRequested("resume", self.thread_id, answer.value))

    # -- the conversation's requests -------------------------------------------------------
    def on_chat_log_edit_requested(self, message: ChatLog.EditRequested) -> None:
        turn = message.turn
        if turn.role != "human" or turn.index is None:
            self.app.bell()
            self._say("Only a human message of the thread can be edited and sent again.", "yellow")
            return
        self.editing = turn
        box = self.query_one("#chat-input", Input)
        box.value = turn.view.content.replace("\n", " ")
        box.border_title = (
            f"Edit message {turn.index + 1} · enter resends it as a new branch · esc: don't"
        )
        box.add_class("-editing")
        box.focus()
        self.refresh_bindings()

    def _stop_editing(self, *, clear: bool) -> None:
        if self.editing is None:
            return
        self.editing = None
        box = self.query_one("#chat-input", Input)
        if clear:
            box.value = ""
        box.border_title = "Message"
        box.remove_class("-editing")
        self.refresh_bindings()

    def on_chat_log_view_requested(self, message: ChatLog.ViewRequested) -> None:
        from .value_viewer import ValueViewer

        turn = message.turn
        value: Any = turn.raw if turn.raw is not None else turn.view.text(one_line=False)
        if turn.results:
            value = [value, *(raw for _view, raw in turn.results.values())]
        where = f"message {turn.index + 1}" if turn.index is not None else "this run"
        self.app.push_screen(ValueViewer(value, turn.role, f"thread {self.thread_id} · {where}"))

    def on_chat_log_copied(self, message: ChatLog.Copied) -> None:
        first = message.text.splitlines()[0] if message.text else ""
        self.notify(first[:80], title="Copied to the clipboard")


def _short(thread_id: str | None) -> str:
    """A thread id short enough for the status line (a generated UUID's first part)."""
    text = thread_id or "new"
    return text if len(text) <= 12 else text[:8] + "…"


def _run_messages(data: Mapping[str, Any]) -> list[Any]:
    """The messages a run brings in: its input's, or a fork's update's."""
    for key in ("input", "update"):
        value = data.get(key)
        if isinstance(value, dict) and KEY in value:
            found = value[KEY]
            return list(found) if isinstance(found, list) else [found]
    return []
