"""The agent panel (f10): what the agents of the run do, live.

One agent at a time: a Claude Code node's session (how it started, each message, each
tool it called with its input, what came back, how it ended with its turns, tokens
and cost), or a model node's replies as they stream, its tools and its model calls
(model, tokens in and out, cost, duration). Above them the agents of the run (←/→
switch; the panel follows the one working now until you pick one) and the chosen
one's figures with its context meter. Enter unfolds an entry, v reads it whole.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static

from lgp_engine import RunEvent

from ...agents import AgentBoard, AgentTrack
from .entry_lines import entry_text, entry_value, summary_line

_MARKS = {
    "running": ("●", "bold yellow"),
    "done": ("✓", "green"),
    "failed": ("✖", "red"),
    "waiting": ("⏸", "yellow"),
    "stopped": ("⊘", "yellow"),
}
_EMPTY = (
    "No agent has worked in this run yet. Model nodes (their replies, tools and calls) "
    "and Claude Code nodes (their session) show here as they run."
)


class AgentPanel(Vertical):
    """The tracks of ``board``, one at a time; :meth:`add` feeds it run events."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "left,left_square_bracket",
            "switch(-1)",
            "Previous agent",
            key_display="←",
            id="agents.previous",
            tooltip="Show the previous agent of the run",
        ),
        Binding(
            "right,right_square_bracket",
            "switch(1)",
            "Next agent",
            key_display="→",
            id="agents.next",
            tooltip="Show the next agent of the run",
        ),
        Binding("enter", "fold", "Fold", id="agents.fold", tooltip="Unfold or fold the entry"),
        Binding("v", "view", "View", id="agents.view", tooltip="Read the entry whole"),
        Binding(
            "f",
            "follow",
            "Follow",
            id="agents.follow",
            tooltip="Follow the agent working now (and the newest entry)",
        ),
    ]

    def __init__(self, board: AgentBoard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.board = board
        self.pinned: str | None = None
        """The agent picked with ←/→ (or from the graph pane); None: follow the newest."""
        self._shown: list[Text] = []
        self._signature: tuple[str, int, int] | None = None
        self._pending = False
        self._header = (Text(), Text())

    def compose(self):
        yield Static("", id="agent-tabs")
        yield Static("", id="agent-summary")
        yield OptionList(id="agent-entries")

    def on_mount(self) -> None:
        self.border_title = "Agents"
        self.border_subtitle = "←/→ agent · enter fold · v view · f follow"
        self._sync()

    def on_resize(self) -> None:
        self.changed()  # folded lines are cut to the width

    def on_show(self) -> None:
        self.changed()

    # -- what it shows -------------------------------------------------------------
    def add(self, event: RunEvent) -> AgentTrack | None:
        """Take in a run event; the agent it concerned, if any."""
        before = self.board.version
        track = self.board.add(event)
        if self.board.version != before:
            self.changed()
        return track

    def changed(self) -> None:
        """Show the board again, once the messages already queued are handled (a
        burst of streamed tokens is drawn once)."""
        if not self._pending and self.is_mounted:
            self._pending = True
            self.call_later(self._sync)

    @property
    def current(self) -> AgentTrack | None:
        """The agent shown: the one picked, else the one that worked last."""
        tracks = self.board.tracks
        key = self.pinned if self.pinned in tracks else self.board.latest
        return tracks.get(key) if key is not None else None

    def show_node(self, key: str | None) -> bool:
        """Show node ``key`` (a node key, as the graph pane names it), if it worked
        with a model in this run."""
        if key is None or key not in self.board.tracks:
            return False
        self.pinned = key
        self.changed()
        return True

    @property
    def lines(self) -> list[str]:
        """The entries as shown (plain text), for tests."""
        return [text.plain for text in self._shown]

    @property
    def header(self) -> str:
        """The agents line and the summary line (plain text), for tests."""
        return f"{self._header[0].plain}\n{self._header[1].plain}"

    def _sync(self) -> None:
        self._pending = False
        if not self.is_mounted:
            return
        track = self.current
        tabs = self.query_one("#agent-tabs", Static)
        summary = self.query_one("#agent-summary", Static)
        listing = self.query_one(OptionList)
        if track is None:
            self._header = (self._tabs(track), Text(_EMPTY, style="dim"))
        else:
            note = f" · {track.dropped:,} older entries dropped" if track.dropped else ""
            self._header = (self._tabs(track), summary_line(track) + Text(note, style="dim"))
        tabs.update(self._header[0])
        summary.update(self._header[1])
        if track is None:
            listing.clear_options()
            self._shown, self._signature = [], None
            return
        width = max(listing.scrollable_content_region.width - 2, 16)
        signature = (track.key, track.dropped, width)
        if signature != self._signature:
            listing.clear_options()
            self._shown, self._signature = [], signature
        at = listing.highlighted
        follow = at is None or at >= len(self._shown) - 1
        texts = [entry_text(entry, track, width) for entry in track.entries]
        for index, (old, new) in enumerate(zip(self._shown, texts, strict=False)):
            if old != new:
                listing.replace_option_prompt_at_index(index, new)
        if len(texts) > len(self._shown):
            listing.add_options(texts[len(self._shown) :])
        self._shown = texts
        if follow and texts and listing.highlighted != len(texts) - 1:
            listing.highlighted = len(texts) - 1

    def _tabs(self, current: AgentTrack | None) -> Text:
        """``● coder  ✓ researcher  ✓ writer``: the agents of the run, the shown one
        highlighted (and ``following`` or ``picked``)."""
        tracks = list(self.board.tracks.values())
        if not tracks:
            return Text("agents: none yet", style="dim")
        parts = []
        for track in tracks:
            mark, style = _MARKS.get(track.state, ("?", ""))
            label = Text.assemble((mark, style), " ", track.label)
            if track is current:
                label.stylize("reverse bold")
            parts.append(label)
        mode = "picked" if self.pinned in self.board.tracks else "following"
        return Text("  ").join(parts) + Text(f"  ({mode})", style="dim")

    # -- keys ------------------------------------------------------------------------
    def _entry_index(self) -> int | None:
        listing = self.query_one(OptionList)
        at = listing.highlighted
        track = self.current
        if at is None or track is None or at >= len(track.entries):
            return None
        return at

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_fold()

    def action_fold(self) -> None:
        index, track = self._entry_index(), self.current
        if index is None or track is None:
            return
        entry = track.entries[index]
        entry.folded = not entry.folded
        self._sync()
        listing = self.query_one(OptionList)
        self.call_after_refresh(listing.scroll_to_highlight)  # all of it, once re-laid out

    def action_view(self) -> None:
        from ...screens.value_viewer import ValueViewer

        index, track = self._entry_index(), self.current
        if index is None or track is None:
            return
        entry = track.entries[index]
        self.app.push_screen(
            ValueViewer(entry_value(entry), f"{track.key} · {entry.kind}", f"seq {entry.seq}")
        )

    def action_switch(self, delta: int) -> None:
        keys = list(self.board.tracks)
        if not keys:
            return
        current = self.current
        at = keys.index(current.key) if current is not None else 0
        self.pinned = keys[(at + delta) % len(keys)]
        self._sync()

    def action_follow(self) -> None:
        self.pinned = None
        listing = self.query_one(OptionList)
        self._sync()
        if self._shown:
            listing.highlighted = len(self._shown) - 1
