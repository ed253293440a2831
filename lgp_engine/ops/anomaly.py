"""Anomaly detection and rollback of served workflows.

:class:`AnomalyMonitor` hears every run event of a server (the run hub's
``on_event``). ``run.started`` says which workflow and which version of its code a
run executes (:mod:`lgp_engine.ops.versions`); the run's end (``run.completed``,
``interrupt``: a success; ``run.failed``: a failure; a cancelled run counts for
nothing) goes into an :class:`ErrorWindow` of that version. A version's error rate
is its failures over its ended runs in the last ``anomaly.window_s`` seconds.

When the error rate of the version being served rises above ``anomaly.threshold``
with at least ``anomaly.min_runs`` runs in the window (checked as soon as a run
ends, and every ``check_interval_s`` at most), the monitor:

1. records an incident (:mod:`lgp_engine.ops.incidents`) and says
   ``⚠️ Anomaly detected: error_rate = 50.0% (threshold: 10%)``;
2. looks for the previous good version (the one served before, never rolled back
   from). If that version failed as much in its own last window, the failures are
   not the new code's (a provider outage fails every version): the incident says
   so and nothing is rolled back. Likewise with ``anomaly.rollback: false`` or
   without an earlier version;
3. otherwise says ``Triggering rollback to previous version...``, has the server
   serve the previous version from its recorded snapshot (:class:`Serving`; the
   file on disk is not touched), marks the bad version (a reload of the same code
   keeps the rollback) and says ``✅ Rollback complete``;
4. says ``Incident logged: INC-2026-001`` and POSTs the incident to
   ``anomaly.alert_webhook`` when one is set;
5. watches the restored version: once ``min_runs`` runs ended after the rollback,
   the incident is ``resolved`` (error rate back under the threshold) or
   ``not_recovered`` (the restored version fails as much: the cause is elsewhere).

Every step is an :class:`~lgp_engine.events.AnomalyEvent` for the front ends
(:meth:`AnomalyMonitor.subscribe`) and an entry of the incident's timeline.

Several processes on one database (``lgp serve --workers N``, replicas) each judge
the runs they execute; a version one of them rolled back from is rolled back by the
others at their next check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..aio import wait_set
from ..events import AnomalyEvent, AnomalyEventType, RunEvent, percent
from .incidents import IncidentStatus, TimelineEntry

if TYPE_CHECKING:
    from ..config import AnomalySettings
    from .incidents import Incident, IncidentStore
    from .versions import VersionStore, WorkflowVersion

log = logging.getLogger("lgp.anomaly")

#: Runs between their start and their end that are remembered (older ones are dropped).
MAX_RUNS_IN_FLIGHT = 10_000
#: Versions of one workflow whose windows are kept (the served one and those before).
MAX_VERSIONS_KEPT = 8
#: The previous version "failed as much" when its error rate was above the threshold
#: and at least this share of the new version's.
AS_MUCH = 0.5


@dataclass(frozen=True)
class WindowStats:
    """Ended runs of one version in a window: how many, how many failed, of what kind."""

    runs: int
    failures: int
    kinds: dict[str, int] = field(default_factory=dict)
    first_failure: float | None = None  # when the oldest failure in the window ended

    @property
    def error_rate(self) -> float:
        """Failed over ended runs; 0.0 with no runs."""
        return self.failures / self.runs if self.runs else 0.0

    def breaches(self, threshold: float, min_runs: int) -> bool:
        """Enough runs to judge, and an error rate above ``threshold``."""
        return self.runs >= min_runs and self.error_rate > threshold


class ErrorWindow:
    """The ends of one version's runs over a sliding window of ``window_s`` seconds.

    Counts are kept as entries come and go, so adding and reading are O(1)
    (amortized). Entries are expected roughly in time order; one that arrives late
    is only pruned late.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._entries: deque[tuple[float, bool, str | None]] = deque()
        self._failures = 0
        #: When the newest run ended (None before any).
        self.last_ts: float | None = None
        #: Every run ever added (not only those in the window).
        self.total = 0
        #: When the error rate last went from within bounds to above them (see :meth:`add`).
        self.crossed_at: float | None = None

    def add(
        self,
        ts: float,
        failed: bool,
        kind: str | None = None,
        *,
        threshold: float | None = None,
        min_runs: int = 1,
    ) -> None:
        """Count a run that ended at ``ts``. With ``threshold``, :attr:`crossed_at`
        follows the window: set when this run takes the error rate above it, cleared
        when the rate is back within."""
        self._entries.append((ts, failed, kind if failed else None))
        self._failures += failed
        self.total += 1
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        self._prune(self.last_ts)
        if threshold is not None:
            breached = self.stats(self.last_ts).breaches(threshold, min_runs)
            if breached and self.crossed_at is None:
                self.crossed_at = ts
            elif not breached:
                self.crossed_at = None

    def stats(self, now: float | None = None) -> WindowStats:
        """The runs that ended in the window ending at ``now`` (default: the newest
        run's end, i.e. the version's last window of activity)."""
        at = now if now is not None else self.last_ts
        if at is not None:
            self._prune(at)
        kinds: dict[str, int] = {}
        first = None
        for ts, failed, kind in self._entries:
            if failed:
                kinds[kind or "error"] = kinds.get(kind or "error", 0) + 1
                first = ts if first is None else min(first, ts)
        return WindowStats(len(self._entries), self._failures, kinds, first)

    def _prune(self, now: float) -> None:
        cutoff = now - self.window_s
        while self._entries and self._entries[0][0] < cutoff:
            _, failed, _ = self._entries.popleft()
            self._failures -= failed


class Serving(Protocol):
    """What the monitor needs from the front end that serves the workflows."""

    def workflows(self) -> list[str]:
        """The names of the served workflows."""
        ...

    def served_version(self, workflow: str) -> str | None:
        """The version new runs of ``workflow`` get (None: not recorded)."""
        ...

    def workflow_files(self, workflow: str) -> list[str]:
        """The files of ``workflow`` as served (they may hold another version)."""
        ...

    async def roll_back(self, workflow: str, version: str) -> None:
        """Serve ``version`` (recorded, with its snapshot) to new runs of ``workflow``;
        raises :class:`~lgp_engine.errors.LGPError` if it cannot be loaded."""
        ...


@dataclass
class _Watch:
    """Runs of a restored version after its rollback, until the verdict."""

    incident_id: str
    since: float
    runs: int = 0
    failures: int = 0


class AnomalyMonitor:
    """Judges the served versions' error rates and acts (see the module docstring).

    Args:
        settings: The ``anomaly`` section of the config.
        versions: Recorded versions (to find the previous one and its snapshot).
        incidents: Where incidents are recorded.
        serving: The server's side: what it serves, and serving another version.
        alert: Sends an incident to the alert webhook (``anomaly.alert_webhook``).
        clock: Seconds since the epoch (tests may pass their own).
    """

    def __init__(
        self,
        settings: AnomalySettings,
        versions: VersionStore,
        incidents: IncidentStore,
        serving: Serving,
        *,
        alert: Callable[[dict[str, Any]], Coroutine[Any, Any, None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.versions = versions
        self.incidents = incidents
        self.serving = serving
        self.alert = alert
        self.clock = clock
        self._listeners: list[Callable[[AnomalyEvent], None]] = []
        self._runs: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._windows: dict[tuple[str, str], ErrorWindow] = {}
        self._open: dict[tuple[str, str], str] = {}  # (workflow, version) -> incident
        self._watches: dict[tuple[str, str], _Watch] = {}
        self._wake = asyncio.Event()
        self._last_sync = 0.0
        self._background: set[asyncio.Task[None]] = set()

    # -- listening -----------------------------------------------------------------
    def subscribe(self, listener: Callable[[AnomalyEvent], None]) -> None:
        """Hear every :class:`AnomalyEvent` (called on the monitor's event loop)."""
        self._listeners.append(listener)

    def observe(self, event: RunEvent) -> None:
        """Count a run event (the hub's ``on_event``; cheap, never raises)."""
        if event.type == "run.started":
            workflow, version = event.data.get("workflow"), event.data.get("version")
            if isinstance(workflow, str) and isinstance(version, str):
                self._runs[event.run_id] = (workflow, version)
                while len(self._runs) > MAX_RUNS_IN_FLIGHT:
                    self._runs.popitem(last=False)
            return
        if event.type == "run.cancelled":
            self._runs.pop(event.run_id, None)
            return
        if event.type not in ("run.completed", "run.failed", "interrupt"):
            return
        key = self._runs.pop(event.run_id, None)
        if key is None:
            return
        failed = event.type == "run.failed"
        kind = (event.data.get("kind") or event.data.get("error_type")) if failed else None
        self._window(key).add(
            event.ts,
            failed,
            str(kind) if kind else None,
            threshold=self.settings.threshold,
            min_runs=self.settings.min_runs,
        )
        watch = self._watches.get(key)
        if watch is not None and event.ts >= watch.since:
            watch.runs += 1
            watch.failures += failed
        self._wake.set()

    def stats(self, workflow: str, version: str) -> WindowStats:
        """The window of ``version`` of ``workflow`` now."""
        window = self._windows.get((workflow, version))
        return window.stats(self.clock()) if window else WindowStats(0, 0)

    def _window(self, key: tuple[str, str]) -> ErrorWindow:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = ErrorWindow(self.settings.window_s)
            mine = [k for k in self._windows if k[0] == key[0]]
            for old in mine[:-MAX_VERSIONS_KEPT]:  # oldest first (insertion order)
                del self._windows[old]
        return window

    # -- the loop ------------------------------------------------------------------
    async def run(self) -> None:
        """Check whenever a run ends and at least every ``check_interval_s``, until
        cancelled. A failing check is logged and the next one happens anyway."""
        while True:
            await wait_set(self._wake, self.settings.check_interval_s)
            self._wake.clear()
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("anomaly check failed")

    async def close(self) -> None:
        """Wait (briefly) for alerts still being sent."""
        if self._background:
            await asyncio.wait(self._background, timeout=5)

    async def check(self) -> None:
        """One pass: each served version's window, the watches of restored versions,
        and (every ``check_interval_s``) rollbacks other processes made."""
        now = self.clock()
        sync = now - self._last_sync >= self.settings.check_interval_s
        if sync:
            self._last_sync = now
        for key, watch in list(self._watches.items()):
            if watch.runs >= self.settings.min_runs:
                await self._verdict(key, watch, now)
        for workflow in self.serving.workflows():
            version = self.serving.served_version(workflow)
            if version is None:
                continue
            if sync and await self._follow_other_processes(workflow, version):
                continue
            key = (workflow, version)
            window = self._windows.get(key)
            if window is None or key in self._watches:  # a restored version awaits its verdict
                continue
            stats = window.stats(now)
            open_id = self._open.get(key)
            if open_id is None and stats.breaches(self.settings.threshold, self.settings.min_runs):
                await self._handle(workflow, version, window, stats, now)
            elif (
                open_id is not None
                and stats.runs >= self.settings.min_runs
                and stats.error_rate <= self.settings.threshold
            ):
                await self._recovered(key, open_id, stats, now)

    # -- acting --------------------------------------------------------------------
    async def _handle(
        self, workflow: str, version: str, window: ErrorWindow, stats: WindowStats, now: float
    ) -> None:
        s = self.settings
        crossed = window.crossed_at or now
        metrics: dict[str, Any] = {
            "error_rate": round(stats.error_rate, 4),
            "threshold": s.threshold,
            "runs": stats.runs,
            "failures": stats.failures,
            "failure_kinds": stats.kinds,
            "window_s": s.window_s,
            "min_runs": s.min_runs,
            "detect_s": round(max(0.0, now - crossed), 3),
        }
        loaded_at = await asyncio.to_thread(self.versions.loaded_at, workflow, version)
        if loaded_at is not None:
            metrics["since_load_s"] = round(max(0.0, now - loaded_at), 3)
        previous = await asyncio.to_thread(self.versions.previous, workflow, version)
        timeline = []
        if loaded_at is not None:
            timeline.append(TimelineEntry(loaded_at, "version_loaded", f"{version} served"))
        if stats.first_failure is not None:
            timeline.append(
                TimelineEntry(
                    stats.first_failure, "first_failure", "first failed run in the window"
                )
            )
        timeline += [
            TimelineEntry(crossed, "threshold_crossed", f"error rate above {percent(s.threshold)}"),
            TimelineEntry(
                now,
                "detected",
                f"error_rate = {percent(stats.error_rate, 1)} ({stats.failures} of "
                f"{stats.runs} runs in {s.window_s:g}s; threshold {percent(s.threshold)})",
            ),
        ]
        cause = (
            f"error rate of {workflow} version {version} rose to "
            f"{percent(stats.error_rate, 1)} ({stats.failures} of {stats.runs} runs in "
            f"{s.window_s:g}s), above the threshold of {percent(s.threshold)}"
        )
        files = self.serving.workflow_files(workflow)
        incident = await asyncio.to_thread(
            self.incidents.create,
            workflow,
            cause=cause,
            bad_version=version,
            metrics=metrics,
            timeline=timeline,
            files=files,
            now=now,
        )
        key = (workflow, version)
        self._open[key] = incident.id
        data = {**metrics, "version": version}
        self.emit("anomaly.detected", workflow, incident.id, data)

        reason, status = self._no_rollback_reason(workflow, version, stats, previous, metrics)
        if reason is not None:
            await self._skip(incident, status, reason, metrics, data)
            return
        assert previous is not None
        await self._roll_back(incident, previous, metrics, data)

    def _no_rollback_reason(
        self,
        workflow: str,
        version: str,
        stats: WindowStats,
        previous: WorkflowVersion | None,
        metrics: dict[str, Any],
    ) -> tuple[str | None, IncidentStatus]:
        """Why not to roll back (None: roll back), and the incident's status then."""
        s = self.settings
        if previous is None:
            return f"no earlier version of {workflow} is recorded to roll back to", "alerted"
        metrics["previous_version"] = previous.version
        before = self._windows.get((workflow, previous.version))
        base = before.stats() if before is not None else None
        if base is not None and base.runs:
            metrics["previous_error_rate"] = round(base.error_rate, 4)
            metrics["previous_runs"] = base.runs
        if (
            base is not None
            and base.breaches(s.threshold, s.min_runs)
            and base.error_rate >= AS_MUCH * stats.error_rate
        ):
            return (
                f"the previous version {previous.version} failed as much "
                f"({percent(base.error_rate, 1)} of {base.runs} runs): not a code regression "
                "(an outage of a provider or service every version uses?); not rolled back",
                "not_a_regression",
            )
        if not s.rollback:
            return "rollback is off (anomaly.rollback: false)", "alerted"
        return None, "open"

    async def _skip(
        self,
        incident: Incident,
        status: IncidentStatus,
        reason: str,
        metrics: dict[str, Any],
        data: dict[str, Any],
    ) -> None:
        now = self.clock()
        self.emit("rollback.skipped", incident.workflow, incident.id, {**data, "reason": reason})
        done = await asyncio.to_thread(
            self.incidents.update,
            incident.id,
            status=status,
            metrics=metrics,
            timeline=[TimelineEntry(now, "rollback_skipped", reason)],
            notes=[reason],
        )
        await self._logged(done)

    async def _roll_back(
        self,
        incident: Incident,
        previous: WorkflowVersion,
        metrics: dict[str, Any],
        data: dict[str, Any],
    ) -> None:
        workflow, bad = incident.workflow, incident.bad_version or ""
        started = self.clock()
        self.emit("rollback.started", workflow, incident.id, {**data, "restored": previous.version})
        try:
            await self.serving.roll_back(workflow, previous.version)
        except Exception as exc:  # noqa: BLE001 - recorded in the incident, never raised
            reason = str(exc) or type(exc).__name__
            self.emit("rollback.failed", workflow, incident.id, {**data, "reason": reason})
            done = await asyncio.to_thread(
                self.incidents.update,
                incident.id,
                status="rollback_failed",
                metrics=metrics,
                timeline=[
                    TimelineEntry(started, "rollback_started", f"to {previous.version}"),
                    TimelineEntry(self.clock(), "rollback_failed", reason),
                ],
                notes=[f"the rollback to {previous.version} failed: {reason}"],
            )
            await self._logged(done)
            return
        ended = self.clock()
        await asyncio.to_thread(
            self.versions.mark_bad,
            workflow,
            bad,
            replaced_by=previous.version,
            incident_id=incident.id,
        )
        self._open.pop((workflow, bad), None)
        self._watches[(workflow, previous.version)] = _Watch(incident.id, since=ended)
        metrics["rollback_s"] = round(ended - started, 3)
        self.emit(
            "rollback.completed",
            workflow,
            incident.id,
            {**data, "restored": previous.version, "rollback_s": metrics["rollback_s"]},
        )
        files = ", ".join(incident.files) or f"the files of {workflow}"
        holds = "holds" if len(incident.files) == 1 else "hold"
        done = await asyncio.to_thread(
            self.incidents.update,
            incident.id,
            status="rolled_back",
            restored_version=previous.version,
            metrics=metrics,
            timeline=[
                TimelineEntry(started, "rollback_started", f"to {previous.version}"),
                TimelineEntry(
                    ended,
                    "rollback_completed",
                    f"new runs get {previous.version} (loaded from its recorded snapshot)",
                ),
            ],
            notes=[
                f"{files} still {holds} version {bad}, the one rolled back from: the "
                f"server serves {previous.version} from its recorded snapshot and keeps "
                "doing so when the same code is reloaded; a save with other content is "
                "served again (and watched).",
                f"To write version {previous.version} back to disk: "
                f"lgp incidents show {incident.id} --restore",
            ],
        )
        await self._logged(done)

    async def _logged(self, incident: Incident) -> None:
        self.emit(
            "incident.logged",
            incident.workflow,
            incident.id,
            {"status": incident.status, "cause": incident.cause},
        )
        self._send(incident)

    async def _verdict(self, key: tuple[str, str], watch: _Watch, now: float) -> None:
        """The restored version ran ``min_runs`` times since the rollback: resolved
        when its error rate is back under the threshold, else not recovered."""
        del self._watches[key]
        workflow, version = key
        rate = watch.failures / watch.runs if watch.runs else 0.0
        after = {
            "error_rate_after": round(rate, 4),
            "runs_after": watch.runs,
            "failures_after": watch.failures,
        }
        if rate <= self.settings.threshold:
            status: IncidentStatus = "resolved"
            detail = (
                f"error_rate = {percent(rate, 1)} over {watch.runs} runs of {version} since "
                f"the rollback (threshold {percent(self.settings.threshold)})"
            )
            notes: list[str] = []
        else:
            status = "not_recovered"
            detail = (
                f"the restored version {version} fails as much: error_rate = "
                f"{percent(rate, 1)} over {watch.runs} runs since the rollback"
            )
            notes = [
                "the restored version fails as much as the one rolled back from: the cause "
                "is probably not the code (an outage of a provider or service?)"
            ]
            self._open[key] = watch.incident_id  # this incident follows it until it recovers
        done = await asyncio.to_thread(
            self.incidents.update,
            watch.incident_id,
            status=status,
            metrics=after,
            timeline=[TimelineEntry(now, "recovered" if status == "resolved" else status, detail)],
            notes=notes,
        )
        kind: AnomalyEventType = (
            "incident.resolved" if status == "resolved" else "incident.not_recovered"
        )
        self.emit(
            kind, workflow, done.id, {"error_rate": rate, "runs": watch.runs, "version": version}
        )
        self._send(done)

    async def _recovered(
        self, key: tuple[str, str], incident_id: str, stats: WindowStats, now: float
    ) -> None:
        """A version that was not rolled back is back under the threshold."""
        del self._open[key]
        detail = (
            f"error_rate = {percent(stats.error_rate, 1)} over {stats.runs} runs in the "
            f"window (threshold {percent(self.settings.threshold)})"
        )
        done = await asyncio.to_thread(
            self.incidents.update,
            incident_id,
            status="resolved",
            metrics={"error_rate_after": round(stats.error_rate, 4), "runs_after": stats.runs},
            timeline=[TimelineEntry(now, "recovered", detail)],
        )
        self.emit(
            "incident.resolved",
            key[0],
            incident_id,
            {"error_rate": stats.error_rate, "runs": stats.runs, "version": key[1]},
        )
        self._send(done)

    async def _follow_other_processes(self, workflow: str, version: str) -> bool:
        """Roll back here a version another process rolled back from; True if done."""
        bad = await asyncio.to_thread(self.versions.bad, workflow)
        found = bad.get(version)
        if found is None or not found.replaced_by:
            return False
        target = found.replaced_by
        try:
            await self.serving.roll_back(workflow, target)
        except Exception as exc:  # noqa: BLE001 - logged; the next check tries again
            log.warning("cannot follow the rollback of %s to %s: %s", workflow, target, exc)
            return False
        from ..runs import owner_token

        detail = f"process {owner_token()} rolled back from {version} to {target} too"
        self.emit(
            "rollback.completed",
            workflow,
            found.incident_id,
            {"version": version, "restored": target, "follower": True},
        )
        if found.incident_id:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    self.incidents.update,
                    found.incident_id,
                    timeline=[TimelineEntry(self.clock(), "rollback_followed", detail)],
                )
        return True

    # -- output --------------------------------------------------------------------
    def emit(
        self,
        kind: AnomalyEventType,
        workflow: str,
        incident_id: str | None,
        data: dict[str, Any],
    ) -> None:
        """Tell the listeners (see :meth:`subscribe`)."""
        event = AnomalyEvent(kind, workflow, incident_id, data, ts=self.clock())
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("anomaly listener failed")

    def _send(self, incident: Incident) -> None:
        """POST the incident to the alert webhook, in the background."""
        if self.alert is None:
            return
        body = {"type": "incident", "incident": incident.to_dict()}
        task = asyncio.get_running_loop().create_task(self.alert(body))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
