"""The run bar: JSON input (validated as you type), thread, Run and Cancel."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

DEFAULT_INPUT = '{"input": "hello"}'


def parse_input(text: str) -> tuple[Any, str | None]:
    """(value, problem): the run input from the field; blank means ``{}``."""
    if not text.strip():
        return {}, None
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at column {exc.colno}: {exc.msg}"


class RunBar(Vertical):
    """Posts :class:`RunBar.RunRequested` and :class:`RunBar.CancelRequested`.

    The app tells it what is possible with :meth:`set_state`.
    """

    class RunRequested(Message):
        """Run the loaded workflow with ``input`` on ``thread_id`` (None: a new thread)."""

        def __init__(self, input: Any, thread_id: str | None) -> None:  # noqa: A002
            super().__init__()
            self.input = input
            self.thread_id = thread_id

    class CancelRequested(Message):
        """Stop the current run."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.problem: str | None = None
        self.ready = False  # a workflow is loaded
        self.running = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-row"):
            yield Label("Input", classes="run-label")
            yield Input(DEFAULT_INPUT, id="run-input", placeholder='JSON, e.g. {"input": "hi"}')
            yield Label("Thread", classes="run-label")
            yield Input(id="thread-input", placeholder="new thread")
            yield Button("Run", id="run-button", variant="success", disabled=True)
            yield Button("Cancel", id="cancel-button", variant="error", disabled=True)
        yield Static("", id="input-error", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Run"
        self.query_one("#run-button", Button).tooltip = "Run the workflow (ctrl+r / f5)"
        self.query_one("#cancel-button", Button).tooltip = "Cancel the run (escape)"
        self._validate(self.query_one("#run-input", Input).value)

    def set_state(self, *, ready: bool | None = None, running: bool | None = None) -> None:
        """Update what the buttons allow: a workflow loaded, a run in progress."""
        if ready is not None:
            self.ready = ready
        if running is not None:
            self.running = running
        self._sync_buttons()

    @property
    def can_run(self) -> bool:
        return self.ready and not self.running and self.problem is None

    def request_run(self) -> bool:
        """Post a run request if the input is valid and nothing is running."""
        if not self.can_run:
            return False
        value, _ = parse_input(self.query_one("#run-input", Input).value)
        thread = self.query_one("#thread-input", Input).value.strip() or None
        self.post_message(self.RunRequested(value, thread))
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "run-input":
            self._validate(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.request_run()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "run-button":
            self.request_run()
        elif event.button.id == "cancel-button":
            self.post_message(self.CancelRequested())

    def _validate(self, text: str) -> None:
        _, self.problem = parse_input(text)
        error = self.query_one("#input-error", Static)
        error.update(self.problem or "")
        self.set_class(self.problem is not None, "-invalid")
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.query_one("#run-button", Button).disabled = not self.can_run
        self.query_one("#cancel-button", Button).disabled = not self.running
