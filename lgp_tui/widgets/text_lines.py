"""Drawing one ``Text`` per row for the widgets that render through the line API
(the run log, the history list): only rows in view are ever rendered."""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

HIGHLIGHT = Style(reverse=True)
HIGHLIGHT_BLURRED = Style(bgcolor="grey23")


def text_row(
    text: Text,
    console: Console,
    *,
    scroll_x: int,
    width: int,
    base: Style,
    highlight: Style | None = None,
) -> Strip:
    """``text`` as one row ``width`` cells wide, scrolled ``scroll_x`` cells to the
    right, on ``base``, with ``highlight`` laid over it (the cursor row)."""
    line = text.copy()
    line.end = ""
    line.no_wrap = True
    strip = Strip(list(line.render(console)))
    strip = strip.crop(scroll_x, scroll_x + width).extend_cell_length(width).apply_style(base)
    if highlight is not None:
        strip = Strip([Segment(s.text, (s.style or Style()) + highlight, s.control) for s in strip])
    return strip
