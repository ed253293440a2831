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
        """The whole line when it fits; else, in turn, without the checkpoint file,
        without the environment (neither changes while the app runs), and then without
        labels: at 80 columns the status, cost, server and thread stay readable."""
        width = self.size.width
        line = self._line(keep=2)
        for keep in (1, 0):
            if not width or line.cell_len <= width:
                break
            line = self._line(keep=keep)
        if width and line.cell_len > width:
            line = self._line(keep=0, compact=True)
        return line

    def _line(self, *, keep: int, compact: bool = False) -> Text:
        """The facts with their labels, the first ``keep`` of (environment, checkpoint
        file) included; ``compact``: values only, narrow separators."""
        sep = (" │ ", "dim") if compact else ("  │  ", "dim")

        def label(text: str) -> tuple[str, str]:
            return ("", "dim") if compact else (text, "dim")

        server_style = (
            "dim"
            if self.server == "off"
            else ("bold green" if self.server.startswith("http") else "yellow")
        )
        thread = self.thread or "new"
        if len(thread) > 18:  # generated ids are uuids: the head is enough to tell them apart
            thread = thread[:13] + "…"
        spent = self.spent
        usage = [label("usage "), (spent.label, "yellow")] if spent is not None else []
        if self.context is not None:  # the context meter, beside the cost
            usage += [(" · " if usage else "", "dim"), (self.context.label, self.context.style)]
        usage += [sep] if usage else []
        breaks = [("⏸ " if compact else "breaks: ", "dim"), (self.breaks, "bold red"), sep]
        server = self.server
        if compact and server.startswith("http://"):
            server = server.removeprefix("http://")
        where: list[str | tuple[str, str]] = [
            label("env "),
            (self.environment, "bold"),
            sep,
            label("checkpoints "),
            self.checkpoints or "-",
        ]
        return Text.assemble(
            label("status "),
            (self.status, _STATUS_STYLE.get(self.status, "")),
            sep,
            *(breaks if self.breaks else []),
            *usage,
            ("server " if not compact else "api ", "dim"),
            (server, server_style),
            sep,
            label("thread "),
            thread,
            *([sep, *where[: 3 * keep - 1]] if keep else []),
            overflow="ellipsis",
            no_wrap=True,
        )
