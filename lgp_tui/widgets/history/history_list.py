"""A one-line-per-row list that draws only the rows in view (the history of a thread).

``OptionList`` measures every option when options are added, which for a thread of
thousands of checkpoints costs hundreds of milliseconds; this list takes its rows
as ready ``Text`` lines and renders through the line API, so filling it costs the
same for 20 rows or 5,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..text_lines import HIGHLIGHT, HIGHLIGHT_BLURRED, text_row


@dataclass(frozen=True)
class Row:
    """One row: its line and the id it stands for."""

    prompt: Text
    id: str


class HistoryList(ScrollView, can_focus=True):
    """Rows with one highlighted; posts :class:`Highlighted` and :class:`Selected`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-20)", "Page up", show=False),
        Binding("pagedown", "move(20)", "Page down", show=False),
        Binding("home", "move_to(0)", "First", show=False),
        Binding("end", "move_to(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    highlighted: reactive[int | None] = reactive(None)

    class Highlighted(Message):
        """The highlighted row changed."""

        def __init__(self, history: HistoryList, index: int, row: Row) -> None:
            super().__init__()
            self.history = history
            self.index = index
            self.row = row

        @property
        def control(self) -> HistoryList:
            return self.history

    class Selected(Highlighted):
        """Enter (or a click) on a row."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.rows: list[Row] = []
        self._width = 0

    # -- content ---------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.rows)

    def set_rows(self, rows: list[Row], highlight: int | None = None) -> None:
        """Replace the rows; highlight ``highlight`` (posting :class:`Highlighted`)."""
        self.rows = rows
        self._width = max((row.prompt.cell_len for row in rows), default=0)
        self.virtual_size = Size(self._width, len(rows))
        self.set_reactive(HistoryList.highlighted, None)
        self.highlighted = highlight
        self.refresh()

    def clear(self) -> None:
        self.set_rows([])

    def validate_highlighted(self, index: int | None) -> int | None:
        if index is None or not self.rows:
            return None
        return max(0, min(len(self.rows) - 1, index))

    def watch_highlighted(self, index: int | None) -> None:
        if index is None:
            self.refresh()
            return
        self.scroll_to_region(
            Region(0, index, 1, 1), animate=False, immediate=True, force=True, x_axis=False
        )
        self.refresh()
        self.post_message(self.Highlighted(self, index, self.rows[index]))

    # -- rendering -------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        highlight = None
        if index == self.highlighted:
            highlight = HIGHLIGHT if self.has_focus else HIGHLIGHT_BLURRED
        return text_row(
            self.rows[index].prompt,
            self.app.console,
            scroll_x=scroll_x,
            width=width,
            base=self.rich_style,
            highlight=highlight,
        )

    # -- keys and mouse --------------------------------------------------------
    def action_move(self, delta: int) -> None:
        if self.rows:
            start = self.highlighted if self.highlighted is not None else 0
            self.highlighted = start + delta

    def action_move_to(self, index: int) -> None:
        if self.rows:
            self.highlighted = index if index >= 0 else len(self.rows) - 1

    def action_select(self) -> None:
        index = self.highlighted
        if index is not None:
            self.post_message(self.Selected(self, index, self.rows[index]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_offset.y + offset.y)
        if 0 <= index < len(self.rows):
            self.highlighted = index
            self.action_select()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
