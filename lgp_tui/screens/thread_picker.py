"""Pick the thread to run on: a new one, or one of the existing threads."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from lgp_engine import ThreadInfo

NEW_THREAD = "\x00new"


class ThreadPicker(ModalScreen[str | None]):
    """Dismissed with a thread id, ``""`` for a new thread, or None (escape).

    Args:
        threads: Existing threads, newest first.
        current: The thread in the run bar now (highlighted).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="threads.cancel")
    ]

    def __init__(self, threads: list[ThreadInfo], current: str | None) -> None:
        super().__init__()
        self.threads = threads
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(Text("＋ new thread", style="bold green"), id=NEW_THREAD)]  # noqa: RUF001
        for info in self.threads:
            updated = info.updated_at.strftime("%Y-%m-%d %H:%M") if info.updated_at else "-"
            prompt = Text.assemble(
                (info.thread_id, "bold"), (f"  {info.checkpoints} checkpoints · {updated}", "dim")
            )
            options.append(Option(prompt, id=info.thread_id))
        with Vertical(id="picker-box"):
            yield Label("Run on which thread?", id="picker-title")
            yield OptionList(*options, id="picker-options")

    def on_mount(self) -> None:
        self.query_one("#picker-box").border_title = "Threads"
        options = self.query_one(OptionList)
        ids = [t.thread_id for t in self.threads]
        options.highlighted = ids.index(self.current) + 1 if self.current in ids else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = event.option.id
        self.dismiss("" if chosen == NEW_THREAD else chosen)
