"""Engine errors as HTTP answers: one JSON error shape for every 4xx and 5xx.

``{"detail": "...", "error": "Not found", "field": "thread_id", "code":
"unknown_thread"}``; request validation adds ``errors`` (one item per problem),
throttles add ``retry_after``. The engine's errors name their fields the way the
API does (``interrupt_before``), host paths become project-relative, and no
traceback ever reaches a client (the server's log has it).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import AmbiguousError, ConflictError, LGPError, NotFoundError, UsageError

log = logging.getLogger("lgp.server")


class ValidationItem(BaseModel):
    """One problem with a request: where (``["body", "input"]``), what, of which kind."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error the API answers (4xx and 5xx)."""

    detail: str = Field(description="What went wrong, in one line.")
    error: str | None = Field(None, description="The kind of error (e.g. 'Not found').")
    field: str | None = Field(None, description="The request field at fault, if one is.")
    code: str | None = Field(None, description="A stable name for the problem.")
    hint: str | None = Field(None, description="What to do about it.")
    errors: list[ValidationItem] | None = Field(None, description="Validation problems.")
    retry_after: int | None = Field(None, description="Seconds to wait (429).")


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: What any route may answer besides its success (documented on every operation).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("The request cannot be carried out as asked."),
    401: _error("Missing or invalid API key."),
    404: _error("No such workflow, thread, checkpoint or run."),
    409: _error("The thread or run is in a state that does not allow it."),
    413: _error("The request body is larger than the server accepts."),
    422: _error("The request is malformed (fields, types, limits)."),
    429: _error("Too many requests (or failed authentications); see Retry-After."),
    500: _error("An unexpected server error (details are in the server's log)."),
}
#: For the routes that need no key (health, metrics).
OPEN_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    k: v for k, v in ERROR_RESPONSES.items() if k in (422, 500)
}


#: Usage errors about the graph a request names rather than the request's own shape
#: (a well-formed node name the graph does not have): 400, as for any request that
#: cannot be carried out as asked; 422 stays for malformed requests.
GRAPH_DEPENDENT_CODES = frozenset({"unknown_node"})


def status_for(exc: LGPError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if getattr(exc, "code", None) in GRAPH_DEPENDENT_CODES:
        return 400
    if isinstance(exc, AmbiguousError | UsageError):
        return 422
    return 400


class PublicText:
    """Rewrites text for clients: host paths become relative to the project."""

    def __init__(self, project_dir: str) -> None:
        roots = [(project_dir.rstrip(os.sep) + os.sep, ""), (project_dir, ".")]
        for prefix in {sys.prefix, sys.base_prefix, os.path.expanduser("~")}:
            if prefix and prefix != os.sep:
                roots.append((prefix.rstrip(os.sep) + os.sep, "…" + os.sep))
        self.roots = sorted(roots, key=lambda r: -len(r[0]))

    def __call__(self, text: str) -> str:
        for root, replacement in self.roots:
            if root in text:
                text = text.replace(root, replacement)
        return text


def error_json(exc: LGPError, public: PublicText) -> dict[str, Any]:
    """The body for an engine error: its text in the API's field names, no CLI advice."""
    title = exc.title
    body: dict[str, Any] = {"detail": public(exc.describe()), "error": title}
    if exc.field:
        body["field"] = exc.field
    if exc.code:
        body["code"] = exc.code
    return body


def install_error_handlers(app: FastAPI, public: PublicText) -> None:
    """Engine errors, validation errors and HTTP errors, all as :class:`ErrorBody`.

    Anything else is answered by the guard middleware (a bare 500, logged).
    """

    @app.exception_handler(LGPError)
    async def lgp_error(_: Request, exc: LGPError) -> JSONResponse:
        return JSONResponse(error_json(exc, public), status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg")),
                "type": str(e.get("type")),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        return JSONResponse(
            {"detail": f"{where}: {first['msg']}", "errors": errors}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(
            {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )
