"""How a JSON schema's properties become form fields, and a field's text a value.

Pure functions over the schemas LangGraph and pydantic write (``$ref``/``$defs``,
``anyOf`` with ``null`` for optional values, ``enum``, ``default``); the form widget
(:class:`~lgp_tui.widgets.form.schema_form.SchemaForm`) draws what they decide.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Field kinds: how a property is edited and read back.
KINDS = ("text", "int", "float", "bool", "choice", "message", "json")


@dataclass(frozen=True)
class FieldSpec:
    """One property of an object schema, as a form field."""

    name: str
    kind: str
    title: str
    required: bool = False
    description: str = ""
    default: Any = None
    has_default: bool = False
    choices: tuple[Any, ...] = ()
    nullable: bool = False
    type_label: str = ""

    def initial(self, current: Mapping[str, Any] | None) -> Any:
        """The value the field starts with: the current one, else the default."""
        if current is not None and self.name in current:
            return current[self.name]
        return self.default if self.has_default else None


def fields_of(schema: Mapping[str, Any] | None) -> list[FieldSpec]:
    """The fields of an object schema's properties, in their order (none when the
    schema is not an object with properties)."""
    if not isinstance(schema, Mapping):
        return []
    defs = schema.get("$defs") or schema.get("definitions") or {}
    root = _resolve(schema, defs)
    properties = root.get("properties")
    if not isinstance(properties, Mapping):
        return []
    required = set(root.get("required") or ())
    return [
        _field(str(name), prop, name in required, defs)
        for name, prop in properties.items()
        if isinstance(prop, Mapping) and not str(name).startswith("__")
    ]


def text_of(spec: FieldSpec, value: Any) -> str:
    """What the field shows for ``value`` (None: empty)."""
    if value is None:
        return ""
    if spec.kind == "message":
        return _last_human(value)
    if spec.kind in ("text",) and isinstance(value, str):
        return value
    if spec.kind in ("int", "float") and isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def read(spec: FieldSpec, text: str) -> tuple[Any, str | None]:
    """(value, problem) of a field's text. Empty text: ``None`` for an optional
    field (left out of the form's value), a problem for a required one."""
    stripped = text.strip()
    if not stripped:
        if spec.required and not spec.has_default:
            return None, f"{spec.name} is required"
        return None, None
    try:
        if spec.kind == "text":
            return text, None
        if spec.kind == "int":
            return int(stripped), None
        if spec.kind == "float":
            return float(stripped), None
        if spec.kind == "message":
            return [{"role": "user", "content": text}], None
        value = json.loads(stripped)
    except ValueError:
        expected = {"int": "a whole number", "float": "a number"}.get(spec.kind, "JSON")
        return None, f"{spec.name}: {stripped[:30]!r} is not {expected}"
    if spec.kind == "json":
        return value, None
    return value, None


def _field(
    name: str, prop: Mapping[str, Any], required: bool, defs: Mapping[str, Any]
) -> FieldSpec:
    resolved = _resolve(prop, defs)
    nullable = False
    variants = resolved.get("anyOf") or resolved.get("oneOf")
    if isinstance(variants, list):
        concrete = [_resolve(v, defs) for v in variants if isinstance(v, Mapping)]
        nullable = any(v.get("type") == "null" for v in concrete)
        concrete = [v for v in concrete if v.get("type") != "null"]
        if len(concrete) == 1:
            resolved = {
                **concrete[0],
                **{k: v for k, v in resolved.items() if k not in ("anyOf", "oneOf")},
            }
        elif _is_messages(name, concrete):
            resolved = {"type": "array", "items": {"title": "Message"}}
    kind, label = _kind(name, resolved, defs)
    title = str(prop.get("title") or resolved.get("title") or name)
    return FieldSpec(
        name=name,
        kind=kind,
        title=title if title.lower().replace(" ", "_") != name.lower() else name,
        required=required,
        description=str(prop.get("description") or resolved.get("description") or ""),
        default=prop.get("default", resolved.get("default")),
        has_default="default" in prop or "default" in resolved,
        choices=tuple(resolved.get("enum") or ()),
        nullable=nullable,
        type_label=label + ("?" if nullable else ""),
    )


def _kind(name: str, schema: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[str, str]:
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return "choice", "one of"
    if "const" in schema:
        return "choice", "const"
    kind = schema.get("type")
    if kind == "boolean":
        return "bool", "boolean"
    if kind == "integer":
        return "int", "integer"
    if kind == "number":
        return "float", "number"
    if kind == "string":
        return "text", "string"
    if kind == "array" and _is_messages(name, [_resolve(schema.get("items") or {}, defs)]):
        return "message", "messages"
    if kind == "array":
        return "json", "list (JSON)"
    if kind == "object":
        return "json", "object (JSON)"
    if _is_messages(name, [schema]):
        return "message", "messages"
    return "json", "any (JSON)"


def _is_messages(name: str, variants: list[Mapping[str, Any]]) -> bool:
    """A chat messages channel: named ``messages`` with message items, or items whose
    schemas are LangChain message classes."""
    titles = " ".join(
        str(v.get("title") or "") + " " + " ".join(str(x.get("title") or "") for x in _items(v))
        for v in variants
    )
    return "Message" in titles or (name == "messages" and not titles.strip())


def _items(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = schema.get("items")
    if isinstance(items, Mapping):
        variants = items.get("anyOf") or items.get("oneOf") or [items]
        return [v for v in variants if isinstance(v, Mapping)]
    return []


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with a local ``$ref`` (``#/$defs/Name``) replaced by its target."""
    seen = 0
    while isinstance(schema.get("$ref"), str) and seen < 10:
        target = defs.get(schema["$ref"].rsplit("/", 1)[-1])
        if not isinstance(target, Mapping):
            break
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def _last_human(value: Any) -> str:
    """The text of the last human message of a messages value (for the field)."""
    messages = value if isinstance(value, list) else [value]
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") in ("user", "human"):
            return str(message.get("content") or "")
        if isinstance(message, str):
            return message
    return ""
