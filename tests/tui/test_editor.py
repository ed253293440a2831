"""The source pane as an editor: save in place (the watcher reloads and reruns on the
same thread), save failures keep the buffer, a change made outside while the buffer
has unsaved edits is offered and never overwritten, Save As normalizes the name,
refuses taken ones and registers once, and leaving with unsaved edits asks first.

Everything runs on a real temp project with real files and the real file watcher."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from lgp_engine import Settings, WorkflowRegistry
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.choice_dialog import ChoiceDialog
from lgp_tui.screens.save_as_dialog import SaveAsDialog
from lgp_tui.widgets.run.run_bar import RunBar
from lgp_tui.widgets.source.source_view import SourceView

from .conftest import SIZE, fill, log_text, notified, wait_until, watching

FLOW = """from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    input: str
    out: str


def shout(state: State) -> State:
    return {"out": "hello " + state["input"]}


workflow = StateGraph(State)
workflow.add_node("shout", shout)
workflow.add_edge(START, "shout")
workflow.add_edge("shout", END)
"""


@pytest.fixture
def flow(tui_project: Path) -> Path:
    path = tui_project / "workflows" / "edit_flow.py"
    path.write_text(FLOW, encoding="utf-8")
    return path


def source_of(app: WorkbenchApp) -> SourceView:
    return app.screen_stack[0].query_one(SourceView)


async def opened(
    app: WorkbenchApp, pilot: Pilot, path: Path, *, watched: bool = True
) -> SourceView:
    """The workflow loaded, its file in the editor and (``watched``) the watcher live."""
    await wait_until(pilot, lambda: app.ready, what="the workflow")
    source = source_of(app)
    await wait_until(pilot, lambda: source.path == path and not source.read_only)
    if watched:
        await wait_until(pilot, lambda: watching(path.parent), what="the file watcher")
    return source


async def type_at(pilot: Pilot, source: SourceView, needle: str, keys: list[str]) -> None:
    """Put the cursor just after ``needle`` and press ``keys`` there, as a user would."""
    row = next(i for i, line in enumerate(source.text.splitlines()) if needle in line)
    column = source.document[row].index(needle) + len(needle)
    source.focus()
    source.move_cursor((row, column))
    await pilot.pause()
    await pilot.press(*keys)


async def answer(pilot: Pilot, app: WorkbenchApp, choice: str) -> None:
    """Wait for the choice dialog and press its ``choice`` button."""
    button = f"#choice-{choice}"
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, ChoiceDialog)
            and any(b.region.area for b in app.screen.query(button))
        ),
        what="the dialog, laid out",
    )
    assert await pilot.click(button)
    await wait_until(pilot, lambda: not isinstance(app.screen, ChoiceDialog))


@pytest.mark.asyncio
async def test_edit_and_save_reloads_and_reruns_on_the_same_thread(
    settings: Settings, flow: Path
) -> None:
    app = WorkbenchApp(settings, target="workflows/edit_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        source = await opened(app, pilot, flow)
        assert source.border_title == "Source: workflows/edit_flow.py"
        assert source.is_syntax_aware  # textual[syntax]: Python highlighted by tree-sitter
        app.query_one("#run-input", Input).value = '{"input": "world"}'
        app.query_one("#thread-input", Input).value = "edit-t"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: '"out": "hello world"' in log_text(app))
        await wait_until(pilot, lambda: app.query_one(RunBar).can_run)

        # typed in the pane: modified, nothing written yet
        await type_at(pilot, source, '"hello', ["backspace"] * 5 + list("howdy"))
        assert 'return {"out": "howdy " + state["input"]}' in source.text
        assert source.dirty and source.border_title == "Source: workflows/edit_flow.py · modified"
        assert flow.read_text(encoding="utf-8") == FLOW

        await pilot.press("f2")
        await wait_until(
            pilot, lambda: '"out": "howdy world"' in log_text(app), what="the rerun on new code"
        )
        assert flow.read_text(encoding="utf-8") == source.text
        text = log_text(app)
        assert "↻ rerunning on thread edit-t with the last input" in text
        assert text.count("⟳ reloaded edit_flow") == 1  # one save, one reload
        await wait_until(pilot, lambda: source.state == "saved · reloaded")
        good = app.workflow
        assert source.border_title == "Source: workflows/edit_flow.py · saved · reloaded"
        assert source.has_class("-saved") and not source.dirty
        assert not list(flow.parent.glob(".*tmp"))  # the temporary file was renamed

        # a save that does not compile: written, the previous version keeps running
        await type_at(pilot, source, 'add_edge("shout", END)', ["enter", *"oops("])
        await pilot.press("f2")
        banner = app.query_one("#reload-banner", Static)
        await wait_until(pilot, lambda: banner.display, what="the reload-failed banner")
        assert flow.read_text(encoding="utf-8").rstrip().endswith("oops(")
        await wait_until(pilot, lambda: "reload failed" in source.state)
        assert source.state.startswith("saved · reload failed at line ")
        assert "the previous version keeps running" in str(banner.render())
        assert "oops(" in source.text and not source.dirty
        assert app.workflow is good  # the last good version stays loaded


@pytest.mark.asyncio
async def test_a_save_that_fails_says_why_and_keeps_the_buffer(
    settings: Settings, flow: Path
) -> None:
    app = WorkbenchApp(settings, target="workflows/edit_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        source = await opened(app, pilot, flow)
        await type_at(pilot, source, "hello", list("!!"))
        edited = source.text
        flow.chmod(0o444)
        try:
            await pilot.press("f2")
            await wait_until(pilot, lambda: not source.saving and "save failed" in source.state)
        finally:
            flow.chmod(0o644)
        assert source.border_title == (
            "Source: workflows/edit_flow.py · modified · save failed: the file is read-only"
        )
        assert source.has_class("-failed")
        assert source.text == edited and source.dirty
        assert flow.read_text(encoding="utf-8") == FLOW
        await notified(pilot, lambda n: n.title == "Save failed")

        # the folder is gone (moved away): the save fails, the buffer stays
        moved = flow.parent.with_name("moved")
        flow.parent.rename(moved)
        try:
            await pilot.press("f2")
            await wait_until(pilot, lambda: not source.saving and "save failed" in source.state)
            assert "no such file or directory" in source.state
            assert source.text == edited and source.dirty
        finally:
            moved.rename(flow.parent)

        # writable again: the same buffer saves
        await pilot.press("f2")
        await wait_until(pilot, lambda: source.state.startswith("saved"))
        assert flow.read_text(encoding="utf-8") == edited
        assert oct(flow.stat().st_mode & 0o777) == oct(0o644)  # its permissions kept


@pytest.mark.asyncio
async def test_without_tree_sitter_it_edits_plain_text(
    settings: Settings, flow: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lgp_tui.widgets.source import source_view

    monkeypatch.setattr(source_view, "_language", lambda: None)  # as without textual[syntax]
    app = WorkbenchApp(settings, target="workflows/edit_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        source = await opened(app, pilot, flow, watched=False)
        assert source.language is None and not source.is_syntax_aware
        await type_at(pilot, source, "hello", list("!!"))
        await pilot.press("f2")
        await wait_until(pilot, lambda: source.state.startswith("saved"))
        assert flow.read_text(encoding="utf-8") == FLOW.replace('"hello ', '"hello!! ')


@pytest.mark.asyncio
async def test_at_80_columns_the_state_keeps_its_place_on_the_border(
    settings: Settings, flow: Path
) -> None:
    app = WorkbenchApp(settings, target="workflows/edit_flow.py")
    async with app.run_test(size=(80, 24)) as pilot:
        source = await opened(app, pilot, flow, watched=False)
        assert source.border_title == "Source: workflows/edit_flow.py"
        await type_at(pilot, source, "hello", list("!!"))
        assert source.border_title == "Source: workflows/edit_flow.py · modified"  # it fits
        flow.chmod(0o444)
        try:
            await pilot.press("f2")
            await wait_until(pilot, lambda: not source.saving and "save failed" in source.state)
        finally:
            flow.chmod(0o644)
        # too long for the pane: the file name alone, so the state shows
        assert source.border_title == (
            "edit_flow.py · modified · save failed: the file is read-only"
        )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
@pytest.mark.asyncio
async def test_a_save_into_a_read_only_folder_fails(settings: Settings, flow: Path) -> None:
    app = WorkbenchApp(settings, target="workflows/edit_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        source = await opened(app, pilot, flow)
        await type_at(pilot, source, "hello", list("!!"))
        flow.parent.chmod(0o555)
        try:
            await pilot.press("f2")
            await wait_until(pilot, lambda: not source.saving and "save failed" in source.state)
        finally:
            flow.parent.chmod(0o755)
        assert "permission denied" in source.state and source.dirty
        assert flow.read_text(encoding="utf-8") == FLOW


@pytest.mark.asyncio
async def test_a_change_made_outside_is_offered_never_overwritten(
    settings: Settings, flow: Path
) -> None:
    theirs = FLOW.replace('"hello "', '"theirs "')
    app = WorkbenchApp(settings, target="workflows/edit_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        source = await opened(app, pilot, flow)

        # clean buffer: it just follows the file
        flow.write_text(theirs, encoding="utf-8")
        await wait_until(pilot, lambda: source.text == theirs, what="the pane to follow")
        assert not source.dirty and not isinstance(app.screen, ChoiceDialog)
        flow.write_text(FLOW, encoding="utf-8")
        await wait_until(pilot, lambda: source.text == FLOW)

        # unsaved edits: the change is offered, the file keeps theirs
        await type_at(pilot, source, "hello", list(" mine"))
        mine = source.text
        flow.write_text(theirs, encoding="utf-8")
        await answer(pilot, app, "cancel")
        assert source.text == mine and flow.read_text(encoding="utf-8") == theirs
        assert source.state == "modified · changed on disk"
        # saving now asks again (the file is not what the buffer was read from)
        await pilot.press("f2")
        await answer(pilot, app, "theirs")
        assert source.text == theirs and not source.dirty
        assert flow.read_text(encoding="utf-8") == theirs

        # again, keeping mine this time: written only because it was chosen
        await type_at(pilot, source, "theirs", list(" mine"))
        mine = source.text
        flow.write_text(FLOW, encoding="utf-8")
        await answer(pilot, app, "mine")
        await wait_until(pilot, lambda: flow.read_text(encoding="utf-8") == mine)
        await wait_until(pilot, lambda: source.state.startswith("saved"))
        assert not source.dirty


@pytest.mark.asyncio
async def test_a_change_found_at_save_time_is_offered(settings: Settings, flow: Path) -> None:
    """A file that did not load has no watcher: the save itself sees the change."""
    broken = FLOW.replace("workflow = StateGraph(State)", "workflow = StateGraph(State")
    flow.write_text(broken, encoding="utf-8")
    app = WorkbenchApp(settings, target="workflows/edit_flow.py")
    async with app.run_test(size=SIZE) as pilot:
        source = source_of(app)
        await wait_until(pilot, lambda: source.path == flow and not source.read_only)
        assert app.workflow is None
        await type_at(pilot, source, "StateGraph(State", [")"])
        fixed_by_me = source.text
        flow.write_text(broken + "# theirs\n", encoding="utf-8")
        await pilot.press("f2")
        await answer(pilot, app, "cancel")
        assert flow.read_text(encoding="utf-8") == broken + "# theirs\n"
        assert source.text == fixed_by_me and source.dirty
        await pilot.press("f2")
        await answer(pilot, app, "mine")
        # saved, and since it had not loaded, loaded now
        await wait_until(pilot, lambda: app.workflow is not None, what="the load after the save")
        assert flow.read_text(encoding="utf-8") == fixed_by_me


@pytest.mark.asyncio
async def test_save_as_normalizes_refuses_taken_names_and_registers_once(
    settings: Settings, tui_project: Path
) -> None:
    workflows = tui_project / "workflows"
    basic = workflows / "basic_workflow.py"
    original = basic.read_text(encoding="utf-8")
    (workflows / "stray.py").write_text("x = 1\n", encoding="utf-8")
    registry = workflows / "config.yaml"
    app = WorkbenchApp(settings, target="basic_workflow")
    async with app.run_test(size=SIZE) as pilot:
        source = await opened(app, pilot, basic, watched=False)
        await type_at(pilot, source, '"""Basic example workflow', list(" (my copy)"))
        edited = source.text
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveAsDialog))
        dialog = app.screen
        assert isinstance(dialog, SaveAsDialog)
        await wait_until(pilot, lambda: dialog.query_one("#save-as-name", Input).has_focus)
        name = dialog.query_one("#save-as-name", Input)
        save = dialog.query_one("#save-as-save", Button)
        message = dialog.query_one("#save-as-message", Static)

        for typed, says in [
            ("Basic Workflow", "workflow 'basic_workflow' already exists"),
            ("approval-workflow", "workflow 'approval_workflow' already exists"),
            ("Stray", "workflow 'stray' already exists: workflows/stray.py"),
            ("2 fast", "invalid workflow name '2_fast'"),
        ]:
            await fill(pilot, name, typed)
            assert says in str(message.render()), typed
            assert save.disabled and name.has_class("-invalid")
            await pilot.press("enter")  # refused: the dialog stays
            assert app.screen is dialog

        name.value = ""
        await pilot.press(*"My Flow")
        assert str(message.render()) == (
            "will save as 'my_flow' to workflows/my_flow.py and register it"
        )
        assert not save.disabled
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: app.workflow is not None and app.workflow.name == "my_flow",
            what="the new workflow to load",
        )
        new = workflows / "my_flow.py"
        assert new.read_text(encoding="utf-8") == edited
        assert basic.read_text(encoding="utf-8") == original  # the original stays
        assert registry.read_text(encoding="utf-8").count("my_flow:") == 1
        entry = WorkflowRegistry(registry).get("my_flow")
        assert entry is not None and entry.path == "my_flow.py"
        assert entry.description == "Saved from workflows/basic_workflow.py"
        await wait_until(pilot, lambda: source.path == new)
        assert source.border_title == "Source: workflows/my_flow.py · saved"
        assert not source.dirty

        # the name is now taken: a second Save As under it is refused
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveAsDialog))
        again = app.screen
        await fill(pilot, again.query_one("#save-as-name", Input), "my flow")
        assert "already exists" in str(again.query_one("#save-as-message", Static).render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveAsDialog))
        assert registry.read_text(encoding="utf-8").count("my_flow:") == 1


@pytest.mark.asyncio
async def test_leaving_with_unsaved_edits_asks_first(settings: Settings, tui_project: Path) -> None:
    basic = tui_project / "workflows" / "basic_workflow.py"
    original = basic.read_text(encoding="utf-8")
    app = WorkbenchApp(settings, target="basic_workflow")
    async with app.run_test(size=SIZE) as pilot:
        source = await opened(app, pilot, basic, watched=False)
        await type_at(pilot, source, '"""Basic example workflow', list(" edited"))
        edited = source.text

        # another workflow: asked; cancel stays, discard goes
        app.load("approval_workflow")
        await answer(pilot, app, "cancel")
        assert app.workflow is not None and app.workflow.name == "basic_workflow"
        assert source.text == edited and source.dirty
        app.load("approval_workflow")
        await answer(pilot, app, "discard")
        await wait_until(
            pilot, lambda: app.workflow is not None and app.workflow.name == "approval_workflow"
        )
        assert basic.read_text(encoding="utf-8") == original
        assert source.path == tui_project / "workflows" / "approval_workflow.py"
        assert not source.dirty

        # quitting: asked; cancel stays, save writes the file and then quits
        await type_at(pilot, source, '"""', list("x"))
        edited = source.text
        await pilot.press("ctrl+q")
        await answer(pilot, app, "cancel")
        assert app.return_code is None and source.dirty
        await pilot.press("ctrl+q")
        await answer(pilot, app, "save")
        await wait_until(pilot, lambda: app.return_code == 0, what="the app to quit")
    assert (tui_project / "workflows" / "approval_workflow.py").read_text(
        encoding="utf-8"
    ) == edited
