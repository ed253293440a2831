"""The fork dialog: edit the state at a checkpoint as JSON and pick ``as_node``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static, TextArea

from lgp_engine import to_jsonable

AUTO = "(the last writer)"


@dataclass(frozen=True)
class ForkAnswer:
    """What to write onto the checkpoint: the changed keys only, and as which node."""

    thread_id: str
    checkpoint_id: str
    update: dict[str, Any]
    as_node: str | None


def changed_keys(original: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``edited`` whose value differs from ``original`` (new keys included).

    Only these are written: sending unchanged keys again would run them through
    their reducers (an appending list would grow by a copy of itself).
    """
    return {
        key: value for key, value in edited.items() if key not in original or original[key] != value
    }


def parse_state(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """(object, problem) for the state editor: it must hold one JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    if not isinstance(value, dict):
        return None, "the state must be a JSON object of state keys"
    return value, None


class ForkDialog(ModalScreen[ForkAnswer | None]):
    """Dismissed with a :class:`ForkAnswer` on Fork, or None on Cancel.

    Args:
        thread_id, checkpoint_id: The checkpoint to fork from.
        values: The state at that checkpoint (shown for editing).
        nodes: The graph's nodes, offered for ``as_node``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="fork.cancel", tooltip="Close without forking"),
        Binding("ctrl+s", "fork", "Fork", id="fork.fork", tooltip="Fork with the edited state"),
    ]

    def __init__(
        self, thread_id: str, checkpoint_id: str, values: dict[str, Any], nodes: list[str]
    ) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.checkpoint_id = checkpoint_id
        self.original: dict[str, Any] = to_jsonable(values)
        self.nodes = nodes
        self.edited: dict[str, Any] | None = self.original
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="fork-box"):
            yield Label(
                f"Fork thread {self.thread_id} at {self.checkpoint_id[-8:]}", id="fork-title"
            )
            yield Label("State (JSON): only the keys you change are written", classes="fork-label")
            yield TextArea(
                json.dumps(self.original, indent=2, ensure_ascii=False),
                id="fork-state",
                soft_wrap=False,
                show_line_numbers=True,
            )
            yield Static("", id="fork-error")
            with Horizontal(id="fork-row"):
                yield Label("as node", classes="fork-label")
                yield Select([(node, node) for node in self.nodes], prompt=AUTO, id="fork-as-node")
                yield Button("Fork", variant="primary", id="fork-button")
                yield Button("Cancel", id="fork-cancel")

    def on_mount(self) -> None:
        self.query_one("#fork-box").border_title = "Fork from checkpoint"
        self.query_one("#fork-state", TextArea).focus()
        self._validate()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._validate()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "fork-button":
            self.action_fork()
        else:
            self.action_cancel()

    def action_fork(self) -> None:
        if self.problem is not None or self.edited is None:
            self.app.bell()
            return
        choice = self.query_one("#fork-as-node", Select).value
        as_node = choice if isinstance(choice, str) else None
        self.dismiss(
            ForkAnswer(
                self.thread_id,
                self.checkpoint_id,
                changed_keys(self.original, self.edited),
                as_node,
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _validate(self) -> None:
        self.edited, self.problem = parse_state(self.query_one("#fork-state", TextArea).text)
        removed = sorted(set(self.original) - set(self.edited or {}))
        note = self.problem or (
            f"removing keys does not delete them ({', '.join(removed)} stay as they are)"
            if removed
            else ""
        )
        self.query_one("#fork-error", Static).update(note)
        self.set_class(self.problem is not None, "-invalid")
        self.query_one("#fork-button", Button).disabled = self.problem is not None
