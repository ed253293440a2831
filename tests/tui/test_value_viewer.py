"""The value viewer (``v`` on a run-log entry or a state value in the checkpoint
browser): a value whole, chat messages by role, wrapped to the width, found as you
type (``n``/``N``), copied as shown or as JSON. Against tests/workflows/chat_review.py
and a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Static, Tree

from lgp_engine import Settings, to_jsonable
from lgp_tui import app as app_module
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.interrupt_dialog import InterruptDialog
from lgp_tui.screens.value_viewer import ValueViewer
from lgp_tui.widgets.run_log.run_log import RunLog
from lgp_tui.widgets.value.value_text import ValueText

from .conftest import SIZE, browse, wait_until
from .test_chat_messages import REPRS, labels, run_chat, tree_nodes


def viewer_of(app: App[Any]) -> ValueViewer:
    screen = app.screen
    assert isinstance(screen, ValueViewer)
    return screen


async def open_viewer(app: App[Any], pilot: Any) -> ValueViewer:
    await pilot.press("v")
    await wait_until(pilot, lambda: isinstance(app.screen, ValueViewer), what="the viewer")
    viewer = viewer_of(app)
    text = viewer.query_one(ValueText)
    await wait_until(pilot, lambda: bool(text.rows) and text.has_focus, what="the value drawn")
    return viewer


@pytest.mark.asyncio
async def test_v_on_a_log_entry_reads_its_value_whole_finds_and_copies(
    chat_project: Settings,
) -> None:
    app = WorkbenchApp(chat_project, target="workflows/chat_review.py")
    async with app.run_test(size=SIZE) as pilot:
        await run_chat(app, pilot)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, InterruptDialog))

        # v on the newest entry (the interrupt): its data whole, the conversation in it
        log = app.query_one(RunLog)
        log.focus()
        await pilot.press("end")
        assert log.current_entry() is not None
        assert log.current_entry().kind == "interrupt"  # type: ignore[union-attr]
        viewer = await open_viewer(app, pilot)
        assert viewer.query_one("#viewer-box").border_title == "interrupt · review"
        lines = viewer.text.splitlines()
        at = lines.index('    "messages": [')
        assert lines[at + 1 : at + 8] == [
            "      human: what is 40 + 2?",
            "      ai: let me add",
            "        → add(a=40, b=2)",
            "      tool (add): 42",
            "      ai: 40 + 2 = 42.",
            "        Anything else?",
            "    ]",
        ]
        assert not any(r in viewer.text for r in REPRS)

        # type to find (from the value: no need to open the box first), n/N step
        shown = viewer.query_one(ValueText)
        count = viewer.query_one("#viewer-count", Static)
        await pilot.press(*"anything")
        search = viewer.query_one("#viewer-search", Input)
        assert search.has_focus and search.value == "anything"
        assert len(shown.matches) == 2  # in the interrupt's value and in the output
        assert str(count.render()) == "1 of 2"
        await pilot.press("enter")  # back to the value, where n/N step
        assert shown.has_focus
        await pilot.press("n")
        assert shown.current == 1 and str(count.render()) == "2 of 2"
        await pilot.press("n")  # round the end
        assert shown.current == 0
        await pilot.press("N")
        assert shown.current == 1
        found = shown.matches[shown.current]
        assert viewer.text.splitlines()[found.line][found.start : found.end] == "Anything"

        # copy as shown and as exact JSON (the messages as their dicts there)
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("c")
        assert copied[-1] == viewer.text
        await pilot.press("j")
        exact = json.loads(copied[-1])
        assert exact["output"]["messages"][0]["type"] == "human"
        assert exact == to_jsonable(viewer.value)
        assert "Copied to the clipboard" in {n.title for n in app._notifications}

        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ValueViewer))
        assert app.query_one(RunLog).has_focus


@pytest.mark.asyncio
async def test_v_in_the_browser_reads_a_state_value_or_the_whole_state(
    chatted: Settings,
) -> None:
    app = WorkbenchApp(chatted)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        browser = await browse(pilot, app)
        tree = browser.query_one("#cp-state", Tree)
        await wait_until(
            pilot, lambda: "messages [4]" in labels(tree), what="the newest state's messages"
        )

        # v on a row of the state tree: that value, by its path
        tree.focus()
        node = next(n for n in tree_nodes(tree) if str(n.label).startswith("[1]: ai:"))
        tree.move_cursor(node)
        await pilot.pause()
        viewer = await open_viewer(app, pilot)
        assert viewer.query_one("#viewer-box").border_title == "messages[1]"
        assert viewer.text == "ai: let me add\n  → add(a=40, b=2)"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser)

        # v from the history list: the whole state at the checkpoint
        browser.query_one("#cp-history").focus()
        viewer = await open_viewer(app, pilot)
        assert viewer.query_one("#viewer-box").border_title == "state"
        assert "step 3" in str(viewer.query_one("#viewer-box").border_subtitle)
        assert viewer.text.splitlines()[:4] == [
            "{",
            '  "messages": [',
            "    human: what is 40 + 2?",
            "    ai: let me add",
        ]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser)


@pytest.mark.asyncio
async def test_keys_the_viewer_does_not_bind_find_instead_of_acting(
    chat_project: Settings,
) -> None:
    """``q`` quits the workbench: in the viewer it starts a search (as any key the
    viewer does not bind), it does not act behind it."""
    app = WorkbenchApp(chat_project)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        log = app.query_one(RunLog)
        log.add_line("quiet quarter: a note to read")
        log.focus()
        viewer = await open_viewer(app, pilot)
        assert viewer.text == '"quiet quarter: a note to read"'
        await pilot.press("q")
        search = viewer.query_one("#viewer-search", Input)
        assert app.is_running and search.has_focus and search.value == "q"
        await pilot.press("u")
        assert len(viewer.query_one(ValueText).matches) == 2
        await pilot.press("escape")  # from the box: back to the value
        assert viewer.query_one(ValueText).has_focus and app.screen is viewer
        await pilot.press("slash")  # the box again, its text selected to retype
        assert search.has_focus
        await pilot.press("z", "z", "enter")
        assert str(viewer.query_one("#viewer-count", Static).render()) == "no match"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ValueViewer))


class ViewerApp(App[None]):
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))  # the workbench's styles

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value

    def compose(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.push_screen(ValueViewer(self.value, "long"))


@pytest.mark.asyncio
async def test_a_long_value_wraps_to_the_width_and_a_match_scrolls_into_view() -> None:
    words = " ".join(f"word{i}" for i in range(400))
    value = {"text": words, "items": list(range(60)), "end": "needle at the end"}
    app = ViewerApp(value)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ValueViewer))
        viewer = viewer_of(app)
        shown = viewer.query_one(ValueText)
        await wait_until(pilot, lambda: bool(shown.rows))
        width = shown.scrollable_content_region.width
        text_rows = [r for r in shown.rows if r.line == 1]  # "text": the long line
        assert len(text_rows) > 5
        for row in text_rows:  # every row fits (continuations indented), none cut
            assert row.indent + (row.end - row.start) <= width
        assert "".join(shown.lines[1][r.start : r.end] for r in text_rows) == shown.lines[1]
        assert shown.max_scroll_x == 0  # nothing to scroll sideways
        assert shown.scroll_y == 0

        await pilot.press(*"needle", "enter")
        row = shown.row_of(shown.matches[0])
        assert shown.scroll_y <= row < shown.scroll_y + shown.scrollable_content_region.height
        assert shown.scroll_y > 0

        await pilot.resize_terminal(120, 40)  # rewrapped: fewer rows, same text
        await wait_until(pilot, lambda: shown.scrollable_content_region.width > width)
        assert len([r for r in shown.rows if r.line == 1]) < len(text_rows)
