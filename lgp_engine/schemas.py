"""What a graph takes and gives, as JSON schemas: its input, output, state, config
(``configurable``) and context. The Agent Server API serves them (an assistant's
schemas), the MCP endpoint describes its tools with the input, and the workbench
builds its forms from them."""

from __future__ import annotations

import logging
import typing
import warnings
from typing import Any

from .run_config import OWNED_KEYS

log = logging.getLogger("lgp.schemas")


ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
JSON_TYPES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    tuple: "array",
    set: "array",
    dict: "object",
}


def input_schema(graph: Any) -> dict[str, Any]:
    """The graph's input as a JSON schema with an object at its root.

    LangGraph's own (``get_input_jsonschema``) when it can make one; on Python 3.11
    a ``typing.TypedDict`` state defeats it, so the input keys are listed with their
    plain types instead. A graph that takes any value (an ``@entrypoint``), or that
    is only built per run (a factory), takes any object.
    """
    if graph is None:
        return dict(ANY_OBJECT)
    try:
        schema = graph.get_input_jsonschema()
    except Exception:  # noqa: BLE001 - described from its keys instead
        schema = _schema_from_keys(graph)
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return dict(ANY_OBJECT)
    return schema


def input_keys(graph: Any, side: str = "input") -> list[str] | None:
    """The state keys a graph's input may set (``side="output"``: its output has);
    None when it does not say."""
    builder = getattr(graph, "builder", None)
    schemas = getattr(builder, "schemas", None)
    if not isinstance(schemas, dict):
        return None
    channels = schemas.get(getattr(builder, f"{side}_schema", None))
    if not channels:
        return None
    return [k for k in channels if not k.startswith("__")]


def _schema_from_keys(graph: Any, side: str = "input") -> dict[str, Any] | None:
    keys = input_keys(graph, side)
    if keys is None:
        return None
    state = getattr(getattr(graph, "builder", None), f"{side}_schema", None)
    try:
        hints = typing.get_type_hints(state)
    except Exception:  # noqa: BLE001 - keys without types
        hints = {}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {k: _json_type(hints.get(k)) for k in keys},
    }
    if isinstance(state, type):
        schema["title"] = state.__name__
    required = sorted(set(getattr(state, "__required_keys__", ())) & set(keys))
    if required:
        schema["required"] = required
    return schema


def _json_type(hint: Any) -> dict[str, Any]:
    kind = typing.get_origin(hint) or hint
    name = JSON_TYPES.get(kind) if isinstance(kind, type) else None
    return {"type": name} if name else {}


#: ``configurable`` keys a config schema does not show (the run's own).
_NOT_CONFIGURABLE = ("__pregel_checkpointer", "__pregel_store", *OWNED_KEYS)


def _configurable_schema(graph: Any) -> dict[str, Any]:
    """The schema of the ``configurable`` part of the graph's config (empty if it has
    none), as the Agent Server's ``config_schema``."""
    from pydantic import TypeAdapter

    with warnings.catch_warnings():  # config_schema is deprecated for context_schema
        warnings.simplefilter("ignore")
        schema = graph.config_schema()
    fields = getattr(schema, "model_fields", None) or {}
    if "configurable" not in fields:
        return {}
    configurable: Any = fields["configurable"].annotation
    out: dict[str, Any] = TypeAdapter(configurable).json_schema()
    for key in _NOT_CONFIGURABLE:
        out.get("properties", {}).pop(key, None)
    config_type = getattr(graph, "config_type", None)
    if config_type is not None and hasattr(config_type, "__name__"):
        out["title"] = config_type.__name__
    return out


def _state_schema(graph: Any) -> dict[str, Any]:
    """A model of the graph's output channels, each typed by what it takes."""
    from langchain_core.runnables.utils import create_model

    fields: dict[str, Any] = {}
    for key in graph.stream_channels_list:
        channel = graph.channels[key]
        try:
            create_model(key, __root__=(channel.UpdateType, None)).model_json_schema()
            fields[key] = (channel.UpdateType, None)
        except Exception:  # noqa: BLE001 - a type pydantic cannot describe is any value
            fields[key] = (Any, None)
    return dict(create_model(graph.get_name("State"), **fields).model_json_schema())


def graph_schemas(graph: Any) -> dict[str, Any]:
    """Input, output, state, config and context schemas; None for one LangGraph
    cannot describe (logged)."""

    def schema(name: str, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - an indescribable schema is null
            problem = (str(exc).splitlines() or [type(exc).__name__])[0]
            log.warning("cannot describe the %s schema of %s: %s", name, graph.get_name(), problem)
            return None

    def or_keys(side: str, fn: Any) -> Any:
        """LangGraph's schema; where it cannot make one (a ``typing.TypedDict`` state
        on Python 3.11), the keys with their plain types, as :func:`input_schema`."""
        try:
            return fn()
        except Exception:
            described = _schema_from_keys(graph, side)
            if described is None:
                raise
            return described

    return {
        "input_schema": schema("input", lambda: or_keys("input", graph.get_input_jsonschema)),
        "output_schema": schema("output", lambda: or_keys("output", graph.get_output_jsonschema)),
        "state_schema": schema("state", lambda: _state_schema(graph)),
        "config_schema": schema("config", lambda: _configurable_schema(graph)),
        "context_schema": schema("context", graph.get_context_jsonschema),
    }


def run_schemas(graph: Any) -> dict[str, dict[str, Any] | None]:
    """What a run of ``graph`` takes, for a form: ``input`` (an object schema, see
    :func:`input_schema`), ``config`` (its ``configurable`` values; None when it has
    none) and ``context`` (its ``context_schema``; None when it has none). Quiet: a
    schema that cannot be described is None, nothing is logged (a UI owns the
    terminal)."""

    def quietly(fn: Any) -> dict[str, Any] | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = fn()
        except Exception:  # noqa: BLE001 - not described: no form for it
            return None
        return found if isinstance(found, dict) and found.get("properties") else None

    context = quietly(graph.get_context_jsonschema)
    config = quietly(lambda: _configurable_schema(graph))
    if context is not None and config is not None and config["properties"] == context["properties"]:
        config = None  # LangGraph describes a context schema as configurable values too
    return {"input": input_schema(graph), "config": config, "context": context}
