"""Name a thread: the name goes into the thread's metadata (see
:func:`lgp_engine.rename_thread`), where the API's clients see it too."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lgp_engine import (
    MAX_THREAD_NAME,
    CheckpointStore,
    LGPError,
    RunStore,
    ThreadSummary,
    rename_thread,
)


def _rename(
    store: CheckpointStore,
    runs: RunStore,
    thread_id: str,
    name: str,
    post: Callable[[Message], Any],
) -> None:
    """Worker body: rename, then post the outcome (never touches widgets)."""
    try:
        kept = rename_thread(store, runs, thread_id, name)
    except Exception as exc:  # noqa: BLE001 - shown in the dialog, which stays open
        post(RenameDialog.Failed(exc))
        return
    post(RenameDialog.Done(kept))


class RenameDialog(ModalScreen[str | None]):
    """Dismissed with the name kept (``""``: the name was removed), or None (escape).

    Args:
        store: The checkpoint store (to check that the thread exists).
        runs: The run store, which keeps thread metadata.
        thread: The thread to name.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="rename.cancel",
            tooltip="Close the dialog; the name stays as it was",
        ),
    ]

    class Done(Message):
        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    class Failed(Message):
        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = error

    def __init__(self, store: CheckpointStore, runs: RunStore, thread: ThreadSummary) -> None:
        super().__init__()
        self.store = store
        self.runs = runs
        self.thread = thread
        self.saving = False

    def compose(self) -> ComposeResult:
        note = (
            "Empty: named after its first input again."
            if self.thread.named
            else f"Now named after its first input: {self.thread.name}"
        )
        with Vertical(id="rename-box"):
            yield Label(f"Name thread {self.thread.thread_id}", id="rename-title")
            yield Static(note, id="rename-note", markup=False)
            yield Input(
                self.thread.name if self.thread.named else "",
                placeholder=self.thread.name,
                max_length=MAX_THREAD_NAME,
                id="rename-input",
            )
            yield Static("", id="rename-error", markup=False)
            with Horizontal(id="rename-buttons"):
                yield Button("Save", variant="primary", id="rename-save")
                yield Button("Cancel", id="rename-cancel")

    def on_mount(self) -> None:
        self.query_one("#rename-box").border_title = "Rename"
        self.query_one("#rename-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "rename-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        name = self.query_one("#rename-input", Input).value
        self.run_worker(
            partial(_rename, self.store, self.runs, self.thread.thread_id, name, self.post_message),
            name=f"rename {self.thread.thread_id}",
            group="rename",
            thread=True,
            exit_on_error=False,
        )

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_rename_dialog_done(self, message: Done) -> None:
        self.dismiss(message.name or "")

    def on_rename_dialog_failed(self, message: Failed) -> None:
        self.saving = False
        error = message.error
        title = error.title if isinstance(error, LGPError) else type(error).__name__
        self.query_one("#rename-error", Static).update(f"✖ {title}: {error}")
        self.app.bell()
