"""The interrupt dialog: shows what a paused run asks and takes the resume value.

The value is typed as JSON; an interrupt that carries a ``response_schema`` (an
object schema: ``interrupt(..., response_schema=...)``) gets a form of its fields
instead, the JSON a key away (``f9``)."""

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

from lgp_engine import pretty

from ..form_fields import fields_of
from ..widgets.form.schema_form import SchemaForm


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
        Binding(
            "f9",
            "toggle_raw",
            "Form/JSON",
            id="interrupt.raw",
            tooltip="Answer in the form of the interrupt's response schema, or as JSON",
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
        self.pretty = pretty(shown)
        """The interrupt value(s) as shown: indented JSON (by interrupt id when several),
        a chat message in it as its text (``ai: ...``) and multi-line text as lines,
        whole."""
        schema = interrupts[0].get("response_schema") if len(interrupts) == 1 else None
        self.schema = schema if isinstance(schema, dict) and fields_of(schema) else None
        """The object schema the answer must follow, when the interrupt gives one."""
        self.raw = self.schema is None

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
            if self.schema is not None:
                hint = "Answer (the form of the interrupt's response schema; f9: JSON)"
            yield Label(hint, classes="interrupt-label", id="resume-hint")
            if self.schema is not None:
                with VerticalScroll(id="resume-form-box"):
                    yield SchemaForm(self.schema, prefix="answer", id="resume-form")
            # an example, not a value: an empty box resumes with nothing (it says so)
            yield Input(placeholder='JSON, e.g. "yes" or {"approved": true}', id="resume-input")
            yield Static("", id="resume-error")
            with Horizontal(id="interrupt-buttons"):
                yield Button("Resume", variant="primary", id="resume-button")
                yield Button("Cancel", id="interrupt-cancel")

    def on_mount(self) -> None:
        self.query_one("#interrupt-box").border_title = "Interrupted"
        self._show_mode()

    def _show_mode(self) -> None:
        field = self.query_one("#resume-input", Input)
        field.display = self.raw
        for box in self.query("#resume-form-box"):
            box.display = not self.raw
        if self.raw:
            self._validate(field.value)
            field.focus()
        else:
            self._validate_form()
            first = self.query("#resume-form Input, #resume-form Select")
            if first:
                first.first().focus()

    def action_toggle_raw(self) -> None:
        """Form to JSON (the form's value written out) and back (the JSON read into
        the form, when it is an object)."""
        if self.schema is None:
            return
        form = self.query_one("#resume-form", SchemaForm)
        field = self.query_one("#resume-input", Input)
        if not self.raw:
            value, _ = form.read()
            field.value = json.dumps(value, ensure_ascii=False)
        else:
            value, problem = parse_value(field.value)
            if problem is None and isinstance(value, dict):
                form.fill(value)
            elif field.value.strip():
                self.notify("The JSON is not an object of the form's fields: still JSON.")
                return
        self.raw = not self.raw
        self._show_mode()

    def on_schema_form_changed(self, event: SchemaForm.Changed) -> None:
        event.stop()
        self._validate_form()

    def _validate_form(self) -> None:
        value, problems = self.query_one("#resume-form", SchemaForm).read()
        self.value, self.problem = value, (problems[0] if problems else None)
        self.query_one("#resume-error", Static).update(self.problem or "")
        if self.problem is None:
            self.remove_class("-tried")
        self.query_one("#resume-button", Button).disabled = self.problem is not None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "resume-input":
            return  # a field of the form (its own message follows)
        event.stop()
        self._validate(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id != "resume-input":
            self._validate_form()
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
