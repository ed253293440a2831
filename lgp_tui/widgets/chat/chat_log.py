"""The conversation in the chat view: a thread's messages by role, one turn after the
other, drawn through the line API (only the rows in view are rendered, so a thread of
10,000 messages opens and scrolls as fast as a short one).

Each turn shows its role in a column on the left and its text wrapped to the width
(as the value viewer wraps); an AI message's tool calls are one line each, folded
(``▸ get_weather(city="Paris") ⇒ 18 °C and sunny``, the tool's result on the same
line), and ``enter`` unfolds them: the arguments whole, the result whole. A message a
model is still writing ends with ``▍``. The cursor selects a turn: ``e`` asks to edit
and resend it (a human message), ``v`` to read it whole, ``c`` copies it.

The layout (which rows each turn takes at a width, :class:`Layout`: five arrays of
numbers, no object a row) is made for every turn once, by :func:`lay_out`, which a
worker can call for a big thread before it is shown; after that only the turns that
change are laid out again (a streamed token re-lays the last one). A row is drawn
from it, as segments, when it comes into view.
"""

from __future__ import annotations

import contextlib
import json
from array import array
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lgp_engine import dumps, pretty, readable

from ...chat import Transcript, Turn
from ..value.value_text import wrap

GUTTER = 8  # the cursor's bar, the role (6) and a space
ROLE_STYLE = {
    "human": Style.parse("bold yellow"),
    "ai": Style.parse("bold green"),
    "tool": Style.parse("bold blue"),
    "function": Style.parse("bold blue"),
    "system": Style.parse("bold magenta"),
    "value": Style.parse("dim"),
}
KIND_STYLE = {
    "content": Style(),
    "note": Style.parse("dim italic"),
    "call": Style.parse("yellow"),
    "args": Style.parse("cyan"),
    "result": Style.parse("green"),
    "error": Style.parse("red"),
}
NAME = Style(dim=True)
BLANK = Segment(" ")
STREAMING = Style.parse("bold green")
HUMAN_BAND = Style(bgcolor="grey15")  # a human message's rows: the questions stand out
CURSOR = Style(color="yellow", bold=True)
CURSOR_BLURRED = Style(color="grey50")
_ARGS_CHARS = 60
_CACHE = 400


class Line(NamedTuple):
    """One line of a turn before wrapping.

    ``kind`` picks its style; ``mark`` is how many leading characters are the
    message's name (dim); ``wraps`` is False for a folded call (cut, not wrapped);
    ``indent`` is where its continuation rows start.
    """

    text: str
    kind: str
    mark: int = 0
    wraps: bool = True
    indent: int = 0


def args_inline(args: Any) -> str:
    """``city="Paris", days=2``: a tool call's arguments on one line, cut."""
    if isinstance(args, str):
        with contextlib.suppress(ValueError):
            args = json.loads(args)
    if isinstance(args, Mapping):
        text = ", ".join(f"{k}={dumps(readable(v))}" for k, v in args.items())
    elif args in (None, ""):
        text = ""
    else:
        text = dumps(readable(args))
    return text if len(text) <= _ARGS_CHARS else text[: _ARGS_CHARS - 1] + "…"


def turn_lines(turn: Turn, unfolded: bool) -> list[Line]:
    """The lines of ``turn``: its text (the name first, if any), then its tool calls,
    folded to a line each or (``unfolded``) with their arguments and results whole."""
    view = turn.view
    lines: list[Line] = []
    prefix = f"{view.name}: " if view.name else ""
    content = view.content.strip("\n")
    if content:
        for i, text in enumerate(content.split("\n")):
            lines.append(Line(prefix + text if i == 0 else text, "content", len(prefix) * (i == 0)))
    elif turn.streaming:
        lines.append(Line("", "content"))
    elif not view.tool_calls:
        lines.append(Line(prefix + "(empty)", "note", len(prefix)))
    for position, (name, args) in enumerate(view.tool_calls):
        result = turn.results.get(position)
        if not unfolded:
            text = f"▸ {name}({args_inline(args)})"
            if result is not None:
                first = result[0].content.strip().split("\n")[0]
                text += f" {'✖' if result[0].error else '⇒'} {first}"
            elif not turn.streaming:
                text += " …"
            lines.append(Line(text, "call", wraps=False))
            continue
        lines.append(Line(f"▾ {name}", "call"))
        shown = args
        if isinstance(args, str):
            with contextlib.suppress(ValueError):
                shown = json.loads(args)
        named = shown.items() if isinstance(shown, Mapping) else [("", shown)]
        for key, value in named if shown not in (None, "", {}) else ():
            first, *rest = pretty(value).split("\n")  # one argument a line, as key: value
            lines.append(Line(f"    {key}: {first}" if key else f"    {first}", "args", indent=6))
            lines.extend(Line("    " + text, "args", indent=6) for text in rest)
        if result is None:
            lines.append(Line("  … no result yet", "note"))
            continue
        kind = "error" if result[0].error else "result"
        mark = "✖" if result[0].error else "⇒"
        for i, text in enumerate(result[0].content.strip("\n").split("\n")):
            lines.append(Line(f"  {mark} {text}" if i == 0 else f"    {text}", kind, indent=4))
    return lines


class Layout:
    """The rows of the turns at ``width`` with the ``unfolded`` turns' calls unfolded:
    row ``i`` is ``line[i]`` of turn ``turn[i]`` (-1: a blank row before a human
    message), characters ``start[i]:end[i]`` of it, ``indent[i]`` cells in;
    ``starts[t]`` is turn ``t``'s first row."""

    __slots__ = ("end", "indent", "line", "start", "starts", "turn", "unfolded", "width")

    def __init__(self, width: int, unfolded: frozenset[str] = frozenset()) -> None:
        self.width = width
        self.unfolded = unfolded
        self.turn = array("l")
        self.line = array("l")
        self.start = array("l")
        self.end = array("l")
        self.indent = array("l")
        self.starts = array("l")

    def __len__(self) -> int:
        return len(self.turn)

    def cut(self, first: int) -> None:
        """Forget the rows of turns ``first`` on."""
        first = max(0, min(first, len(self.starts)))
        keep = self.starts[first] if first < len(self.starts) else len(self.turn)
        for column in (self.turn, self.line, self.start, self.end, self.indent):
            del column[keep:]
        del self.starts[first:]

    def bottom(self, turn: int) -> int:
        """The row after turn ``turn``'s last."""
        return self.starts[turn + 1] if turn + 1 < len(self.starts) else len(self.turn)


def lay_out(turns: list[Turn], layout: Layout, first: int = 0) -> None:
    """Lay out ``turns[first:]`` after the rows ``layout`` keeps of the turns before.
    Pure (no widget): a worker may call it for a thread before it is shown."""
    layout.cut(first)
    room = max(1, layout.width - GUTTER)
    rows, lines, starts_, ends, indents = (
        layout.turn,
        layout.line,
        layout.start,
        layout.end,
        layout.indent,
    )
    unfolded = layout.unfolded
    for at in range(first, len(turns)):
        turn = turns[at]
        layout.starts.append(len(rows))
        if turn.view.role == "human" and at > 0:
            rows.append(at)
            lines.append(-1)
            starts_.append(0)
            ends.append(0)
            indents.append(0)
        for number, line in enumerate(turn_lines(turn, turn.key in unfolded)):
            size = len(line.text)
            if not line.wraps or size <= room:
                rows.append(at)
                lines.append(number)
                starts_.append(0)
                ends.append(size)
                indents.append(0)
                continue
            rest = max(1, room - line.indent)
            for start, end in wrap(line.text, room, rest):
                rows.append(at)
                lines.append(number)
                starts_.append(start)
                ends.append(end)
                indents.append(line.indent if start else 0)


class ChatLog(ScrollView, can_focus=True):
    """The turns of a :class:`~lgp_tui.chat.Transcript` (see the module docstring)."""

    DEFAULT_CSS = """
    ChatLog {
        overflow-x: hidden;
        scrollbar-gutter: stable;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Newest", id="chat.newest", tooltip="Go to the newest message"),
        Binding(
            "enter",
            "toggle_fold",
            "Fold",
            id="chat.fold",
            tooltip="Unfold (or fold) the selected message's tool calls and results",
        ),
        Binding(
            "e",
            "edit",
            "Edit",
            id="chat.edit",
            tooltip="Edit the selected human message and resend it as a new branch",
        ),
        Binding("v", "view", "View", id="chat.view", tooltip="Read the selected message whole"),
        Binding("c", "copy", "Copy", id="chat.copy", tooltip="Copy the selected message's text"),
    ]

    following: reactive[bool] = reactive(True)
    """New messages scroll into view (until the user scrolls or moves up)."""

    class EditRequested(Message):
        """Edit ``turn`` (a human message) and send it again as a new branch."""

        def __init__(self, turn: Turn) -> None:
            super().__init__()
            self.turn = turn

    class ViewRequested(Message):
        """Show ``turn`` whole (the value viewer)."""

        def __init__(self, turn: Turn) -> None:
            super().__init__()
            self.turn = turn

    class Copied(Message):
        """``text`` went to the clipboard."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transcript = Transcript()
        self.cursor: int | None = None
        """The selected turn (None: none yet, the newest is meant)."""
        self.unfolded: set[str] = set()
        """The keys of the turns whose tool calls are unfolded."""
        self.rows = Layout(0)
        self._adjusting = False
        self._follow_pending = False
        self._lines: dict[int, list[Line]] = {}  # turn -> its lines, for the turns drawn
        self._drawn: dict[tuple[int, bool], Strip] = {}  # (row, selected) -> the row drawn
        self._base: Style | None = None
        self._focused = False

    @property
    def turns(self) -> list[Turn]:
        return self.transcript.turns

    @property
    def content_width(self) -> int:
        """The width the conversation is laid out for (0 before the first layout)."""
        return self.scrollable_content_region.width

    # -- content -------------------------------------------------------------------
    def set_turns(
        self, turns: list[Turn], *, keep_live: bool = False, layout: Layout | None = None
    ) -> None:
        """Show ``turns`` (from :meth:`Transcript.build`) as the thread's messages;
        ``layout``, made by :func:`lay_out` for them, is used if it is still right
        (same width, same calls unfolded), else they are laid out here."""
        selected = self.current_turn() if self.cursor is not None else None
        key = selected.key if selected is not None else None
        anchor = len(self.rows) - int(self.scroll_y)  # rows from the bottom, kept
        self.transcript.set_base(turns, keep_live=keep_live)
        self._lines.clear()  # its turns are others now
        self.cursor = None
        if key is not None:  # the same message stays selected when the thread is read again
            self.cursor = next((i for i, t in enumerate(self.turns) if t.key == key), None)
        fits = (
            layout is not None
            and layout.width == self.content_width
            and layout.unfolded == frozenset(self.unfolded)
            and len(layout.starts) == len(turns)
        )
        if fits and layout is not None:
            self.rows = layout
            self._layout(len(turns))  # the live turns after them, if any
        else:
            self._layout(0)
        if not self.following and self.cursor is not None:
            self._adjusting = True  # the rows in view stay in view (more came above them)
            try:
                self.scroll_to(y=max(0, len(self.rows) - anchor), animate=False, immediate=True)
            finally:
                self._adjusting = False

    def add(self, message: Any) -> None:
        """A message a run wrote (its input, a node's update)."""
        changed = self.transcript.add(message)
        if changed is not None:
            self._layout(changed)

    def stream(self, message_id: str | None, content: Any, node: str | None) -> None:
        """A token of a message a model is writing."""
        self._layout(self.transcript.stream(message_id, content, node))

    def end_streams(self, node: str | None) -> None:
        """``node`` finished: what its models were writing is in its update."""
        changed = self.transcript.end_streams(node)
        if changed is not None:
            self._layout(changed)

    def current_turn(self) -> Turn | None:
        """The selected turn (the newest when none was selected)."""
        if not self.turns:
            return None
        at = self.cursor if self.cursor is not None else len(self.turns) - 1
        return self.turns[min(at, len(self.turns) - 1)]

    def plain_lines(self, start: int = 0, end: int | None = None) -> list[str]:
        """The rows ``start`` to ``end`` (default: all) as text, as drawn without styles."""
        stop = len(self.rows) if end is None else min(end, len(self.rows))
        return [
            "".join(s.text for s in self._row(i, keep=False)).rstrip() for i in range(start, stop)
        ]

    # -- layout --------------------------------------------------------------------
    def on_resize(self, _: events.Resize) -> None:
        if self.content_width != self.rows.width:
            self._layout(0)
        if self.following:  # after this resize's refresh, even with a follow pending (it
            # may run before the new size is laid out: the run log's snapshots caught it)
            self._follow_pending = True
            self.call_after_refresh(self._follow)

    def _layout(self, first: int) -> None:
        """Lay out the turns from ``first`` on again (those before keep their rows)."""
        width = self.content_width
        if width <= 0:
            return
        unfolded = frozenset(self.unfolded)
        if width != self.rows.width or unfolded != self.rows.unfolded:
            if width != self.rows.width:
                first = 0
            layout = Layout(width, unfolded)
            if first:  # the rows before stay (only turns from ``first`` on changed)
                old = self.rows
                old.cut(first)
                for name in ("turn", "line", "start", "end", "indent", "starts"):
                    getattr(layout, name).extend(getattr(old, name))
            self.rows = layout
        lay_out(self.turns, self.rows, first)
        for turn in [t for t in self._lines if t >= first]:
            del self._lines[turn]
        self._drawn.clear()
        self.virtual_size = Size(width, len(self.rows))
        self._subtitle()
        if self.following:
            self._follow_soon()
        self.refresh()

    def _subtitle(self) -> None:
        count = sum(1 + len(turn.results) for turn in self.turns)  # the folded ones too
        parts = [f"{count:,} message{'s' if count != 1 else ''}"]
        if not self.following:
            parts.append("end: newest")
        self.border_subtitle = " · ".join(parts)

    # -- drawing -------------------------------------------------------------------
    def _lines_of(self, turn: int) -> list[Line]:
        lines = self._lines.get(turn)
        if lines is None:
            if len(self._lines) > _CACHE:
                self._lines.clear()
            one = self.turns[turn]
            lines = self._lines[turn] = turn_lines(one, one.key in self.rows.unfolded)
        return lines

    def _row(self, index: int, *, keep: bool = True) -> list[Segment]:
        """Row ``index`` as segments: the cursor's bar, the role (on a turn's first
        row), the text in its kind's style."""
        layout = self.rows
        at = layout.turn[index]
        number = layout.line[index]
        turn = self.turns[at]
        selected = at == self.cursor
        segments = [
            Segment("▌", CURSOR if self._focused else CURSOR_BLURRED) if selected else BLANK
        ]
        if number < 0:
            return segments
        first = index == layout.starts[at] or (
            index == layout.starts[at] + 1 and layout.line[index - 1] < 0
        )
        role = turn.view.role
        label = f"{role[:6]:<6} " if first else "       "
        segments.append(Segment(label, ROLE_STYLE.get(role)))
        line = self._lines_of(at)[number]
        start, end, indent = layout.start[index], layout.end[index], layout.indent[index]
        human = role == "human"
        style = KIND_STYLE[line.kind] + HUMAN_BAND if human else KIND_STYLE[line.kind]
        room = max(1, layout.width - GUTTER)
        if indent:
            segments.append(Segment(" " * indent, style))
        text = line.text[start:end]
        if not line.wraps and cell_len(text) > room:
            text = set_cell_size(text, room - 1) + "…"
        if line.mark > start:  # the message's name, dim
            cut = line.mark - start
            segments.append(Segment(text[:cut], style + NAME))
            text = text[cut:]
        segments.append(Segment(text, style))
        if turn.streaming and number == len(self._lines_of(at)) - 1 and end == len(line.text):
            segments.append(Segment("▍", STREAMING + HUMAN_BAND if human else STREAMING))
        if human:  # the band runs to the edge
            used = GUTTER - 1 + indent + sum(cell_len(s.text) for s in segments[2:])
            if used < layout.width:
                segments.append(Segment(" " * (layout.width - used), HUMAN_BAND))
        return segments

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.rows.width  # (the content region's, which is slow to ask for a row)
        base = self._base
        if base is None:  # the widget's style, asked once until the styles change
            base = self._base = self.rich_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        key = (index, self.rows.turn[index] == self.cursor)
        strip = self._drawn.get(key)
        if strip is None:
            strip = Strip(self._row(index)).crop(0, width).extend_cell_length(width)
            strip = strip.apply_style(base)
            if len(self._drawn) > _CACHE:
                self._drawn.clear()
            self._drawn[key] = strip
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._drawn.clear()

    # -- following -------------------------------------------------------------------
    def _follow_soon(self) -> None:
        if not self._follow_pending:
            self._follow_pending = True  # one scroll per refresh, however many tokens came
            self.call_after_refresh(self._follow)

    def _follow(self) -> None:
        self._follow_pending = False
        if self.following:
            self._adjusting = True
            try:
                self.scroll_end(animate=False, immediate=True, x_axis=False)
            finally:
                self._adjusting = False

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._adjusting:
            return
        if new < old and new < self.max_scroll_y:
            self.following = False
        elif new >= self.max_scroll_y:
            self.following = True

    def watch_following(self) -> None:
        self._subtitle()

    # -- keys ----------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        if not self.turns:
            return
        start = self.cursor if self.cursor is not None else len(self.turns) - (delta < 0)
        self._select(max(0, min(len(self.turns) - 1, start + delta)))

    def action_page(self, delta: int) -> None:
        if not self.turns:
            return
        height = max(1, self.scrollable_content_region.height)
        target = int(self.scroll_y) + delta * height
        self._adjusting = True
        try:
            self.scroll_to(y=max(0, target), animate=False, immediate=True)
        finally:
            self._adjusting = False
        top = int(self.scroll_y)
        at = self.rows.turn[min(top, len(self.rows) - 1)]
        if self.rows.starts[at] < top and at + 1 < len(self.turns):
            at += 1  # the first turn that starts in view
        self.cursor = at
        self.following = top >= self.max_scroll_y
        self.refresh()

    def action_first(self) -> None:
        if self.turns:
            self._select(0)

    def action_last(self) -> None:
        if self.turns:
            self._select(len(self.turns) - 1)
            self.following = True
            self._follow_soon()

    def select_last(self, role: str) -> bool:
        """Select the newest turn of ``role`` (the newest of all if none); False when
        there are no turns."""
        if not self.turns:
            return False
        at = next(
            (i for i in range(len(self.turns) - 1, -1, -1) if self.turns[i].view.role == role),
            len(self.turns) - 1,
        )
        self._select(at)
        return True

    def _select(self, at: int) -> None:
        self.cursor = at
        top = self.rows.starts[at] if at < len(self.rows.starts) else 0
        bottom = self.rows.bottom(at)
        height = max(1, self.scrollable_content_region.height)
        self.following = at == len(self.turns) - 1 and bottom >= len(self.rows)
        self._adjusting = True
        try:
            if top < self.scroll_y:
                self.scroll_to(y=top, animate=False, immediate=True)
            elif bottom > self.scroll_y + height:
                self.scroll_to(y=max(top, bottom - height), animate=False, immediate=True)
        finally:
            self._adjusting = False
        self.refresh()

    def action_toggle_fold(self) -> None:
        turn = self.current_turn()
        if turn is None or not turn.view.tool_calls:
            self.app.bell()
            return
        self.unfolded ^= {turn.key}
        at = self.turns.index(turn)
        self._layout(at)
        self._select(at)

    def action_edit(self) -> None:
        turn = self.current_turn()
        if turn is None:
            self.app.bell()
            return
        self.post_message(self.EditRequested(turn))

    def action_view(self) -> None:
        turn = self.current_turn()
        if turn is None:
            self.app.bell()
            return
        self.post_message(self.ViewRequested(turn))

    def action_copy(self) -> None:
        turn = self.current_turn()
        if turn is None:
            self.app.bell()
            return
        text = turn.view.text(one_line=False)
        self.app.copy_to_clipboard(text)
        self.post_message(self.Copied(text))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_y + offset.y)
        if 0 <= index < len(self.rows):
            at = self.rows.turn[index]
            number = self.rows.line[index]
            self._select(at)
            if number >= 0 and self._lines_of(at)[number].kind == "call":
                self.action_toggle_fold()

    def on_focus(self) -> None:
        self._focused = True
        self._drawn.clear()  # the cursor's colour
        self.refresh()

    def on_blur(self) -> None:
        self._focused = False
        self._drawn.clear()
        self.refresh()
