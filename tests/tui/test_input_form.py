"""Forms from schemas: the input form (f8 / the run bar's ☰) built from a real
graph's input and context schemas, its checks, the raw JSON toggle, a run made from
it; an interrupt with a response schema answered through a form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, Static, TextArea

from lgp_engine import (
    Settings,
    open_checkpoints,
    state_at,
)
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.input_form import InputForm
from lgp_tui.screens.interrupt_dialog import InterruptDialog
from lgp_tui.widgets.run.run_bar import RunBar
from tests.workflows import copy_workflows

from .conftest import SIZE, fill, loaded_graph, status, wait_until


@pytest.fixture
def typed(settings: Settings, tui_project: Path) -> Settings:
    copy_workflows(tui_project / "workflows", "typed_input.py")
    return settings


async def open_form(app: WorkbenchApp, pilot) -> InputForm:  # type: ignore[no-untyped-def]
    await pilot.press("f8")
    await wait_until(pilot, lambda: isinstance(app.screen, InputForm), what="the form")
    form = app.screen
    assert isinstance(form, InputForm)
    await wait_until(pilot, lambda: bool(form.query("#form-buttons")), what="its fields")
    return form


def error(form: InputForm) -> str:
    return str(form.query_one("#form-error", Static).render())


@pytest.mark.asyncio
async def test_the_input_form_types_checks_and_runs_with_the_context(typed: Settings) -> None:
    app = WorkbenchApp(typed, target="workflows/typed_input.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        bar = app.query_one(RunBar)
        bar.input_text = "{}"
        form = await open_form(app, pilot)
        # typed fields from the pydantic input and the context dataclass, with defaults
        assert [s.name for s in form.query_one("#form-input").specs] == [  # type: ignore[attr-defined]
            "question",
            "tone",
            "repeat",
            "shout",
        ]
        assert form.query_one("#input-tone", Select).value == "plain"
        assert form.query_one("#input-repeat", Input).value == "1"
        assert form.query_one("#input-shout", Select).value is False
        assert form.query_one("#context-user", Input).value == "anon"
        assert not form.query("#form-configurable")  # context only: no second copy
        # the required question is said, and Run waits for it
        assert error(form) == "question is required"
        assert form.query_one("#form-run", Button).disabled
        await fill(pilot, form.query_one("#input-question", Input), "why?")
        await fill(pilot, form.query_one("#input-repeat", Input), "two")
        assert error(form) == "repeat: 'two' is not a whole number"
        await fill(pilot, form.query_one("#input-repeat", Input), "2")
        form.query_one("#input-tone", Select).value = "pirate"
        await fill(pilot, form.query_one("#context-user", Input), "ann")
        assert error(form) == "" and not form.query_one("#form-run", Button).disabled

        # raw JSON and back: the same document, edited
        await pilot.press("f9")
        raw = form.query_one("#form-raw", TextArea)
        assert raw.display and json.loads(raw.text) == {
            "input": {"question": "why?", "tone": "pirate", "repeat": 2, "shout": False},
            "context": {"user": "ann"},
        }
        raw.text = "{not json"
        await pilot.pause()
        assert error(form).startswith("invalid JSON at line 1")
        await pilot.press("f9")  # refused: it stays raw
        assert form.raw
        raw.text = json.dumps(
            {"input": {"question": "how?", "repeat": 2}, "context": {"user": "bo"}}
        )
        await pilot.pause()
        await pilot.press("f9")
        assert not form.raw
        assert form.query_one("#input-question", Input).value == "how?"
        assert form.query_one("#context-user", Input).value == "bo"

        await pilot.press("ctrl+r")  # apply and run
        await wait_until(pilot, lambda: status(app) == "interrupted", what="the run")
        assert json.loads(bar.input_text) == {"question": "how?", "repeat": 2}
        assert json.loads(bar.config_text) == {"context": {"user": "bo"}}
    with open_checkpoints(typed, readonly=True) as checkpoints:
        [thread] = checkpoints.threads()
        values = state_at(checkpoints, thread.thread_id).values
        assert values["answer"] == "how? (plain, for bo) how? (plain, for bo)"


@pytest.mark.asyncio
async def test_escape_changes_nothing(typed: Settings) -> None:
    app = WorkbenchApp(typed, target="workflows/typed_input.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        bar = app.query_one(RunBar)
        bar.input_text = '{"question": "kept"}'
        form = await open_form(app, pilot)
        assert form.query_one("#input-question", Input).value == "kept"
        await fill(pilot, form.query_one("#input-question", Input), "changed")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, InputForm))
        assert bar.input_text == '{"question": "kept"}'


@pytest.mark.asyncio
async def test_an_interrupt_with_a_response_schema_is_answered_in_a_form(
    typed: Settings,
) -> None:
    app = WorkbenchApp(typed, target="workflows/typed_input.py")
    async with app.run_test(size=SIZE) as pilot:
        await loaded_graph(app, pilot)
        app.query_one(RunBar).input_text = '{"question": "ok?"}'
        app.query_one(RunBar).thread_id = "rev"
        await pilot.press("ctrl+r")  # it stops at the review: the dialog opens
        await wait_until(pilot, lambda: isinstance(app.screen, InterruptDialog), what="it")
        dialog = app.screen
        assert isinstance(dialog, InterruptDialog)
        await wait_until(pilot, lambda: bool(dialog.query("#resume-form")), what="the form")
        assert not dialog.query_one("#resume-input", Input).display  # the form, not JSON
        assert str(dialog.query_one("#resume-error", Static).render()) == "approved is required"
        assert dialog.query_one("#resume-button", Button).disabled
        dialog.query_one("#answer-approved", Select).value = True
        await fill(pilot, dialog.query_one("#answer-note", Input), "fine")
        await wait_until(pilot, lambda: dialog.problem is None, what="a valid answer")
        # the JSON of the same answer, a key away
        await pilot.press("f9")
        assert json.loads(dialog.query_one("#resume-input", Input).value) == {
            "approved": True,
            "note": "fine",
        }
        await pilot.press("f9")
        dialog.query_one("#resume-button", Button).press()
        await wait_until(pilot, lambda: status(app) == "completed", what="the resumed run")
    with open_checkpoints(typed, readonly=True) as checkpoints:
        assert state_at(checkpoints, "rev").values["review"] == {"approved": True, "note": "fine"}
