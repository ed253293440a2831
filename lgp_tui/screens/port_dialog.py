"""The port dialog: (re)start the HTTP API on another port without leaving the app."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

RANGE = "a port between 1 and 65535"


def parse_port(text: str) -> tuple[int | None, str | None]:
    """(port, problem) for the port field: a whole number from 1 to 65535."""
    text = text.strip()
    if not text:
        return None, f"enter {RANGE}"
    if not (text.isascii() and text.isdigit()):  # int() would take "+80", "8_080", "٨٠"
        return None, f"{text!r} is not a whole number: enter {RANGE}"
    port = int(text)
    if not 1 <= port <= 65535:
        return None, f"{port} is out of range: enter {RANGE}"
    return port, None


class PortDialog(ModalScreen[int | None]):
    """Dismissed with the port to serve on, or None on Cancel.

    Args:
        port: The port to start with (the server's, or the one it would use).
        serving_at: The server's URL while it runs (it moves), None while it is off.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="port.cancel",
            tooltip="Close the dialog; the server stays as it is",
        ),
    ]

    def __init__(self, port: int, serving_at: str | None = None) -> None:
        super().__init__()
        self.port_text = str(port)
        self.serving_at = serving_at
        self.port: int | None = None
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        note = (
            f"Serving at {self.serving_at}: it stops there and starts on the new port."
            if self.serving_at
            else "The server is off: it starts on this port."
        )
        with Vertical(id="port-box"):
            yield Label("Serve the HTTP API on another port", id="port-title")
            yield Static(note, id="port-note", markup=False)
            yield Input(self.port_text, placeholder="1-65535", id="port-input")
            yield Static("", id="port-error", markup=False)
            with Horizontal(id="port-buttons"):
                yield Button("Serve", variant="primary", id="port-serve")
                yield Button("Cancel", id="port-cancel")

    def on_mount(self) -> None:
        self.query_one("#port-box").border_title = "Server"
        self._validate(self.port_text)
        self.query_one("#port-input", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_serve()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "port-serve":
            self.action_serve()
        else:
            self.action_cancel()

    def action_serve(self) -> None:
        if self.problem is None:
            self.dismiss(self.port)
            return
        self.app.bell()
        self.notify(f"Not served: {self.problem}", severity="warning", timeout=4)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _validate(self, text: str) -> None:
        self.port, self.problem = parse_port(text)
        self.query_one("#port-error", Static).update(self.problem or "")
        self.set_class(self.problem is not None, "-invalid")
        self.query_one("#port-serve", Button).disabled = self.problem is not None
