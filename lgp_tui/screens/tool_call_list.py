"""The tool calls screen: one row per call of the runs seen in this session (node,
tool, arguments, result or error, duration), grouped under the model turn that
asked for them, newest run first, filtered as you type; ``v``/enter reads a call
whole in the value viewer. It follows new calls while open."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from lgp_engine import inline

from ..tool_calls import ToolCall, ToolCallLog

_STATUS = {
    "ok": ("✓", "green"),
    "error": ("✖", "red"),
    "denied": ("⊘", "red"),
    "pending": ("…", "yellow"),
}
_ARGS_CHARS = 48
_RESULT_CHARS = 60


class ToolCallList(ModalScreen[None]):
    """The calls of ``calls``; ``v`` or enter on a row opens it in the value viewer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="tools.close"),
        Binding("v", "view", "View", id="tools.view", tooltip="Read the call whole"),
        Binding("slash", "find", "Filter", id="tools.find", tooltip="Filter the calls"),
    ]

    def __init__(self, calls: ToolCallLog) -> None:
        super().__init__()
        self.calls = calls
        self._shown: dict[str, ToolCall] = {}  # option id -> call
        self._version = -1

    def compose(self) -> ComposeResult:
        with Vertical(id="tools-box"):
            yield Input(
                placeholder="filter: a node, tool, argument, result or status", id="tools-filter"
            )
            yield Label("", id="tools-summary")
            yield OptionList(id="tools-list")

    def on_mount(self) -> None:
        box = self.query_one("#tools-box")
        box.border_title = "Tool calls"
        box.border_subtitle = "v/enter read · / filter · esc close"
        self._sync()
        self.set_interval(0.25, self._sync)  # new calls of a run going on
        self.query_one(OptionList).focus()

    @property
    def rows(self) -> list[str]:
        """The rows as shown (group headers and calls), for tests."""
        listing = self.query_one(OptionList)
        return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._version = -1
        self._sync()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(OptionList).focus()

    def _sync(self) -> None:
        if self.calls.version == self._version:
            return
        self._version = self.calls.version
        text = self.query_one("#tools-filter", Input).value
        calls = self.calls.shown(text)
        listing = self.query_one(OptionList)
        selected = self._selected()
        options: list[Option] = []
        self._shown.clear()
        runs = list(dict.fromkeys(c.run_id for c in reversed(calls)))  # newest run first
        widths = _widths(calls)
        for run_id in runs:
            group = ""
            for call in (c for c in calls if c.run_id == run_id):
                label = f"{call.source + ' ' if call.source else ''}run {run_id[:8]} · {call.node}"
                label += f" · turn {call.turn}" if call.turn.isdigit() else ""
                if label != group:
                    group = label
                    options.append(Option(Text(group, style="bold cyan"), disabled=True))
                key = f"call-{len(options)}"
                self._shown[key] = call
                options.append(Option(_row(call, widths), id=key))
        listing.clear_options()
        listing.add_options(options)
        total = len(self.calls.calls)
        errors = sum(1 for c in calls if c.status in ("error", "denied"))
        shown = f"{len(calls)} of {total} calls" if text else f"{total} calls"
        summary = f"{shown} in {len(runs)} runs · {errors} failed or refused"
        if not total:
            summary = (
                "No tool calls yet: runs of agents with tools (MCP), Claude Code nodes and "
                "graphs with a ToolNode show theirs here as they happen."
            )
        self.query_one("#tools-summary", Label).update(summary)
        keys = list(self._shown)
        if selected is not None:
            for key, call in self._shown.items():
                if call is selected:
                    listing.highlighted = listing.get_option_index(key)
                    break
        elif keys:
            listing.highlighted = listing.get_option_index(keys[0])

    def _selected(self) -> ToolCall | None:
        listing = self.query_one(OptionList)
        index = listing.highlighted
        if index is None or index >= listing.option_count:
            return None
        return self._shown.get(listing.get_option_at_index(index).id or "")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_view()

    def action_view(self) -> None:
        call = self._selected()
        if call is None:
            return
        from .value_viewer import ValueViewer

        self.app.push_screen(
            ValueViewer(call.as_value(), f"{call.tool} · {call.status}", f"node {call.node}")
        )

    def action_find(self) -> None:
        self.query_one("#tools-filter", Input).focus()

    def action_close(self) -> None:
        field = self.query_one("#tools-filter", Input)
        if field.has_focus and field.value:
            field.value = ""
            return
        self.dismiss(None)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _widths(calls: list[ToolCall]) -> tuple[int, int, int]:
    """Columns of node, tool and arguments: as wide as their longest, up to a cap."""
    node = min(max((len(c.node) for c in calls), default=4), 16)
    tool = min(max((len(c.tool) for c in calls), default=4), 24)
    args = min(max((len(inline(c.arguments)) for c in calls), default=9), _ARGS_CHARS)
    return node, tool, args


def _row(call: ToolCall, widths: tuple[int, int, int]) -> Text:
    """``✓ node  tool  {"a": 1}  result  12 ms``, in columns."""
    node_w, tool_w, args_w = widths
    mark, style = _STATUS[call.status]
    result = " ".join(call.result.split()) if call.result is not None else "…"
    ms = f"{call.duration_ms:,.0f} ms" if call.duration_ms is not None else ""
    return Text.assemble(
        (f"{mark} ", style),
        (f"{_cut(call.node, node_w):<{node_w}}  ", "dim"),
        (f"{_cut(call.tool, tool_w):<{tool_w}}  ", "bold"),
        f"{_cut(inline(call.arguments), args_w):<{args_w}}  ",
        (f"{ms:>8}  ", "dim"),
        (_cut(result, _RESULT_CHARS), "red" if call.status in ("error", "denied") else ""),
    )
