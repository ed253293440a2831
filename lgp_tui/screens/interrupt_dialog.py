"""The interrupt dialog: shows what a paused run asks and takes the resume value."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lgp_engine import readable


@dataclass(frozen=True)
class ResumeAnswer:
    """The value the user chose to resume the thread with (any JSON, ``null`` included)."""

    thread_id: str
    value: Any


def parse_value(text: str) -> tuple[Any, str | None]:
    """(value, problem) for the resume field; blank is a problem (a value is required)."""
    if not text.strip():
        return None, 'enter a JSON value (e.g. "yes", true or {"approved": true})'
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at column {exc.colno}: {exc.msg}"


class InterruptDialog(ModalScreen[ResumeAnswer | None]):
    """Dismissed with a :class:`ResumeAnswer` on Resume, or None on Cancel.

    Args:
        thread_id: The interrupted thread.
        interrupts: The ``interrupts`` of the run's ``interrupt`` event
            (``{"id": ..., "value": ...}`` each).
        node: The node that interrupted, if known.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="interrupt.cancel",
            tooltip="Close the dialog; the thread stays interrupted",
        ),
    ]

    def __init__(
        self, thread_id: str, interrupts: list[dict[str, Any]], node: str | None = None
    ) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.interrupts = interrupts
        self.node = node
        self.value: Any = None
        self.problem: str | None = None
        shown = (
            interrupts[0].get("value")
            if len(interrupts) == 1
            else {i.get("id"): i.get("value") for i in interrupts}
        )
        self.pretty = json.dumps(readable(shown, one_line=False), indent=2, ensure_ascii=False)
        """The interrupt value(s) as shown: pretty JSON (by interrupt id when several),
        a chat message in it as its text (``"ai: ..."``), whole."""

    def compose(self) -> ComposeResult:
        values = [i.get("value") for i in self.interrupts]
        where = f" at {self.node}" if self.node else ""
        with Vertical(id="interrupt-box"):
            yield Label(f"Thread {self.thread_id} is waiting{where}", id="interrupt-title")
            with VerticalScroll(id="interrupt-values"):
                yield Static(
                    Syntax(self.pretty, "json", theme="ansi_dark", word_wrap=True),
                    id="interrupt-value",
                )
            hint = (
                "Resume value (JSON)"
                if len(values) <= 1
                else "Resume values (JSON object: interrupt id → value)"
            )
            yield Label(hint, classes="interrupt-label")
            # an example, not a value: an empty box resumes with nothing (it says so)
            yield Input(placeholder='JSON, e.g. "yes" or {"approved": true}', id="resume-input")
            yield Static("", id="resume-error")
            with Horizontal(id="interrupt-buttons"):
                yield Button("Resume", variant="primary", id="resume-button")
                yield Button("Cancel", id="interrupt-cancel")

    def on_mount(self) -> None:
        self.query_one("#interrupt-box").border_title = "Interrupted"
        self._validate("")
        self.query_one("#resume-input", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_resume()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "resume-button":
            self.action_resume()
        else:
            self.action_cancel()

    def action_resume(self) -> None:
        if self.problem is None:
            self.dismiss(ResumeAnswer(self.thread_id, self.value))
            return
        self.app.bell()  # and the problem, shown as an error now that it was tried
        self.add_class("-tried")
        self.notify(f"Not resumed: {self.problem}", severity="warning", timeout=4)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _validate(self, text: str) -> None:
        self.value, self.problem = parse_value(text)
        error = self.query_one("#resume-error", Static)
        error.update(self.problem or "")
        if self.problem is None:
            self.remove_class("-tried")
        self.set_class(bool(text.strip()) and self.problem is not None, "-invalid")
        self.query_one("#resume-button", Button).disabled = self.problem is not None
