"""The status bar: environment, checkpoint location, current thread, run status."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

_STATUS_STYLE = {
    "idle": "dim",
    "loading": "yellow",
    "running": "bold yellow",
    "completed": "green",
    "interrupted": "yellow",
    "failed": "red",
    "cancelled": "yellow",
    "cancelling": "yellow",
}


class StatusBar(Static):
    """One line of facts about the session; update the reactives to change it."""

    environment: reactive[str] = reactive("")
    checkpoints: reactive[str] = reactive("")
    thread: reactive[str] = reactive("")
    status: reactive[str] = reactive("idle")

    def render(self) -> Text:
        sep = ("  │  ", "dim")
        return Text.assemble(
            ("status ", "dim"), (self.status, _STATUS_STYLE.get(self.status, "")), sep,
            ("env ", "dim"), (self.environment, "bold"), sep,
            ("thread ", "dim"), self.thread or "new", sep,
            ("checkpoints ", "dim"), self.checkpoints or "-",
        )
