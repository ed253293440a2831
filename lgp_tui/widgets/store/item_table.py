"""The store browser's item table: key, last update and the value on one line, its
columns fitted to the width (and fitted again when it changes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from lgp_engine import StoreItem, inline

LONG_TIME = 16  # 2026-01-01 12:00
SHORT_TIME = 11  # 01-01 12:00, under NARROW cells
NARROW = 64
MIN_VALUE = 10


def local_time(when: dt.datetime | None, *, short: bool = False) -> str:
    """``when`` in local time to the minute (the store keeps UTC); ``-`` for None."""
    if when is None:
        return "-"
    return when.astimezone().strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M")


def cut(text: str, width: int) -> str:
    """``text`` on one line, ``…`` where it is cut to ``width`` cells."""
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


class ItemTable(DataTable[Any]):
    """Items as rows (the row index is the place in :attr:`items`); with
    ``every`` a namespace column first."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.items: list[StoreItem] = []
        self.every = False
        self._fitted = 0

    def show(self, items: list[StoreItem], *, every: bool, select: int = 0) -> None:
        """Show ``items`` (namespaces too when ``every``), the cursor on ``select``."""
        self.items = items
        self.every = every
        self._fit(self.scrollable_content_region.width, select)

    def item_at(self, row: int) -> StoreItem | None:
        return self.items[row] if 0 <= row < len(self.items) else None

    def on_resize(self, _: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width != self._fitted and self.items:
            self._fit(width, self.cursor_row)

    def _fit(self, width: int, select: int) -> None:
        self._fitted = width
        self.clear(columns=True)
        if width <= 0:
            width = 60  # not laid out yet: the resize that follows fits it again
        short = width < NARROW
        time_w = SHORT_TIME if short else LONG_TIME
        columns = 4 if self.every else 3
        room = width - 2 * columns - time_w  # each cell has a space either side
        ns_w = 0
        if self.every:
            longest = max((len(".".join(i.namespace)) for i in self.items), default=9)
            ns_w = max(min(longest, 20, room // 4), 9)
        longest = max((len(i.key) for i in self.items), default=3)
        key_w = max(min(longest, 32, (room - ns_w) * 2 // 5), 3)
        value_w = max(room - ns_w - key_w, MIN_VALUE)
        if self.every:
            self.add_column("namespace", width=ns_w, key="namespace")
        self.add_column("key", width=key_w, key="key")
        self.add_column("updated", width=time_w, key="updated")
        self.add_column("value", width=value_w, key="value")
        for row, item in enumerate(self.items):
            cells: list[Any] = [cut(".".join(item.namespace), ns_w)] if self.every else []
            cells += [
                cut(item.key, key_w),
                Text(local_time(item.updated_at, short=short), style="dim"),
                cut(inline(item.value), value_w),
            ]
            self.add_row(*cells, key=str(row))
        if self.items:
            self.move_cursor(row=min(max(select, 0), len(self.items) - 1), animate=False)
