"""The run log: filtering, copying, folded tracebacks, coalesced tokens, following,
and a run of 10,000 events driven through the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from lgp_engine import RunEvent, Settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.run_log.run_log import RunLog
from tests.agent_session import MESSAGE, session_events
from tests.workflows import copy_workflows

from .conftest import SIZE, status, wait_until


def event(seq: int, type_: str, at: str | None = None, **data: object) -> RunEvent:
    return RunEvent(run_id="r1", seq=seq, type=type_, thread_id="t1", data=dict(data), node=at)


class LogApp(App[None]):
    def __init__(self, max_entries: int = 50) -> None:
        super().__init__()
        self.max_entries = max_entries

    def compose(self) -> ComposeResult:
        yield RunLog(max_entries=self.max_entries)


def feed(log: RunLog) -> None:
    log.add_event(event(1, "run.started", workflow="demo", input={"q": 1}))
    log.add_event(event(2, "node.started", "plan"))
    log.add_event(event(3, "node.finished", "plan", duration_ms=1.5, update={"x": 1}))
    for i, token in enumerate(["Hel", "lo ", "wor", "ld"]):
        log.add_event(event(4 + i, "message.delta", "write", content=token))
    log.add_event(event(8, "custom", "write", value={"progress": 1}))
    log.add_event(
        event(
            9,
            "run.failed",
            None,
            error_type="ValueError",
            message="nope",
            node="write",
            traceback="Traceback (most recent call last):\n"
            '  File "flow.py", line 3, in write\nValueError: nope\n',
        )
    )


@pytest.mark.asyncio
async def test_tokens_coalesce_filter_fold_and_copy() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(RunLog)
        feed(log)
        await pilot.pause()
        assert log.total_events == 9
        assert len(log.entries) == 6  # four token events make one entry
        assert log.plain[3] == "  … write Hello world"

        log.set_filter("node")
        await pilot.pause()
        assert [line.strip()[:1] for line in log.shown_rows] == ["●", "✓"]
        log.set_filter("write -custom")
        await pilot.pause()
        assert [line.strip()[:1] for line in log.shown_rows] == ["…", "✖"]
        assert "match 'write -custom'" in log.border_subtitle
        log.set_filter("")
        await pilot.pause()
        assert len(log.shown_rows) == 6

        # the failure's traceback unfolds under it and folds back
        log.focus()
        await pilot.press("end", "enter")
        assert log.shown_rows[-3:] == [
            "    Traceback (most recent call last):",
            '      File "flow.py", line 3, in write',
            "    ValueError: nope",
        ]
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("c")
        assert copied[-1].startswith("✖ failed at write: ValueError: nope")
        assert copied[-1].endswith("ValueError: nope")
        await pilot.press("enter")
        assert len(log.shown_rows) == 6

        await pilot.press("up", "up", "c")  # the coalesced tokens copy as one text
        assert copied[-1] == "write: Hello world"


@pytest.mark.asyncio
async def test_tool_events_and_a_failure_kind_read_as_one_line_each() -> None:
    # Tool events come from MCP tools of agent nodes; these are shaped as the executor
    # emits them (lgp_engine.events: ToolCalledData, ToolResultData, ToolDeniedData).
    path: list[str] = []
    common = {"path": path, "server": "fs", "call_id": "c1"}
    app = LogApp()
    async with app.run_test(size=(160, 20)) as pilot:
        log = app.query_one(RunLog)
        log.add_event(
            event(
                1,
                "tool.called",
                "research",
                node="research",
                tool="read_file",
                arguments={"path": "notes.md"},
                **common,
            )
        )
        log.add_event(
            event(
                2,
                "tool.result",
                "research",
                node="research",
                tool="read_file",
                is_error=False,
                duration_ms=3.4,
                size=11,
                text="hello\nworld",
                **common,
            )
        )
        log.add_event(
            event(
                3,
                "tool.result",
                "research",
                node="research",
                tool="read_file",
                is_error=True,
                duration_ms=1.5,
                size=9,
                text="no such file",
                **common,
            )
        )
        log.add_event(
            event(
                4,
                "tool.denied",
                "research",
                node="research",
                path=path,
                server="fs",
                tool="write_file",
                arguments={"path": "x"},
                reason="not in the allow-list",
                allowed=["fs.read_file"],
            )
        )
        log.add_event(
            event(
                5,
                "run.failed",
                None,
                error_type="ProviderError",
                message="bad key",
                node="write",
                kind="auth",
                duration_ms=5.0,
                traceback="",
            )
        )
        await pilot.pause()
        assert log.plain == [
            '    → research calls fs.read_file {"path": "notes.md"}',
            "    ← fs.read_file (3.4 ms) hello⏎world",
            "    ✖ fs.read_file (1.5 ms) no such file",
            "    ⊘ research: tool fs.write_file denied (not in the allow-list)",
            "✖ failed [auth] at write: ProviderError: bad key",
        ]
        log.set_filter("tool")  # every tool event, by its type's prefix
        await pilot.pause()
        assert len(log.shown_rows) == 4
        log.set_filter("research -tool.result")
        await pilot.pause()
        assert [row.split()[0] for row in log.shown_rows] == ["→", "⊘"]


def styles_at(line: Text, part: str) -> set[str]:
    """The styles of ``line`` where ``part`` starts."""
    start = line.plain.index(part)
    return {str(span.style) for span in line.spans if span.start <= start < span.end}


@pytest.mark.asyncio
async def test_a_claude_code_session_reads_as_lines_under_its_node() -> None:
    # agent.* events as a Claude Code node emits them (tests/agent_session.py): a
    # session that succeeds, then a forked one that stalls
    app = LogApp()
    async with app.run_test(size=(240, 20)) as pilot:
        log = app.query_one(RunLog)
        log.add_event(event(0, "node.started", "implement"))
        for item in session_events():
            log.add_event(item)
        await pilot.pause()
        assert log.plain == [
            "  ● implement started",
            "    ◇ coder: Claude Code session 1a2b3c4d (claude-sonnet-4-5) in /src/app [resumed]",
            "    » coder: " + MESSAGE.replace("\n", "⏎")[:159] + "…",  # 160 characters
            '    → coder calls Write {"file_path": "tests/test_core.py"}',
            "    ← Write (48 B) File created successfully at: tests/test_core.py",
            '    → coder calls Bash {"command": "pytest -q"}',
            "    ✖ Bash (2.3 kB) Exit code 1⏎1 failed",
            "    ■ coder: 3 turns, 2 tool calls, 1 tool error (12.3 s)"
            " [1,234 in / 56 out tok $0.0123]",
            "    ◇ coder: Claude Code session 9f8e7d6c (claude-sonnet-4-5) in /src/app"
            " [forked from 1a2b3c4d] [via MCP] [worktree /src/app-wt]",
            "    ✖ coder: stalled after 1 turn, 1 tool call, 2 permission denials (95.0 s)"
            " [1,234 in / 56 out tok $0.00, subscription: $0.004000 reported]"
            ": no output for 90 s; the session was stopped",
        ]
        lines = [entry.text for entry in log.entries]
        assert styles_at(lines[1], "1a2b3c4d") == {"bold"}
        assert styles_at(lines[3], "Write") == {"bold"}  # as MCP tool calls are styled
        assert styles_at(lines[6], "Exit code") == {"red"}
        assert styles_at(lines[7], "[1,234") == {"yellow"}  # as a node's usage is
        assert styles_at(lines[9], "stalled") == {"bold red"}
        assert styles_at(lines[9], ": no output") == {"red"}

        log.set_filter("agent.tool")  # by type, like every event
        await pilot.pause()
        assert [row.split()[0] for row in log.shown_rows] == ["→", "←", "→", "✖"]
        log.set_filter("implement -agent.tool -agent.init")  # by node
        await pilot.pause()
        assert [row.split()[0] for row in log.shown_rows] == ["●", "»", "■", "✖"]


@pytest.mark.asyncio
async def test_scrolling_up_pauses_following_and_end_resumes() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 12)) as pilot:
        log = app.query_one(RunLog)
        for i in range(30):
            log.add_line(f"line {i}")
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y > 0
        log.focus()
        await pilot.press("pageup")
        assert not log.following
        held = log.scroll_y
        for i in range(30, 40):
            log.add_line(f"line {i}")
        await pilot.pause()
        assert log.scroll_y == held  # new lines do not yank the view down
        assert "paused" in log.border_subtitle
        await pilot.press("end")
        for i in range(40, 45):
            log.add_line(f"line {i}")
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y


@pytest.mark.asyncio
async def test_a_following_log_still_shows_the_newest_lines_after_a_resize() -> None:
    app = LogApp()
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.query_one(RunLog)
        for i in range(45):
            log.add_line(f"line {i}")
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y
        await pilot.resize_terminal(80, 24)  # fewer rows: the end moves down
        await wait_until(pilot, lambda: log.size.height < 30, what="the smaller log")
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y > 0
        assert "line 44" in "".join(s.text for s in map(log.render_line, range(log.size.height)))


@pytest.mark.asyncio
async def test_a_following_log_stays_at_its_end_when_its_horizontal_scrollbar_appears() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 12)) as pilot:
        log = app.query_one(RunLog)
        for i in range(30):
            log.add_line(f"line {i}")
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y > 0
        assert not log.show_horizontal_scrollbar
        end = log.max_scroll_y
        log.styles.overflow_x = "scroll"  # the scrollbar takes a row, with no resize
        await wait_until(pilot, lambda: log.show_horizontal_scrollbar, what="the scrollbar")
        await wait_until(pilot, lambda: log.scroll_y == log.max_scroll_y == end + 1)
        assert log.following


@pytest.mark.asyncio
async def test_old_entries_are_dropped_beyond_the_bound() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 12)) as pilot:
        log = app.query_one(RunLog)
        for i in range(1000):
            log.add_line(f"line {i}")
        await pilot.pause()
        assert len(log.entries) <= 50 + 500
        assert log.plain[-1] == "line 999"
        assert "dropped" in log.border_subtitle


@pytest.mark.asyncio
async def test_a_run_of_ten_thousand_events_completes_and_the_app_stays_usable(
    settings: Settings, tui_project: Path
) -> None:
    copy_workflows(tui_project / "workflows", "burst.py")  # `count` custom events
    app = WorkbenchApp(settings, target="workflows/burst.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        app.query_one("#run-input").value = '{"count": 10000}'
        await pilot.press("ctrl+r")
        log = app.query_one(RunLog)
        await wait_until(pilot, lambda: log.total_events > 100, what="events flowing")
        await pilot.press("ctrl+f", *"emit")  # typing into the filter while events stream
        await wait_until(
            pilot,
            lambda: app.query_one("#status").status == "completed",
            timeout=60,
            what="the run to finish",
        )
        assert log.total_events >= 10_000
        assert len(log.entries) <= log.max_entries + 500  # bounded
        assert log.filter_text == "emit"
        assert all("emit" in line for line in log.shown_rows)
        assert any("✓ emit" in line for line in log.shown_rows)


@pytest.mark.asyncio
async def test_multi_line_text_folds_under_one_row() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 12)) as pilot:
        log = app.query_one(RunLog)
        log.add_line("✖ refused: first line\nsecond line\nthird line")
        log.add_event(
            event(
                1,
                "run.failed",
                None,
                error_type="GraphRecursionError",
                message="Recursion limit reached\nFor troubleshooting, visit: x",
                traceback="Traceback...\nGraphRecursionError: ...\n",
            )
        )
        await pilot.pause()
        assert log.shown_rows == [
            "✖ refused: first line",
            "✖ failed: GraphRecursionError: Recursion limit reached  [enter: traceback]",
        ]
        log.focus()
        await pilot.press("home", "enter")
        assert log.shown_rows[:3] == ["✖ refused: first line", "    second line", "    third line"]


@pytest.mark.asyncio
async def test_dropping_old_entries_keeps_the_cursor_and_a_paused_view_in_place() -> None:
    app = LogApp(max_entries=600)
    async with app.run_test(size=(100, 12)) as pilot:
        log = app.query_one(RunLog)
        for i in range(1000):
            log.add_line(f"line {i}")
        await pilot.pause()
        log.focus()
        await pilot.press("pageup", "pageup", "pageup")  # reading, paused
        entry = log.current_entry()
        assert entry is not None and not log.following
        top = log.shown_rows[int(log.scroll_y)]
        for i in range(1000, 1200):  # past 600 + 500 entries: the oldest are dropped
            log.add_line(f"line {i}")
        await pilot.pause()
        assert log.current_entry() is entry  # still the same entry under the cursor
        assert not log.following
        assert log.shown_rows[int(log.scroll_y)] == top  # the view did not jump
        assert log.plain[0] == "line 501"  # dropped at the 1,101st: back to 600 entries


@pytest.mark.asyncio
async def test_an_empty_log_takes_focus_and_its_keys_work(settings: Settings) -> None:
    """Regression: the widget once shadowed Textual's ``visible`` (a bool) with its
    rows (a list), so a log with no rows was never focusable."""
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(RunLog)
        assert not log.entries
        await pilot.press("ctrl+l")
        assert app.focused is log
        await pilot.press("home")  # a key of the log: the view pauses
        assert not log.following and "paused" in log.border_subtitle
        await pilot.press("end")
        assert log.following and "following" in log.border_subtitle


@pytest.mark.asyncio
async def test_a_log_whose_filter_hides_everything_takes_focus_and_its_keys_work(
    settings: Settings,
) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready, what="the workflow")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        log = app.query_one(RunLog)
        await pilot.press("ctrl+f", *"nothing-matches")
        assert log.entries and log.shown_rows == []
        await pilot.press("ctrl+l")
        assert app.focused is log
        await pilot.press("home")
        assert not log.following
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("c")  # nothing shown: nothing to copy
        assert copied == []

        await pilot.press("ctrl+f", *["backspace"] * len("nothing-matches"), "ctrl+l")
        assert app.focused is log and len(log.shown_rows) == len(log.entries)
        await pilot.press("end", "c")
        assert copied and copied[-1].startswith("✔ completed")
