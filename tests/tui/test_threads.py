"""Threads read by name, workflow, status and lineage in the thread picker and the
checkpoint browser; filtered as you type; renamed; found in the command palette.
Real runs on a real SQLite file, before the app opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from lgp_engine import Runner, RunStore, Settings, load_workflow, resolve_in_project
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.checkpoint_browser import CheckpointBrowser
from lgp_tui.screens.rename_dialog import RenameDialog
from lgp_tui.screens.template_gallery import TemplateGallery
from lgp_tui.screens.thread_picker import ThreadPicker
from lgp_tui.widgets.run.run_bar import RunBar
from tests.workflows import copy_workflows

from .conftest import SIZE, browse, wait_until


@pytest.fixture
def outcomes(settings: Settings, tui_project: Path) -> Settings:
    """A thread ended each way (oldest first): completed, interrupted, failed,
    cancelled, and one forked."""
    copy_workflows(tui_project / "workflows", "mixed_outcomes.py")
    mixed = load_workflow(resolve_in_project("workflows/mixed_outcomes.py", settings))
    basic = load_workflow(resolve_in_project("basic_workflow", settings))
    with Runner.open(settings) as runner:
        list(runner.start(basic, {"input": "quarterly numbers"}, thread_id="t-done"))
        list(runner.start(mixed, {"outcome": "ask"}, thread_id="t-ask"))
        list(runner.start(mixed, {"outcome": "fail"}, thread_id="t-fail"))
        for event in runner.start(basic, {"input": "stop me"}, thread_id="t-stop"):
            if event.type == "node.finished":
                break  # the consumer stops reading: the run is cancelled
        events = list(runner.start(basic, {"input": "to fork"}, thread_id="t-fork"))
        greet = next(
            e.data["checkpoint_id"]
            for e in events
            if e.type == "checkpoint" and e.data["step"] == 1
        )
        list(runner.fork(basic, "t-fork", greet, {"input": "forked"}))
        statuses = {
            t: runner.runs.latest_for_thread(t).status  # type: ignore[union-attr]
            for t in ("t-done", "t-ask", "t-fail", "t-stop", "t-fork")
        }
    assert statuses == {
        "t-done": "completed",
        "t-ask": "interrupted",
        "t-fail": "failed",
        "t-stop": "cancelled",
        "t-fork": "completed",
    }
    return settings


def rows(options: OptionList) -> dict[str, str]:
    """Each option's text by its id."""
    return {
        str(options.get_option_at_index(i).id): str(options.get_option_at_index(i).prompt)
        for i in range(options.option_count)
    }


@pytest.mark.asyncio
async def test_the_picker_shows_and_filters_threads_and_picks_one(outcomes: Settings) -> None:
    app = WorkbenchApp(outcomes)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ThreadPicker))
        picker = app.screen
        options = picker.query_one("#picker-options", OptionList)
        shown = rows(options)
        assert list(shown)[1:] == ["t-fork", "t-stop", "t-fail", "t-ask", "t-done"]
        assert shown["t-done"].splitlines()[:2] == [
            "✔ quarterly numbers",
            "basic_workflow · completed · t-done",
        ]
        assert shown["t-ask"].startswith("⏸ ask\nmixed_outcomes · interrupted")
        assert shown["t-fail"].startswith("✖ fail\nmixed_outcomes · failed")
        assert shown["t-stop"].startswith("⊘ stop me\nbasic_workflow · cancelled")
        assert shown["t-fork"].splitlines()[-1].startswith("⑂ fork of ")

        await pilot.press(*"mixed")  # typed on the list: the filter takes it
        await wait_until(pilot, lambda: list(rows(options))[1:] == ["t-fail", "t-ask"])
        assert picker.query_one("#picker-options-filter", Input).value == "mixed"
        assert options.highlighted == 1  # the first match, not "new thread"
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ThreadPicker))
        assert app.query_one(RunBar).thread_id == "t-ask"


@pytest.mark.asyncio
async def test_the_browser_filters_and_renames_threads(outcomes: Settings) -> None:
    app = WorkbenchApp(outcomes)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        browser = await browse(pilot, app)
        threads = browser.query_one("#cp-threads", OptionList)
        await wait_until(pilot, lambda: threads.option_count == 5, what="the threads")
        assert browser.thread_id == "t-fork"

        await pilot.press("slash", *"cancel")
        await wait_until(pilot, lambda: list(rows(threads)) == ["t-stop"])
        await wait_until(pilot, lambda: browser.thread_id == "t-stop", what="its history")
        pane = browser.query_one("#cp-threads-pane")
        assert pane.border_subtitle == "1 of 5"
        await pilot.press("escape")  # back to the list; the filter stays
        assert threads.has_focus
        assert isinstance(app.screen, CheckpointBrowser)

        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, RenameDialog))
        await pilot.press(*"halted run", "enter")
        await wait_until(pilot, lambda: app.screen is browser)
        # the filter still says "cancel": the renamed thread is still its only match
        await wait_until(
            pilot, lambda: rows(threads).get("t-stop", "").startswith("⊘ halted run\n")
        )
        runs = RunStore(outcomes.resolve(outcomes.checkpointer.path))
        try:
            meta = runs.get_thread("t-stop")
        finally:
            runs.close()
        assert meta is not None
        assert meta.metadata["name"] == "halted run"

        browser.query_one("#cp-threads-filter", Input).value = "no such thread"
        await wait_until(pilot, lambda: threads.option_count == 0)
        assert browser.thread_id is None
        assert "No threads match" in str(browser.query_one("#cp-diff").render())
        await pilot.press("p")  # nothing to replay: it says so, it does not act
        assert browser.busy is None


@pytest.mark.asyncio
async def test_f2_in_the_picker_renames_and_the_list_follows(outcomes: Settings) -> None:
    app = WorkbenchApp(outcomes)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ThreadPicker))
        picker = app.screen
        options = picker.query_one("#picker-options", OptionList)
        await pilot.press("down", "f2")  # the newest thread: t-fork
        await wait_until(pilot, lambda: isinstance(app.screen, RenameDialog))
        await pilot.press(*"what-if", "enter")
        await wait_until(pilot, lambda: app.screen is picker)
        await wait_until(pilot, lambda: rows(options)["t-fork"].startswith("✔ what-if\n"))


@pytest.mark.asyncio
async def test_the_palette_finds_threads_workflows_and_templates(outcomes: Settings) -> None:
    app = WorkbenchApp(outcomes)

    async def palette(pilot: Pilot, text: str) -> None:
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        field = app.screen.query_one(Input)
        field.value = text
        await wait_until(
            pilot,
            lambda: any(text in str(o.prompt) for o in app.screen.query_one(OptionList)._options),
            what=f"{text!r} found",
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, CommandPalette))

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await palette(pilot, "browse thread: ask")  # not the newest: that one
        await wait_until(pilot, lambda: isinstance(app.screen, CheckpointBrowser))
        browser = app.screen
        assert isinstance(browser, CheckpointBrowser)
        await wait_until(pilot, lambda: browser.thread_id == "t-ask", what="t-ask selected")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not browser)

        await palette(pilot, "thread: stop me")
        assert app.query_one(RunBar).thread_id == "t-stop"

        await palette(pilot, "workflow: approval_workflow")
        await wait_until(
            pilot,
            lambda: app.workflow is not None and app.workflow.name == "approval_workflow",
            what="the approval workflow loaded",
        )

        await palette(pilot, "template: data_pipeline")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplateGallery))
        gallery = app.screen
        assert isinstance(gallery, TemplateGallery)
        assert gallery.selected is not None
        assert gallery.selected.name == "data_pipeline"
