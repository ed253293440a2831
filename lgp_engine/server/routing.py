"""Which methods a path allows, as the OpenAPI document says: 405 with the whole
``Allow`` list.

Starlette answers a method no route takes with the methods of the *first* route
whose path matches, and lets a templated path (``/runs/{run_id}``) answer for a
concrete one (``/runs/stream``). OpenAPI matches concrete paths before templated
ones, and a path's methods are all its operations. So each request is matched
against the document's paths, most concrete first; a method that path does not
take is a 405 naming all the methods it does take. Paths the document does not
describe (``/docs``...) are left to the router.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .security import ASGIApp, Receive, Scope, Send, send_json

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _specificity(path: str) -> tuple[bool, ...]:
    """Sorts concrete segments before templated ones, left to right."""
    return tuple(segment.startswith("{") for segment in path.strip("/").split("/"))


def _regex(path: str) -> re.Pattern[str]:
    """A path template as a regex (a parameter is one path segment, as in Starlette)."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile(
        "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p) + "$"
    )


class MethodGuard:
    """405 (``Allow``: every method of the matched path) for a method the path lacks.

    ``document`` gives the OpenAPI document (read on the first request).
    """

    def __init__(self, app: ASGIApp, *, document: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.document = document
        self._paths: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            allowed = self.allowed(path[len(root) :] if root and path.startswith(root) else path)
            if allowed is not None and scope["method"] not in allowed:
                allow = ", ".join(sorted(allowed)).encode()
                await send_json(send, 405, {"detail": "Method Not Allowed"}, [(b"allow", allow)])
                return
        await self.app(scope, receive, send)

    def allowed(self, path: str) -> frozenset[str] | None:
        """The methods of the most concrete documented path matching ``path`` (None when
        the document has no such path)."""
        for regex, methods in self._table():
            if regex.match(path):
                return methods
        return None

    def _table(self) -> list[tuple[re.Pattern[str], frozenset[str]]]:
        if self._paths is None:
            paths = self.document().get("paths", {})
            self._paths = [
                (_regex(path), frozenset(m.upper() for m in paths[path] if m in HTTP_METHODS))
                for path in sorted(paths, key=_specificity)
            ]
        return self._paths
