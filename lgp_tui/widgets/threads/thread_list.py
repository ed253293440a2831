"""A list of threads with a filter above it (the thread picker's, the browser's).

Printable keys pressed on the list that the screen binds to nothing start the
filter with that key; in the filter, up/down/page keys move the list, enter picks
the highlighted thread and escape goes back to the list. The list is an
:class:`~textual.widgets.OptionList` whose options' ids are thread ids, so the
screen hears its ``OptionHighlighted`` / ``OptionSelected`` as from any list.
"""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from lgp_engine import ThreadSummary
from lgp_tui.thread_rows import thread_row

#: The id of the "new thread" option (a thread id never starts with a NUL).
NEW_THREAD = "\x00new"
_MOVES = {
    "up": "cursor_up",
    "down": "cursor_down",
    "pageup": "page_up",
    "pagedown": "page_down",
}


class ThreadList(Vertical):
    """Threads filtered by what is typed (name, id, workflow, status, lineage).

    Args:
        list_id: The id of the list inside (the filter's is ``<list_id>-filter``).
        new_thread: Offer a "new thread" option first, whatever the filter.
    """

    DEFAULT_CSS = """
    ThreadList { height: 1fr; }
    ThreadList > Input { margin-bottom: 1; }
    ThreadList > OptionList {
        height: 1fr;
        border: none;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ThreadList > OptionList:focus { border: none; }
    """

    class Filtered(Message):
        """The list now shows ``shown`` of its ``total`` threads."""

        def __init__(self, shown: int, total: int) -> None:
            super().__init__()
            self.shown = shown
            self.total = total

    def __init__(self, list_id: str, *, new_thread: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.list_id = list_id
        self.new_thread = new_thread
        self.threads: list[ThreadSummary] = []
        #: The threads the filter lets through, in the list's order.
        self.shown: list[ThreadSummary] = []

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: type a name, id, status…",
            id=f"{self.list_id}-filter",
            compact=True,
            select_on_focus=False,  # the key that started the filter stays in it
        )
        yield OptionList(id=self.list_id)

    @property
    def options(self) -> OptionList:
        return self.query_one(f"#{self.list_id}", OptionList)

    @property
    def filter_input(self) -> Input:
        return self.query_one(f"#{self.list_id}-filter", Input)

    @property
    def query_text(self) -> str:
        return self.filter_input.value

    def set_threads(self, threads: list[ThreadSummary], keep: str | None = None) -> None:
        """Show ``threads`` (through the filter), highlighting ``keep`` if shown."""
        self.threads = threads
        self._show(keep)

    def highlight(self, thread_id: str | None) -> bool:
        """Highlight ``thread_id`` (None: the new-thread option); False if not shown."""
        ids = self._ids()
        wanted = NEW_THREAD if thread_id is None else thread_id
        if wanted not in ids:
            return False
        self.options.highlighted = ids.index(wanted)
        return True

    def _ids(self) -> list[str]:
        return [NEW_THREAD] * self.new_thread + [t.thread_id for t in self.shown]

    def _show(self, keep: str | None) -> None:
        options = self.options
        at, before = options.highlighted, self._ids()
        current = before[at] if at is not None and at < len(before) else None
        query = self.query_text
        self.shown = [t for t in self.threads if t.matches(query)]
        names = {t.thread_id: t.name for t in self.threads}
        keep = keep if keep is not None else current
        if keep == NEW_THREAD and query:
            keep = None  # a filter looks for a thread: its first match, not "new thread"
        items = [Option(thread_row(t, names), id=t.thread_id) for t in self.shown]
        if self.new_thread:
            items.insert(0, Option(Text("＋ new thread", style="bold green"), id=NEW_THREAD))  # noqa: RUF001
        options.clear_options()
        options.add_options(items)
        self.post_message(self.Filtered(len(self.shown), len(self.threads)))
        if not items:
            return
        ids = self._ids()
        if keep in ids:
            options.highlighted = ids.index(keep)
        else:
            options.highlighted = 1 if self.new_thread and query and len(ids) > 1 else 0

    # -- typing --------------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        field = self.filter_input
        if self.options.has_focus:
            if not event.is_printable or not event.character:
                return
            if not event.character.strip() and not field.value:
                return  # a space starts nothing (keys typed fast can reach the list
                # before the filter has focus: then the filter goes on, spaces too)
            if event.key in self.screen.active_bindings:
                return  # the screen's key: it acts, it does not filter
            event.stop()
            event.prevent_default()
            field.focus()
            field.insert_text_at_cursor(event.character)
        elif field.has_focus and event.key in _MOVES:
            event.stop()
            event.prevent_default()
            getattr(self.options, f"action_{_MOVES[event.key]}")()
        elif field.has_focus and event.key == "escape":
            event.stop()
            event.prevent_default()
            self.options.focus()

    @on(Input.Changed)
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show(None)

    @on(Input.Submitted)
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.options
        options.focus()
        if options.highlighted is not None:
            # from the list's own turn: a message made here would name this widget
            # its sender, and stop bubbling once it reached it
            options.call_later(options.action_select)
