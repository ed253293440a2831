"""A read-only text (a value, as :func:`lgp_engine.pretty` writes it) that wraps to the
width, highlights what is searched, and draws only the rows in view.

Long lines wrap at a space when one is near the edge, their continuation rows
indented under them, so a value is read whole without scrolling sideways. The rows
are recomputed when the width changes; a search marks every match and the current
one, and :meth:`ValueText.step` moves between them, scrolling each into view.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..text_lines import text_row

MATCH = Style(color="#f0f0f0", bgcolor="#6b5a14")  # every match: a dim amber
CURRENT = Style(color="#000000", bgcolor="#ffd75f", bold=True)  # the current one: bright
_KEY = re.compile(r'\s*("(?:[^"\\]|\\.)*"): ')
_ROLE = re.compile(r"(human|ai|tool|system|function|remove)( \([^)]*\))?( error)?: ")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*",?')
_SCALAR = re.compile(r"(-?\d[\d.eE+-]*|true|false|null),?")
_ROLE_STYLE = {
    "human": "bold yellow",
    "ai": "bold green",
    "tool": "bold blue",
    "system": "bold red",
    "function": "bold blue",
    "remove": "bold red",
}
_CACHE = 2000


class Row(NamedTuple):
    """One drawn row: ``line[start:end]`` of the text, ``indent`` cells in."""

    line: int
    start: int
    end: int
    indent: int


class Match(NamedTuple):
    """Where the searched text was found: ``line[start:end]``."""

    line: int
    start: int
    end: int


def styled(line: str) -> Text:
    """``line`` with its JSON key, chat role, string or number coloured."""
    text = Text(line)
    at = 0
    if key := _KEY.match(line):
        text.stylize("cyan", key.start(1), key.end(1))
        at = key.end()
    else:
        at = len(line) - len(line.lstrip(" "))
    rest = line[at:]
    if role := _ROLE.match(rest):
        text.stylize(_ROLE_STYLE[role.group(1)], at, at + role.end() - 2)
    elif rest.startswith("→ "):
        name = rest.find("(")
        text.stylize("yellow", at, at + (name if name > 0 else len(rest)))
    elif _STRING.fullmatch(rest):
        text.stylize("green", at, len(line))
    elif _SCALAR.fullmatch(rest):
        text.stylize("magenta", at, len(line))
    return text


def wrap(line: str, width: int, rest_width: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each row of ``line``: the first ``width`` cells wide, the
    others ``rest_width``; broken after a space in the second half of a row, else at
    the edge."""
    rows: list[tuple[int, int]] = []
    start, room, size = 0, max(1, width), len(line)
    while True:
        if size - start <= room and cell_len(line[start:]) <= room:
            rows.append((start, size))
            return rows
        end = min(size, start + room)
        while end > start + 1 and cell_len(line[start:end]) > room:
            end -= 1
        space = line.rfind(" ", start + room // 2, end)
        if space > start and end < size:
            end = space + 1
        rows.append((start, end))
        start, room = end, max(1, rest_width)
        if start >= size:
            return rows


class ValueText(ScrollView, can_focus=True):
    """The text of a value, wrapped and searchable (see the module docstring).

    Args:
        text: The text shown (lines separated by ``\\n``).
    """

    DEFAULT_CSS = """
    ValueText {
        overflow-x: hidden;
        scrollbar-gutter: stable;
    }
    """

    def __init__(self, text: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines = text.split("\n")
        self.rows: list[Row] = []
        self.searched = ""
        self.matches: list[Match] = []
        self.current: int | None = None
        """Index in :attr:`matches` of the current match."""
        self._first_row: list[int] = []  # each line's first row
        self._on_line: dict[int, list[int]] = {}  # line -> indexes in matches
        self._wrapped_at = -1
        self._styled: dict[int, Text] = {}

    # -- layout ------------------------------------------------------------------
    def on_resize(self, _: events.Resize) -> None:
        self._wrap()

    def on_mount(self) -> None:
        self._wrap()

    def _wrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._wrapped_at:
            return
        top = self.rows[int(self.scroll_y)].line if self.rows else 0  # stays in view
        self._wrapped_at = width
        rows: list[Row] = []
        first: list[int] = []
        for number, line in enumerate(self.lines):
            first.append(len(rows))
            indent = len(line) - len(line.lstrip(" ")) + 2
            if indent > width // 3:
                indent = 0
            for start, end in wrap(line, width, width - indent):
                rows.append(Row(number, start, end, indent if start else 0))
        self.rows = rows
        self._first_row = first
        self.virtual_size = Size(width, len(rows))
        if top:
            self.scroll_to(y=first[min(top, len(first) - 1)], animate=False, immediate=True)
        self.refresh()

    # -- search ------------------------------------------------------------------
    def search(self, query: str) -> None:
        """Mark every match of ``query`` (case-insensitive unless it has capitals); the
        current match is the first at or below the top of the view."""
        self.searched = query
        self.matches = []
        self._on_line = {}
        self.current = None
        if query:
            fold = query == query.lower()
            needle = query.lower() if fold else query
            for number, line in enumerate(self.lines):
                hay = line.lower() if fold else line
                at = hay.find(needle)
                while at >= 0:
                    self._on_line.setdefault(number, []).append(len(self.matches))
                    self.matches.append(Match(number, at, at + len(needle)))
                    at = hay.find(needle, at + max(1, len(needle)))
        if self.matches:
            top = self.rows[int(self.scroll_y)].line if self.rows else 0
            self.current = next((i for i, m in enumerate(self.matches) if m.line >= top), 0)
            self._show_current()
        self.refresh()

    def step(self, delta: int) -> None:
        """Make the next (``1``) or previous (``-1``) match current, round the ends."""
        if not self.matches:
            return
        at = self.current if self.current is not None else (-1 if delta > 0 else 0)
        self.current = (at + delta) % len(self.matches)
        self._show_current()
        self.refresh()

    def row_of(self, match: Match) -> int:
        """The row ``match`` starts on."""
        row = self._first_row[match.line] if self._first_row else 0
        while row + 1 < len(self.rows) and (
            self.rows[row + 1].line == match.line and self.rows[row + 1].start <= match.start
        ):
            row += 1
        return row

    def _show_current(self) -> None:
        if self.current is None or not self.rows:
            return
        row = self.row_of(self.matches[self.current])
        height = self.scrollable_content_region.height
        if not self.scroll_y <= row < self.scroll_y + height:
            self.scroll_to(y=max(0, row - height // 3), animate=False, immediate=True)

    # -- drawing -----------------------------------------------------------------
    def _line_text(self, number: int) -> Text:
        text = self._styled.get(number)
        if text is None:
            if len(self._styled) > _CACHE:
                self._styled.clear()
            text = self._styled[number] = styled(self.lines[number])
        return text

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        text = self._line_text(row.line)[row.start : row.end]
        for i in self._on_line.get(row.line, ()):
            match = self.matches[i]
            if match.end <= row.start or match.start >= row.end:
                continue
            style = CURRENT if i == self.current else MATCH
            text.stylize(style, max(0, match.start - row.start), match.end - row.start)
        if row.indent:
            text = Text(" " * row.indent) + text
        return text_row(text, self.app.console, scroll_x=0, width=width, base=self.rich_style)
