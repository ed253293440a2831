"""What the served workflows add to the OpenAPI document: a run's body depends on
its assistant, and the document knows the assistants.

For each served graph, the run bodies say (``if`` its ``assistant_id``, ``then``...)
which nodes ``interrupt_before``/``interrupt_after`` may name and that its ``input``
is an object of state keys (a functional workflow takes any value; a factory's
graph is only built per run, so nothing more is said of it). Assistant ids get
the served names as examples.
"""

from __future__ import annotations

import logging
from typing import Any

from ..catalog import assistant_id_for
from ..context import ServerContext

log = logging.getLogger("lgp.server")

RUN_BODIES = ("RunCreate", "StatelessRunCreate", "CronCreate", "ThreadCronCreate")


def describe_assistants(ctx: ServerContext, document: dict[str, Any]) -> None:
    """Add the served assistants' rules to ``document`` (in place)."""
    schemas = document.get("components", {}).get("schemas", {})
    rules = [_rule(ctx, name) for name in ctx.catalog.names()]
    rules = [r for r in rules if r is not None]
    examples = ctx.catalog.names()
    for body in RUN_BODIES:
        schema = schemas.get(body)
        if schema is None:
            continue
        if rules:
            schema["allOf"] = rules
        schema["properties"]["assistant_id"]["examples"] = examples
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                if parameter.get("name") == "assistant_id" and parameter.get("in") == "path":
                    parameter["examples"] = {n: {"value": n} for n in examples}


def _rule(ctx: ServerContext, name: str) -> dict[str, Any] | None:
    wf = ctx.catalog.workflows[name]
    if wf.kind == "factory" or ctx.runner is None:
        return None
    try:
        nodes = list(ctx.runner.executor(wf).graph().nodes)
    except Exception:  # a graph that cannot be built here is left undescribed
        log.warning("cannot describe the nodes of %s in the OpenAPI document", name, exc_info=True)
        return None
    node_names = {
        "anyOf": [
            {"const": "*"},
            {"type": "array", "items": {"enum": nodes}},
            {"type": "null"},
        ],
        "description": f"Nodes of {name}.",
    }
    then: dict[str, Any] = {
        "properties": {"interrupt_before": node_names, "interrupt_after": node_names}
    }
    if wf.kind != "functional":
        # the input is an object of state keys, unless a command is given instead
        then["anyOf"] = [
            {"required": ["command"], "properties": {"command": {"type": "object"}}},
            {"properties": {"input": {"type": ["object", "null"]}}},
        ]
    return {
        "if": {
            "required": ["assistant_id"],
            "properties": {"assistant_id": {"enum": [name, assistant_id_for(name)]}},
        },
        "then": then,
    }
