"""The input form: a run's input, configurable values and context as typed fields,
built from the workflow's schemas, with the raw JSON a key away.

Sections come from :func:`lgp_engine.run_schemas`: the input (always), the
``configurable`` values and the runtime context (when the graph declares them).
Fields start from the run bar's input and config; keys the schema does not know are
kept. ``f9`` switches to one JSON document of the same (``{"input": …,
"configurable": …, "context": …}``) and back (a bad document stays, with its error).
Dismissed with a :class:`FormResult` (Apply, or Run: ctrl+r) or None (escape).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from ..widgets.form.schema_form import SchemaForm

SECTIONS = (("input", "Input"), ("configurable", "Configurable"), ("context", "Context"))


@dataclass(frozen=True)
class FormResult:
    """What the form says: the run's input, its config (``configurable`` and the
    other keys it had; ``context`` for the runtime context; None: none) and whether
    to run now."""

    input: dict[str, Any]
    config: dict[str, Any] | None
    run: bool


class InputForm(ModalScreen[FormResult | None]):
    """Args:
    workflow: Its name (the title).
    schemas: ``input``, ``config`` and ``context`` schemas (None: the graph has none).
    value: The run bar's input (a dict; anything else starts the fields empty).
    config: The run bar's config (``configurable``, ``context`` and other keys).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close; nothing changes"),
        Binding("ctrl+r", "submit(True)", "Run", id="form.run", tooltip="Apply and run"),
        Binding(
            "f9",
            "toggle_raw",
            "Raw JSON",
            id="form.raw",
            tooltip="Edit the same as one JSON document (and back)",
        ),
    ]

    def __init__(
        self,
        workflow: str,
        schemas: dict[str, dict[str, Any] | None],
        value: Any,
        config: dict[str, Any] | None,
    ) -> None:
        super().__init__()
        self.workflow = workflow
        self.schemas = schemas
        self.value = value if isinstance(value, dict) else {}
        self.config = dict(config or {})
        self.raw = False
        self.problems: list[str] = []

    def _start(self, section: str) -> dict[str, Any]:
        if section == "input":
            return self.value
        found = self.config.get(section)
        return found if isinstance(found, dict) else {}

    def _schema(self, section: str) -> dict[str, Any] | None:
        return self.schemas.get("config" if section == "configurable" else section)

    def compose(self) -> ComposeResult:
        with Vertical(id="form-box"):
            with VerticalScroll(id="form-fields"):
                for section, title in SECTIONS:
                    form = SchemaForm(
                        self._schema(section),
                        self._start(section),
                        prefix=section,
                        id=f"form-{section}",
                    )
                    if section != "input" and form.empty:
                        continue
                    yield Label(title, classes="form-section")
                    if form.empty:
                        yield Static(
                            "This graph does not describe its input: use the raw JSON (f9).",
                            classes="form-note",
                        )
                    yield form
            # no JSON highlighting: tree-sitter-json 0.24 crashes the process under
            # tree-sitter 0.26 (Python highlighting works)
            yield TextArea("", id="form-raw", show_line_numbers=True)
            yield Static("", id="form-error", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Run", variant="success", id="form-run", compact=True)
                yield Button("Apply", variant="primary", id="form-apply", compact=True)
                yield Button("Raw JSON", id="form-raw-button", compact=True)
                yield Button("Cancel", id="form-cancel", compact=True)

    def on_mount(self) -> None:
        box = self.query_one("#form-box")
        box.border_title = f"Input of {self.workflow}"
        box.border_subtitle = "ctrl+r run · f9 raw JSON · esc cancel"
        self.query_one("#form-raw", TextArea).display = False
        first = self.query("SchemaForm Input, SchemaForm Select")
        if first:
            first.first().focus()
        self._check()

    # -- reading -------------------------------------------------------------------
    def _forms(self) -> dict[str, SchemaForm]:
        return {f.prefix: f for f in self.query(SchemaForm)}

    def document(self) -> tuple[dict[str, Any], list[str]]:
        """The form's value as ``{"input": …, "configurable": …, "context": …}`` (only
        the sections the form has; input always), and the problems."""
        if self.raw:
            return self._parse_raw()
        doc: dict[str, Any] = {}
        problems: list[str] = []
        for section, form in self._forms().items():
            start = self._start(section)
            value, found = form.read()
            known = {s.name for s in form.specs}
            # keys the schema does not know are kept as they were
            doc[section] = {**{k: v for k, v in start.items() if k not in known}, **value}
            problems += found
        doc.setdefault("input", dict(self.value))
        return doc, problems

    def _parse_raw(self) -> tuple[dict[str, Any], list[str]]:
        text = self.query_one("#form-raw", TextArea).text
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            return {}, [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
        if not isinstance(doc, dict) or not isinstance(doc.get("input", {}), dict):
            return {}, ['the document is {"input": {...}, "configurable": {...}, "context": {...}}']
        unknown = sorted(set(doc) - {s for s, _ in SECTIONS})
        if unknown:
            return {}, [f"unknown key(s): {', '.join(unknown)} (input, configurable, context)"]
        doc.setdefault("input", {})
        return doc, []

    def _check(self) -> None:
        _, self.problems = self.document()
        self.query_one("#form-error", Static).update("; ".join(self.problems))
        for button in ("#form-run", "#form-apply"):
            self.query_one(button, Button).disabled = bool(self.problems)

    def on_schema_form_changed(self, event: SchemaForm.Changed) -> None:
        event.stop()
        self._check()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._check()

    # -- actions -------------------------------------------------------------------
    def action_toggle_raw(self) -> None:
        raw = self.query_one("#form-raw", TextArea)
        if not self.raw:
            doc, _ = self.document()
            raw.text = json.dumps(doc, indent=2, ensure_ascii=False)
            self.raw = True
        else:
            doc, problems = self._parse_raw()
            if problems:
                self.notify(f"Still raw: {problems[0]}", severity="warning")
                return
            self.raw = False
            self.value = doc.get("input") or {}
            for section, form in self._forms().items():
                part = doc.get(section)
                if section != "input":
                    self.config[section] = part if isinstance(part, dict) else {}
                form.fill(part if isinstance(part, dict) else {})
        self.query_one("#form-fields").display = not self.raw
        raw.display = self.raw
        (raw if self.raw else self.query_one("#form-fields")).focus()
        self.query_one("#form-raw-button", Button).label = "Form" if self.raw else "Raw JSON"
        self._check()

    def action_submit(self, run: bool) -> None:
        doc, problems = self.document()
        if problems:
            self.app.bell()
            self.notify(f"Not applied: {problems[0]}", severity="warning")
            return
        config = {k: v for k, v in self.config.items() if k not in ("configurable", "context")}
        for section in ("configurable", "context"):
            part = doc.get(section, self.config.get(section))
            if part:
                config[section] = part
        self.dismiss(FormResult(doc["input"], config or None, run))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        match event.button.id:
            case "form-run":
                self.action_submit(True)
            case "form-apply":
                self.action_submit(False)
            case "form-raw-button":
                self.action_toggle_raw()
            case _:
                self.action_cancel()
