"""Pick the thread to run on: a new one, or one of the existing threads, found by
typing part of its name, id, workflow or status."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static

from lgp_engine import CheckpointStore, RunStore, ThreadSummary, summarize_threads
from lgp_tui.widgets.threads.thread_list import NEW_THREAD, ThreadList

THREAD_LIMIT = 200


def _read(store: CheckpointStore, runs: RunStore, post: Callable[[Message], Any]) -> None:
    """Worker body: the threads again (after a rename), or why not."""
    try:
        threads = summarize_threads(store, runs, limit=THREAD_LIMIT)
    except Exception as exc:  # noqa: BLE001 - a notification; the list stays as it was
        post(ThreadPicker.ReadFailed(exc))
        return
    post(ThreadPicker.Read(threads))


class ThreadPicker(ModalScreen[str | None]):
    """Dismissed with a thread id, ``""`` for a new thread, or None (escape).

    Args:
        threads: Existing threads, newest first.
        current: The thread in the run bar now (highlighted).
        store: The checkpoint store (to rename and read the threads again).
        runs: The run store (thread names are its thread metadata).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="threads.cancel"),
        Binding(
            "f2",
            "rename",
            "Rename",
            id="threads.rename",
            tooltip="Name the highlighted thread",
        ),
    ]

    class Read(Message):
        def __init__(self, threads: list[ThreadSummary]) -> None:
            super().__init__()
            self.threads = threads

    class ReadFailed(Message):
        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        threads: list[ThreadSummary],
        current: str | None,
        store: CheckpointStore,
        runs: RunStore,
    ) -> None:
        super().__init__()
        self.threads = threads
        self.current = current
        self.store = store
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Label("Run on which thread?", id="picker-title")
            yield ThreadList("picker-options", new_thread=True, id="picker-list")
            yield Static(
                "type to filter · enter picks · F2 renames · esc cancels",
                id="picker-keys",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#picker-box").border_title = "Threads"
        listed = self.query_one(ThreadList)
        listed.set_threads(self.threads, self.current)
        listed.options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = event.option.id
        self.dismiss("" if chosen == NEW_THREAD else chosen)

    def on_thread_list_filtered(self, message: ThreadList.Filtered) -> None:
        more = "+" if message.total >= THREAD_LIMIT else ""
        shown, total = message.shown, message.total
        box = self.query_one("#picker-box")
        box.border_subtitle = f"{total}{more}" if shown == total else f"{shown} of {total}{more}"

    def action_rename(self) -> None:
        from .rename_dialog import RenameDialog

        listed = self.query_one(ThreadList)
        at = listed.options.highlighted
        option = listed.options.get_option_at_index(at) if at is not None else None
        thread = next((t for t in listed.shown if option and t.thread_id == option.id), None)
        if thread is None:
            self.app.bell()
            return
        self.app.push_screen(RenameDialog(self.store, self.runs, thread), self._renamed)

    def _renamed(self, name: str | None) -> None:
        if name is None:
            return
        self.run_worker(
            partial(_read, self.store, self.runs, self.post_message),
            name="threads again",
            group="picker-threads",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_thread_picker_read(self, message: Read) -> None:
        self.threads = message.threads
        self.query_one(ThreadList).set_threads(self.threads)

    def on_thread_picker_read_failed(self, message: ReadFailed) -> None:
        self.notify(str(message.error), title="Cannot list threads", severity="error")
