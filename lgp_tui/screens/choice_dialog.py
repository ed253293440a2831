"""A question with a few answers (buttons), e.g. what to keep when a file changed."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

Variant = Literal["default", "primary", "success", "warning", "error"]


class ChoiceDialog(ModalScreen[str | None]):
    """Dismissed with the id of the answer chosen, None on escape.

    Args:
        title: The question, in bold.
        message: What it is about.
        choices: ``(id, label, variant)`` a button each, left to right; the last one
            has the focus (put the safe answer there).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="choice.cancel"),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(self, title: str, message: str, choices: list[tuple[str, str, Variant]]) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-box"):
            yield Label(self.title_text, id="choice-title", markup=False)
            yield Static(self.message, id="choice-message", markup=False)
            with Horizontal(id="choice-buttons"):
                for answer, label, variant in self.choices:
                    yield Button(label, variant=variant, id=f"choice-{answer}")

    def on_mount(self) -> None:
        self.query(Button).last().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choice-"))
