"""What the LangGraph Agent Server API knows of assistants: the store they are kept in
(opened with the app, one system assistant per served workflow), which assistant an
id or graph name means, their official JSON shapes and what a run with one is given
(a graph's JSON schemas, served at ``/schemas``, are :mod:`lgp_engine.schemas`).

Assistants of graphs this server does not serve are kept but not shown, as the Agent
Server hides assistants outside its registry.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException

from ...assistants import AssistantRecord, AssistantStore, AssistantVersion, system_assistant_id
from ...loader import LoadedWorkflow
from ...run_config import OWNED_KEYS, RUN_CONFIG_KEYS
from ..context import ServerContext
from ..times import iso

log = logging.getLogger("lgp.server")

_STORE_KEY = "lg_assistants"


@contextlib.asynccontextmanager
async def assistants_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the assistant store beside the run store and make sure every served
    workflow has its system assistant; close it when the app stops."""
    ctx: ServerContext = app.state.ctx
    runs = ctx.live_runner.runs
    store = AssistantStore.for_settings(ctx.settings, runs.path)
    try:
        for name in ctx.catalog.names():
            store.ensure_system(
                name, description=ctx.catalog.workflows[name].source.description or None
            )
        ctx.extra[_STORE_KEY] = store
        yield
    finally:
        ctx.extra.pop(_STORE_KEY, None)
        store.close()


def assistant_store(ctx: ServerContext) -> AssistantStore:
    store = ctx.extra.get(_STORE_KEY)
    assert isinstance(store, AssistantStore), "the app's lifespan has not started"
    return store


def not_found(assistant_id: str) -> HTTPException:
    return HTTPException(404, f"Assistant '{assistant_id}' not found")


@dataclass(frozen=True)
class Resolved:
    """An assistant with the served workflow it runs."""

    record: AssistantRecord
    workflow: LoadedWorkflow


def record_for(ctx: ServerContext, assistant_or_graph: str) -> AssistantRecord:
    """The assistant an id (or a served graph's name: its system assistant) stands for;
    404 unless it exists and its graph is served here."""
    key = assistant_or_graph
    if key in ctx.catalog.workflows:
        key = system_assistant_id(key)
    record = assistant_store(ctx).get(key)
    if record is None or record.graph_id not in ctx.catalog.workflows:
        raise not_found(assistant_or_graph)
    return record


def resolve(ctx: ServerContext, assistant_or_graph: str) -> Resolved:
    """:func:`record_for` with its workflow."""
    record = record_for(ctx, assistant_or_graph)
    return Resolved(record, ctx.catalog.workflows[record.graph_id])


def served(ctx: ServerContext) -> list[AssistantRecord]:
    """The assistants of the served graphs, newest first."""
    return assistant_store(ctx).list_assistants(ctx.catalog.names())


def graph_exists(ctx: ServerContext, graph_id: str) -> None:
    """404 (the Agent Server's words) unless ``graph_id`` is served here."""
    if graph_id not in ctx.catalog.workflows:
        raise HTTPException(
            404, f"Graph '{graph_id}' not found. Expected one of: {ctx.catalog.names()}"
        )


# --------------------------------------------------------------------------- shapes


def assistant_json(record: AssistantRecord) -> dict[str, Any]:
    """The official Assistant."""
    return {
        "assistant_id": record.assistant_id,
        "graph_id": record.graph_id,
        "config": record.config,
        "context": record.context,
        "metadata": record.metadata,
        "name": record.name,
        "description": record.description,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "version": record.version,
    }


def version_json(version: AssistantVersion) -> dict[str, Any]:
    """The official AssistantVersion."""
    return {
        "assistant_id": version.assistant_id,
        "graph_id": version.graph_id,
        "config": version.config,
        "context": version.context,
        "metadata": version.metadata,
        "name": version.name,
        "description": version.description,
        "created_at": iso(version.created_at),
        "version": version.version,
    }


# --------------------------------------------------------------------------- runs


def caller_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """A request's (or a stored) run config as the engine takes it: the keys it knows,
    without the run's own thread and checkpoint keys nor LangGraph's private ones
    (the run sets those, as the Agent Server does)."""
    out = {k: v for k, v in (config or {}).items() if k in RUN_CONFIG_KEYS and v is not None}
    if "configurable" in out:
        out["configurable"] = {
            k: v
            for k, v in (out["configurable"] or {}).items()
            if k not in (*OWNED_KEYS, "checkpoint_map") and not k.startswith("__")
        }
    return out


def run_config(
    record: AssistantRecord, request: dict[str, Any] | None, values: dict[str, Any] | None
) -> dict[str, Any]:
    """The config a run with this assistant is given: the assistant's, the request's
    keys on top; ``configurable`` holds the assistant's values with the run's own
    (``values``: its context, or its configurable) on top, as the Agent Server's."""
    merged = {**caller_config(record.config), **caller_config(request)}
    configurable = {**record.context, **(values or {})}
    merged.pop("configurable", None)
    if configurable:
        merged["configurable"] = configurable
    return merged
