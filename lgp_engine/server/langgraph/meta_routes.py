"""``GET /info``: what LangGraph Studio and ``langgraph_sdk`` ask an Agent Server
before anything else (its version and which features it has)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..._version import __version__
from ..http_errors import OPEN_ERROR_RESPONSES
from ..openapi import NO_AUTH
from .models import ServerInfo, answer

router = APIRouter(tags=["LangGraph: server"])


@router.get(
    "/info",
    response_model=None,
    responses={**answer(ServerInfo), **OPEN_ERROR_RESPONSES},
    openapi_extra=NO_AUTH,
)
async def info() -> dict[str, Any]:
    """Versions and feature flags, in the Agent Server's shape: assistants and crons
    yes; LangSmith no (this server sends no traces to LangSmith).
    Open, as the Agent Server's is: it says nothing about the project."""
    import langgraph.version

    return {
        "version": __version__,
        "langgraph_py_version": langgraph.version.__version__,
        "flags": {
            "assistants": True,
            "crons": True,
            "langsmith": False,
            "langsmith_tracing_replicas": False,
            "langsmith_tracing_session_on_runs": False,
        },
        "host": {
            "kind": "lgp",
            "project_id": None,
            "host_revision_id": None,
            "revision_id": None,
            "tenant_id": None,
        },
        "metadata": {},
    }
