"""A form for the properties of an object JSON schema: one typed field each.

Text and numbers are inputs checked as typed, a boolean or an ``enum`` a choice,
a chat ``messages`` channel one text box that becomes a human message, anything
else (objects, lists, any value) JSON in an input. Fields start from the current
value, else the schema's default; an empty optional field is left out of the value.
:meth:`SchemaForm.read` gives the value and the problems, if any.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select

from ...form_fields import FieldSpec, fields_of, read, text_of

_PLACEHOLDERS = {
    "text": "text",
    "int": "a whole number",
    "float": "a number",
    "message": "a message (sent as the human's)",
    "json": "JSON",
}


class SchemaForm(Vertical):
    """The fields of ``schema`` (an object schema), filled from ``value``.

    Args:
        schema: The JSON schema (``$defs`` resolved as needed).
        value: The current value (a dict), or None.
        prefix: Prefix of the fields' ids (several forms on one screen).
    """

    class Changed(Message):
        """A field changed (the form's value may be read again)."""

        def __init__(self, form: SchemaForm) -> None:
            super().__init__()
            self.form = form

    def __init__(
        self,
        schema: Mapping[str, Any] | None,
        value: Mapping[str, Any] | None = None,
        *,
        prefix: str = "form",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.specs = fields_of(schema)
        self.start = dict(value) if isinstance(value, Mapping) else {}
        self.prefix = prefix

    @property
    def empty(self) -> bool:
        """The schema has no fields to show."""
        return not self.specs

    def compose(self) -> ComposeResult:
        for spec in self.specs:
            mark = " *" if spec.required else ""
            label = Text.assemble(
                (spec.name, "bold"), (mark, "bold red"), (f"  {spec.type_label}", "dim")
            )
            if spec.description:
                label.append(f"  {spec.description}", style="italic dim")
            yield Label(label, classes="form-label")
            yield self._widget(spec)

    def _widget(self, spec: FieldSpec) -> Input | Select[Any]:
        field_id = self._field_id(spec)
        initial = spec.initial(self.start)
        if spec.kind in ("bool", "choice"):
            values = (True, False) if spec.kind == "bool" else spec.choices
            options = [(json.dumps(v) if not isinstance(v, str) else v, v) for v in values]
            blank = not spec.required or not spec.has_default
            chosen = initial if initial in values else Select.NULL
            return Select(
                options,
                allow_blank=blank,
                value=chosen,
                id=field_id,
                prompt="(not set)",
                compact=True,
            )
        placeholder = _PLACEHOLDERS.get(spec.kind, "")
        if spec.has_default and spec.default is not None and initial != spec.default:
            placeholder += f" (default {json.dumps(spec.default)})"
        return Input(text_of(spec, initial), placeholder=placeholder, id=field_id, compact=True)

    def _field_id(self, spec: FieldSpec) -> str:
        return f"{self.prefix}-{spec.name}"

    def read(self) -> tuple[dict[str, Any], list[str]]:
        """(value, problems): the fields' values (empty optional ones left out)."""
        value: dict[str, Any] = {}
        problems: list[str] = []
        for spec in self.specs:
            widget = self.query_one(f"#{self._field_id(spec)}")
            if isinstance(widget, Select):
                if widget.value is Select.NULL:
                    if spec.required and not spec.has_default:
                        problems.append(f"{spec.name} is required")
                    widget.set_class(spec.required and not spec.has_default, "-invalid")
                    continue
                value[spec.name] = widget.value
                continue
            assert isinstance(widget, Input)
            got, problem = read(spec, widget.value)
            widget.set_class(problem is not None, "-invalid")
            if problem is not None:
                problems.append(problem)
            elif got is not None or widget.value.strip():
                value[spec.name] = got
        return value, problems

    def fill(self, value: Mapping[str, Any]) -> None:
        """Show ``value`` in the fields (from the raw JSON, say); keys the form does
        not know are kept by :meth:`read` callers, not here."""
        for spec in self.specs:
            widget = self.query_one(f"#{self._field_id(spec)}")
            current = value.get(spec.name)
            if isinstance(widget, Select):
                widget.value = current if spec.name in value else Select.NULL
            elif isinstance(widget, Input):
                widget.value = text_of(spec, current) if spec.name in value else ""

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.read()
        self.post_message(self.Changed(self))

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self))
