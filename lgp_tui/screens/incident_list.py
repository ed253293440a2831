"""The incidents of the project: what the anomaly detector found and did.

The list (newest first: id, workflow, status, error rate, when) and, for the one
highlighted, its cause, versions, metrics and timeline, as ``lgp incidents show``
tells them. Read from the project's incident store (the one ``lgp incidents`` and
``/incidents`` read) in a worker; ``r`` reads it again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from lgp_engine import Settings

if TYPE_CHECKING:
    from lgp_engine import Incident

_STATUS_STYLE = {
    "open": "bold red",
    "rolled_back": "yellow",
    "not_recovered": "bold red",
    "resolved": "green",
}


class IncidentList(ModalScreen[None]):
    """The project's incidents; ``selected``: an id to highlight once read."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="incidents.close"),
        Binding("r", "refresh", "Refresh", id="incidents.refresh", tooltip="Read them again"),
    ]

    def __init__(self, settings: Settings, selected: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.selected = selected
        self.incidents: list[Incident] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="incidents-box"):
            yield Label("Reading the incidents…", id="incidents-summary")
            with Horizontal(id="incidents-panes"):
                yield OptionList(id="incidents-list")
                yield Static("", id="incident-detail", markup=False)

    def on_mount(self) -> None:
        box = self.query_one("#incidents-box")
        box.border_title = "Incidents"
        box.border_subtitle = "r refresh · esc close"
        self.action_refresh()

    def action_refresh(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, group="incidents")
    def _read(self) -> None:
        from lgp_engine import IncidentStore

        try:
            store = IncidentStore.open(self.settings)
            try:
                incidents = store.list_incidents(limit=200)
            finally:
                store.close()
        except Exception as exc:  # noqa: BLE001 - said in the screen
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._show, incidents)

    def _failed(self, error: Exception) -> None:
        self.query_one("#incidents-summary", Label).update(f"Cannot read the incidents: {error}")

    def _show(self, incidents: list[Incident]) -> None:
        self.incidents = incidents
        summary = self.query_one("#incidents-summary", Label)
        listing = self.query_one("#incidents-list", OptionList)
        listing.clear_options()
        if not incidents:
            summary.update(
                "No incidents. The API server (ctrl+s) records one when a workflow's error "
                "rate crosses anomaly.threshold (config: anomaly.enabled)."
            )
            self.query_one("#incident-detail", Static).update("")
            return
        open_ = sum(1 for i in incidents if not i.closed)
        summary.update(f"{len(incidents)} incident(s), {open_} open")
        listing.add_options(Option(_row(i), id=i.id) for i in incidents)
        ids = [i.id for i in incidents]
        listing.highlighted = ids.index(self.selected) if self.selected in ids else 0
        listing.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        found = next((i for i in self.incidents if i.id == event.option.id), None)
        if found is not None:
            self.query_one("#incident-detail", Static).update(detail(found))


def _row(incident: Incident) -> Text:
    rate = incident.metrics.get("error_rate")
    shown = f"{rate:.0%}" if isinstance(rate, int | float) else "?"
    return Text.assemble(
        (incident.id, "bold"),
        "  ",
        (incident.workflow, "cyan"),
        "  ",
        (incident.status, _STATUS_STYLE.get(incident.status, "")),
        (f"  {shown} · {_when(incident.created_at)}", "dim"),
    )


def detail(incident: Incident) -> Text:
    """The incident told as ``lgp incidents show`` tells it."""
    text = Text()
    text.append(f"{incident.id}  ", style="bold")
    text.append(incident.status, style=_STATUS_STYLE.get(incident.status, ""))
    text.append(f"\nWorkflow: {incident.workflow}\nCause: {incident.cause}\n")
    text.append(f"Versions: bad {incident.bad_version or '-'}")
    text.append(f" → restored {incident.restored_version or '-'}\n")
    for key, value in incident.metrics.items():
        ratio = "error_rate" in key or key == "threshold"
        shown = f"{value:.1%}" if ratio and isinstance(value, float) else value
        text.append(f"  {key}: {shown}\n", style="dim")
    if incident.files:
        text.append(f"Files: {', '.join(incident.files)}\n")
    text.append("\nTimeline\n", style="bold underline")
    for entry in incident.timeline:
        text.append(f"{_when(entry.ts)}  ", style="dim")
        text.append(entry.event, style="bold")
        text.append(f"  {entry.detail}\n" if entry.detail else "\n")
    for note in incident.notes:
        text.append(f"\nNote: {note}", style="italic")
    return text


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
