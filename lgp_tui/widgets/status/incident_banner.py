"""A banner over the source pane while the API server's anomaly detector is at work.

It shows what the detector did last for each workflow (detected, rolling back, rolled
back, logged as an incident) in the detector's own words (:attr:`AnomalyEvent.line`),
and how to see the incidents. An incident that resolves turns the banner green; the
app hides it a little later (:meth:`IncidentBanner.settled`).
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from lgp_engine import AnomalyEvent

_OK = {"incident.resolved", "rollback.completed", "rollback.kept"}
_BAD = {"anomaly.detected", "rollback.failed", "incident.not_recovered"}


class IncidentBanner(Static):
    """Hidden until :meth:`show_event`; the lines of the workflows concerned."""

    latest: reactive[AnomalyEvent | None] = reactive(None, always_update=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.display = False
        self.incident: str | None = None
        """The incident of the last event, once it has one (``INC-2026-001``)."""
        self._steps: dict[str, list[str]] = {}  # workflow -> the lines of its story

    @property
    def settled(self) -> bool:
        """The last event ends a story (resolved, or a rollback kept): hide soon."""
        latest = self.latest
        return latest is not None and latest.type in ("incident.resolved", "rollback.kept")

    def show_event(self, event: AnomalyEvent) -> None:
        steps = self._steps.setdefault(event.workflow, [])
        if event.type == "anomaly.detected":
            steps.clear()  # a new story for this workflow
        steps.append(event.line)
        if event.incident_id:
            self.incident = event.incident_id
        self.latest = event

    def watch_latest(self, event: AnomalyEvent | None) -> None:
        if event is None:
            self.display = False
            return
        self.set_class(event.type in _OK, "-ok")
        self.set_class(event.type in _BAD, "-bad")
        text = Text()
        for workflow, steps in self._steps.items():
            if text:
                text.append("\n")
            text.append(f"{workflow}: ", style="bold")
            text.append(" → ".join(steps[-4:]))
        hint = f"  (ctrl+p Incidents: {self.incident})" if self.incident else ""
        text.append(hint, style="dim")
        self.update(text)
        self.display = True

    def dismiss(self) -> None:
        """Hide it; the next event shows it again."""
        self._steps.clear()
        self.latest = None
