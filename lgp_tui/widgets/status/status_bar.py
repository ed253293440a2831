"""The status bar: run status, environment, thread, checkpoint location, server."""

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
    server: reactive[str] = reactive("off")
    """``off``, ``starting``, ``stopping``, or the URL and request count when on."""

    def render(self) -> Text:
        sep = ("  │  ", "dim")
        server_style = (
            "dim"
            if self.server == "off"
            else ("bold green" if self.server.startswith("http") else "yellow")
        )
        thread = self.thread or "new"
        if len(thread) > 18:  # generated ids are uuids: the head is enough to tell them apart
            thread = thread[:13] + "…"
        return Text.assemble(
            ("status ", "dim"),
            (self.status, _STATUS_STYLE.get(self.status, "")),
            sep,
            ("server ", "dim"),
            (self.server, server_style),
            sep,
            ("thread ", "dim"),
            thread,
            sep,
            ("env ", "dim"),
            (self.environment, "bold"),
            sep,
            ("checkpoints ", "dim"),
            self.checkpoints or "-",
            overflow="ellipsis",
            no_wrap=True,
        )
