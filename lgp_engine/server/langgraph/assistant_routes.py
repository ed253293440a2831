"""LangGraph Agent Server compatible assistants: one built-in assistant per served
workflow (``assistant_id = uuid5(namespace, name)``, the workflow name is also
accepted wherever an id is)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field, WithJsonSchema

from ..context import Ctx
from ..params import MAX_OFFSET, Int, JsonObject, OpenBody
from .models import (
    PAGINATION,
    Assistant,
    AssistantField,
    AssistantGraph,
    AssistantSchemas,
    AssistantSelected,
    answer,
)
from .shapes import apply_select, contains
from .threads import assistant_json, workflow_for

router = APIRouter(tags=["LangGraph: assistants"])


AssistantId = Annotated[
    str, Path(min_length=1, max_length=200, description="An assistant id or a workflow name.")
]
#: ``xray``: false, true (every level of subgraphs) or how many levels.
XRAY = re.compile(r"^(true|True|false|False|[1-9][0-9]{0,8})$")


class AssistantSearch(OpenBody):
    """``POST /assistants/search``."""

    metadata: JsonObject | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: Int = Field(10, ge=1, le=1000)
    offset: Int = Field(0, ge=0, le=MAX_OFFSET)
    sort_by: Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[AssistantField] | None = None


class AssistantCount(OpenBody):
    metadata: JsonObject | None = None
    graph_id: str | None = None
    name: str | None = None


def _matching(
    ctx: Ctx, graph_id: str | None, name: str | None, metadata: dict[str, Any] | None
) -> list[dict[str, Any]]:
    found = []
    for wf_name in ctx.catalog.names():
        item = assistant_json(ctx, wf_name)
        if graph_id and item["graph_id"] != graph_id:
            continue
        if name and name.lower() not in item["name"].lower():
            continue
        if metadata and not contains(item["metadata"], metadata):
            continue
        found.append(item)
    return found


@router.post(
    "/assistants/search",
    response_model=None,
    responses=answer(list[AssistantSelected], "A page of assistants.", PAGINATION),
)
async def search_assistants(body: AssistantSearch, ctx: Ctx) -> JSONResponse:
    """The served workflows' assistants, filtered and paged."""
    found = _matching(ctx, body.graph_id, body.name, body.metadata)
    if body.sort_by:
        found.sort(
            key=lambda a: str(a.get(body.sort_by or "") or ""),
            reverse=(body.sort_order or "desc") == "desc",
        )
    page = found[body.offset : body.offset + body.limit]
    headers = {"X-Pagination-Total": str(len(found))}
    if body.offset + body.limit < len(found):
        headers["X-Pagination-Next"] = str(body.offset + body.limit)
    return JSONResponse([apply_select(a, body.select) for a in page], headers=headers)


@router.post("/assistants/count")
async def count_assistants(body: AssistantCount, ctx: Ctx) -> int:
    return len(_matching(ctx, body.graph_id, body.name, body.metadata))


@router.get("/assistants/{assistant_id}", response_model=None, responses=answer(Assistant))
async def get_assistant(assistant_id: AssistantId, ctx: Ctx) -> dict[str, Any]:
    return assistant_json(ctx, workflow_for(ctx, assistant_id).name)


def _xray(value: str | None) -> bool | int:
    if value is None or value in ("false", "False"):
        return False
    if value in ("true", "True"):
        return True
    return int(value)


@router.get(
    "/assistants/{assistant_id}/graph", response_model=None, responses=answer(AssistantGraph)
)
async def get_assistant_graph(
    assistant_id: AssistantId,
    ctx: Ctx,
    xray: Annotated[
        str | None,
        Query(pattern=XRAY.pattern),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "boolean"},
                    {"type": "integer", "minimum": 1, "maximum": 10**9 - 1},
                ],
                "description": "Draw subgraphs: all levels (true) or this many.",
            }
        ),
    ] = None,
) -> dict[str, Any]:
    """The workflow's drawable graph (``Graph.to_json()``); ``xray`` expands subgraphs."""
    wf = workflow_for(ctx, assistant_id)
    depth = _xray(xray)
    async with ctx.live_runner.executor(wf).agraph() as graph:
        try:
            drawable = graph.get_graph(xray=depth)
        except NotImplementedError:
            raise HTTPException(422, "The graph does not support visualization") from None
    out = drawable.to_json()
    for node in out.get("nodes", []):
        data = node.get("data")
        if isinstance(data, dict):
            data.pop("id", None)
    return out


@router.get(
    "/assistants/{assistant_id}/schemas", response_model=None, responses=answer(AssistantSchemas)
)
async def get_assistant_schemas(assistant_id: AssistantId, ctx: Ctx) -> dict[str, Any]:
    """JSON schemas of the workflow's input, output, state and context."""
    wf = workflow_for(ctx, assistant_id)

    def schema(fn: Any) -> Any:
        try:
            return fn()
        except Exception:  # noqa: BLE001 - a schema LangGraph cannot describe is null
            return None

    async with ctx.live_runner.executor(wf).agraph() as graph:
        out = {
            "graph_id": wf.name,
            "input_schema": schema(graph.get_input_jsonschema),
            "output_schema": schema(graph.get_output_jsonschema),
            "state_schema": None,
            "config_schema": schema(lambda: graph.config_schema().model_json_schema()),
            "context_schema": schema(graph.get_context_jsonschema),
        }
        state_type = getattr(getattr(graph, "builder", None), "state_schema", None)
        if state_type is not None:
            from pydantic import TypeAdapter

            out["state_schema"] = schema(lambda: TypeAdapter(state_type).json_schema())
    return out
