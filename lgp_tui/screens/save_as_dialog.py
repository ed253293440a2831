"""Save As: name a new workflow for the source pane's text, then write and register it.

The name is normalized as typed ("My Flow" becomes ``my_flow``) and checked with the
engine's rules; a name taken by a file or by the registry is refused inline. Saving
runs in a thread worker (it writes files); the screen dismisses with the
:class:`~lgp_engine.SavedWorkflow` (None on Escape or Cancel).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lgp_engine import (
    LGPError,
    SavedWorkflow,
    Settings,
    check_new_workflow,
    normalize_workflow_name,
    save_workflow_as,
)


def _save(
    name: str, source: str, settings: Settings, original: str, post: Callable[[Message], Any]
) -> None:
    """Worker body: write and register the workflow, post the outcome."""
    try:
        saved = save_workflow_as(name, source, settings, description=f"Saved from {original}")
    except Exception as exc:  # noqa: BLE001 - shown inline, the app keeps going
        post(SaveAsDialog.Failed(exc))
        return
    post(SaveAsDialog.Done(saved))


class SaveAsDialog(ModalScreen[SavedWorkflow | None]):
    """Asks for the new workflow's name and saves ``source`` under it.

    Args:
        settings: The project's settings (workflows folder, registry).
        source: The text to save.
        original: The file it comes from, for the note and the registry description.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="save_as.cancel",
            tooltip="Close the dialog without saving",
        ),
    ]

    class Done(Message):
        """The worker wrote and registered the workflow."""

        def __init__(self, saved: SavedWorkflow) -> None:
            super().__init__()
            self.saved = saved

    class Failed(Message):
        """The worker could not save it; nothing was left behind."""

        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = error

    def __init__(self, settings: Settings, source: str, original: str) -> None:
        super().__init__()
        self.settings = settings
        self.source = source
        self.original = original
        self.name_value = ""
        self.problem: str | None = "enter a name for the new workflow"
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="save-as-box"):
            yield Label("Save as a new workflow", id="save-as-title")
            yield Static(
                f"A copy of {self.original} with your edits, registered in the project "
                "and opened; the original file stays as it is.",
                id="save-as-note",
                markup=False,
            )
            yield Input(placeholder="my_flow", id="save-as-name")
            yield Static("", id="save-as-message", markup=False)
            with Horizontal(id="save-as-buttons"):
                yield Button("Save", variant="primary", id="save-as-save", disabled=True)
                yield Button("Cancel", id="save-as-cancel")

    def on_mount(self) -> None:
        self.query_one("#save-as-box").border_title = "Save as"
        self._validate()
        self.query_one("#save-as-name", Input).focus()

    @on(Input.Changed, "#save-as-name")
    def _on_name_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate()

    @on(Input.Submitted, "#save-as-name")
    def _on_name_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#save-as-save")
    def _on_save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#save-as-cancel")
    def _on_cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def _validate(self) -> None:
        """Normalize and check the name as typed; Save is enabled for a free one."""
        typed = self.query_one("#save-as-name", Input).value.strip()
        self.name_value = name = normalize_workflow_name(typed)
        path: Path | None = None
        if not typed:
            self.problem = "enter a name for the new workflow"
        else:
            try:
                path = check_new_workflow(name, self.settings)
            except LGPError as exc:
                self.problem = str(exc)
            else:
                self.problem = None
        if self.problem is not None:
            self._say(self.problem, error=bool(typed))
        else:
            assert path is not None
            as_name = f" as {name!r}" if name != typed else ""
            self._say(f"will save{as_name} to {self._display(path)} and register it")
        self.query_one("#save-as-name", Input).set_class(bool(typed and self.problem), "-invalid")
        self.query_one("#save-as-save", Button).disabled = self.saving or self.problem is not None

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#save-as-message", Static)
        message.update(text)
        message.set_class(error, "-error")

    def _display(self, path: Path) -> str:
        try:
            return path.relative_to(self.settings.project_dir).as_posix()
        except ValueError:
            return str(path)

    def action_save(self) -> None:
        self._validate()
        if self.saving or self.problem is not None:
            self.app.bell()
            return
        self.saving = True
        self._validate()
        self._say(f"saving {self.name_value}…")
        self.run_worker(
            partial(
                _save,
                self.name_value,
                self.source,
                self.settings,
                self.original,
                self.post_message,
            ),
            name=f"save as {self.name_value}",
            group="save-as",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def action_cancel(self) -> None:
        if not self.saving:
            self.dismiss(None)

    def on_save_as_dialog_done(self, message: Done) -> None:
        self.saving = False
        self.dismiss(message.saved)

    def on_save_as_dialog_failed(self, message: Failed) -> None:
        self.saving = False
        self._validate()
        error = message.error
        title = error.title if isinstance(error, LGPError) else type(error).__name__
        self._say(f"{title}: {error}", error=True)
