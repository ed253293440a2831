"""The store browser: the long-term store's namespaces → their items → an item's value.

It browses the store the loaded workflow's runs get (``runtime.store``, a node's
``store`` parameter; the project's default store when no workflow is loaded),
through :class:`lgp_engine.LongTermStore`. The first row of the namespace list
is every namespace at once. The find box filters the items by text in their key,
namespace or value as you type; on a store with a semantic index, text after ``~``
ranks them by meaning instead. ``n`` adds an item, ``e`` (or ``enter``) edits the
selected one as JSON, ``d`` deletes it after asking, ``v`` reads its value whole.

Every store call runs in a named, exclusive thread worker and comes back as one of
the messages nested on :class:`StoreBrowser`; a failure is a notification and a
line in the status bar, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from lgp_engine import (
    LGPError,
    LoadedWorkflow,
    LongTermStore,
    Runner,
    StoreItem,
    pretty,
)

from ..widgets.footer.fitted_footer import FittedFooter
from ..widgets.store.item_table import ItemTable, local_time
from ..widgets.value.value_text import styled
from .confirm_dialog import ConfirmDialog
from .store_item_dialog import NEW_VALUE, ItemEdit, StoreItemDialog

Post = Callable[[Message], Any]
Namespace = tuple[str, ...]
ITEM_LIMIT = 500
ALL = "\x00all"  # the option id of "every namespace" (no namespace label holds a NUL)
_FIND = Text.from_markup("[b]find[/] ")
_MATCH = "black on #ffd75f"


# -- worker bodies (run on worker threads; they only post messages) -----------------
def _open(runner: Runner, workflow: LoadedWorkflow | None, post: Post) -> None:
    try:
        memory = LongTermStore.of(runner, workflow)
    except Exception as exc:  # noqa: BLE001 - shown in the screen, the app keeps going
        post(StoreBrowser.Failed("open the store", exc))
        return
    post(StoreBrowser.Opened(memory))


def _read_namespaces(memory: LongTermStore, post: Post) -> None:
    try:
        found = memory.namespaces()
    except Exception as exc:  # noqa: BLE001
        post(StoreBrowser.Failed("list namespaces", exc))
        return
    post(StoreBrowser.NamespacesRead(found))


def _read_items(
    memory: LongTermStore, token: int, namespace: Namespace | None, search: str, post: Post
) -> None:
    text, query = search.strip(), None
    if text.startswith("~") and memory.indexed:
        text, query = "", text[1:].strip() or None
    elif text.startswith("~"):
        text = text[1:].strip()  # no index: the words filter by text (said in the status)
    try:
        items = memory.search(
            namespace or (),
            exact=namespace is not None,
            text=text or None,
            query=query,
            limit=ITEM_LIMIT + 1,
        )
    except Exception as exc:  # noqa: BLE001
        post(StoreBrowser.Failed("read items", exc))
        return
    post(StoreBrowser.ItemsRead(token, namespace, items))


def _write(memory: LongTermStore, edit: ItemEdit, post: Post) -> None:
    try:
        item = memory.put(edit.namespace, edit.key, edit.value, replace=not edit.new)
    except Exception as exc:  # noqa: BLE001
        post(StoreBrowser.WriteFailed(edit, exc))
        return
    post(StoreBrowser.Written(item.namespace, item.key, "added" if edit.new else "saved"))


def _delete(memory: LongTermStore, namespace: Namespace, key: str, post: Post) -> None:
    try:
        existed = memory.delete(namespace, key)
    except Exception as exc:  # noqa: BLE001
        post(StoreBrowser.Failed("delete the item", exc))
        return
    post(StoreBrowser.Written(namespace, key, "deleted" if existed else "already gone"))


class StoreBrowser(Screen[None]):
    """Browses and edits the long-term store of ``workflow``'s runs.

    Args:
        runner: The app's open runner (its stores).
        workflow: The loaded workflow (its ``langgraph.json`` may give it a store
            of its own); None for the project's default store.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close",
            "Close",
            id="store.close",
            tooltip="Close the store browser (from the find box: back to the items)",
        ),
        Binding("r", "refresh", "Refresh", id="store.refresh", tooltip="Read the store again"),
        Binding(
            "slash",
            "find",
            "Find",
            id="store.find",
            tooltip="Filter the items by text (~words: by meaning, on an indexed store)",
        ),
        Binding("n", "new", "New", id="store.new", tooltip="Add an item (JSON)"),
        Binding("e", "edit", "Edit", id="store.edit", tooltip="Edit the selected item's value"),
        Binding(
            "d", "delete", "Delete", id="store.delete", tooltip="Delete the selected item (asks)"
        ),
        Binding("v", "view", "View", id="store.view", tooltip="Read the selected value whole"),
    ]

    class Opened(Message):
        """The store is open (None: the project has none)."""

        def __init__(self, memory: LongTermStore | None) -> None:
            super().__init__()
            self.memory = memory

    class NamespacesRead(Message):
        """The store's namespaces, sorted."""

        def __init__(self, namespaces: list[Namespace]) -> None:
            super().__init__()
            self.namespaces = namespaces

    class ItemsRead(Message):
        """Items of ``namespace`` (None: every one) matching the find box; ``token``
        tells a superseded read from the current one."""

        def __init__(self, token: int, namespace: Namespace | None, items: list[StoreItem]) -> None:
            super().__init__()
            self.token = token
            self.ns = namespace
            self.items = items

    class Written(Message):
        """An item was added, saved or deleted (``outcome``)."""

        def __init__(self, namespace: Namespace, key: str, outcome: str) -> None:
            super().__init__()
            self.ns = namespace
            self.key = key
            self.outcome = outcome

    class WriteFailed(Message):
        """Saving ``edit`` failed: the dialog opens again with it and the reason."""

        def __init__(self, edit: ItemEdit, error: Exception) -> None:
            super().__init__()
            self.edit = edit
            self.error = error

    class Failed(Message):
        """A store call failed; ``what`` says which."""

        def __init__(self, what: str, error: Exception) -> None:
            super().__init__()
            self.what = what
            self.error = error

    def __init__(self, runner: Runner, workflow: LoadedWorkflow | None = None) -> None:
        super().__init__(id="store")
        self.runner = runner
        self.workflow = workflow
        self.memory: LongTermStore | None = None
        self.opened = False
        """The store was looked for (``memory`` None then: the project has none)."""
        self.namespaces: list[Namespace] = []
        self.in_namespace: Namespace | None = None
        """The selected namespace; None is every namespace."""
        self.items: list[StoreItem] = []
        self.more = False
        """The store holds more matching items than are shown."""
        self.item: StoreItem | None = None
        self.search = ""
        self.busy: str | None = None
        self._token = 0
        self._select: tuple[Namespace, str] | None = None  # the item to select once read

    # -- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="st-body"):
            yield OptionList(id="st-namespaces")
            with Vertical(id="st-main"):
                with Horizontal(id="st-find"):
                    yield Label(_FIND, id="st-find-label")
                    yield Input(id="st-search", placeholder="text in keys and values")
                yield ItemTable(id="st-items")
                with VerticalScroll(id="st-value-scroll"):
                    yield Static(Text("Opening the store…", style="dim"), id="st-value")
        yield Static("", id="st-status", markup=False)
        yield FittedFooter()

    def on_mount(self) -> None:
        self.query_one("#st-namespaces").border_title = "Namespaces"
        self.query_one("#st-items").border_title = "Items"
        self.query_one("#st-value-scroll").border_title = "Value"
        self.query_one("#st-namespaces").focus()
        self.run_worker(
            partial(_open, self.runner, self.workflow, self.post_message),
            name="store open",
            group="st-open",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    # -- actions ---------------------------------------------------------------
    def action_close(self) -> None:
        if self.query_one("#st-search", Input).has_focus:
            self.query_one("#st-items").focus()  # back to the items; the filter stays
            return
        self.dismiss(None)

    def action_refresh(self) -> None:
        memory = self.memory
        if memory is None:
            if self.opened:
                self._no_store()
            return
        self.query_one("#st-namespaces", OptionList).border_subtitle = "reading…"
        self.run_worker(
            partial(_read_namespaces, memory, self.post_message),
            name="store namespaces",
            group="st-namespaces",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def action_find(self) -> None:
        search = self.query_one("#st-search", Input)
        search.focus()
        search.select_all()

    def action_new(self) -> None:
        if not self._writable():
            return
        namespace = self.in_namespace or (self.item.namespace if self.item else ())
        self.app.push_screen(
            StoreItemDialog(".".join(namespace), "", NEW_VALUE, new=True), self._edited
        )

    def action_edit(self) -> None:
        item = self._selected("edit")
        if item is None or not self._writable():
            return
        text = json.dumps(item.value, indent=2, ensure_ascii=False)
        self.app.push_screen(
            StoreItemDialog(".".join(item.namespace), item.key, text, new=False), self._edited
        )

    def action_delete(self) -> None:
        item = self._selected("delete")
        if item is None or not self._writable():
            return
        where = ".".join(item.namespace)
        self.app.push_screen(
            ConfirmDialog(
                "Delete item?",
                f"Delete {item.key!r} from {where}? Runs will no longer find it. "
                "This cannot be undone.",
            ),
            partial(self._confirmed, item),
        )

    def action_view(self) -> None:
        item = self._selected("view")
        if item is None:
            return
        from .value_viewer import ValueViewer

        self.app.push_screen(ValueViewer(item.value, item.key, _where(item)))

    def _selected(self, what: str) -> StoreItem | None:
        if self.item is None:
            self._say(f"Select an item to {what} first.")
            self.app.bell()
        return self.item

    def _writable(self) -> bool:
        if self.memory is None:
            self._say("There is no long-term store to write to.")
            self.app.bell()
            return False
        if self.busy is not None:
            self._say(f"Busy: {self.busy}. Wait for it to finish.")
            self.app.bell()
            return False
        return True

    def _edited(self, edit: ItemEdit | None) -> None:
        if edit is None or self.memory is None:
            return
        self.busy = f"saving {edit.key!r}"
        self._say(f"{self.busy}…")
        self.run_worker(
            partial(_write, self.memory, edit, self.post_message),
            name=f"store put {edit.key}",
            group="st-write",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _confirmed(self, item: StoreItem, yes: bool | None) -> None:
        if not yes or self.memory is None:
            return
        self.busy = f"deleting {item.key!r}"
        self._say(f"{self.busy}…")
        self.run_worker(
            partial(_delete, self.memory, item.namespace, item.key, self.post_message),
            name=f"store delete {item.key}",
            group="st-write",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _say(self, text: str) -> None:
        self.query_one("#st-status", Static).update(text)

    # -- selection -------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#st-namespaces")
    def _namespace_chosen(self, event: OptionList.OptionHighlighted) -> None:
        chosen = _namespace_of(event.option.id)
        if chosen == self.in_namespace:
            return  # already shown (or being read)
        self.in_namespace = chosen
        self._read_items()

    @on(OptionList.OptionSelected, "#st-namespaces")
    def _namespace_entered(self, _: OptionList.OptionSelected) -> None:
        self.query_one("#st-items").focus()

    @on(Input.Changed, "#st-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.search = event.value
        self._read_items()

    @on(Input.Submitted, "#st-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#st-items").focus()

    @on(DataTable.RowHighlighted, "#st-items")
    def _item_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_item(event.cursor_row)

    @on(DataTable.RowSelected, "#st-items")
    def _item_selected(self, event: DataTable.RowSelected) -> None:
        self._show_item(event.cursor_row)
        self.action_edit()

    def _read_items(self) -> None:
        memory = self.memory
        if memory is None:
            return
        self._token += 1
        self.query_one("#st-items", DataTable).border_subtitle = "reading…"
        self.run_worker(
            partial(
                _read_items, memory, self._token, self.in_namespace, self.search, self.post_message
            ),
            name="store items",
            group="st-items",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    # -- results ---------------------------------------------------------------
    def on_store_browser_opened(self, message: Opened) -> None:
        self.opened = True
        self.memory = message.memory
        if message.memory is None:
            self._no_store()
            return
        if message.memory.indexed:
            search = self.query_one("#st-search", Input)
            search.placeholder = "text in keys and values · ~words: by meaning"
        self.action_refresh()

    def on_store_browser_namespaces_read(self, message: NamespacesRead) -> None:
        self.namespaces = message.namespaces
        options = self.query_one("#st-namespaces", OptionList)
        options.clear_options()
        options.add_option(Option(Text("(every namespace)", style="italic"), id=ALL))
        options.add_options(
            [
                Option(Text(".".join(ns), overflow="ellipsis"), id=".".join(ns))
                for ns in self.namespaces
            ]
        )
        count = len(self.namespaces)
        options.border_subtitle = f"{count}" if count else "empty"
        if self.in_namespace is not None and self.in_namespace not in self.namespaces:
            self.in_namespace = None  # emptied: every namespace
        at = self.namespaces.index(self.in_namespace) + 1 if self.in_namespace is not None else 0
        options.highlighted = at  # the same namespace: no new read from its event
        self._read_items()

    def on_store_browser_items_read(self, message: ItemsRead) -> None:
        if message.token != self._token:
            return  # superseded by another namespace or search
        self.more = len(message.items) > ITEM_LIMIT
        items = message.items[:ITEM_LIMIT]  # found closest first when ranked by meaning
        self.items = items if self._searching_by_meaning() else sorted(items, key=_order)
        self._fill_table()
        self._status()

    def on_store_browser_written(self, message: Written) -> None:
        self.busy = None
        where = ".".join(message.ns)
        self._say(f"{message.outcome}: {message.key!r} in {where}")
        self.notify(f"{message.key!r} in {where}", title=f"Store item {message.outcome}")
        if message.outcome in ("added", "saved"):
            self._select = (message.ns, message.key)
        self.action_refresh()

    def on_store_browser_write_failed(self, message: WriteFailed) -> None:
        self.busy = None
        edit, error = message.edit, message.error
        reason = _reason(error)
        self.notify(reason, title=_title(error), severity="error")
        self._say(f"✖ not saved: {reason}")
        self.app.push_screen(  # the text as typed, and why it was not saved
            StoreItemDialog(
                ".".join(edit.namespace), edit.key, edit.text, new=edit.new, problem=reason
            ),
            self._edited,
        )

    def on_store_browser_failed(self, message: Failed) -> None:
        self.busy = None
        error = message.error
        self.notify(_reason(error), title=f"{_title(error)} ({message.what})", severity="error")
        self._say(f"✖ could not {message.what}: {_reason(error)}")
        self.query_one("#st-items", DataTable).border_subtitle = ""
        if not self.opened:
            self.opened = True
            self._show(Text(f"✖ {_title(error)}: {_reason(error)}", style="red"))

    # -- drawing ---------------------------------------------------------------
    def _no_store(self) -> None:
        self.query_one("#st-namespaces", OptionList).border_subtitle = "none"
        self._show(
            Text(
                "This project has no long-term store (store.backend: none).\n\n"
                "Set store.backend to sqlite or memory in config/<env>.yaml (or remove "
                "it: the store follows the checkpointer) for runs to keep memories.",
                style="dim",
            )
        )
        self._say("no long-term store")

    def _fill_table(self) -> None:
        """The items in the table, the cursor on the item selected before (or the one
        just written)."""
        keep = self._select or (
            (self.item.namespace, self.item.key) if self.item is not None else None
        )
        self._select = None
        at = next((row for row, i in enumerate(self.items) if (i.namespace, i.key) == keep), 0)
        table = self.query_one(ItemTable)
        table.show(self.items, every=self.in_namespace is None, select=at)
        table.border_subtitle = f"first {len(self.items)}" if self.more else f"{len(self.items)}"
        if self.items:
            self._show_item(at)
        else:
            self.item = None
            self._show_empty()

    def _show_item(self, row: int) -> None:
        item = self.query_one(ItemTable).item_at(row)
        if item is None:
            return
        self.item = item
        text = Text("\n").join(styled(line) for line in pretty(item.value).split("\n"))
        needle = self._needle()
        if needle:
            text.highlight_words([needle], _MATCH, case_sensitive=False)
        scroll = self.query_one("#st-value-scroll")
        scroll.border_title = f"Value · {item.key}"
        scroll.border_subtitle = _where(item)
        self.query_one("#st-value", Static).update(text)

    def _show_empty(self) -> None:
        scroll = self.query_one("#st-value-scroll")
        scroll.border_title = "Value"
        scroll.border_subtitle = ""
        if not self.namespaces:
            self._show(
                Text(
                    "The long-term store is empty.\n\n"
                    'Workflows write to it from a node: store.put(("memories", user_id), '
                    "key, {...}) through the node's store parameter or runtime.store. "
                    "Run one, then press r; or press n to add an item here.",
                    style="dim",
                )
            )
        elif self.search.strip():
            where = ".".join(self.in_namespace) if self.in_namespace else "the store"
            self._show(Text(f"Nothing in {where} matches {self.search.strip()!r}.", style="dim"))
        else:
            self._show(Text("No items here.", style="dim"))

    def _show(self, text: Text) -> None:
        self.query_one("#st-value", Static).update(text)

    def _status(self) -> None:
        """What is shown first (items, where, how found), then the store's size and place."""
        count = len(self.items)
        line = f"{'first ' if self.more else ''}{count} item{'s' if count != 1 else ''}"
        line += f" in {'.'.join(self.in_namespace) if self.in_namespace else 'every namespace'}"
        search = self.search.strip()
        if search and self._searching_by_meaning():
            line += f", closest to {search[1:].strip()!r} first"
        elif search:
            line += f" holding {self._needle()!r}"
            if search.startswith("~"):
                line += " (no semantic index: found by text)"
        namespaces = len(self.namespaces)
        line += f" · {namespaces} namespace{'s' if namespaces != 1 else ''}"
        if self.memory is not None:
            line += f" · {_place(self.memory.location)}"
        self._say(line)

    def _searching_by_meaning(self) -> bool:
        search = self.search.strip()
        return search.startswith("~") and self.memory is not None and self.memory.indexed

    def _needle(self) -> str:
        """The text the items are filtered by (none when ranked by meaning)."""
        if self._searching_by_meaning():
            return ""
        return self.search.strip().removeprefix("~").strip()


# -- formatting --------------------------------------------------------------------
def _namespace_of(option_id: str | None) -> Namespace | None:
    if option_id is None or option_id == ALL:
        return None
    return tuple(option_id.split("."))


def _order(item: StoreItem) -> tuple[Namespace, str]:
    return item.namespace, item.key


def _where(item: StoreItem) -> str:
    where = ".".join(item.namespace)
    if item.updated_at is not None:
        where += f" · updated {local_time(item.updated_at)}"
    if item.created_at is not None and item.created_at != item.updated_at:
        where += f" · created {local_time(item.created_at)}"
    if item.score is not None:
        where += f" · score {item.score:.3f}"
    return where


def _place(location: str) -> str:
    """The store's file (its folder and name) or database, short enough for a border."""
    if "://" in location or location.count("/") < 2:
        return location
    return "/".join(location.rsplit("/", 2)[-2:])


def _title(error: Exception) -> str:
    return error.title if isinstance(error, LGPError) else type(error).__name__


def _reason(error: Exception) -> str:
    return error.describe() if isinstance(error, LGPError) else str(error) or type(error).__name__
