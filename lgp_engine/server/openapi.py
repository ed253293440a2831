"""The API's description: its OpenAPI document and the pages that show it.

The document says what the server really answers: the one error shape on every
operation (JSON, whatever the success media type), only the error statuses an
operation can answer (no 401 where no key is needed, no 413 without a body...), the
API key scheme (and which operations need no key), SSE and Prometheus media types,
and free JSON in requests as ``JsonValue``: what the body guard accepts.

``/docs`` (Swagger UI) and ``/redoc`` load their assets from this server (the
``fastapi-offline`` package ships them), so they work with no network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from .json_guard import MAX_DEPTH, MAX_NUMBER, MIN_NUMBER
from .params import JSON_VALUE_MARK

ASSETS = "/docs/assets"
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer KEY` (a key from server.api_keys)",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "`x-api-key: KEY`, the same keys",
    },
}
#: Marks an operation that needs no key (``openapi_extra=NO_AUTH``).
NO_AUTH: dict[str, Any] = {"security": []}

SCHEMAS = "#/components/schemas/"
JSON_VALUE_REF = {"$ref": f"{SCHEMAS}JsonValue"}
#: Any JSON value a request may hold (see :mod:`.json_guard`): JSON Schema cannot
#: bound nesting, so the depth limit is said in words.
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": "Any JSON value. Numbers are within the range of 64-bit integers "
    f"({MIN_NUMBER} to {MAX_NUMBER}), arrays and objects nest at most {MAX_DEPTH} deep "
    "in a body, and strings hold no lone UTF-16 surrogate; other bodies are refused "
    "with 422.",
    "type": ["object", "array", "string", "number", "boolean", "null"],
    "minimum": MIN_NUMBER,
    "maximum": MAX_NUMBER,
    "items": JSON_VALUE_REF,
    "additionalProperties": JSON_VALUE_REF,
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": f"{SCHEMAS}ErrorBody"}}}
ERROR_HEADERS: dict[str, dict[str, Any]] = {
    "401": {
        "WWW-Authenticate": {
            "description": "`Bearer`",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "description": "Seconds until the client may try again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}
BODY_METHODS = frozenset({"post", "put", "patch"})


def install_docs(
    app: FastAPI,
    *,
    secured: bool,
    throttled: bool,
    extend: Sequence[Callable[[dict[str, Any]], None]] = (),
) -> None:
    """``/docs``, ``/redoc`` with local assets, and the document's security section
    (``secured``: whether the server checks keys; ``throttled``: whether it may answer
    429, for a rate limit or failed authentications). Each of ``extend`` adds to the
    document (in place) once it is built; clear ``app.openapi_schema`` to build it
    again."""
    static = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {})["JsonValue"] = JSON_VALUE_SCHEMA
            _refer_json_values(schema)
            for add in extend:
                add(schema)
            if secured:
                components["securitySchemes"] = SECURITY_SCHEMES
                schema["security"] = [{"bearer": []}, {"apiKey": []}]
            _settle_errors(schema, secured=secured, throttled=throttled)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _refer_json_values(node: Any) -> None:
    """Each field marked as free JSON (:data:`.params.JsonValue`) refers to the one
    ``JsonValue`` schema."""
    if isinstance(node, dict):
        if node.pop(JSON_VALUE_MARK, None):
            node.update(JSON_VALUE_REF)
        for value in node.values():
            _refer_json_values(value)
    elif isinstance(node, list):
        for value in node:
            _refer_json_values(value)


def _settle_errors(schema: dict[str, Any], *, secured: bool, throttled: bool) -> None:
    """Every error response in the one JSON shape (FastAPI gives an operation's extra
    responses its success media type: an SSE route's 404 is JSON all the same), with
    its headers, and only the statuses an operation can answer:

    - 401 only where a key is checked; 429 only there too, and only if the server
      throttles (the open routes never are);
    - 413 only for methods with a body (the guard reads no other);
    - 422 only for operations with parameters or a body.
    """
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            open_route = operation.get("security") == []
            if not secured:
                operation.pop("security", None)
            has_body = method in BODY_METHODS or "requestBody" in operation
            drop = set()
            if open_route or not secured:
                drop.add("401")
            if open_route or not throttled:
                drop.add("429")
            if open_route:
                drop.update({"400", "404", "409"})
            if not has_body:
                drop.add("413")
                if not operation.get("parameters"):
                    drop.add("422")
            responses = operation["responses"]
            for status in drop:
                responses.pop(status, None)
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = ERROR_CONTENT
                    if status in ERROR_HEADERS:
                        response["headers"] = ERROR_HEADERS[status]
