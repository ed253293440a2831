"""Which tool calls to break on: names typed in one line (see
:class:`lgp_tui.debugger.ToolBreaks`)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

HINT = (
    "Tool names, separated by commas: server.tool (tools.add), a tool of any server "
    "(add), or a pattern (tools.*). A matching MCP tool call of the next runs waits, "
    "before it is made, until you let it go (c). Empty: no tool breaks."
)


class ToolBreakDialog(ModalScreen[str | None]):
    """Dismissed with the names typed (enter), or None (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="toolbreak.cancel")
    ]

    def __init__(self, current: tuple[str, ...]) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="toolbreak-box"):
            yield Label("Break when a tool is called", id="toolbreak-title")
            yield Static(HINT, id="toolbreak-hint")
            yield Input(
                ", ".join(self.current), placeholder="tools.add, search", id="toolbreak-input"
            )

    def on_mount(self) -> None:
        self.query_one("#toolbreak-box").border_title = "Tool breaks"
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)
