"""The API's description: its OpenAPI document and the pages that show it.

The document says what the server really answers: the one error shape on every
operation, the API key scheme (and which operations need no key), SSE and
Prometheus media types. ``/docs`` (Swagger UI) and ``/redoc`` load their assets
from this server (the ``fastapi-offline`` package ships them), so they work with
no network.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

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


def install_docs(app: FastAPI, *, secured: bool) -> None:
    """``/docs``, ``/redoc`` with local assets, and the document's security section
    (``secured``: whether the server checks keys)."""
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
            if secured:
                schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
                schema["security"] = [{"bearer": []}, {"apiKey": []}]
            else:
                _drop_auth_responses(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_auth_responses(schema: dict[str, Any]) -> None:
    """An open server never answers 401: don't say it does, and mark no operation as
    needing a key."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("401", None)
                operation.pop("security", None)
