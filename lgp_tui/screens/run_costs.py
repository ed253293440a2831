"""Cost of recent runs (command palette): the last runs of the run store, newest
first, each with its workflow, thread, model calls, tokens, cost and duration, the
runs of this session marked ``•``; their total, this session's, and by model.
``s`` shows this session's runs only, ``r`` reads them again, ``v`` reads a run's
usage whole."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from lgp_engine import RunRecord, RunStore

from ..usage import usd

#: Runs read from the store.
LIMIT = 100
_MARKS = {
    "completed": ("✔", "green"),
    "interrupted": ("⏸", "yellow"),
    "failed": ("✖", "red"),
    "cancelled": ("⊘", "yellow"),
    "running": ("▶", "bold yellow"),
    "queued": ("…", "dim"),
}


@dataclass(frozen=True)
class Totals:
    """Runs, model calls, tokens and USD of some runs."""

    runs: int = 0
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0

    def plus(self, usage: Mapping[str, Any] | None) -> Totals:
        usage = usage or {}
        return Totals(
            self.runs + 1,
            self.calls + _int(usage.get("calls")),
            self.tokens + _int(usage.get("total_tokens")),
            self.cost + _float(usage.get("cost_usd")),
        )

    @property
    def label(self) -> str:
        """``3 runs · 9 calls · 12,303 tok · $0.0278``."""
        calls = _n(self.calls, "call")
        return f"{_n(self.runs, 'run')} · {calls} · {self.tokens:,} tok · {usd(self.cost)}"


def totals(records: list[RunRecord]) -> Totals:
    out = Totals()
    for record in records:
        out = out.plus(record.usage)
    return out


def by_model(records: list[RunRecord]) -> dict[str, Totals]:
    """The runs' usage by ``provider:model`` (``runs`` counts the runs that used it),
    the costliest first."""
    models: dict[str, Totals] = {}
    for record in records:
        usage = record.usage or {}
        for name, bucket in (usage.get("by_model") or {}).items():
            if isinstance(bucket, Mapping):
                models[name] = models.get(name, Totals()).plus(bucket)
    return dict(sorted(models.items(), key=lambda item: (-item[1].cost, -item[1].tokens)))


class RunCosts(ModalScreen[None]):
    """The cost of the last :data:`LIMIT` runs of ``runs``; ``seen`` are the run ids
    of this session (marked, and what ``s`` keeps)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="costs.close"),
        Binding(
            "s",
            "session_only",
            "This session",
            id="costs.session",
            tooltip="Show only the runs of this session, or every recent run",
        ),
        Binding("r", "reload", "Refresh", id="costs.refresh", tooltip="Read the runs again"),
        Binding("v", "view", "View", id="costs.view", tooltip="Read the run's usage whole"),
    ]

    class Read(Message):
        def __init__(self, records: list[RunRecord]) -> None:
            super().__init__()
            self.records = records

    class ReadFailed(Message):
        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = error

    def __init__(self, runs: RunStore, seen: Collection[str]) -> None:
        super().__init__()
        self.runs = runs
        self.seen = seen
        self.records: list[RunRecord] | None = None
        self.session_only = False

    def compose(self) -> ComposeResult:
        with Vertical(id="costs-box"):
            yield Label("Reading the runs…", id="costs-summary")
            yield OptionList(id="costs-list")

    def on_mount(self) -> None:
        box = self.query_one("#costs-box")
        box.border_title = "Cost of recent runs"
        box.border_subtitle = "s this session · r refresh · v view · esc close"
        self.query_one(OptionList).focus()
        self.action_reload()

    @property
    def rows(self) -> list[str]:
        """The rows as shown, for tests."""
        listing = self.query_one(OptionList)
        return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]

    @property
    def summary(self) -> str:
        return str(self.query_one("#costs-summary", Label).render())

    def action_reload(self) -> None:
        self.run_worker(
            partial(_read, self.runs, self.post_message),
            name="recent runs",
            group="run-costs",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_run_costs_read(self, message: Read) -> None:
        self.records = message.records
        self._show()

    def on_run_costs_read_failed(self, message: ReadFailed) -> None:
        self.query_one("#costs-summary", Label).update(f"Cannot read the runs: {message.error}")
        self.notify(str(message.error), title="Cost of recent runs", severity="error")

    def action_session_only(self) -> None:
        self.session_only = not self.session_only
        self._show()

    def _shown(self) -> list[RunRecord]:
        records = self.records or []
        return [r for r in records if r.run_id in self.seen] if self.session_only else records

    def _show(self) -> None:
        records = self._shown()
        listing = self.query_one(OptionList)
        listing.clear_options()
        widths = _widths(records)
        listing.add_options(
            [Option(_row(r, r.run_id in self.seen, widths), id=r.run_id) for r in records]
        )
        everything = totals(records)
        mine = totals([r for r in records if r.run_id in self.seen])
        scope = "this session's runs" if self.session_only else f"the last {len(records)} runs"
        lines = [
            Text.assemble(
                ("Total of ", "dim"), scope, (": ", "dim"), (everything.label, "bold yellow")
            )
        ]
        if not self.session_only:
            lines.append(Text.assemble(("• this session: ", "dim"), mine.label))
        models = by_model(records)
        if models:
            shown = [
                f"{name} {_n(t.calls, 'call')} {t.tokens:,} tok {usd(t.cost)}"
                for name, t in models.items()
            ]
            lines.append(Text.assemble(("by model: ", "dim"), " · ".join(shown)))
        if not records:
            lines = [
                Text(
                    "No runs of this session yet (s shows every recent run)."
                    if self.session_only
                    else "No runs yet: run a workflow (ctrl+r) and its cost shows here.",
                    style="dim",
                )
            ]
        self.query_one("#costs-summary", Label).update(Text("\n").join(lines))
        if records:
            listing.highlighted = 0

    def action_view(self) -> None:
        from .value_viewer import ValueViewer

        listing = self.query_one(OptionList)
        at = listing.highlighted
        records = self._shown()
        if at is None or at >= len(records):
            return
        record = records[at]
        value = {
            "run_id": record.run_id,
            "workflow": record.workflow,
            "thread_id": record.thread_id,
            "status": str(record.status),
            "duration_ms": record.duration_ms,
            "usage": record.usage,
        }
        self.app.push_screen(
            ValueViewer(value, f"run {record.run_id[:8]} · usage", record.workflow)
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_view()

    def action_close(self) -> None:
        self.dismiss(None)


def _read(runs: RunStore, post: Callable[[Message], Any]) -> None:
    try:
        records = runs.list_runs(limit=LIMIT)
    except Exception as exc:  # noqa: BLE001 - a locked or broken store is said, not raised
        post(RunCosts.ReadFailed(exc))
        return
    post(RunCosts.Read(records))


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _n(count: int, noun: str) -> str:
    """``1 call``, ``3 calls``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(ts: float) -> str:
    """``14:03:05`` today, else ``03-17 14:03``."""
    local = time.localtime(ts)
    if time.strftime("%Y-%m-%d", local) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%m-%d %H:%M", local)


def _widths(records: list[RunRecord]) -> tuple[int, int]:
    workflow = min(max((len(r.workflow) for r in records), default=8), 20)
    thread = min(max((len(r.thread_id) for r in records), default=6), 14)
    return workflow, thread


def _row(record: RunRecord, seen: bool, widths: tuple[int, int]) -> Text:
    """``• ✔ 14:03:05  team  t1  3 calls  4,101 tok  $0.0093  2.6 s``."""
    workflow_w, thread_w = widths
    mark, style = _MARKS.get(str(record.status), ("?", ""))
    usage = record.usage or {}
    calls = _int(usage.get("calls"))
    tokens = _int(usage.get("total_tokens"))
    ms = record.duration_ms
    took = "" if ms is None else (f"{ms:,.0f} ms" if ms < 1000 else f"{ms / 1000:,.1f} s")
    return Text.assemble(
        ("• " if seen else "  ", "bold cyan"),
        (f"{mark} ", style),
        (f"{_when(record.created_at)}  ", "dim"),
        (f"{_cut(record.workflow, workflow_w):<{workflow_w}}  ", "bold"),
        (f"{_cut(record.thread_id, thread_w):<{thread_w}}  ", "dim"),
        f"{calls:>3} call{'s' if calls != 1 else ' '}  ",
        f"{tokens:>9,} tok  ",
        (f"{usd(_float(usage.get('cost_usd'))):>10}  ", "yellow"),
        (f"{took:>9}", "dim"),
    )
