"""The value viewer: one value read whole (a run-log entry, a state value).

It shows the value as :func:`lgp_engine.pretty` writes it (indented JSON, chat
messages as ``human: ...``, multi-line text as blocks), wrapped to the width and
scrollable. Typing finds: the first key that is not one of the viewer's starts the
find box (``/`` too), matches are marked as you type, ``enter`` goes back to the
value and ``n``/``N`` step through them. ``c`` copies the text as shown, ``j`` the
value as exact JSON (messages as their LangChain dicts), both with a notification.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from lgp_engine import dumps, pretty, to_jsonable

from ..widgets.footer.fitted_footer import FittedFooter
from ..widgets.value.value_text import ValueText

_PLACEHOLDER = "type to find · enter: back to the value · n/N: next/previous match"


class ValueViewer(ModalScreen[None]):
    """Shows ``value`` whole; dismissed with None.

    Args:
        value: Any value (JSON-like, message objects and their dicts included).
        title: What the value is (``node.finished · chat``), on the border.
        subtitle: Where it comes from (a run, a checkpoint), under the title.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close",
            "Close",
            id="viewer.close",
            tooltip="Close the viewer (from the find box: back to the value)",
        ),
        Binding("slash", "find", "Find", id="viewer.find", tooltip="Find text (or just type it)"),
        Binding("n", "step(1)", "Next", id="viewer.next", tooltip="Go to the next match"),
        Binding(
            "N", "step(-1)", "Previous", id="viewer.previous", tooltip="Go to the previous match"
        ),
        Binding("c", "copy", "Copy", id="viewer.copy", tooltip="Copy the value as shown"),
        Binding(
            "j",
            "copy_json",
            "Copy JSON",
            id="viewer.copy_json",
            tooltip="Copy the value as exact JSON (messages as their dicts)",
        ),
    ]

    def __init__(self, value: Any, title: str = "Value", subtitle: str = "") -> None:
        super().__init__()
        self.value = value
        self.title_text = title
        self.subtitle_text = subtitle
        self.text = pretty(value)
        """The value as shown (and copied by ``c``)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="viewer-box"):
            yield ValueText(self.text, id="viewer-text")
            with Horizontal(id="viewer-find"):
                yield Label("find ", id="viewer-find-label")
                yield Input(placeholder=_PLACEHOLDER, id="viewer-search", select_on_focus=False)
                yield Static("", id="viewer-count", markup=False)
        yield FittedFooter()

    def on_mount(self) -> None:
        box = self.query_one("#viewer-box")
        box.border_title = self.title_text
        lines = self.text.count("\n") + 1
        count = f"{lines:,} line{'s' if lines != 1 else ''}"
        box.border_subtitle = f"{self.subtitle_text} · {count}" if self.subtitle_text else count
        self.query_one(ValueText).focus()

    @property
    def shown(self) -> ValueText:
        return self.query_one(ValueText)

    # -- finding -----------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        """Type to find: a printable key the viewer has no binding for, pressed on the
        value, starts the find box with it."""
        if not self.shown.has_focus or not event.is_printable or not event.character:
            return
        if not event.character.strip() or event.key in _BOUND:
            return
        event.stop()
        event.prevent_default()
        search = self.query_one("#viewer-search", Input)
        search.focus()
        search.insert_text_at_cursor(event.character)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.shown.search(event.value)
        self._count()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.shown.focus()  # n/N step from here
        if event.value and not self.shown.matches:
            self.app.bell()

    def _count(self) -> None:
        shown = self.shown
        count = self.query_one("#viewer-count", Static)
        if not shown.searched:
            count.update("")
        elif not shown.matches:
            count.update("no match")
        else:
            at = (shown.current or 0) + 1
            count.update(f"{at} of {len(shown.matches)}")
        count.set_class(bool(shown.searched) and not shown.matches, "-none")

    # -- actions -----------------------------------------------------------------
    def action_close(self) -> None:
        if self.query_one("#viewer-search", Input).has_focus:
            self.shown.focus()  # back to the value; the matches stay marked
            return
        self.dismiss(None)

    def action_find(self) -> None:
        search = self.query_one("#viewer-search", Input)
        search.focus()
        search.select_all()

    def action_step(self, delta: int) -> None:
        if not self.shown.matches:
            self.app.bell()
            return
        self.shown.step(delta)
        self._count()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self._copied(self.text, "as shown")

    def action_copy_json(self) -> None:
        text = dumps(to_jsonable(self.value), indent=2)
        self.app.copy_to_clipboard(text)
        self._copied(text, "as JSON")

    def _copied(self, text: str, how: str) -> None:
        lines = text.count("\n") + 1
        size = f"{lines:,} line{'s' if lines != 1 else ''}, {len(text):,} characters"
        self.notify(f"{self.title_text}: {size} {how}", title="Copied to the clipboard")


#: Keys the viewer binds: they act, they do not start a search.
_BOUND = frozenset(
    key
    for binding in ValueViewer.BINDINGS
    if isinstance(binding, Binding)
    for key in binding.key.split(",")
)
