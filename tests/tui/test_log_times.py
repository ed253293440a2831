"""Times on run-log entries: relative to the run's start by default, the clock's after
``t``; in a column that stays put when the log scrolls sideways."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from lgp_engine import ReloadEvent, RunEvent, Settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.run_log.run_log import RunLog

from .conftest import SIZE, fill, status, wait_until

CLOCK = re.compile(r"\d\d:\d\d:\d\d\.\d\d\d")


def at(ts: float, run: str, seq: int, kind: str, node: str | None = None, **data: object):
    return RunEvent(
        run_id=run, seq=seq, type=kind, thread_id="t1", node=node, data=dict(data), ts=ts
    )


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunLog()


def clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3]


def drawn(log: RunLog) -> list[str]:
    return [log.render_line(y).text for y in range(len(log.shown_rows))]


@pytest.mark.asyncio
async def test_times_relative_to_each_run_then_the_clock_after_t() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(RunLog)
        log.add_event(at(1000.0, "r1", 1, "run.started", workflow="demo", input={}))
        log.add_event(at(1000.5, "r1", 2, "node.started", "plan"))
        log.add_event(at(1001.25, "r1", 3, "node.finished", "plan", update={"x": "y" * 300}))
        log.add_reload(ReloadEvent("reload.succeeded", "demo", {"load_ms": 12.0}, ts=1500.0))
        log.add_event(at(2000.0, "r2", 1, "run.started", workflow="demo", input={}))
        log.add_event(at(2012.125, "r2", 2, "node.started", "plan"))
        log.add_line("a note")
        await pilot.pause()

        assert log.times == "relative"
        stamps = [log.stamp(entry) for entry in log.entries]
        # each run from its own start; a reload and a note belong to no run
        assert stamps == ["+0.000s", "+0.500s", "+1.250s", "", "+0.000s", "+12.125s", ""]
        rows = drawn(log)
        assert rows[2].startswith(" +1.250s   ✓ plan")
        assert rows[3].startswith(" " * 9 + "⟳ reloaded demo")
        assert rows[5].startswith("+12.125s   ● plan started")
        assert log.shown_rows[2].startswith("  ✓ plan")  # the entry's text has no time

        log.focus()
        log.scroll_to(x=20, animate=False)  # the long update: the times stay in view
        await pilot.pause()
        assert log.scroll_x == 20
        assert drawn(log)[2].startswith(" +1.250s ")

        await pilot.press("t")
        assert log.times == "absolute"
        stamps = [log.stamp(entry) for entry in log.entries]
        assert stamps[:6] == [clock(t) for t in (1000.0, 1000.5, 1001.25, 1500.0, 2000.0, 2012.125)]
        assert CLOCK.fullmatch(stamps[6])  # the note: when it was added
        assert drawn(log)[3].startswith(f"{clock(1500.0)} ")

        await pilot.press("t")
        assert log.stamp(log.entries[5]) == "+12.125s"


@pytest.mark.asyncio
async def test_a_real_run_shows_when_each_step_happened(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await fill(pilot, app.query_one("#thread-input", Input), "times-t")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        log = app.query_one(RunLog)
        await wait_until(pilot, lambda: log.entries[-1].kind == "run.completed")
        ran = [e for e in log.entries if e.run_id is not None]
        stamps = [log.stamp(entry) for entry in ran]
        assert ran[0].kind == "run.started" and stamps[0] == "+0.000s"
        seconds = [float(s[1:-1]) for s in stamps]
        assert seconds == sorted(seconds)  # in the order they happened
        assert seconds[-1] < 60

        log.focus()
        await pilot.press("t")
        for entry in ran:
            assert CLOCK.fullmatch(log.stamp(entry))
        assert log.stamp(ran[0]) == clock(ran[0].ts or 0)
