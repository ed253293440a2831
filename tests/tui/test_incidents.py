"""The workbench's API server under the anomaly detector: its runs in the run log,
a hot reload that makes half the API's runs fail rolled back, the banner, and the
incidents screen. Real HTTP to the workbench's server; waits on what the app shows."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from textual.widgets import OptionList, Static

from lgp_engine import Settings, load_settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.incident_list import IncidentList
from lgp_tui.widgets.run_log.run_log import RunLog
from lgp_tui.widgets.status.incident_banner import IncidentBanner
from lgp_tui.widgets.status.status_bar import StatusBar
from tests.ops.test_anomaly import GOOD, ODD_FAILS, flow

from .conftest import SIZE, log_text, wait_until, watching
from .test_server_toggle import free_port

ANOMALY = """
runs:
  max_retries: 0            # a failed run is a failure, not retried
anomaly:
  enabled: true
  window_s: 120
  threshold: 0.10
  min_runs: 6
  check_interval_s: 1
"""


@pytest.fixture
def watched(tui_project: Path) -> Settings:
    """The project with workflows/flaky.py and anomaly detection on."""
    config = tui_project / "config" / "experiment.yaml"
    config.write_text(config.read_text() + ANOMALY)
    (tui_project / "workflows" / "flaky.py").write_text(flow(GOOD))
    return load_settings(project_dir=tui_project)


@pytest.mark.asyncio
async def test_a_reload_failing_half_the_api_runs_is_rolled_back_on_screen(
    watched: Settings, tui_project: Path
) -> None:
    path = tui_project / "workflows" / "flaky.py"
    port = free_port()
    app = WorkbenchApp(watched, "workflows/flaky.py", serve=True, port=port)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.server.startswith("http://"), what="server on")
        await wait_until(pilot, lambda: watching(path.parent), what="the file watcher")
        banner = app.query_one(IncidentBanner)
        log = app.query_one(RunLog)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:

            async def invoke(n: int) -> dict:
                reply = await http.post("/workflows/flaky/invoke", json={"input": {"n": n}})
                assert reply.status_code == 200, reply.text
                return reply.json()

            for n in range(8):
                assert (await invoke(n))["status"] == "completed"
            # the API's runs are in the log, marked as such (and a filter term)
            await wait_until(
                pilot, lambda: log_text(app).count("api ✔ completed") >= 8, what="api runs"
            )
            log.set_filter("api")
            await pilot.pause()
            assert log.shown_rows and all(
                row.lstrip(" +0123456789.s").startswith("api") for row in log.shown_rows
            )
            log.set_filter("")

            path.write_text(flow(ODD_FAILS))  # half the runs fail from now on
            await wait_until(
                pilot,
                lambda: "⟳ reloaded flaky" in log_text(app),
                what="the reload",
            )
            assert not banner.display
            results = []
            while "Rollback complete" not in str(banner.render()):
                assert len(results) < 60, log_text(app)  # detected well before this
                results.append(await invoke(len(results)))
                await pilot.pause()
            assert any(r["status"] == "failed" for r in results)  # the new code served
            await wait_until(pilot, lambda: banner.incident is not None, what="the incident logged")
            shown = str(banner.render())
            assert "flaky: ⚠️ Anomaly detected: error_rate = " in shown
            assert "Triggering rollback to previous version... → ✅ Rollback complete" in shown
            assert banner.has_class("-bad") is False and banner.display
            assert f"Incident logged: {banner.incident}" in log_text(app)

            # the previous version serves again: odd inputs succeed, and once enough
            # runs say so the incident resolves (the banner turns green, then settles)
            after = [await invoke(n) for n in range(1, 14, 2)]
            assert [a["result"]["out"] for a in after][:2] == ["ok 1", "ok 3"], after
            await wait_until(pilot, lambda: banner.settled, what="the incident resolved")
            assert banner.has_class("-ok")
            assert f"Incident {banner.incident} resolved: error_rate = 0.0%" in str(banner.render())

        app.action_incidents()
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentList))
        screen = app.screen
        assert isinstance(screen, IncidentList)
        await wait_until(pilot, lambda: bool(screen.query("#incidents-list")))
        listing = screen.query_one("#incidents-list", OptionList)
        await wait_until(pilot, lambda: listing.option_count == 1, what="the incident listed")
        assert listing.get_option_at_index(0).id == banner.incident
        detail = str(screen.query_one("#incident-detail", Static).render())
        assert "Workflow: flaky" in detail and "rollback_completed" in detail
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, IncidentList))


@pytest.mark.asyncio
async def test_the_incidents_screen_says_when_there_are_none(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        app.action_incidents()
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentList))
        await wait_until(pilot, lambda: bool(app.screen.query("#incidents-summary")))
        summary = app.screen.query_one("#incidents-summary")
        await wait_until(
            pilot, lambda: "No incidents" in str(summary.render()), what="the empty list"
        )
        assert "anomaly.enabled" in str(summary.render())
