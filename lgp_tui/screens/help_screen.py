"""The help screen: every key of the workbench, read from the bindings themselves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

INTRO = (
    "Pick a workflow on the left, edit the JSON input, and run it. Every run is "
    "checkpointed: browse, replay and fork them in the checkpoint browser. "
    "Every action below is also in the command palette (ctrl+p)."
)


def key_table(sections: Iterable[tuple[str, list[BindingType]]]) -> Table:
    """A table of ``(section, bindings)``: keys and what they do."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for title, bindings in sections:
        table.add_row(Text(title, style="bold underline"), "", "")
        shown: set[tuple[str, str]] = set()  # dialogs share keys: each once a section
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            keys = ", ".join(_key(k) for k in binding.key.split(","))
            if (keys, binding.description) in shown:
                continue
            shown.add((keys, binding.description))
            table.add_row(keys, binding.description, binding.tooltip)
        table.add_row("", "", "")
    return table


def _key(key: str) -> str:
    return {"question_mark": "?", "escape": "esc"}.get(key, key)


class HelpScreen(ModalScreen[None]):
    """Lists ``sections`` of bindings; escape, q or f1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "dismiss(None)", "Close", id="help.close")
    ]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.table = key_table(sections)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Label(INTRO, id="help-intro")
            with VerticalScroll(id="help-keys"):
                yield Static(self.table, id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "LGP Workbench: keys"
        self.query_one("#help-box").border_subtitle = "esc to close"
