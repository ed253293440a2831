"""The checkpoint browser: threads → a thread's history tree → the state at a checkpoint.

It lists threads (newest first), draws the selected thread's history with branch
prefixes from :func:`lgp_engine.flatten_tree`, and shows the state at
the selected checkpoint as a collapsible tree with a diff against its parent.
Every store read runs in a named, exclusive thread worker and comes back as one of
the messages nested on :class:`CheckpointBrowser`.

Actions (replay from here, fork with an edited state, resume an interrupt, delete
a thread) are asked of the app with :class:`CheckpointBrowser.ActionRequested`:
the app runs them like any run (events in the run log) and calls
:meth:`CheckpointBrowser.action_finished`, which reads the thread again so a new
branch shows up at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static, Tree
from textual.widgets.tree import TreeNode

from lgp_engine import (
    CheckpointInfo,
    CheckpointStore,
    DiffLine,
    LGPError,
    RunStore,
    StateAt,
    SubgraphState,
    ThreadSummary,
    as_message,
    describe_diff,
    flatten_tree,
    history_tree,
    inline,
    state_at,
    subgraph_states,
    summarize_threads,
)
from lgp_tui import recorded_replays
from lgp_tui.thread_rows import short_id
from lgp_tui.widgets.footer.fitted_footer import FittedFooter
from lgp_tui.widgets.history.history_list import HistoryList, Row
from lgp_tui.widgets.threads.thread_list import ThreadList

from .confirm_dialog import ConfirmDialog
from .fork_dialog import ForkAnswer, ForkDialog
from .interrupt_dialog import InterruptDialog, ResumeAnswer

Post = Callable[[Message], Any]
Action = Literal["replay", "fork", "resume", "delete"]
THREAD_LIMIT = 200
HISTORY_LIMIT = 2000
_DIFF_STYLE = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow")}


# -- worker bodies (run on worker threads; they only post messages) -----------------
def _read_threads(store: CheckpointStore, runs: RunStore, post: Post) -> None:
    try:
        threads = summarize_threads(store, runs, limit=THREAD_LIMIT)
    except Exception as exc:  # noqa: BLE001 - shown in the pane, the app keeps going
        post(CheckpointBrowser.ReadFailed("threads", exc))
        return
    post(CheckpointBrowser.ThreadsRead(threads))


def _read_history(store: CheckpointStore, thread_id: str, post: Post) -> None:
    try:
        total = store.thread(thread_id).checkpoints
        infos = store.history(thread_id, limit=HISTORY_LIMIT)
        rows = flatten_tree(history_tree(infos))
    except Exception as exc:  # noqa: BLE001
        post(CheckpointBrowser.ReadFailed("history", exc))
        return
    post(CheckpointBrowser.HistoryRead(thread_id, rows, total))


def _read_state(
    store: CheckpointStore, thread_id: str, checkpoint_id: str, against: str | None, post: Post
) -> None:
    """The state at ``checkpoint_id`` and its differences from ``against`` (a marked
    checkpoint), else from its parent."""
    try:
        state = state_at(store, thread_id, checkpoint_id)
        base_id = against if against not in (None, checkpoint_id) else state.parent_id
        base = state_at(store, thread_id, base_id) if base_id else None
        lines = describe_diff(base.values if base else {}, state.values)
    except Exception as exc:  # noqa: BLE001
        post(CheckpointBrowser.ReadFailed("state", exc))
        return
    marked = base_id if base_id is not None and base_id == against else None
    post(CheckpointBrowser.StateRead(state, lines, has_parent=base is not None, against=marked))


def _read_subgraphs(store: CheckpointStore, thread_id: str, checkpoint_id: str, post: Post) -> None:
    """The states of the subgraphs that ran into ``checkpoint_id`` or run from it."""
    try:
        subgraphs = subgraph_states(store, thread_id, checkpoint_id)
    except Exception as exc:  # noqa: BLE001
        post(CheckpointBrowser.ReadFailed("subgraph state", exc))
        return
    post(CheckpointBrowser.SubgraphsRead(thread_id, checkpoint_id, subgraphs))


class CheckpointBrowser(Screen[None]):
    """Browses the checkpoints of the project's store.

    Args:
        store: The open checkpoint store (``app.runner.store``).
        nodes: The loaded workflow's nodes, offered as ``as_node`` when forking.
        runs: The run store (``app.runner.runs``): the threads' runs and names.
        select: The thread to select first (default: the newest).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close",
            "Close",
            id="checkpoints.close",
            tooltip="Close the checkpoint browser",
        ),
        Binding(
            "r", "refresh", "Refresh", id="checkpoints.refresh", tooltip="Read the threads again"
        ),
        Binding(
            "p",
            "replay",
            "Replay",
            id="checkpoints.replay",
            tooltip="Re-run the nodes after the selected checkpoint (a new branch)",
        ),
        Binding(
            "f",
            "fork",
            "Fork",
            id="checkpoints.fork",
            tooltip="Edit the state at the selected checkpoint and continue from it",
        ),
        Binding(
            "u",
            "resume",
            "Resume",
            id="checkpoints.resume",
            tooltip="Answer the interrupt the thread is waiting at",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="checkpoints.delete",
            tooltip="Delete the selected thread (asks first)",
        ),
        Binding(
            "n,f2",
            "rename",
            "Rename",
            id="checkpoints.rename",
            tooltip="Name the selected thread (its metadata, as the API's clients see it)",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            id="checkpoints.filter",
            tooltip="Filter the threads by name, id, workflow or status (or type on the list)",
        ),
        Binding(
            "m",
            "mark",
            "Mark",
            id="checkpoints.mark",
            tooltip="Mark this checkpoint: the others are diffed against it (m on it again: "
            "against their parent)",
        ),
        Binding(
            "v",
            "view",
            "View",
            id="checkpoints.view",
            tooltip="Read the state value under the cursor whole (the whole state from the lists)",
        ),
        Binding(
            "P",
            "replay_recorded",
            "Replay recorded",
            id="checkpoints.replay_recorded",
            show=False,  # the footer is full; the help screen lists it
            tooltip="Re-run the nodes after the selected checkpoint with the model and tool "
            "answers the original branch recorded (no new tokens, offline), then diff the "
            "two branches",
        ),
    ]

    class ActionRequested(Message):
        """Ask the app to replay, fork, resume or delete (see the class docstring)."""

        def __init__(
            self,
            action: Action,
            thread_id: str,
            checkpoint_id: str | None = None,
            *,
            update: dict[str, Any] | None = None,
            as_node: str | None = None,
            value: Any = None,
            recorded: Any = None,
        ) -> None:
            super().__init__()
            self.action = action
            self.thread_id = thread_id
            self.checkpoint_id = checkpoint_id
            self.update = update
            self.as_node = as_node
            self.value = value
            self.recorded = recorded
            """A replay's ``RecordingSource``: a recorded replay."""

    class ThreadsRead(Message):
        """The threads of the store, newest first."""

        def __init__(self, threads: list[ThreadSummary]) -> None:
            super().__init__()
            self.threads = threads

    class HistoryRead(Message):
        """A thread's history as ``flatten_tree`` rows; ``total`` is its checkpoint count."""

        def __init__(
            self, thread_id: str, rows: list[tuple[str, CheckpointInfo, int]], total: int
        ) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.rows = rows
            self.total = total

    class StateRead(Message):
        """The state at a checkpoint and its differences from its parent, or from the
        marked checkpoint (``against``)."""

        def __init__(
            self,
            state: StateAt,
            lines: list[DiffLine],
            *,
            has_parent: bool,
            against: str | None = None,
        ) -> None:
            super().__init__()
            self.state = state
            self.lines = lines
            self.has_parent = has_parent
            self.against = against

    class SubgraphsRead(Message):
        """The subgraphs that ran around a checkpoint, each at its newest checkpoint."""

        def __init__(
            self, thread_id: str, checkpoint_id: str, subgraphs: list[SubgraphState]
        ) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.checkpoint_id = checkpoint_id
            self.subgraphs = subgraphs

    class ReadFailed(Message):
        """A store read failed; ``what`` is the pane it was for."""

        def __init__(self, what: str, error: Exception) -> None:
            super().__init__()
            self.what = what
            self.error = error

    def __init__(
        self,
        store: CheckpointStore,
        nodes: list[str] | None = None,
        *,
        runs: RunStore,
        select: str | None = None,
    ) -> None:
        super().__init__(id="checkpoints")
        self.store = store
        self.runs = runs
        self.nodes = nodes or []
        """The loaded workflow's nodes, offered as ``as_node`` when forking."""
        self._select = select
        self.state: StateAt | None = None
        self.busy: str | None = None
        self._reload_history = False
        self.threads: list[ThreadSummary] = []
        self.rows: list[tuple[str, CheckpointInfo, int]] = []
        self.thread_id: str | None = None
        self._thread_at = 0  # the selected thread's place in the list
        self.checkpoint_id: str | None = None
        self.diff_lines: list[str] = []
        self.marked: str | None = None
        """A checkpoint of the thread marked with ``m``: the others are diffed against it."""
        self._recorded: tuple[Any, float] | None = None  # a recorded replay asked, and when

    # -- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="cp-body"):
            yield ThreadList("cp-threads", id="cp-threads-pane")
            yield HistoryList(id="cp-history")
            with Vertical(id="cp-detail"):
                yield Tree("state", id="cp-state")
                with VerticalScroll(id="cp-diff-scroll"):
                    yield Static(Text("Select a checkpoint.", style="dim"), id="cp-diff")
        yield Static("", id="cp-status", markup=False)
        yield FittedFooter()

    def on_mount(self) -> None:
        self.query_one("#cp-threads-pane").border_title = "Threads"
        self.query_one("#cp-history").border_title = "History"
        self.query_one("#cp-state").border_title = "State"
        self.query_one("#cp-diff-scroll").border_title = "Diff vs parent"
        self.query_one("#cp-state", Tree).show_root = False
        self.action_refresh()
        self.query_one("#cp-threads").focus()

    def select_thread(self, thread_id: str) -> None:
        """Select ``thread_id`` (the command palette's "browse thread"): at once if it
        is listed (the filter cleared if it hides it), else once the threads are read."""
        listed = self.query_one(ThreadList)
        if any(t.thread_id == thread_id for t in self.threads):
            if not listed.highlight(thread_id):
                listed.filter_input.value = ""
                listed.set_threads(self.threads, thread_id)
            listed.options.focus()
            return
        self._select = thread_id
        self.action_refresh()

    # -- actions ---------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss(None)

    def action_mark(self) -> None:
        """Mark the highlighted checkpoint (or unmark it): the diff pane then compares
        every checkpoint of the thread with it, whatever branch it is on."""
        if self.thread_id is None or self.checkpoint_id is None:
            self.notify("Select a checkpoint to mark.", severity="warning")
            return
        unmark = self.marked == self.checkpoint_id
        self.marked = None if unmark else self.checkpoint_id
        history = self.query_one("#cp-history", HistoryList)
        at = history.highlighted
        history.set_rows(self._history_rows(), highlight=at)
        self.notify(
            "Diffs are against each checkpoint's parent again."
            if unmark
            else f"Marked ◆ {short_id(self.checkpoint_id)}: pick another checkpoint to diff "
            "against it (m on it again unmarks)."
        )
        self._read_selected_state()

    def _history_rows(self) -> list[Row]:
        return [
            Row(
                _history_prompt(*row, marked=row[1].checkpoint_id == self.marked),
                row[1].checkpoint_id,
            )
            for row in self.rows
        ]

    def action_refresh(self) -> None:
        self.query_one("#cp-threads-pane").border_subtitle = "reading…"
        self.run_worker(
            partial(_read_threads, self.store, self.runs, self.post_message),
            name="checkpoints threads",
            group="cp-threads",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def action_replay(self) -> None:
        if (state := self._selected_state("replay")) is not None:
            self._request("replay", state.checkpoint_id)

    def action_replay_recorded(self) -> None:
        """Find what the branch after the selected checkpoint recorded, then ask the
        app to replay from it answered by that recording (:meth:`_recording_found`)."""
        if (state := self._selected_state("replay recorded")) is None:
            return
        self.busy = f"reading the recording of {state.thread_id}"
        self._say(f"{self.busy}…")
        self.run_worker(
            partial(
                recorded_replays.find,
                self.store,
                self.runs,
                state.thread_id,
                state.checkpoint_id,
                self.post_message,
            ),
            name=f"checkpoints recording {state.checkpoint_id}",
            group="cp-recording",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    @on(recorded_replays.RecordingFound)
    def _recording_found(self, message: recorded_replays.RecordingFound) -> None:
        self.busy = None
        if message.source is None:
            error = message.error
            title = error.title if isinstance(error, LGPError) else type(error).__name__
            self._say(f"✖ {title}: {error}")
            self.notify(f"{error}", title=title, severity="error")
            return
        if message.thread_id != self.thread_id:
            return  # another thread was selected meanwhile
        self._recorded = (message.source, time.time())
        self._request("replay", message.checkpoint_id, recorded=message.source)

    @on(recorded_replays.ReplayCompared)
    def _replay_compared(self, message: recorded_replays.ReplayCompared) -> None:
        from .value_viewer import ValueViewer

        if message.comparison is None:
            text = f"Recorded replay ended without a branch to compare: {message.error}"
            self._say(f"✖ {text}")
            self.notify(text, title="Recorded replay", severity="error")
            return
        text = recorded_replays.summary(message)
        self._say(text)
        self.notify(text, title="Recorded replay")
        where = f"thread {message.source.thread_id} · original vs replay"
        self.app.push_screen(
            ValueViewer(recorded_replays.diff_value(message), "recorded replay · diff", where)
        )

    def action_fork(self) -> None:
        if (state := self._selected_state("fork")) is not None:
            self.app.push_screen(
                ForkDialog(state.thread_id, state.checkpoint_id, dict(state.values), self.nodes),
                self._forked,
            )

    def action_resume(self) -> None:
        state = self._selected_state("resume")
        if state is None:
            return
        waiting = [i for i in state.interrupts if isinstance(i, dict)]
        if not waiting:
            self._say(
                f"Thread {state.thread_id} is not waiting at an interrupt at this "
                "checkpoint: select its newest checkpoint, or replay/fork from here."
            )
            self.app.bell()
            return
        self.app.push_screen(InterruptDialog(state.thread_id, waiting), self._resumed)

    def action_delete(self) -> None:
        if self.thread_id is None:
            self.app.bell()
            return
        thread = next((t for t in self.threads if t.thread_id == self.thread_id), None)
        count = f" and its {thread.checkpoints} checkpoints" if thread else ""
        self.app.push_screen(
            ConfirmDialog(
                "Delete thread?",
                f"Delete thread {self.thread_id}{count}, with its runs and events? "
                "This cannot be undone.",
            ),
            partial(self._deleted, self.thread_id),
        )

    def action_rename(self) -> None:
        from .rename_dialog import RenameDialog

        thread = next((t for t in self.threads if t.thread_id == self.thread_id), None)
        if thread is None:
            self._say("Select a thread to rename first.")
            self.app.bell()
            return
        self.app.push_screen(
            RenameDialog(self.store, self.runs, thread), partial(self._renamed, thread)
        )

    def _renamed(self, thread: ThreadSummary, name: str | None) -> None:
        if name is None:
            return
        self._say(
            f"named thread {thread.thread_id} {name!r}"
            if name
            else f"thread {thread.thread_id} is named after its first input again"
        )
        self.action_refresh()

    def action_filter(self) -> None:
        self.query_one(ThreadList).filter_input.focus()

    def action_finished(self, thread_id: str | None, outcome: str) -> None:
        """The app finished an action: show ``outcome`` and read the threads again (a
        recorded replay's branch is then compared with the original)."""
        self.busy = None
        self._say(outcome)
        recorded, self._recorded = self._recorded, None
        if recorded is not None:
            source, since = recorded
            self.run_worker(
                partial(
                    recorded_replays.compare,
                    self.store,
                    self.runs,
                    source,
                    since,
                    self.post_message,
                ),
                name=f"checkpoints compare {source.thread_id}",
                group="cp-recording",
                exclusive=True,
                thread=True,
                exit_on_error=False,
            )
        if thread_id is not None and thread_id != self.thread_id:
            self.thread_id = thread_id
        self._reload_history = True
        self.action_refresh()

    def action_view(self) -> None:
        """The value under the state tree's cursor, or (from the lists) the whole state."""
        state = self.state
        if state is None or state.checkpoint_id != self.checkpoint_id:
            self._say("Select a checkpoint to view its state first.")
            self.app.bell()
            return
        from .value_viewer import ValueViewer

        where = f"thread {state.thread_id} · step {state.step} · {short_id(state.checkpoint_id)}"
        tree = self.query_one("#cp-state", Tree)
        node = tree.cursor_node
        if tree.has_focus and node is not None and isinstance(node.data, tuple):
            path, value = node.data
            self.app.push_screen(ValueViewer(value, path, where))
            return
        self.app.push_screen(ValueViewer(dict(state.values), "state", where))

    def _forked(self, answer: ForkAnswer | None) -> None:
        if answer is not None:
            self._request(
                "fork", answer.checkpoint_id, update=answer.update, as_node=answer.as_node
            )

    def _resumed(self, answer: ResumeAnswer | None) -> None:
        if answer is not None:
            self._request("resume", None, value=answer.value)

    def _deleted(self, thread_id: str, yes: bool | None) -> None:
        if yes and thread_id == self.thread_id:
            self._request("delete", None)

    def _selected_state(self, what: str) -> StateAt | None:
        state = self.state
        if self.busy is not None:
            self._say(f"Busy: {self.busy}. Wait for it to finish.")
            self.app.bell()
            return None
        if (
            state is None
            or state.thread_id != self.thread_id
            or state.checkpoint_id != self.checkpoint_id
        ):
            self._say(f"Select a checkpoint to {what} first.")
            self.app.bell()
            return None
        return state

    def _request(self, action: Action, checkpoint_id: str | None, **kw: Any) -> None:
        assert self.thread_id is not None
        verb = {
            "replay": "replaying",
            "fork": "forking",
            "resume": "resuming",
            "delete": "deleting",
        }[action]
        self.busy = f"{verb} {self.thread_id}"
        self._say(f"{self.busy}…")
        self.post_message(self.ActionRequested(action, self.thread_id, checkpoint_id, **kw))

    def _say(self, text: str) -> None:
        self.query_one("#cp-status", Static).update(text)

    # -- selection -------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#cp-threads")
    @on(OptionList.OptionSelected, "#cp-threads")
    def _thread_chosen(self, event: OptionList.OptionHighlighted) -> None:
        thread_id = event.option.id
        self._thread_at = event.option_index  # where a deleted thread's neighbour is
        if thread_id is None or (thread_id == self.thread_id and not self._reload_history):
            return
        self._reload_history = False
        self.thread_id = thread_id
        self.checkpoint_id = None
        self.state = None
        self.marked = None
        history = self.query_one("#cp-history", HistoryList)
        history.clear()
        history.border_subtitle = "reading…"
        self.run_worker(
            partial(_read_history, self.store, thread_id, self.post_message),
            name=f"checkpoints history {thread_id}",
            group="cp-history",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    @on(HistoryList.Highlighted, "#cp-history")
    @on(HistoryList.Selected, "#cp-history")
    def _checkpoint_chosen(self, event: HistoryList.Highlighted) -> None:
        checkpoint_id = event.row.id
        if checkpoint_id is None or self.thread_id is None or checkpoint_id == self.checkpoint_id:
            return
        self.checkpoint_id = checkpoint_id
        self._read_selected_state()

    def _read_selected_state(self) -> None:
        checkpoint_id = self.checkpoint_id
        if checkpoint_id is None or self.thread_id is None:
            return
        self.run_worker(
            partial(
                _read_state,
                self.store,
                self.thread_id,
                checkpoint_id,
                self.marked,
                self.post_message,
            ),
            name=f"checkpoints state {checkpoint_id}",
            group="cp-state",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    # -- results ---------------------------------------------------------------
    def on_checkpoint_browser_threads_read(self, message: ThreadsRead) -> None:
        self.threads = message.threads
        listed = self.query_one(ThreadList)
        if self._select is not None and any(t.thread_id == self._select for t in self.threads):
            self.thread_id, self._select = self._select, None
            self._reload_history = True
            if not any(
                t.thread_id == self.thread_id and t.matches(listed.query_text) for t in self.threads
            ):
                listed.filter_input.value = ""  # it is asked for: the filter must not hide it
        listed.set_threads(self.threads, self.thread_id)
        ids = [t.thread_id for t in listed.shown]
        if self.thread_id not in ids:  # deleted or filtered out: the selection stays in place
            at = min(self._thread_at, len(ids) - 1) if self.thread_id is not None else 0
            self.thread_id = None
            self._reload_history = False
            if ids:  # its history follows (OptionHighlighted)
                listed.options.highlighted = max(at, 0)
        if not ids:
            self.query_one("#cp-history", HistoryList).clear()
            self.query_one("#cp-state", Tree).clear()
            self.state = None
            empty = (
                "No threads match the filter."
                if self.threads
                else "No threads yet: run a workflow first."
            )
            self._show_diff(Text(empty, style="dim"))

    def on_thread_list_filtered(self, message: ThreadList.Filtered) -> None:
        if message.shown == 0 and message.total > 0 and self.thread_id is not None:
            self.thread_id = None  # its history and state go: actions need a thread shown
            self.checkpoint_id = None
            self.state = None
            self.query_one("#cp-history", HistoryList).clear()
            self.query_one("#cp-state", Tree).clear()
            self._show_diff(Text("No threads match the filter.", style="dim"))
        more = " (newest shown)" if message.total >= THREAD_LIMIT else ""
        count = (
            f"{message.total}"
            if message.shown == message.total
            else f"{message.shown} of {message.total}"
        )
        self.query_one("#cp-threads-pane").border_subtitle = count + more

    def on_checkpoint_browser_history_read(self, message: HistoryRead) -> None:
        if message.thread_id != self.thread_id:
            return  # superseded by another selection
        self.rows = message.rows
        history = self.query_one("#cp-history", HistoryList)
        newest = None
        if self.rows:  # the tree reads root first; start on the newest checkpoint
            newest = max(range(len(self.rows)), key=lambda i: self.rows[i][1].checkpoint_id)
        history.set_rows(self._history_rows(), highlight=newest)
        shown = len(self.rows)
        history.border_subtitle = (
            f"{shown}" if shown >= message.total else f"newest {shown} of {message.total}"
        )

    def on_checkpoint_browser_state_read(self, message: StateRead) -> None:
        state = message.state
        if state.thread_id != self.thread_id or state.checkpoint_id != self.checkpoint_id:
            return
        self.state = state
        tree = self.query_one("#cp-state", Tree)
        tree.clear()
        tree.border_subtitle = f"step {state.step} · {short_id(state.checkpoint_id)}"
        if not state.values:
            tree.root.add_leaf(Text("(empty state)", style="dim"))
        for key, value in state.values.items():
            _add_value(tree.root, str(key), value, str(key))
        if state.interrupts:
            _add_value(tree.root, "⏸ interrupts", state.interrupts, "interrupts")
        tree.root.expand()
        self.run_worker(  # then the state of its subgraphs (their own checkpoints) under it
            partial(
                _read_subgraphs, self.store, state.thread_id, state.checkpoint_id, self.post_message
            ),
            name=f"checkpoints subgraphs {state.checkpoint_id}",
            group="cp-subgraphs",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )
        self.diff_lines = [line.text for line in message.lines]
        if not message.has_parent:
            head = Text("First checkpoint of the thread: every key is new.\n", style="dim")
        else:
            head = Text("")
        body = (
            Text("\n").join(
                Text(line.text, style=_DIFF_STYLE[line.kind][1]) for line in message.lines
            )
            if message.lines
            else Text("No changes.", style="dim")
        )
        self._show_diff(head + body)
        pane = self.query_one("#cp-diff-scroll")
        pane.border_title = (
            f"Diff vs marked ◆ {short_id(message.against)}" if message.against else "Diff vs parent"
        )

    def on_checkpoint_browser_subgraphs_read(self, message: SubgraphsRead) -> None:
        """A section per subgraph under the state: its own values (keys the thread's
        state does not have too), what it runs next, what it waits for."""
        state = self.state
        if (
            state is None
            or message.thread_id != state.thread_id
            or message.checkpoint_id != state.checkpoint_id
        ):
            return
        tree = self.query_one("#cp-state", Tree)
        for sub in message.subgraphs:
            inner = sub.state
            if sub.parent_id != state.checkpoint_id:
                when = "ran in this step"
            else:
                when = "waiting" if inner.interrupts else "runs next"
            name = "/".join(sub.path)
            label = Text.assemble(
                ("▣ subgraph ", "bold magenta"), (name, "bold"), (f" ({when})", "dim")
            )
            where = f"subgraph {name}"
            section = tree.root.add(label, data=(where, inner.values), expand=True)
            for key, value in inner.values.items():
                _add_value(section, str(key), value, f"{where}.{key}")
            if inner.next:
                _add_value(section, "next", list(inner.next), f"{where}.next")
            if inner.interrupts:
                _add_value(section, "⏸ interrupts", inner.interrupts, f"{where}.interrupts")
        if count := len(message.subgraphs):
            shown = f"step {state.step} · {short_id(state.checkpoint_id)}"
            tree.border_subtitle = f"{shown} · {count} subgraph{'s' * (count != 1)}"

    def on_checkpoint_browser_read_failed(self, message: ReadFailed) -> None:
        error = message.error
        title = error.title if isinstance(error, LGPError) else type(error).__name__
        self.notify(str(error), title=f"{title} ({message.what})", severity="error")
        self._show_diff(Text(f"✖ {title}: {error}", style="red"))

    def _show_diff(self, text: Text) -> None:
        self.query_one("#cp-diff", Static).update(text)


# -- formatting --------------------------------------------------------------------
def _history_prompt(
    prefix: str, info: CheckpointInfo, _depth: int, *, marked: bool = False
) -> Text:
    step = "-" if info.step is None else str(info.step)
    text = Text(prefix, style="dim")
    if marked:  # the checkpoint others are diffed against
        text.append("◆ ", style="bold magenta")
    text.append(f"{step:>3} ", style="bold")
    text.append(f"{short_id(info.checkpoint_id)} ", style="cyan")
    text.append(f"{info.source or '-':<6} ")
    if info.source in ("update", "fork"):  # written by a state update or a copy, as the CLI says
        text.append(f"({info.source})", style="green")
    else:
        text.append(", ".join(info.writes) or "-", style="green")
    if info.next:
        text.append(f" → {', '.join(info.next)}", style="yellow")
    return text


def _add_value(parent: TreeNode[Any], key: str, value: Any, path: str) -> None:
    """A row for ``value`` under ``parent`` (its items under it); each row's data is
    ``(path, value)``, what ``v`` shows (``messages[3]``)."""
    data = (path, value)
    if as_message(value) is not None:  # one row: ``[0]: human: hi``, not a dict
        parent.add_leaf(Text(f"{key}: {inline(value)}"), data=data)
    elif isinstance(value, dict) and value:
        node = parent.add(Text(f"{key} {{{len(value)}}}"), data=data, expand=True)
        for sub, item in value.items():
            _add_value(node, str(sub), item, f"{path}.{sub}")
    elif isinstance(value, list | tuple) and value:
        node = parent.add(Text(f"{key} [{len(value)}]"), data=data, expand=True)
        for i, item in enumerate(value):
            _add_value(node, f"[{i}]", item, f"{path}[{i}]")
    else:
        parent.add_leaf(Text(f"{key}: {_json(value)}"), data=data)


def _json(value: Any) -> str:
    """One line of JSON, chat messages as ``human: text`` (never a repr)."""
    return inline(value)
