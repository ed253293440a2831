"""The explorer follows the project (issue 16: "the workflow file list does not see
new files"): a workflow file created, renamed or removed after the app started, and
a workflow registered meanwhile, show without a restart; the cursor stays on the
workflow it was on; a file that does not import is listed like any other."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList, Static

from lgp_engine import Settings, WorkflowRegistry
from lgp_engine.registry import RegistryEntry
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.explorer.workflow_list import WorkflowList

from .conftest import SIZE, status, wait_until, watching

BROKEN = "from langgraph.graph import StateGraph\n\ndef oops(state)\n    return state\n"


def listed(explorer: WorkflowList) -> list[str]:
    return [e.target for e in explorer.entries if e is not None]


def under_cursor(explorer: WorkflowList) -> str | None:
    entry = explorer.highlighted
    return entry.target if entry is not None else None


@pytest.mark.asyncio
async def test_new_renamed_and_removed_files_show_and_the_cursor_stays(
    settings: Settings, tui_project: Path
) -> None:
    folder = tui_project / "workflows"
    basic = (folder / "basic_workflow.py").read_text(encoding="utf-8")
    app = WorkbenchApp(settings, target="workflows/basic_workflow.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready, what="the workflow")
        explorer = app.query_one(WorkflowList)
        options = explorer.query_one(OptionList)
        assert under_cursor(explorer) == "workflows/basic_workflow.py"
        assert "workflows/a_fresh_flow.py" not in listed(explorer)

        # created after the start, sorted before the open one: listed, cursor kept
        (folder / "a_fresh_flow.py").write_text(basic, encoding="utf-8")
        await wait_until(
            pilot, lambda: "workflows/a_fresh_flow.py" in listed(explorer), what="the new file"
        )
        assert under_cursor(explorer) == "workflows/basic_workflow.py"
        assert options.highlighted == explorer.index_of("workflows/basic_workflow.py")

        # one that does not import is listed too; loading it says why, in place
        (folder / "b_broken_flow.py").write_text(BROKEN, encoding="utf-8")
        await wait_until(
            pilot, lambda: "workflows/b_broken_flow.py" in listed(explorer), what="the broken file"
        )
        options.focus()
        options.highlighted = explorer.index_of("workflows/b_broken_flow.py")
        await pilot.press("enter")
        await wait_until(pilot, lambda: status(app) == "load failed", what="the load error")
        error = app.query_one("#explorer-error", Static)
        assert "b_broken_flow.py:3" in str(error.render())

        # renamed: the new name replaces the old; the load error is not wiped by it
        (folder / "a_fresh_flow.py").rename(folder / "c_renamed_flow.py")
        await wait_until(
            pilot,
            lambda: (
                "workflows/c_renamed_flow.py" in listed(explorer)
                and "workflows/a_fresh_flow.py" not in listed(explorer)
            ),
            what="the rename",
        )
        assert under_cursor(explorer) == "workflows/b_broken_flow.py"
        assert error.display and "b_broken_flow.py:3" in str(error.render())

        # the file under the cursor removed: the cursor goes to its neighbour
        (folder / "b_broken_flow.py").unlink()
        await wait_until(
            pilot,
            lambda: "workflows/b_broken_flow.py" not in listed(explorer),
            what="the removal",
        )
        assert under_cursor(explorer) == "workflows/basic_workflow.py"  # where it was

        # a new file loads and runs like the others
        options.highlighted = explorer.index_of("workflows/c_renamed_flow.py")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: app.ready and app.workflow.name == "c_renamed_flow",
            what="the renamed workflow",
        )
        assert not error.display
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed", what="its run")


@pytest.mark.asyncio
async def test_a_workflow_registered_meanwhile_shows_under_registered(
    settings: Settings, tui_project: Path
) -> None:
    folder = tui_project / "workflows"
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready, what="the workflow")
        explorer = app.query_one(WorkflowList)
        assert under_cursor(explorer) == "basic_workflow"
        (folder / "zeta_flow.py").write_text(
            (folder / "basic_workflow.py").read_text(encoding="utf-8"), encoding="utf-8"
        )
        # as `lgp create` or another workbench would: the registry is rewritten
        WorkflowRegistry(settings.resolve(settings.workflows.registry)).register(
            RegistryEntry("zeta_flow", "zeta_flow.py", "registered while the app ran")
        )
        await wait_until(pilot, lambda: "zeta_flow" in listed(explorer), what="the registration")
        assert listed(explorer).index("zeta_flow") < listed(explorer).index(
            "workflows/zeta_flow.py"
        )
        assert under_cursor(explorer) == "basic_workflow"


@pytest.mark.asyncio
async def test_following_the_folder_does_not_watch_it(
    settings: Settings, tui_project: Path
) -> None:
    """The hot-reload tests wait for an inotify watch on the workflow's folder
    (``watching``): the explorer must not hold one, or they would go on too early."""
    elsewhere = tui_project / "elsewhere"
    elsewhere.mkdir()
    flow = elsewhere / "flow.py"
    flow.write_text(
        (tui_project / "workflows" / "basic_workflow.py").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    app = WorkbenchApp(settings, target=str(flow))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready, what="the workflow")
        await wait_until(pilot, lambda: watching(elsewhere), what="the hot-reload watcher")
        explorer = app.query_one(WorkflowList)
        (tui_project / "workflows" / "new_flow.py").write_text("", encoding="utf-8")
        await wait_until(
            pilot, lambda: "workflows/new_flow.py" in listed(explorer), what="the new file"
        )
        assert not watching(tui_project / "workflows")
