"""The run log: the live events of runs, one entry each, rendered only where visible.

Entries are kept in a bounded list (:data:`MAX_ENTRIES`); the widget draws through
Textual's line API, so a run of tens of thousands of events costs the same to
paint as a run of ten. Streamed tokens of one node coalesce into one entry. A
failed run's traceback is folded under its entry (``enter`` unfolds it). The view
follows new entries until the user scrolls or moves the cursor up, and follows
again from the end (``end``). :meth:`RunLog.set_filter` shows only entries whose
event type or node matches; ``c`` copies the entry under the cursor and ``v`` asks to
read its whole value (:class:`RunLog.ViewRequested`: the event's data, a line's text).
Each entry's time is in a column on the left, relative to its run's start (``+1.234s``,
the default: the same for the same run on every machine) or as the clock's
(``14:03:07.250``); ``t`` switches. Entries outside a run (reloads, notes) have no
relative time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lgp_engine import ReloadEvent, RunEvent, inline

from ...usage import spent
from ..text_lines import HIGHLIGHT, text_row
from .agent_lines import AGENT_LINES

MAX_ENTRIES = 5000
_EVICT_BATCH = 500
_VALUE_CHARS = 160
_TOKENS_SHOWN = 200


def compact(value: object, limit: int = _VALUE_CHARS) -> str:
    """``value`` as one line of JSON (chat messages as ``human: text``), cut at
    ``limit`` characters."""
    return inline(value, limit)


def describe(event: RunEvent) -> Text | None:
    """One styled line for ``event``, or None for events not shown; the events of a
    subgraph's nodes indented under its node, one ``│`` a level."""
    line = _describe(event)
    path = event.data.get("path")
    if line is None or not path or not isinstance(path, list):
        return line
    return nested(line, len(path))


def nested(line: Text, depth: int) -> Text:
    """``line`` (an event of a node, indented two cells) indented ``depth`` levels."""
    if depth <= 0:
        return line
    return Text.assemble(("  " + "│ " * depth, "dim"), line[2:] if line.plain[:2] == "  " else line)


def _describe(event: RunEvent) -> Text | None:
    data = event.data
    node = event.node or data.get("node") or "?"
    match event.type:
        case "run.started":
            kind = next((k for k in ("replay_of", "fork_of") if data.get(k)), None)
            what = {"replay_of": "▶ replay ", "fork_of": "▶ fork "}.get(kind or "", "▶ run ")
            if data.get("resumed"):  # a stopped run goes on (an answer, a breakpoint)
                what = "▶ resume "
            given = data.get("input")
            return Text.assemble(
                (what, "bold"),
                (str(data.get("workflow", "")), "bold cyan"),
                f" on thread {event.thread_id}",
                "" if given is None and data.get("resumed") else "  input ",
                ("" if given is None and data.get("resumed") else compact(given), "dim"),
            )
        case "node.started":
            return Text.assemble("  ● ", (node, "cyan"), " started")
        case "node.cached":
            return Text.assemble(
                "  ⚡ ",
                (node, "green"),
                (" cached", "dim"),
                "  ",
                (compact(data.get("update")), "dim"),
            )
        case "node.finished":
            ms = data.get("duration_ms")
            timing = f" ({ms:.1f} ms)" if isinstance(ms, int | float) else ""
            if "error" in data:
                err = data["error"]
                return Text.assemble(
                    "  ✖ ",
                    (node, "red"),
                    timing,
                    " ",
                    (f"{err.get('type')}: {err.get('message')}", "red"),
                )
            if data.get("interrupts"):  # stopped at interrupt(): it waits, it did not finish
                return Text.assemble(
                    "  ⏸ ", (node, "yellow"), timing, (" waiting for an answer", "yellow")
                )
            return Text.assemble(
                "  ✓ ",
                (node, "green"),
                timing,
                _spent(data),
                "  ",
                (compact(data.get("update")), "dim"),
            )
        case "custom":
            return Text.assemble("  ✎ ", (node, "magenta"), " ", compact(data.get("value")))
        case "message.delta":
            return _tokens_line(node, str(data.get("content") or ""))
        case "checkpoint":
            return None
        case "interrupt":
            stop = data.get("breakpoint")
            if isinstance(stop, dict):  # a static breakpoint (interrupt_before/_after)
                nodes = ", ".join(str(n) for n in stop.get("nodes") or []) or node
                return Text.assemble(
                    ("⏸ breakpoint", "bold yellow"),
                    f" {stop.get('when')} ",
                    (nodes, "bold"),
                    ("  (f6 continues, s in the graph pane steps)", "dim"),
                )
            values = [i.get("value") for i in data.get("interrupts") or [] if isinstance(i, dict)]
            return Text.assemble(("⏸ interrupted", "bold yellow"), f" at {node}: ", compact(values))
        case "run.completed":
            ms = data.get("duration_ms")
            timing = f" in {ms:.1f} ms" if isinstance(ms, int | float) else ""
            return Text.assemble(
                ("✔ completed", "bold green"),
                timing,
                _spent(data),
                "  result: ",
                (compact(data.get("output"), 400), "green"),
            )
        case "run.failed":
            where = f" at {data['node']}" if data.get("node") else ""
            kind = f" [{data['kind']}]" if data.get("kind") else ""
            fold = "  [enter: traceback]" if data.get("traceback") else ""
            first = str(data.get("message") or "").partition("\n")[0]  # the rest is in the
            return Text.assemble(  # traceback
                ("✖ failed", "bold red"),
                (kind, "bold red"),
                where,
                _spent(data),
                ": ",
                (f"{data.get('error_type')}: {first}", "red"),
                (fold, "dim"),
            )
        case "run.cancelled":
            return Text.assemble(("■ cancelled", "bold yellow"), f": {data.get('reason', '')}")
        case "tool.called":
            return Text.assemble(
                "    → ",
                (node, "cyan"),
                " calls ",
                (_tool(data), "bold"),
                " ",
                (compact(data.get("arguments"), 120), "dim"),
            )
        case "tool.result":
            ms = data.get("duration_ms")
            timing = f" ({ms:.1f} ms)" if isinstance(ms, int | float) else ""
            text = str(data.get("text") or "").replace("\n", "⏎")
            if data.get("is_error"):
                return Text.assemble(
                    "    ✖ ", (_tool(data), "red"), timing, " ", (_cut(text, 120), "red")
                )
            return Text.assemble(
                "    ← ", (_tool(data), "bold"), timing, " ", (_cut(text, 120), "dim")
            )
        case "tool.denied":
            return Text.assemble(
                ("    ⊘ ", "bold red"),
                (node, "cyan"),
                ": tool ",
                (_tool(data), "bold"),
                (" denied", "red"),
                f" ({data.get('reason', '')})",
            )
        case "agent.repair":
            errors = "; ".join(str(e) for e in data.get("errors") or [])
            return Text.assemble(
                ("    ↻ ", "yellow"),
                (node, "cyan"),
                f": answer failed {data.get('schema', 'its schema')}, repair {data.get('attempt')}",
                ": ",
                (_cut(errors, 160), "yellow"),
            )
        case "agent.fallback":
            return Text.assemble(
                ("    ⤳ ", "yellow"),
                (str(data.get("role") or node), "cyan"),
                ": ",
                (str(data.get("failed")), "bold"),
                (f" failed ({data.get('kind')})", "yellow"),
                ", trying ",
                (str(data.get("next")), "bold"),
            )
        case kind if kind in AGENT_LINES:  # a Claude Code session, as it happens
            return AGENT_LINES[kind](data, node)
    return None


def _tool(data: Mapping[str, Any]) -> str:
    """``server.tool`` (just the tool when the server is unknown)."""
    return ".".join(str(p) for p in (data.get("server"), data.get("tool")) if p)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _spent(data: Mapping[str, Any]) -> Text:
    """`` [1,234 tok $0.0012]`` when the event's usage has model calls."""
    total = spent(data.get("usage"))
    return Text(f" [{total.label}]" if total is not None else "", style="yellow")


def _sourced(source: str, line: Text) -> Text:
    """``line`` marked with where its run was made (nothing for the workbench's own)."""
    return Text.assemble((f"{source} ", "bold magenta"), line) if source else line


def _tokens_line(node: str, content: str) -> Text:
    shown = content if len(content) <= _TOKENS_SHOWN else "…" + content[-_TOKENS_SHOWN:]
    return Text.assemble("  … ", (node, "blue"), " ", shown.replace("\n", "⏎"))


def describe_reload(event: ReloadEvent) -> Text:
    """One line for a hot-reload event, with its timings."""
    data = event.data

    def ms(key: str) -> str:
        value = data.get(key)
        return f"{value:.0f} ms" if isinstance(value, int | float) else "?"

    if event.type == "reload.started":
        names = ", ".join(Path(str(p)).name for p in data.get("changed") or []) or "files"
        return Text.assemble(
            ("⟳ changed ", "cyan"), (names, "bold"), (f"  (detected in {ms('detect_ms')})", "dim")
        )
    if event.type == "reload.succeeded":
        return Text.assemble(
            ("⟳ reloaded ", "bold cyan"), (event.workflow, "bold"), f" in {ms('load_ms')}"
        )
    where = (
        f"{Path(str(data['file'])).name}:{data['line']}: "
        if data.get("file") and data.get("line")
        else ""
    )
    return Text.assemble(
        ("⟳ reload failed", "bold red"),
        f" after {ms('load_ms')}: ",
        (f"{where}{data.get('error', '')}", "red"),
        ("  (the previous version stays)", "dim"),
    )


@dataclass
class LogEntry:
    """One line of the log; ``detail`` lines (a traceback) fold under it."""

    text: Text
    kind: str = "note"
    node: str | None = None
    run_id: str | None = None
    detail: list[str] = field(default_factory=list)
    folded: bool = True
    tokens: str = ""
    value: Any = None
    """What the viewer shows for the entry: the event's data, or the line's text."""
    ts: float | None = None
    """When it happened (seconds since the epoch), for the time column."""
    seq: int | None = None
    source: str = ""
    """Where the run was made, when not in the workbench (``api``: through its server)."""

    @property
    def plain(self) -> str:
        """The entry as copied: the line, then the detail (unfolded)."""
        body = f"{self.node}: {self.tokens}" if self.tokens else self.text.plain
        return "\n".join([body, *self.detail])

    def rows(self) -> int:
        return 1 + (0 if self.folded else len(self.detail))

    def matches(self, terms: list[str]) -> bool:
        """Does the entry pass a filter (terms OR'ed; ``-term`` excludes)?"""
        include = [t for t in terms if not t.startswith("-")]
        exclude = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
        if any(self._hit(t) for t in exclude):
            return False
        return not include or any(self._hit(t) for t in include)

    def _hit(self, term: str) -> bool:
        return self.kind.startswith(term) or term in (self.node or "", self.source)


class RunLog(ScrollView, can_focus=True):
    """The run log; feed it with :meth:`add_event` and :meth:`add_line`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-20)", "Page up", show=False),
        Binding("pagedown", "cursor(20)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Follow", id="log.follow", tooltip="Jump to the end and follow"),
        Binding(
            "enter",
            "toggle_fold",
            "Fold",
            id="log.fold",
            tooltip="Show or hide the traceback of a failed run",
        ),
        Binding(
            "c",
            "copy",
            "Copy",
            id="log.copy",
            tooltip="Copy the entry under the cursor to the clipboard",
        ),
        Binding(
            "v",
            "view",
            "View",
            id="log.view",
            tooltip="Read the whole value of the entry under the cursor (find, copy)",
        ),
        Binding(
            "t",
            "toggle_times",
            "Times",
            id="log.times",
            tooltip="Times relative to the run's start (+1.234s) or as the clock's",
        ),
    ]

    following: reactive[bool] = reactive(True)
    filter_text: reactive[str] = reactive("")
    times: reactive[str] = reactive("relative")
    """``relative`` (to the run's start) or ``absolute`` (local clock time)."""

    class Copied(Message):
        """An entry was copied (``text``) to the terminal's clipboard."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class ViewRequested(Message):
        """``v`` on an entry: show ``value`` whole (``title``: what it is)."""

        def __init__(self, value: Any, title: str, subtitle: str) -> None:
            super().__init__()
            self.value = value
            self.title = title
            self.subtitle = subtitle

    def __init__(self, max_entries: int = MAX_ENTRIES, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_entries = max_entries
        self.entries: list[LogEntry] = []
        self._base = 0  # global index of entries[0]
        self._rows: list[tuple[int, int]] = []  # (global entry index, line within it)
        self._terms: list[str] = []
        self._width = 0
        self.cursor: int | None = None  # a row, once the user moves it
        self._adjusting = False  # scrolling done by the log itself, not the user
        self._follow_pending = False
        self.total_events = 0
        self._starts: dict[str, float] = {}  # run id -> when it started
        self._gutter = 0  # cells of the time column (its space included)

    # -- what tests and the app read ---------------------------------------------
    @property
    def plain(self) -> list[str]:
        """Every kept entry's line, filtered or not (for tests and copying)."""
        return [entry.text.plain for entry in self.entries]

    @property
    def shown_rows(self) -> list[str]:
        """The rows the filter lets through, as text (not ``visible``: that is
        Textual's, and focusing checks it)."""
        return [self._row_text(row).plain for row in self._rows]

    # -- feeding -----------------------------------------------------------------
    def on_mount(self) -> None:
        self.border_title = "Run log"
        self._update_subtitle()

    def add_event(self, event: RunEvent, source: str = "") -> None:
        """Show ``event`` (if it is a kind that is shown); tokens of a node coalesce.
        ``source``: where the run was made when not here (``api``), shown before its
        lines (and a filter term)."""
        self.total_events += 1
        if event.type == "run.started" and not event.data.get("resumed"):
            self._starts[event.run_id] = event.ts
        else:  # a run whose start this log did not see: times from its first event
            # (a resumed run goes on counting from its start: its entries keep their times)
            self._starts.setdefault(event.run_id, event.ts)
        if event.type == "message.delta":
            node = event.node or event.data.get("node") or "?"
            content = str(event.data.get("content") or "")
            path = event.data.get("path")
            depth = len(path) if isinstance(path, list) else 0
            last = self.entries[-1] if self.entries else None
            if (
                last is not None
                and last.kind == "message.delta"
                and last.node == node
                and last.run_id == event.run_id
            ):
                last.tokens += content
                last.value = last.tokens
                last.text = _sourced(source, nested(_tokens_line(node, last.tokens), depth))
                self._width = max(self._width, last.text.cell_len)
                self.virtual_size = self._virtual_size()
                self.refresh()
                return
            line = _sourced(source, nested(_tokens_line(node, content), depth))
            entry = LogEntry(line, event.type, node, event.run_id, tokens=content, value=content)
            entry.ts, entry.seq, entry.source = event.ts, event.seq, source
            self._append(entry)
            return
        shown = describe(event)
        if shown is None:
            return
        detail: list[str] = []
        if event.type == "run.failed" and event.data.get("traceback"):
            detail = str(event.data["traceback"]).rstrip("\n").splitlines()
        node = event.node or event.data.get("node")
        shown = _sourced(source, shown)
        entry = LogEntry(shown, event.type, node, event.run_id, detail, value=dict(event.data))
        entry.ts, entry.seq, entry.source = event.ts, event.seq, source
        self._append(entry)

    def add_reload(self, event: ReloadEvent) -> None:
        """Show a hot-reload event (filter on ``reload``)."""
        entry = LogEntry(describe_reload(event), event.type, value=dict(event.data), ts=event.ts)
        entry.node = event.workflow
        self._append(entry)

    def add_line(self, line: Text | str, kind: str = "note") -> None:
        """Append a line that is not an event (a refusal, a note)."""
        text = line if isinstance(line, Text) else Text(line)
        self._append(LogEntry(text, kind, value=text.plain, ts=time.time()))

    def clear(self) -> None:
        self.entries.clear()
        self._rows.clear()
        self._starts.clear()
        self._gutter = 0
        self._base = 0
        self.cursor = None
        self.following = True
        self._resize()

    def set_filter(self, text: str) -> None:
        """Show only entries matching ``text`` (event type prefixes or node names;
        several terms match any; ``-term`` hides)."""
        self.filter_text = text

    def watch_filter_text(self, text: str) -> None:
        self._terms = text.split()
        self.cursor = None
        self._rebuild()

    # -- rows ------------------------------------------------------------------
    def _append(self, entry: LogEntry) -> None:
        if "\n" in entry.text.plain:  # one row per entry: extra lines fold under it
            lines = entry.text.split("\n")
            entry.text = lines[0]
            entry.detail = [line.plain for line in lines[1:] if line.plain] + entry.detail
        self.entries.append(entry)
        self._gutter = max(self._gutter, self._stamp_width(entry))
        if len(self.entries) > self.max_entries + _EVICT_BATCH:
            drop = len(self.entries) - self.max_entries
            del self.entries[:drop]
            self._base += drop
            dropped_rows = sum(1 for index, _ in self._rows if index < self._base)
            self._rebuild(shift=dropped_rows)
            return
        if entry.matches(self._terms):
            index = self._base + len(self.entries) - 1
            self._rows.extend((index, line) for line in range(entry.rows()))
            self._resize(entry.text.cell_len)

    def _rebuild(self, shift: int = 0) -> None:
        """Recompute the rows; ``shift`` rows were dropped from the top (eviction):
        the cursor and a paused view stay on the same entries."""
        rows: list[tuple[int, int]] = []
        for offset, entry in enumerate(self.entries):
            if entry.matches(self._terms):
                rows.extend((self._base + offset, line) for line in range(entry.rows()))
        self._rows = rows
        if self.cursor is not None:
            self.cursor -= shift
            if self.cursor < 0:
                self.cursor = None
            elif self.cursor >= len(rows):
                self.cursor = len(rows) - 1 if rows else None
        self._width = max((self._entry_width(e) for e in self.entries), default=0)
        if shift and not self.following:
            self._adjusting = True
            try:
                self.virtual_size = self._virtual_size()
                self.scroll_to(y=max(0, self.scroll_y - shift), animate=False, immediate=True)
            finally:
                self._adjusting = False
        self._resize()

    @staticmethod
    def _entry_width(entry: LogEntry) -> int:
        width = entry.text.cell_len
        if not entry.folded and entry.detail:
            width = max(width, 4 + max(len(line) for line in entry.detail))
        return width

    def _virtual_size(self) -> Size:
        return Size(self._width + self._gutter, len(self._rows))

    def _resize(self, width: int = 0) -> None:
        self._width = max(self._width, width)
        self.virtual_size = self._virtual_size()
        if self.following and not self._follow_pending:
            self._follow_pending = True  # one scroll per refresh, however many events came
            self.call_after_refresh(self._follow)
        self._update_subtitle()
        self.refresh()

    def on_resize(self, _: events.Resize) -> None:
        """A smaller (or larger) log that follows still shows the newest lines (issue
        16: after a resize to 80x24 it said "following" but showed old ones). Always
        after this resize's refresh: a follow already pending may run before the new
        size is laid out (a snapshot caught the log short of its end)."""
        if self.following:
            self._follow_pending = True
            self.call_after_refresh(self._follow)

    def watch_show_horizontal_scrollbar(self) -> None:
        """The horizontal scrollbar takes a row from the view without a resize: when it
        appears after a follow has run, the end is one row further down (a fresh-clone
        run caught test_agent_panel[80x24] one row short, with no event left to follow)."""
        if self.following:
            self._follow_pending = True
            self.call_after_refresh(self._follow)

    def _follow(self) -> None:
        self._follow_pending = False
        if self.following:  # the user may have scrolled up since it was asked
            self._adjusting = True
            try:
                self.scroll_end(animate=False, immediate=True, x_axis=False)
            finally:
                self._adjusting = False

    def _entry(self, index: int) -> LogEntry:
        return self.entries[index - self._base]

    def _row_text(self, row: tuple[int, int]) -> Text:
        entry = self._entry(row[0])
        if row[1] == 0:
            return entry.text
        return Text("    " + entry.detail[row[1] - 1], style="red dim")

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        if row >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        cursor = HIGHLIGHT if row == self.cursor and self.has_focus else None
        line = text_row(
            self._row_text(self._rows[row]),
            self.app.console,
            scroll_x=scroll_x,
            width=max(0, width - self._gutter),
            base=self.rich_style,
            highlight=cursor,
        )
        if not self._gutter:
            return line
        index, part = self._rows[row]
        stamp = self.stamp(self._entry(index)) if part == 0 else ""
        column = text_row(
            Text(stamp.rjust(self._gutter - 1) + " ", style="dim"),
            self.app.console,
            scroll_x=0,
            width=min(width, self._gutter),
            base=self.rich_style,
            highlight=cursor,
        )
        return Strip.join([column, line])

    # -- times -------------------------------------------------------------------
    def stamp(self, entry: LogEntry) -> str:
        """The entry's time as the column shows it (empty when it has none)."""
        if entry.ts is None:
            return ""
        if self.times == "absolute":
            return datetime.fromtimestamp(entry.ts).strftime("%H:%M:%S.%f")[:-3]
        start = self._starts.get(entry.run_id) if entry.run_id else None
        if start is None:
            return ""
        return f"+{max(0.0, entry.ts - start):.3f}s"

    def _stamp_width(self, entry: LogEntry) -> int:
        stamp = self.stamp(entry)
        return len(stamp) + 1 if stamp else 0

    def watch_times(self) -> None:
        self._gutter = max((self._stamp_width(e) for e in self.entries), default=0)
        self._resize()

    def action_toggle_times(self) -> None:
        self.times = "absolute" if self.times == "relative" else "relative"

    # -- following -------------------------------------------------------------
    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._adjusting:
            return
        if new < old and new < self.max_scroll_y:
            self.following = False
        elif new >= self.max_scroll_y:
            self.following = True

    def watch_following(self) -> None:
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        shown = len(self._rows)
        parts = [
            f"{len(self.entries)} entries"
            if not self._terms
            else f"{shown} of {len(self.entries)} match {' '.join(self._terms)!r}"
        ]
        if self._base:
            parts.append(f"oldest {self._base} dropped")
        parts.append("following" if self.following else "paused (end: follow)")
        self.border_subtitle = " · ".join(parts)

    # -- keys --------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        if not self._rows:
            return
        start = self.cursor if self.cursor is not None else len(self._rows) - 1
        self.cursor = max(0, min(len(self._rows) - 1, start + delta))
        if delta < 0:
            self.following = False
        self.scroll_to_region(self._cursor_region(), animate=False, immediate=True)
        self.refresh()

    def action_first(self) -> None:
        self.following = False
        self.cursor = 0 if self._rows else None
        self.scroll_home(animate=False)
        self.refresh()

    def action_last(self) -> None:
        self.cursor = len(self._rows) - 1 if self._rows else None
        self.following = True
        self.scroll_end(animate=False)
        self.refresh()

    def action_toggle_fold(self) -> None:
        entry = self.current_entry()
        if entry is None or not entry.detail:
            return
        entry.folded = not entry.folded
        index = self._rows[self.cursor][0] if self.cursor is not None else None
        self._rebuild()
        if index is not None:  # keep the cursor on the entry's first row
            self.cursor = self._rows.index((index, 0))

    def action_view(self) -> None:
        entry = self.current_entry()
        if entry is None:
            self.app.bell()
            return
        title = " · ".join(part for part in (entry.kind, entry.node) if part)
        where = [
            f"run {entry.run_id[:8]}" if entry.run_id else "",
            f"seq {entry.seq}" if entry.seq is not None else "",
            self.stamp(entry),
        ]
        self.post_message(self.ViewRequested(entry.value, title, " · ".join(p for p in where if p)))

    def action_copy(self) -> None:
        entry = self.current_entry()
        if entry is None:
            self.app.bell()
            return
        text = entry.plain
        self.app.copy_to_clipboard(text)
        self.post_message(self.Copied(text))

    def current_entry(self) -> LogEntry | None:
        """The entry under the cursor (the newest when the cursor was never moved)."""
        if not self._rows:
            return None
        row = self.cursor if self.cursor is not None else len(self._rows) - 1
        return self._entry(self._rows[row][0])

    def _cursor_region(self) -> Region:
        return Region(0, self.cursor or 0, max(1, self.size.width), 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = int(self.scroll_offset.y + offset.y)
        if 0 <= row < len(self._rows):
            self.cursor = row
            self.following = row == len(self._rows) - 1
            self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
