"""Pilot tests of the template gallery pushed over the workbench (real temp project)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, Static

from lgp_engine import Settings
from lgp_engine.templates import CreatedWorkflow, templates_dir
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.template_gallery import TemplateGallery
from lgp_tui.widgets.explorer.workflow_list import WorkflowList
from lgp_tui.widgets.run.run_bar import RunBar

from .conftest import SIZE, fill, wait_until


async def open_gallery(app: WorkbenchApp, pilot: Pilot, results: list) -> TemplateGallery:
    await wait_until(pilot, lambda: app.ready, what="the default workflow")
    gallery = TemplateGallery(app.settings)
    app.push_screen(gallery, results.append)
    await wait_until(pilot, lambda: app.screen is gallery and gallery.templates, what="gallery")
    await pilot.pause()
    return gallery


async def type_name(pilot: Pilot, gallery: TemplateGallery, text: str) -> None:
    field = gallery.query_one("#gallery-name", Input)
    field.focus()
    field.value = ""
    await pilot.press(*text)
    await pilot.pause()


def message(gallery: TemplateGallery) -> str:
    return str(gallery.query_one("#gallery-message", Static).render())


def create_button(gallery: TemplateGallery) -> Button:
    return gallery.query_one("#gallery-create", Button)


@pytest.mark.asyncio
async def test_lists_templates_with_complexity_and_previews_source(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        gallery = await open_gallery(app, pilot, results)
        options = gallery.query_one("#gallery-templates", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert [p.split()[:2] for p in prompts] == [
            ["basic", "beginner"],
            ["data_pipeline", "intermediate"],
            ["multi_agent", "intermediate"],
            ["with_claude_code", "intermediate"],
            ["custom", "advanced"],
        ]
        assert all("\n" in p for p in prompts)  # the description under each name
        assert gallery.selected is not None and gallery.selected.name == "basic"

        options.focus()
        await pilot.press("down")
        await pilot.pause()
        assert gallery.selected.name == "data_pipeline"
        expected = (Path(gallery.selected.directory) / "workflow.py").read_text(encoding="utf-8")
        assert gallery.preview_text == expected
        assert gallery.query_one("#gallery-source", Static).visual is not None
        assert "data_pipeline" in gallery.query_one("#gallery-preview").border_title
        assert create_button(gallery).disabled  # no name yet

        await pilot.press("escape")
        await wait_until(pilot, lambda: results == [None], what="dismiss on escape")
        assert app.screen is not gallery


@pytest.mark.asyncio
async def test_name_is_validated_as_typed(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        gallery = await open_gallery(app, pilot, results)

        await type_name(pilot, gallery, "a b")
        assert "invalid workflow name 'a b'" in message(gallery)
        assert create_button(gallery).disabled
        assert gallery.query_one("#gallery-name", Input).has_class("-invalid")
        await pilot.press("enter")  # submitting refuses too
        await pilot.pause(0.2)
        assert app.screen is gallery and results == []

        await type_name(pilot, gallery, "basic_workflow")
        assert "already exists" in message(gallery)
        assert create_button(gallery).disabled

        await type_name(pilot, gallery, "my_flow")
        assert not create_button(gallery).disabled
        assert "will create workflows/my_flow.py" in message(gallery)
        assert not gallery.query_one("#gallery-name", Input).has_class("-invalid")


@pytest.mark.asyncio
async def test_create_writes_registers_and_dismisses(settings: Settings, tui_project: Path) -> None:
    app = WorkbenchApp(settings)
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        gallery = await open_gallery(app, pilot, results)
        gallery.select_template("data_pipeline")
        await type_name(pilot, gallery, "my_flow")
        await pilot.click("#gallery-create")
        await wait_until(pilot, lambda: results, what="the gallery to dismiss")

        created = results[0]
        assert isinstance(created, CreatedWorkflow)
        assert created.name == "my_flow"
        assert created.path == tui_project / "workflows" / "my_flow.py"
        assert app.screen is not gallery

    source = (tui_project / "workflows" / "my_flow.py").read_text(encoding="utf-8")
    assert source.startswith("# Created by `lgp create my_flow --template data_pipeline`.")
    config = yaml.safe_load((tui_project / "workflows" / "config.yaml").read_text())
    assert config["workflows"]["my_flow"]["path"] == "my_flow.py"
    assert (tui_project / "workflows" / "data" / "sales_sample.csv").is_file()


@pytest.mark.asyncio
async def test_create_failure_is_shown_inline(settings: Settings, tui_project: Path) -> None:
    # a template folder whose template lists a file it does not have: create_workflow refuses
    folder = tui_project / "my_templates"
    shutil.copytree(templates_dir(), folder)
    meta = folder / "basic" / "template.yaml"
    meta.write_text(meta.read_text().replace("files: []", "files: [missing.csv]"))
    settings = settings.model_copy(
        update={
            "workflows": settings.workflows.model_copy(update={"templates": "my_templates"}),
        }
    )
    app = WorkbenchApp(settings)
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        gallery = await open_gallery(app, pilot, results)
        assert gallery.selected is not None and gallery.selected.name == "basic"
        await type_name(pilot, gallery, "late_flow")
        assert not create_button(gallery).disabled
        await pilot.press("enter")
        await wait_until(pilot, lambda: "missing" in message(gallery), what="the error")
        assert message(gallery) == (
            "Template error: template 'basic' lists a missing file: missing.csv"
        )
        assert gallery.query_one("#gallery-message", Static).has_class("-error")
        assert not gallery.creating and not create_button(gallery).disabled  # can retry
        assert app.screen is gallery and results == []
    assert not (tui_project / "workflows" / "late_flow.py").exists()


@pytest.mark.asyncio
async def test_ctrl_t_creates_a_workflow_that_opens_and_runs(
    settings: Settings, tui_project: Path
) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready, what="the default workflow")
        await fill(pilot, app.query_one("#thread-input", Input), "basic-thread")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplateGallery), what="gallery")
        gallery = app.screen
        await wait_until(pilot, lambda: gallery.templates, what="templates")
        gallery.selected = next(t for t in gallery.templates if t.name == "custom")
        await type_name(pilot, gallery, "fresh_flow")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: app.ready and app.workflow.name == "fresh_flow",
            what="the new workflow to open",
        )
        assert (tui_project / "workflows" / "fresh_flow.py").is_file()
        # its own thread (a new one) and its template's input, not the previous
        # workflow's (issue 16: ctrl+r ran the new workflow on the old thread)
        bar = app.query_one(RunBar)
        assert bar.thread_id is None
        assert json.loads(bar.input_text) == gallery.selected.default_input
        await select_workflow(app, pilot, "basic_workflow")
        assert bar.thread_id == "basic-thread"  # each workflow keeps its own
        await select_workflow(app, pilot, "fresh_flow")
        await pilot.press("ctrl+r")
        await wait_until(
            pilot, lambda: app._job is None and app.query_one("#run-log"), what="the run"
        )
        from lgp_engine import Runner

        await wait_until(
            pilot,
            lambda: _latest_status(Runner, settings) == "completed",
            what="the run to complete",
        )


async def select_workflow(app: WorkbenchApp, pilot: Pilot, name: str) -> None:
    explorer = app.query_one(WorkflowList)
    options = explorer.query_one(OptionList)
    options.focus()
    options.highlighted = explorer.index_of(name)
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.ready and app.workflow.name == name, what=name)


def _latest_status(runner_cls: type, settings: Settings) -> str | None:
    with runner_cls.open(settings) as runner:
        runs = runner.runs.list_runs(limit=1)
        return runs[0].status if runs else None
