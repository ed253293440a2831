"""The store item dialog: a long-term store item's value edited as JSON (a new item's
namespace and key too), checked as typed: what is wrong shows under the editor and
Save stays off until it is right, so nothing invalid is ever written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from lgp_engine import LGPError, parse_namespace

NEW_VALUE = '{\n  "text": ""\n}'


@dataclass(frozen=True)
class ItemEdit:
    """What to write: ``value`` at ``namespace``/``key`` (``new``: refuse a taken key),
    and the editor's text as typed (shown again if the write fails)."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any]
    new: bool
    text: str


def parse_value(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """(object, problem) for the value editor: it must hold one JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    if not isinstance(value, dict):
        return None, "an item's value must be a JSON object ({...})"
    return value, None


class StoreItemDialog(ModalScreen[ItemEdit | None]):
    """Dismissed with an :class:`ItemEdit` on Save, or None on Cancel.

    Args:
        namespace: The item's namespace, labels joined by ``.`` (a new item's is
            editable, prefilled with the selected namespace).
        key: The item's key (editable for a new item).
        text: The value as JSON text to start from.
        new: A new item (namespace and key editable) rather than an edit.
        problem: Why the last save failed, shown until the text changes.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "cancel", "Cancel", id="store_item.cancel", tooltip="Close, save nothing"
        ),
        Binding(
            "ctrl+s", "save", "Save", id="store_item.save", tooltip="Write the item to the store"
        ),
    ]

    def __init__(
        self,
        namespace: str,
        key: str,
        text: str,
        *,
        new: bool,
        problem: str | None = None,
    ) -> None:
        super().__init__()
        self.namespace_text = namespace
        self.key_text = key
        self.text = text
        self.new = new
        self.failed = problem
        self.problem: str | None = None
        self.edit: ItemEdit | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="item-box"):
            with Horizontal(classes="item-row"):
                yield Label("namespace", classes="item-label")
                yield Input(
                    self.namespace_text,
                    id="item-namespace",
                    placeholder="labels joined by '.', e.g. memories.ada",
                    disabled=not self.new,
                )
            with Horizontal(classes="item-row"):
                yield Label("key", classes="item-label")
                yield Input(self.key_text, id="item-key", placeholder="key", disabled=not self.new)
            yield TextArea(
                self.text,
                id="item-value",
                soft_wrap=True,
                show_line_numbers=True,
            )
            yield Static("", id="item-error", markup=False)
            with Horizontal(id="item-buttons"):
                yield Button("Save", variant="primary", id="item-save")
                yield Button("Cancel", id="item-cancel")

    def on_mount(self) -> None:
        box = self.query_one("#item-box")
        box.border_title = "New store item" if self.new else "Edit store item"
        box.border_subtitle = "ctrl+s save · esc cancel"
        if self.new and not self.key_text:
            self.query_one("#item-namespace" if not self.namespace_text else "#item-key").focus()
        else:
            self.query_one("#item-value", TextArea).focus()
        if self.text == NEW_VALUE:  # typing fills in the text
            self.query_one("#item-value", TextArea).move_cursor((1, len('  "text": "')))
        self._validate()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "item-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        if self.edit is None:
            self.app.bell()
            return
        self.dismiss(self.edit)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _validate(self) -> None:
        self.edit, self.problem = self._read()
        if self.failed is not None and self._typed() != (
            self.namespace_text,
            self.key_text,
            self.text,
        ):
            self.failed = None  # changed since: the last failure no longer applies
        shown = self.problem or self.failed or ""
        self.query_one("#item-error", Static).update(shown)
        self.set_class(bool(shown), "-invalid")
        self.query_one("#item-save", Button).disabled = self.edit is None

    def _typed(self) -> tuple[str, str, str]:
        return (
            self.query_one("#item-namespace", Input).value,
            self.query_one("#item-key", Input).value,
            self.query_one("#item-value", TextArea).text,
        )

    def _read(self) -> tuple[ItemEdit | None, str | None]:
        text = self.query_one("#item-value", TextArea).text
        value, problem = parse_value(text)
        try:
            namespace = parse_namespace(self.query_one("#item-namespace", Input).value)
        except LGPError as exc:
            return None, f"namespace: {exc.describe(hint=False)}"
        key = self.query_one("#item-key", Input).value
        if not key.strip():
            return None, "key: an item needs a key"
        if value is None:
            return None, problem
        return ItemEdit(namespace, key, value, self.new, text), None
