"""The store browser (ctrl+g) on real runs of tests/workflows/remember.py, a memory agent
that keeps what a user asks it to remember in the long-term store: namespaces and
items listed, found as typed, edited as JSON (invalid JSON refused in place, nothing
written), added, deleted after asking; the next run of the workflow sees every change.
On SQLite, on PostgreSQL, with no store, with an empty store, on a store whose
database fails, and on the memory_agent project whose store ranks by meaning."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, Static, TextArea

from lgp_engine import (
    LongTermStore,
    Runner,
    Settings,
    load_settings,
    load_workflow,
    open_checkpoints,
    resolve_in_project,
    state_at,
)
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.confirm_dialog import ConfirmDialog
from lgp_tui.screens.store_browser import StoreBrowser
from lgp_tui.screens.store_item_dialog import StoreItemDialog
from lgp_tui.screens.value_viewer import ValueViewer
from lgp_tui.widgets.store.item_table import ItemTable
from tests.workflows import copy_workflows

from .conftest import SIZE, browse, fill, notified, status, wait_until

WORKFLOW = "workflows/remember.py"
TEA = {"user": "ada", "note": "I drink green tea every morning", "topic": "food"}
CAT = {"user": "ada", "note": "My cat is called Miso", "topic": "pets"}
JAZZ = {"user": "bob", "note": "Bob likes jazz", "topic": "music"}
TEA_KEY = "i-drink-green-tea-every-morning"
ADA = ("memories", "ada")


def remembered(settings: Settings, *payloads: dict[str, Any]) -> Settings:
    """``settings``' project with remember.py in its workflows/, run once per payload
    (each on a thread of its own) before the app starts."""
    copy_workflows(settings.project_dir / "workflows", "remember.py")
    workflow = load_workflow(resolve_in_project(WORKFLOW, settings))
    with Runner.open(settings) as runner:
        for n, payload in enumerate(payloads):
            events = list(runner.start(workflow, payload, thread_id=f"seed-{n}"))
            assert events[-1].type == "run.completed", events[-1]
    return settings


def run_once(settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    """remember.py run once more, as another process would: its final state."""
    workflow = load_workflow(resolve_in_project(WORKFLOW, settings))
    with Runner.open(settings) as runner:
        events = list(runner.start(workflow, payload, thread_id="after"))
    assert events[-1].type == "run.completed", events[-1]
    return dict(events[-1].data["output"])


@pytest.fixture
def memories(settings: Settings) -> Settings:
    return remembered(settings, TEA, CAT, JAZZ)


def stored(settings: Settings) -> dict[tuple[str, ...], dict[str, Any]]:
    """Every item of the project's store, read apart from the app: {(ns..., key): value}."""
    with LongTermStore.open(settings) as memory:
        assert memory is not None
        return {(*i.namespace, i.key): i.value for i in memory.search()}


async def open_store(pilot: Pilot, app: WorkbenchApp) -> StoreBrowser:
    """ctrl+g once the stores are open; the browser once it has read its items."""
    await wait_until(pilot, lambda: app.ready, what="the workflow and stores")
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: isinstance(app.screen, StoreBrowser), what="the browser")
    browser = app.screen
    assert isinstance(browser, StoreBrowser)
    await settled(pilot, browser)
    return browser


async def settled(pilot: Pilot, browser: StoreBrowser) -> None:
    """Wait until no read or write of the browser is under way."""

    def idle() -> bool:
        return (
            browser.opened
            and browser.busy is None
            and not any(w.node is browser and not w.is_finished for w in browser.workers)
        )

    await wait_until(pilot, idle, what="the browser's reads")
    await pilot.pause()


def said(browser: StoreBrowser) -> str:
    return str(browser.query_one("#st-status", Static).content)


def shown_value(browser: StoreBrowser) -> str:
    return str(browser.query_one("#st-value", Static).content)


def namespaces(browser: StoreBrowser) -> list[str]:
    options = browser.query_one("#st-namespaces", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def keys(browser: StoreBrowser) -> list[str]:
    return [i.key for i in browser.query_one(ItemTable).items]


async def pick_namespace(pilot: Pilot, browser: StoreBrowser, name: str) -> None:
    options = browser.query_one("#st-namespaces", OptionList)
    options.focus()
    options.highlighted = namespaces(browser).index(name)
    await pilot.pause()
    await settled(pilot, browser)


async def edit_dialog(pilot: Pilot, app: WorkbenchApp, key: str) -> StoreItemDialog:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, StoreItemDialog), what="the dialog")
    dialog = app.screen
    assert isinstance(dialog, StoreItemDialog)
    await pilot.pause()
    return dialog


async def type_value(pilot: Pilot, dialog: StoreItemDialog, text: str) -> None:
    dialog.query_one("#item-value", TextArea).load_text(text)
    await pilot.pause()


def error_of(dialog: StoreItemDialog) -> str:
    return str(dialog.query_one("#item-error", Static).content)


@pytest.mark.asyncio
async def test_browse_edit_and_the_next_run_recalls_the_edit(memories: Settings) -> None:
    app = WorkbenchApp(memories, target=WORKFLOW)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_store(pilot, app)
        assert namespaces(browser) == ["(every namespace)", "memories.ada", "memories.bob"]
        assert sorted(keys(browser)) == sorted([TEA_KEY, "my-cat-is-called-miso", "bob-likes-jazz"])
        assert said(browser).startswith("3 items in every namespace · 2 namespaces · ")

        await pick_namespace(pilot, browser, "memories.ada")
        assert keys(browser) == [TEA_KEY, "my-cat-is-called-miso"]  # by key
        assert browser.item is not None and browser.item.key == TEA_KEY
        assert '"text": "I drink green tea every morning"' in shown_value(browser)

        # v reads the value whole in the viewer
        browser.query_one(ItemTable).focus()
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ValueViewer), what="the viewer")
        assert "green tea" in app.screen.text  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser)

        # invalid JSON: said in place, Save off, ctrl+s writes nothing
        dialog = await edit_dialog(pilot, app, "e")
        assert dialog.query_one("#item-key", Input).disabled  # an edit keeps its key
        await type_value(pilot, dialog, '{"text": "I drink coffee now", "topic": "food"')
        assert error_of(dialog).startswith("invalid JSON at line 1")
        assert dialog.query_one("#item-save", Button).disabled
        await pilot.press("ctrl+s")
        assert app.screen is dialog
        await type_value(pilot, dialog, '["not", "an", "object"]')
        assert error_of(dialog) == "an item's value must be a JSON object ({...})"
        await pilot.press("ctrl+s")
        assert app.screen is dialog
        assert stored(memories)[(*ADA, TEA_KEY)]["text"] == TEA["note"]

        await type_value(pilot, dialog, '{"text": "I drink coffee now", "topic": "food"}')
        assert error_of(dialog) == ""
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is browser)
        await settled(pilot, browser)
        await notified(pilot, lambda n: n.title == "Store item saved")
        assert browser.item is not None and browser.item.key == TEA_KEY  # still selected
        assert "I drink coffee now" in shown_value(browser)
        assert stored(memories)[(*ADA, TEA_KEY)] == {"text": "I drink coffee now", "topic": "food"}

        # the workflow's next run recalls the edited memory
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, StoreBrowser))
        await fill(pilot, app.query_one("#run-input", Input), '{"user": "ada", "topic": "food"}')
        await fill(pilot, app.query_one("#thread-input", Input), "after-edit")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
    with open_checkpoints(memories, readonly=True) as checkpoints:
        values = state_at(checkpoints, "after-edit").values
    assert values["same_topic"] == ["I drink coffee now"]
    assert values["memories"] == ["I drink coffee now", CAT["note"]]


@pytest.mark.asyncio
async def test_new_items_and_deletes_after_asking(memories: Settings) -> None:
    app = WorkbenchApp(memories, target=WORKFLOW)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_store(pilot, app)
        await pick_namespace(pilot, browser, "memories.bob")

        # a new item starts in the selected namespace; no key, no save
        dialog = await edit_dialog(pilot, app, "n")
        assert dialog.query_one("#item-namespace", Input).value == "memories.bob"
        assert error_of(dialog) == "key: an item needs a key"
        await fill(pilot, dialog.query_one("#item-namespace", Input), "memories..bob")
        assert error_of(dialog).startswith("namespace: a namespace's labels cannot be empty")
        await fill(pilot, dialog.query_one("#item-namespace", Input), "memories.bob")
        await fill(pilot, dialog.query_one("#item-key", Input), "bob-plays-piano")
        await type_value(pilot, dialog, '{"text": "Bob plays the piano", "topic": "music"}')
        assert not dialog.query_one("#item-save", Button).disabled
        await pilot.click("#item-save")
        await wait_until(pilot, lambda: app.screen is browser)
        await settled(pilot, browser)
        assert keys(browser) == ["bob-likes-jazz", "bob-plays-piano"]
        assert browser.item is not None and browser.item.key == "bob-plays-piano"

        # a new item whose key is taken: refused by the store, the dialog comes back
        # with the text as typed and the reason; nothing is overwritten
        dialog = await edit_dialog(pilot, app, "n")
        await fill(pilot, dialog.query_one("#item-key", Input), "bob-likes-jazz")
        await type_value(pilot, dialog, '{"text": "overwritten?"}')
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, StoreItemDialog) and app.screen is not dialog,
            what="the dialog again",
        )
        again = app.screen
        assert isinstance(again, StoreItemDialog)
        assert "already has an item 'bob-likes-jazz'" in error_of(again)
        assert json.loads(again.query_one("#item-value", TextArea).text) == {"text": "overwritten?"}
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser)
        assert stored(memories)[("memories", "bob", "bob-likes-jazz")]["text"] == JAZZ["note"]

        # delete asks first: cancel keeps it, yes deletes it
        table = browser.query_one(ItemTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        assert browser.item is not None and browser.item.key == "bob-likes-jazz"
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        assert "'bob-likes-jazz' from memories.bob" in str(
            app.screen.query_one("#confirm-message", Static).content
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is browser)
        assert ("memories", "bob", "bob-likes-jazz") in stored(memories)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is browser)
        await settled(pilot, browser)
        assert keys(browser) == ["bob-plays-piano"]
        assert ("memories", "bob", "bob-likes-jazz") not in stored(memories)

        # the namespace's last item: the namespace goes, every namespace is shown
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is browser)
        await settled(pilot, browser)
        assert namespaces(browser) == ["(every namespace)", "memories.ada"]
        assert browser.in_namespace is None and len(keys(browser)) == 2

    output = await asyncio.to_thread(run_once, memories, {"user": "bob"})
    assert output["memories"] == []


@pytest.mark.asyncio
async def test_found_as_typed(memories: Settings) -> None:
    app = WorkbenchApp(memories, target=WORKFLOW)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_store(pilot, app)
        await pilot.press("slash")
        search = browser.query_one("#st-search", Input)
        assert search.has_focus
        await pilot.press(*"JAZZ")  # any case; in a value
        await settled(pilot, browser)
        assert keys(browser) == ["bob-likes-jazz"]
        assert said(browser).startswith("1 item in every namespace holding 'JAZZ'")
        await fill(pilot, search, "pets")  # a value's topic
        await settled(pilot, browser)
        assert keys(browser) == ["my-cat-is-called-miso"]
        await fill(pilot, search, "nothing like this")
        await settled(pilot, browser)
        assert keys(browser) == [] and browser.item is None
        assert shown_value(browser) == "Nothing in the store matches 'nothing like this'."
        await fill(pilot, search, "~tea")  # no semantic index: found by text, and said
        await settled(pilot, browser)
        assert keys(browser) == [TEA_KEY]
        assert "(no semantic index: found by text)" in said(browser)
        # within a namespace only
        await fill(pilot, search, "i")
        await pilot.press("escape")  # from the find box: back to the items
        assert browser.query_one(ItemTable).has_focus and isinstance(app.screen, StoreBrowser)
        await pick_namespace(pilot, browser, "memories.bob")
        assert keys(browser) == ["bob-likes-jazz"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, StoreBrowser))


@pytest.mark.asyncio
async def test_an_empty_store_says_how_it_fills(settings: Settings) -> None:
    copy_workflows(settings.project_dir / "workflows", "remember.py")
    app = WorkbenchApp(settings, target=WORKFLOW)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_store(pilot, app)
        assert namespaces(browser) == ["(every namespace)"]
        assert shown_value(browser).startswith("The long-term store is empty.")
        assert "press n to add an item here" in shown_value(browser)
        await pilot.press("e")
        assert isinstance(app.screen, StoreBrowser)
        assert said(browser) == "Select an item to edit first."
        # the first item, added here, is what the workflow's next run recalls
        dialog = await edit_dialog(pilot, app, "n")
        assert dialog.query_one("#item-namespace", Input).value == ""
        await fill(pilot, dialog.query_one("#item-namespace", Input), "memories.ada")
        await fill(pilot, dialog.query_one("#item-key", Input), "seeded")
        await type_value(pilot, dialog, '{"text": "seeded by hand", "topic": "misc"}')
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is browser)
        await settled(pilot, browser)
        assert namespaces(browser) == ["(every namespace)", "memories.ada"]
        assert keys(browser) == ["seeded"]
        await pilot.press("escape")
        await fill(pilot, app.query_one("#run-input", Input), '{"user": "ada"}')
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run")
        assert app.runner is not None
        assert stored(settings) == {
            ("memories", "ada", "seeded"): {"text": "seeded by hand", "topic": "misc"}
        }


@pytest.mark.asyncio
async def test_no_store_configured(settings: Settings) -> None:
    from lgp_engine.config import StoreSettings

    none = settings.model_copy(update={"store": StoreSettings(backend="none")})
    app = WorkbenchApp(none)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_store(pilot, app)
        assert browser.memory is None
        assert shown_value(browser).startswith("This project has no long-term store")
        await pilot.press("n")
        assert isinstance(app.screen, StoreBrowser)
        assert said(browser) == "There is no long-term store to write to."


@pytest.mark.asyncio
async def test_a_failing_database_is_a_notification(memories: Settings) -> None:
    """The store's database gone under the browser (its connection closed): each read
    is a notification and a status line; the app goes on."""
    app = WorkbenchApp(memories, target=WORKFLOW)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_store(pilot, app)
        assert app.runner is not None and app.runner.memory is not None
        app.runner.memory.close()  # the stores' connections close under the browser
        await pilot.press("r")
        await wait_until(
            pilot,
            lambda: any(n.title.startswith("Long-term store") for n in app._notifications),
            what="the notification",
        )
        note = next(n for n in app._notifications if n.title.startswith("Long-term store"))
        assert note.title == "Long-term store (list namespaces)"
        assert "the long-term store's database failed" in note.message
        assert said(browser).startswith("✖ could not list namespaces: ")
        assert "Traceback" not in shown_value(browser)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, StoreBrowser))


@pytest.mark.asyncio
async def test_opened_from_the_checkpoint_browser(memories: Settings) -> None:
    app = WorkbenchApp(memories, target=WORKFLOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        checkpoints = await browse(pilot, app)
        browser = await open_store(pilot, app)
        assert len(keys(browser)) == 3
        await pilot.press("ctrl+g")  # once open, not twice
        assert sum(isinstance(s, StoreBrowser) for s in app.screen_stack) == 1
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is checkpoints)


@pytest.fixture
def on_pg(settings: Settings, postgres_dsn: str) -> Settings:
    """The project on a PostgreSQL database of its own, two memories saved."""
    from lgp_engine.config import CheckpointerSettings

    checkpointer = CheckpointerSettings(backend="postgres", dsn=postgres_dsn)
    return remembered(settings.model_copy(update={"checkpointer": checkpointer}), TEA, JAZZ)


@pytest.mark.asyncio
async def test_on_postgresql(settings: Settings, on_pg: Settings) -> None:
    app = WorkbenchApp(on_pg, target=WORKFLOW)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_store(pilot, app)
        assert namespaces(browser) == ["(every namespace)", "memories.ada", "memories.bob"]
        assert "postgresql://" in said(browser)
        await pick_namespace(pilot, browser, "memories.ada")
        browser.query_one(ItemTable).focus()
        dialog = await edit_dialog(pilot, app, "enter")  # enter on a row edits it too
        await type_value(pilot, dialog, '{"text": "Tea, on PostgreSQL", "topic": "food"}')
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is browser)
        await settled(pilot, browser)
        assert "Tea, on PostgreSQL" in shown_value(browser)
    assert stored(on_pg)[(*ADA, TEA_KEY)]["text"] == "Tea, on PostgreSQL"
    assert not list(settings.project_dir.glob(".lgp/*.db"))  # no SQLite file was made


# -- a store with a semantic index: the memory_agent project ------------------------


@pytest.fixture
def memory_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_server: Any
) -> Iterator[Settings]:
    """tests/projects/memory_agent (langgraph.json with a store index embedded by the
    fake OpenAI server), with memories of ada saved by its own graph."""
    import sys

    from tests.conftest import FAKE_OPENAI_KEY
    from tests.projects import copy_project

    root = copy_project("memory_agent", tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setenv("EMBEDDINGS_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("EMBEDDINGS_API_KEY", FAKE_OPENAI_KEY)
    path, meta_path = list(sys.path), list(sys.meta_path)
    settings = load_settings(project_dir=root)
    workflow = load_workflow(resolve_in_project("langgraph.json", settings))
    config = {"configurable": {"user_id": "ada"}}
    with Runner.open(settings) as runner:
        for n, note in enumerate(
            ["I drink green tea every morning", "My cat is called Miso", "I ride a bike to work"]
        ):
            events = list(runner.start(workflow, {"note": note}, thread_id=f"m{n}", config=config))
            assert events[-1].type == "run.completed", events[-1]
    yield settings
    sys.path[:] = path
    sys.meta_path[:] = meta_path
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(str(root)):
            del sys.modules[name]


@pytest.mark.asyncio
async def test_ranked_by_meaning_on_an_indexed_store(memory_agent: Settings) -> None:
    app = WorkbenchApp(memory_agent, target="langgraph.json")
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_store(pilot, app)
        assert browser.memory is not None and browser.memory.indexed
        search = browser.query_one("#st-search", Input)
        assert "~words: by meaning" in search.placeholder
        await fill(pilot, search, "~what do I drink in the morning")
        await settled(pilot, browser)
        found = browser.query_one(ItemTable).items
        assert found[0].value["text"] == "I drink green tea every morning"
        scores = [i.score for i in found]
        assert None not in scores and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
        assert "closest to 'what do I drink in the morning' first" in said(browser)
        assert "score " in str(browser.query_one("#st-value-scroll").border_subtitle)
        # an edit is embedded again: the memory is found by its new meaning
        tea = found[0].key
        browser.query_one(ItemTable).focus()
        dialog = await edit_dialog(pilot, app, "e")
        await type_value(pilot, dialog, '{"text": "I play chess on sundays", "topic": "games"}')
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is browser)
        await settled(pilot, browser)
        await fill(pilot, search, "~chess on sundays")
        await settled(pilot, browser)
        first = browser.query_one(ItemTable).items[0]
        assert (first.key, first.value["text"]) == (tea, "I play chess on sundays")
