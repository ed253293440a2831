"""The run bar: JSON input (validated as you type), thread, Run, Cancel and Resume,
and (behind ⚙) the run config: configurable values, tags, recursion_limit..."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from lgp_engine import LGPError, check_run_config

DEFAULT_INPUT = '{"input": "hello"}'
CONFIG_PLACEHOLDER = '{"configurable": {"user_id": "u1"}, "recursion_limit": 50}'


def parse_config(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """(config, problem): the run config from its field; blank means none. Besides
    the run config's keys it may hold ``context``: the runtime context of a graph
    with a ``context_schema`` (an object)."""
    if not text.strip():
        return None, None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"config: invalid JSON at column {exc.colno}: {exc.msg}"
    context = raw.pop("context", None) if isinstance(raw, dict) else None
    if context is not None and not isinstance(context, dict):
        return None, "config: context must be an object"
    try:
        config = check_run_config(raw)
    except LGPError as exc:
        return None, exc.describe(hint=False)
    if context is not None:
        config["context"] = context
    return config or None, None


def parse_input(text: str) -> tuple[Any, str | None]:
    """(value, problem): the run input from the field; blank means ``{}``."""
    if not text.strip():
        return {}, None
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at column {exc.colno}: {exc.msg}"


class RunBar(Vertical):
    """Posts :class:`RunBar.RunRequested`, :class:`RunBar.CancelRequested`,
    :class:`RunBar.ResumeRequested` and :class:`RunBar.ThreadPickRequested`.

    The app tells it what is possible with :meth:`set_state`.
    """

    class RunRequested(Message):
        """Run the loaded workflow with ``input`` on ``thread_id`` (None: a new thread),
        with the run ``config`` (None: none)."""

        def __init__(
            self,
            input: Any,  # noqa: A002
            thread_id: str | None,
            config: dict[str, Any] | None = None,
        ) -> None:
            super().__init__()
            self.input = input
            self.thread_id = thread_id
            self.config = config

    class CancelRequested(Message):
        """Stop the current run."""

    class ResumeRequested(Message):
        """Answer the interrupt the last run stopped at."""

    class ThreadPickRequested(Message):
        """Show the existing threads to pick one."""

    class FormRequested(Message):
        """Edit the input and config in a form built from the workflow's schemas."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.problem: str | None = None
        self.ready = False  # a workflow is loaded
        self.running = False
        self.resumable = False  # the last run stopped at an interrupt

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-row"):
            yield Label("Input", classes="run-label")
            yield Input(DEFAULT_INPUT, id="run-input", placeholder='JSON, e.g. {"input": "hi"}')
            yield Label("Thread", classes="run-label")
            yield Input(id="thread-input", placeholder="new thread")
            yield Button("▾", id="threads-button", compact=True)
            yield Button("⚙", id="config-button", compact=True)
            yield Button("☰", id="form-button", compact=True)
            yield Button("Run", id="run-button", variant="success", disabled=True)
            yield Button("Cancel", id="cancel-button", variant="error", disabled=True)
            yield Button("Resume", id="resume-button", variant="warning")
        with Horizontal(id="config-row"):
            yield Label("Config", classes="run-label")
            yield Input(id="config-input", placeholder=CONFIG_PLACEHOLDER)
        yield Static("", id="input-error", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Run"
        self.query_one("#run-button", Button).tooltip = "Run the workflow (ctrl+r / f5)"
        self.query_one("#cancel-button", Button).tooltip = "Cancel the run (escape)"
        self.query_one("#resume-button", Button).tooltip = "Answer the interrupt (f6)"
        self.query_one("#threads-button", Button).tooltip = "Pick a thread (ctrl+o)"
        self.query_one("#form-button", Button).tooltip = "Input and config as a form (f8)"
        self.query_one(
            "#config-button", Button
        ).tooltip = "Run config: configurable values, tags, metadata, recursion_limit"
        self._validate()

    def set_state(
        self,
        *,
        ready: bool | None = None,
        running: bool | None = None,
        resumable: bool | None = None,
    ) -> None:
        """Update what the buttons allow: a workflow loaded, a run in progress, an
        interrupt waiting for an answer."""
        if ready is not None:
            self.ready = ready
        if running is not None:
            self.running = running
        if resumable is not None:
            self.resumable = resumable
        self._sync_buttons()

    @property
    def input_text(self) -> str:
        return self.query_one("#run-input", Input).value

    @input_text.setter
    def input_text(self, text: str) -> None:
        self.query_one("#run-input", Input).value = text  # Changed validates it

    @property
    def thread_id(self) -> str | None:
        return self.query_one("#thread-input", Input).value.strip() or None

    @thread_id.setter
    def thread_id(self, thread_id: str | None) -> None:
        self.query_one("#thread-input", Input).value = thread_id or ""

    @property
    def config_text(self) -> str:
        return self.query_one("#config-input", Input).value

    @config_text.setter
    def config_text(self, text: str) -> None:
        self.query_one("#config-input", Input).value = text
        if text.strip():
            self.show_config()

    def show_config(self, shown: bool = True) -> None:
        """Show (or hide) the run config field."""
        self.set_class(shown, "-config")

    @property
    def can_run(self) -> bool:
        return self.ready and not self.running and self.problem is None

    def request_run(self) -> bool:
        """Post a run request if the input is valid and nothing is running."""
        if not self.can_run:
            return False
        value, _ = parse_input(self.input_text)
        config, _ = parse_config(self.config_text)
        self.post_message(self.RunRequested(value, self.thread_id, config))
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("run-input", "config-input"):
            self._validate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.request_run()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "run-button":
            self.request_run()
        elif event.button.id == "cancel-button":
            self.post_message(self.CancelRequested())
        elif event.button.id == "resume-button":
            self.post_message(self.ResumeRequested())
        elif event.button.id == "threads-button":
            self.post_message(self.ThreadPickRequested())
        elif event.button.id == "form-button":
            self.post_message(self.FormRequested())
        elif event.button.id == "config-button":
            shown = not self.has_class("-config")
            self.show_config(shown)
            if shown:
                self.query_one("#config-input", Input).focus()

    def _validate(self) -> None:
        _, input_problem = parse_input(self.input_text)
        _, config_problem = parse_config(self.config_text)
        self.problem = input_problem or config_problem
        error = self.query_one("#input-error", Static)
        error.update(self.problem or "")
        self.set_class(input_problem is not None, "-invalid")
        self.set_class(config_problem is not None, "-invalid-config")
        if config_problem is not None:
            self.show_config()
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.query_one("#run-button", Button).disabled = not self.can_run
        self.query_one("#cancel-button", Button).disabled = not self.running
        resume = self.query_one("#resume-button", Button)
        resume.display = self.resumable and not self.running
