"""The status bar: run status (and what its model calls cost), server, thread,
environment, checkpoint location."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from lgp_engine import RunStatus

from ...usage import ContextUse, Spent

# A run's status (the engine's), or what the workbench is doing between runs.
_STATUS_STYLE: dict[str, str] = {
    "idle": "dim",
    "loading": "yellow",
    "cancelling": "yellow",
    RunStatus.RUNNING: "bold yellow",
    RunStatus.COMPLETED: "green",
    RunStatus.INTERRUPTED: "yellow",
    RunStatus.FAILED: "red",
    RunStatus.CANCELLED: "yellow",
}


class StatusBar(Static):
    """One line of facts about the session; update the reactives to change it."""

    environment: reactive[str] = reactive("")
    checkpoints: reactive[str] = reactive("")
    thread: reactive[str] = reactive("")
    status: reactive[str] = reactive("idle")
    """A :class:`~lgp_engine.RunStatus`, or ``idle``, ``loading``, ``cancelling``,
    ``load failed`` around runs."""
    server: reactive[str] = reactive("off")
    """``off``, ``starting``, ``stopping``, or the URL and request count when on."""
    spent: reactive[Spent | None] = reactive(None)
    """Tokens and cost of the model calls of the current (or last) run; None: none."""
    context: reactive[ContextUse | None] = reactive(None)
    """The run's last model call against the model's context window; None: none yet."""
    breaks: reactive[str] = reactive("")
    """The breakpoints the next runs stop at (``review(before)``); empty: none."""

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
        spent = self.spent
        usage = [("usage ", "dim"), (spent.label, "yellow")] if spent is not None else []
        if self.context is not None:  # the context meter, beside the cost
            usage += [(" · " if usage else "", "dim"), (self.context.label, self.context.style)]
        usage += [sep] if usage else []
        breaks = [("breaks: ", "dim"), (self.breaks, "bold red"), sep] if self.breaks else []
        return Text.assemble(
            ("status ", "dim"),
            (self.status, _STATUS_STYLE.get(self.status, "")),
            sep,
            *breaks,
            *usage,
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
