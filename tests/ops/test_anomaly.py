"""Anomaly detection and rollback (lgp_engine.ops.anomaly, versions, incidents).

The window math and the monitor's decisions are checked in-process with a clock of
the test's own; versions and incidents on SQLite and PostgreSQL; loading an earlier
version from its snapshot through the reloader; and the whole story against a real
``lgp serve --reload`` process: a save that makes half the runs fail is rolled back,
the incident is served by ``/incidents`` and ``lgp incidents``, and the runs succeed
again. Every wait is on a line the server prints or a file, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.backends.sql import Database, open_database
from lgp_engine.config import AnomalySettings, Settings
from lgp_engine.events import AnomalyEvent, EventType, RunEvent, percent
from lgp_engine.loader import WorkflowSource, load_workflow
from lgp_engine.ops.anomaly import AnomalyMonitor, ErrorWindow, WindowStats
from lgp_engine.ops.incidents import IncidentStore, TimelineEntry
from lgp_engine.ops.versions import VersionStore, code_version
from lgp_engine.reload import WorkflowReloader
from tests import postgres
from tests.conftest import copy_project
from tests.processes import run_lgp, wait_until
from tests.server.server_process import ServerProcess

TIMEOUT = 30.0


# --------------------------------------------------------------------------- the window


def test_error_rate_is_failures_over_ended_runs_in_the_window() -> None:
    window = ErrorWindow(window_s=60)
    for i in range(8):
        window.add(1000.0 + i, failed=False)
    window.add(1010.0, failed=True, kind="timeout")
    window.add(1011.0, failed=True)
    stats = window.stats(1011.0)
    assert (stats.runs, stats.failures) == (10, 2)
    assert stats.error_rate == pytest.approx(0.2)
    assert stats.kinds == {"timeout": 1, "error": 1}
    assert stats.first_failure == 1010.0
    # 65 s later the first five successes are out of the window: 2 of 5 failed
    assert window.stats(1065.0) == WindowStats(5, 2, {"timeout": 1, "error": 1}, 1010.0)
    # and once everything is older than the window there is nothing to judge
    later = window.stats(2000.0)
    assert (later.runs, later.failures, later.error_rate) == (0, 0, 0.0)
    assert window.total == 10


def test_breach_needs_min_runs_and_a_rate_strictly_above_the_threshold() -> None:
    assert not WindowStats(9, 9).breaches(0.10, min_runs=10)  # too few runs to judge
    assert not WindowStats(10, 1).breaches(0.10, min_runs=10)  # 10% is not above 10%
    assert WindowStats(50, 6).breaches(0.10, min_runs=10)  # 12%
    assert percent(6 / 50, 1) == "12.0%" and percent(0.10) == "10%"


def test_crossed_at_follows_the_window() -> None:
    window = ErrorWindow(window_s=10)

    def add(ts: float, failed: bool) -> None:
        window.add(ts, failed, threshold=0.10, min_runs=4)

    for i in range(3):
        add(100.0 + i, False)
    add(103.0, True)  # 1 of 4: above 10%
    assert window.crossed_at == 103.0
    add(104.0, True)  # still above: the crossing stays
    assert window.crossed_at == 103.0
    for i in range(30):  # 10 s of successes push the failures out
        add(105.0 + i, False)
    assert window.crossed_at is None
    assert window.stats().failures == 0


def test_a_version_s_last_window_is_kept_for_comparison() -> None:
    window = ErrorWindow(window_s=60)
    for i in range(10):
        window.add(100.0 + i, failed=i % 2 == 0)
    # read at its last activity (the version no longer serves), not at "now"
    assert window.stats().error_rate == pytest.approx(0.5)
    assert window.stats(10_000.0).runs == 0


# --------------------------------------------------------------------------- stores


@pytest.fixture(params=["sqlite", "postgres"])
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Database]]:
    """Opens a connection to the ops tables' database (each call another one, as
    another process would have): a SQLite file, or a PostgreSQL database of its own."""
    opened: list[Database] = []
    name = None
    if request.param == "sqlite":
        target: Path | str = tmp_path / "ops.db"
    else:
        dsn, name = postgres.create_database()
        target = dsn

    def open_db() -> Database:
        db = open_database(target)
        opened.append(db)
        return db

    try:
        yield open_db
    finally:
        for db in opened:
            db.close()
        if name is not None:
            postgres.drop_database(name)


FLOW = """\
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
{imports}

class S(TypedDict, total=False):
    n: int
    out: str


def work(state: S) -> S:
{body}


workflow = StateGraph(S)
workflow.add_node("work", work)
workflow.add_edge(START, "work")
workflow.add_edge("work", END)
"""

GOOD = '    return {"out": f"ok {state.get(\'n\', 0)}"}'
ODD_FAILS = (
    "    n = state.get('n', 0)\n"
    "    if n % 2:\n"
    "        raise ValueError(f'odd input {n}')\n"
    '    return {"out": f"v2 {n}"}'
)


def flow(body: str, imports: str = "") -> str:
    return FLOW.format(body=body, imports=imports)


def _load(path: Path) -> Any:
    return load_workflow(WorkflowSource(name=path.stem, path=path, base_dir=path.parent))


def test_versions_are_content_hashes_with_a_history_and_snapshots(
    connect: Callable[[], Database], tmp_path: Path
) -> None:
    path = tmp_path / "wf" / "flow_versions.py"
    path.parent.mkdir()
    path.write_text(flow(GOOD))
    store = VersionStore(connect())
    v1 = store.record(_load(path), "load")
    again = _load(path)
    assert store.record(again, "reload").version == v1.version  # same code, same version
    assert again.version == v1.version
    path.write_text(flow(ODD_FAILS))
    v2 = store.record(_load(path), "reload")
    assert v2.version != v1.version and len(v2.version) == 12
    assert store.previous("flow_versions", v2.version) == v1
    assert store.snapshot("flow_versions", v1.version) == {path.resolve(): flow(GOOD).encode()}
    assert [h.reason for h in store.history("flow_versions")] == ["reload", "reload", "load"]

    # a version rolled back from is never "previous", and is remembered as bad
    store.mark_bad("flow_versions", v2.version, replaced_by=v1.version, incident_id="INC-X")
    path.write_text(flow(GOOD.replace("ok", "v3")))
    v3 = store.record(_load(path), "reload")
    assert store.previous("flow_versions", v3.version) == v1
    bad = store.bad("flow_versions")
    assert list(bad) == [v2.version] and bad[v2.version].replaced_by == v1.version
    assert store.previous("flow_versions", "unknown") is None


def test_incident_ids_are_numbered_per_year_across_connections(
    connect: Callable[[], Database],
) -> None:
    store = IncidentStore(connect())
    first = store.create("wf", cause="c", bad_version="b", now=1_780_000_000.0)  # 2026
    assert first.id == "INC-2026-001"
    # other connections (as other processes would have) draw numbers at the same time
    others = [IncidentStore(connect()) for _ in range(4)]
    ids: list[str] = []
    lock = threading.Lock()

    def draw(s: IncidentStore) -> None:
        for _ in range(5):
            made = s.create("wf", cause="c", now=1_780_000_000.0)
            with lock:
                ids.append(made.id)

    threads = [threading.Thread(target=draw, args=(s,)) for s in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert sorted(ids) == [f"INC-2026-{n:03d}" for n in range(2, 22)]
    assert store.create("wf", cause="c", now=1_800_000_000.0).id == "INC-2027-001"

    updated = store.update(
        first.id,
        status="rolled_back",
        restored_version="a",
        metrics={"error_rate": 0.5},
        timeline=[TimelineEntry(5.0, "rollback_completed"), TimelineEntry(1.0, "detected")],
        notes=["n1"],
    )
    assert updated.status == "rolled_back" and updated.restored_version == "a"
    assert [e.event for e in updated.timeline] == ["detected", "rollback_completed"]
    assert store.get("inc-2026-001").notes == ("n1",)
    assert [i.id for i in store.list_incidents(limit=2)] == ["INC-2027-001", "INC-2026-021"]


# --------------------------------------------------------------------------- snapshots


def test_an_earlier_version_loads_from_its_snapshot_while_the_file_holds_another(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "snap_helper.py").write_text("WORD = 'one'\n")
    path = folder / "flow_snap.py"
    body = '    return {"out": f"{snap_helper.WORD} {state.get(\'n\', 0)}"}'
    path.write_text(flow(body, "import snap_helper"))
    settings = Settings(project_dir=tmp_path)
    reloader = WorkflowReloader(_load(path), settings)
    v1 = code_version(reloader.current)
    assert set(v1.sources) == {path.resolve(), (folder / "snap_helper.py").resolve()}

    (folder / "snap_helper.py").write_text("WORD = 'two'\n")
    path.write_text(flow(ODD_FAILS.replace("v2", "{snap_helper.WORD}"), "import snap_helper"))
    v2 = reloader.reload_now([path])
    assert v2.workflow is not None
    assert _invoke(v2.workflow, 2) == "two 2"

    back = reloader.reload_now(sources=v1.sources)
    assert back.workflow is not None and back.workflow.snapshot is not None
    assert _invoke(back.workflow, 3) == "one 3"  # v1's code, v1's helper
    assert code_version(back.workflow).version == v1.version
    assert "raise ValueError" in path.read_text()  # the file is left alone

    from lgp_engine.backends.node_cache import code_fingerprint

    # the node cache keys the restored code apart from the file's
    assert code_fingerprint(back.workflow) != code_fingerprint(v2.workflow)


def _invoke(workflow: Any, n: int) -> str:
    from langgraph.checkpoint.memory import InMemorySaver

    graph = workflow.build(InMemorySaver())
    out = graph.invoke({"n": n}, {"configurable": {"thread_id": f"t{n}"}})
    return str(out["out"])


# --------------------------------------------------------------------------- the monitor


class FakeServing:
    """Serves versions by name; a rollback switches the served version."""

    def __init__(self, served: dict[str, str]) -> None:
        self.served = served
        self.rollbacks: list[tuple[str, str]] = []
        self.fail: str | None = None

    def workflows(self) -> list[str]:
        return sorted(self.served)

    def served_version(self, workflow: str) -> str | None:
        return self.served.get(workflow)

    def workflow_files(self, workflow: str) -> list[str]:
        return [f"workflows/{workflow}.py"]

    async def roll_back(self, workflow: str, version: str) -> None:
        if self.fail:
            raise RuntimeError(self.fail)
        self.rollbacks.append((workflow, version))
        self.served[workflow] = version


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A monitor over SQLite stores, fed run events by hand."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.db = open_database(tmp_path / "ops.db")
        self.versions = VersionStore(self.db)
        self.incidents = IncidentStore(self.db)
        self.clock = Clock()
        self.serving = FakeServing({"wf": "v2"})
        defaults = {"enabled": True, "window_s": 60, "min_runs": 6, "check_interval_s": 1}
        self.monitor = AnomalyMonitor(
            AnomalySettings(**{**defaults, **settings}),
            self.versions,
            self.incidents,
            self.serving,
            alert=self._alert,
            clock=self.clock,
        )
        self.alerts: list[dict[str, Any]] = []
        self.events: list[AnomalyEvent] = []
        self.monitor.subscribe(self.events.append)
        self.count = 0

    def history(self, *versions: str) -> None:
        for version in versions:
            self.db.execute(
                "INSERT INTO lgp_workflow_versions (workflow, version, created_at, reason, files) "
                "VALUES ('wf', ?, ?, 'load', '') ON CONFLICT (workflow, version) DO NOTHING",
                (version, self.clock.now),
            )
            self.db.execute(
                "INSERT INTO lgp_workflow_loads (workflow, version, reason, ts) "
                "VALUES ('wf', ?, 'reload', ?)",
                (version, self.clock.now),
            )

    def runs(self, version: str, outcomes: str, kind: str = "") -> None:
        """One run per character: ``.`` completes, ``x`` fails."""
        for outcome in outcomes:
            self.count += 1
            self.clock.now += 0.5
            run = f"r{self.count}"
            self.monitor.observe(
                RunEvent(run, 1, "run.started", "t", {"workflow": "wf", "version": version})
            )
            data = {"error_type": "ValueError", "kind": kind} if outcome == "x" else {}
            end: EventType = "run.failed" if outcome == "x" else "run.completed"
            self.monitor.observe(RunEvent(run, 2, end, "t", data, ts=self.clock.now))

    async def _alert(self, body: dict[str, Any]) -> None:
        self.alerts.append(body)

    def check(self) -> None:
        async def once() -> None:
            await self.monitor.check()
            await self.monitor.close()  # the alerts sent in the background

        asyncio.run(once())

    @property
    def lines(self) -> list[str]:
        return [e.line for e in self.events]


def test_a_version_failing_half_its_runs_is_rolled_back_and_watched(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.serving.served["wf"] = "v1"
    h.history("v1")
    h.runs("v1", "......")
    h.check()
    assert h.events == []
    h.serving.served["wf"] = "v2"
    h.history("v2")
    h.runs("v2", ".x.x.")  # 5 runs: not enough to judge
    h.check()
    assert h.events == []
    h.runs("v2", "x")  # the 6th: 3 of 6 failed
    h.check()
    assert h.serving.rollbacks == [("wf", "v1")]
    (incident,) = h.incidents.list_incidents()
    assert h.lines == [
        "⚠️ Anomaly detected: error_rate = 50.0% (threshold: 10%)",
        "Triggering rollback to previous version...",
        "✅ Rollback complete",
        f"Incident logged: {incident.id}",
    ]
    assert incident.status == "rolled_back"
    assert (incident.bad_version, incident.restored_version) == ("v2", "v1")
    assert incident.metrics["error_rate"] == 0.5 and incident.metrics["runs"] == 6
    assert incident.metrics["previous_error_rate"] == 0.0
    assert [e.event for e in incident.timeline] == [
        "version_loaded",
        "first_failure",
        "threshold_crossed",
        "detected",
        "rollback_started",
        "rollback_completed",
    ]
    assert any("--restore" in n for n in incident.notes)
    assert h.versions.bad("wf")["v2"].replaced_by == "v1"
    (alert,) = h.alerts  # the incident, once logged
    assert alert["incident"]["id"] == incident.id
    assert alert["incident"]["status"] == "rolled_back"

    h.runs("v1", ".....")
    h.check()
    assert h.incidents.get(incident.id).status == "rolled_back"  # 5 runs: not yet
    h.runs("v1", ".")
    h.check()
    done = h.incidents.get(incident.id)
    assert done.status == "resolved"
    assert done.metrics["error_rate_after"] == 0.0 and done.metrics["runs_after"] == 6
    assert h.lines[-1] == f"Incident {incident.id} resolved: error_rate = 0.0% over 6 runs"
    assert [a["incident"]["status"] for a in h.alerts] == ["rolled_back", "resolved"]
    h.runs("v1", "......")
    h.check()
    assert len(h.incidents.list_incidents()) == 1  # nothing more happens


def test_no_rollback_when_the_previous_version_failed_as_much(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.history("v1", "v2")
    h.runs("v1", "x.x.x.", kind="unavailable")  # the provider was down already
    h.runs("v2", "x.x.x.", kind="unavailable")
    h.check()
    assert h.serving.rollbacks == []
    (incident,) = h.incidents.list_incidents()
    assert incident.status == "not_a_regression"
    assert "failed as much" in incident.cause or any("failed as much" in n for n in incident.notes)
    assert incident.metrics["previous_error_rate"] == 0.5
    assert incident.metrics["failure_kinds"] == {"unavailable": 3}
    assert [e.type for e in h.events] == ["anomaly.detected", "rollback.skipped", "incident.logged"]
    h.runs("v2", "x")
    h.check()
    assert len(h.incidents.list_incidents()) == 1  # one incident while it lasts
    h.runs("v2", "." * 40)  # the outage is over
    h.check()
    assert h.incidents.get(incident.id).status == "resolved"


def test_a_restored_version_that_fails_as_much_is_not_recovered(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.history("v1", "v2")
    h.runs("v2", "x.x.x.")
    h.check()
    (incident,) = h.incidents.list_incidents()
    assert h.serving.rollbacks == [("wf", "v1")]
    h.runs("v1", "xx.xx.")  # an outage that began with the reload
    h.check()
    assert h.incidents.get(incident.id).status == "not_recovered"
    assert h.events[-1].type == "incident.not_recovered"
    assert h.serving.rollbacks == [("wf", "v1")]  # no rollback of the rollback


def test_rollback_off_without_a_previous_version_or_failing(tmp_path: Path) -> None:
    h = Harness(tmp_path, rollback=False)
    h.history("v1", "v2")
    h.runs("v2", "x.x.x.")
    h.check()
    assert h.serving.rollbacks == []
    assert h.incidents.list_incidents()[0].status == "alerted"

    h = Harness(tmp_path / "b")
    h.history("v2")
    h.runs("v2", "x.x.x.")
    h.check()
    (first,) = h.incidents.list_incidents()
    assert first.status == "alerted" and "no earlier version" in first.notes[0]

    h = Harness(tmp_path / "c")
    h.history("v1", "v2")
    h.serving.fail = "no sources of version v1 are recorded"
    h.runs("v2", "x.x.x.")
    h.check()
    (failed,) = h.incidents.list_incidents()
    assert failed.status == "rollback_failed"
    assert h.lines[2] == "❌ Rollback failed: no sources of version v1 are recorded"


def test_cancelled_runs_and_unversioned_runs_count_for_nothing(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.monitor.observe(RunEvent("a", 1, "run.started", "t", {"workflow": "wf"}))
    h.monitor.observe(RunEvent("a", 2, "run.failed", "t", {}))
    h.monitor.observe(RunEvent("b", 1, "run.started", "t", {"workflow": "wf", "version": "v2"}))
    h.monitor.observe(RunEvent("b", 2, "run.cancelled", "t", {"reason": "x"}))
    assert h.monitor.stats("wf", "v2").runs == 0


def test_another_process_s_rollback_is_followed(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.history("v1", "v2")
    incident = h.incidents.create("wf", cause="c", bad_version="v2")
    h.versions.mark_bad("wf", "v2", replaced_by="v1", incident_id=incident.id)
    h.check()
    assert h.serving.rollbacks == [("wf", "v1")]
    assert h.incidents.get(incident.id).timeline[-1].event == "rollback_followed"


# --------------------------------------------------------------------------- config


def test_the_shipped_server_configs_watch_and_the_settings_are_checked(tmp_path: Path) -> None:
    from lgp_engine.config import load_settings
    from lgp_engine.errors import ConfigError
    from lgp_engine.server.app import create_app
    from tests.conftest import REPO

    for env in ("hosted", "production"):
        anomaly = load_settings(env, project_dir=REPO).anomaly
        assert anomaly.enabled and anomaly.rollback and anomaly.check_interval_s <= 60
        assert anomaly.alert_webhook is None  # ${LGP_ALERT_WEBHOOK:-} unset
    assert not Settings().anomaly.enabled  # the workbench's own runs: off unless asked

    (tmp_path / "config").mkdir()
    hosted = tmp_path / "config" / "hosted.yaml"
    hosted.write_text("anomaly:\n  check_interval_s: 120\n")
    with pytest.raises(ConfigError, match=r"hosted.yaml:2: anomaly.check_interval_s"):
        load_settings("hosted", project_dir=tmp_path)
    hosted.write_text("anomaly:\n  threshold: 1.5\n")
    with pytest.raises(ConfigError, match=r"anomaly\.threshold"):
        load_settings("hosted", project_dir=tmp_path)

    # the alert webhook obeys the run webhooks' rules, before the server starts
    hosted.write_text("anomaly:\n  alert_webhook: http://127.0.0.1:9/alerts\n")
    settings = load_settings("hosted", project_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"anomaly.alert_webhook: .*loopback or private"):
        create_app(settings, catalog=_empty_catalog())
    hosted.write_text(
        "anomaly:\n  alert_webhook: http://127.0.0.1:9/alerts\n"
        'webhooks:\n  allowed_hosts: ["127.0.0.1"]\n'
    )
    create_app(load_settings("hosted", project_dir=tmp_path), catalog=_empty_catalog())


def _empty_catalog() -> Any:
    from lgp_engine.server.catalog import Catalog

    return Catalog()


# --------------------------------------------------------------------------- end to end

HOSTED = """\
environment: hosted
checkpointer:
  backend: sqlite
  path: .lgp/hosted.db
server:
  rate_limit_per_minute: 0
anomaly:
  enabled: true
  window_s: 120
  threshold: 0.10
  min_runs: 6
  check_interval_s: 1
  alert_webhook: {alert_url}
webhooks:
  allowed_hosts: ["127.0.0.1"]
"""


class AlertReceiver:
    """An HTTP endpoint on this machine that keeps the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        import http.server
        import json

        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(size)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AlertReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_reload_that_fails_half_the_runs_is_rolled_back(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    receiver = AlertReceiver()
    (project / "config" / "hosted.yaml").write_text(HOSTED.format(alert_url=receiver.url))
    path = project / "workflows" / "flaky.py"
    path.write_text(flow(GOOD))
    with receiver, ServerProcess(project, "workflows/flaky.py", "--reload") as server:
        assert any("Anomaly detection: ON" in line for line in server.output)
        with server.client() as http:

            def invoke(n: int) -> dict[str, Any]:
                r = http.post("/workflows/flaky/invoke", json={"input": {"n": n}})
                assert r.status_code == 200, r.text
                return r.json()

            def saw(text: str, after: int = 0) -> bool:
                return any(text in line for line in server.output[after:])

            before = [invoke(n) for n in range(10)]
            assert {b["status"] for b in before} == {"completed"}

            mark = len(server.output)
            path.write_text(flow(ODD_FAILS))  # half the runs fail from now on
            wait_until(lambda: saw("Serving the new flaky", mark), TIMEOUT, "the reload")
            started = time.monotonic()
            results: list[dict[str, Any]] = []
            while not saw("Rollback complete", mark):
                assert len(results) < 60, server.text  # detected well before this
                results.append(invoke(len(results)))
            detected_after = time.monotonic() - started
            assert results[0]["result"]["out"] == "v2 0"  # the new code served
            # the runs the bad version served (the last ones may have run on the restored one)
            bad = [r for r in results if r["status"] == "failed"]
            served_bad = bad + [
                r for r in results if (r["result"] or {}).get("out", "")[:2] == "v2"
            ]
            assert len(served_bad) >= 6 and len(bad) / len(served_bad) >= 0.4, results
            assert detected_after < 60

            wait_until(lambda: saw("Incident logged: INC-", mark), TIMEOUT, "the incident")
            # (the rate is the window's when the check ran: 3 of 6, or of 7 if a run
            # ended meanwhile)
            seed = (
                r"\[lgp\] ⚠️ Anomaly detected: error_rate = \d+\.\d% \(threshold: 10%\)$",
                r"\[lgp\] Triggering rollback to previous version\.\.\.$",
                r"\[lgp\] ✅ Rollback complete$",
                r"\[lgp\] Incident logged: INC-\d{4}-001$",
            )
            said = [ln for ln in server.output[mark:] if any(re.match(s, ln) for s in seed)]
            assert len(said) == 4, server.text
            assert all(re.match(s, ln) for s, ln in zip(seed, said, strict=True)), said

            # the previous version serves: odd inputs succeed again
            after = [invoke(n) for n in range(1, 14, 2)]
            assert {a["status"] for a in after} == {"completed"}, after
            assert after[0]["result"]["out"] == "ok 1"
            wait_until(lambda: saw("resolved: error_rate = 0.0%", mark), TIMEOUT, "recovery")

            (incident,) = http.get("/incidents").json()
            assert incident["workflow"] == "flaky"
            assert incident["status"] == "resolved"
            assert incident["versions"]["bad"] != incident["versions"]["restored"]
            assert incident["metrics"]["error_rate"] >= 0.4  # about half the runs failed
            assert incident["metrics"]["error_rate_after"] == 0.0
            assert incident["metrics"]["detect_s"] < 60
            assert incident["files"] == ["workflows/flaky.py"]
            # the alert webhook got the incident when it was logged and when it resolved
            wait_until(lambda: len(receiver.received) >= 2, TIMEOUT, "the alerts")
            sent = {(a["incident"]["id"], a["incident"]["status"]) for a in receiver.received}
            assert sent == {(incident["id"], "rolled_back"), (incident["id"], "resolved")}
            events = [e["event"] for e in incident["timeline"]]
            assert events[-3:] == ["rollback_started", "rollback_completed", "recovered"]
            one = http.get(f"/incidents/{incident['id']}")
            assert one.status_code == 200 and one.json() == incident
            assert http.get("/incidents/INC-1999-001").status_code == 404
            runs = http.get("/incidents", params={"workflow": "other"}).json()
            assert runs == []

            # the same bad code saved again keeps the rollback
            mark = len(server.output)
            path.write_text(flow(ODD_FAILS))
            wait_until(lambda: saw("still serving", mark), TIMEOUT, "the kept rollback")
            assert not saw("Serving the new flaky", mark), server.text
            assert invoke(7)["status"] == "completed"

            # new content is served again
            mark = len(server.output)
            path.write_text(flow(GOOD.replace("ok", "v3")))
            wait_until(lambda: saw("Serving the new flaky", mark), TIMEOUT, "the new save")
            assert invoke(9)["result"]["out"] == "v3 9"

        listed = run_lgp("incidents", cwd=project, env={"LGP_ENV": "hosted"})
        assert listed.returncode == 0, listed.stderr
        assert incident["id"] in listed.stdout and "resolved" in listed.stdout
        shown = run_lgp("incidents", "show", incident["id"], cwd=project)
        assert shown.returncode == 0, shown.stderr
        assert "rollback_completed" in shown.stdout and "Cause:" in shown.stdout
        # the file holds v3 now: --restore refuses to overwrite it, --force does
        refused = run_lgp("incidents", "show", incident["id"], "--restore", cwd=project)
        assert refused.returncode == 2 and "holds neither version" in refused.stderr
        mark = len(server.output)
        forced = run_lgp("incidents", "show", incident["id"], "--restore", "--force", cwd=project)
        assert forced.returncode == 0, forced.stderr
        assert path.read_text() == flow(GOOD)
        wait_until(lambda: saw("Serving the new flaky", mark), TIMEOUT, "the restored file")
        with server.client() as http:
            assert http.post("/workflows/flaky/invoke", json={"input": {"n": 3}}).json()[
                "result"
            ] == {"n": 3, "out": "ok 3"}
        print(
            f"detected after {detected_after:.2f}s and {len(results)} runs on the bad version "
            f"({len(bad)} failed); incident {incident['id']}: {incident['metrics']}",
            file=sys.stderr,
        )
