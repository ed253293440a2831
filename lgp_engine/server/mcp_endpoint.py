"""``/mcp``: every served workflow as an MCP tool, over streamable HTTP, stateless.

What the LangGraph Agent Server offers at ``/mcp``: a tool per graph, named after
it, described by its description, taking its input schema; a call runs the graph
to its end and answers its output as JSON text. No session: each HTTP request
stands alone (no ``Mcp-Session-Id``), so any replica can answer it. Clients of
both protocol eras work: the initialize handshake (2025 revisions) and the
single-request form of 2026-07-28.

The route sits behind the same guard as the rest of the API (API keys, rate
limit, body limits); it is not in the OpenAPI document. Tools are described per
request from the catalog, so after a hot reload the list is the new code's. A
call is a run like ``POST /workflows/{name}/invoke``: admitted by the hub,
recorded, traced, on a new thread. A run that fails, stops at an interrupt or is
cancelled answers a tool error (``isError``) in one line, without traceback or
host paths.

The ``mcp`` package is heavy to import: it is loaded, and its session manager
started, on the first request to ``/mcp``, and stopped with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.routing import Route

from .._version import __version__
from ..errors import LGPError
from ..jsonable import to_jsonable
from ..loader import LoadedWorkflow
from ..schemas import input_keys, input_schema
from .context import ServerContext
from .security import Receive, Scope, Send, send_json

if TYPE_CHECKING:
    import mcp.types as mcp_types
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

log = logging.getLogger("lgp.server")

PATH = "/mcp"
#: ``_meta`` keys of a call's result: the run it made (``GET /runs/{id}``) and its thread.
RUN_ID = "lgp/run_id"
THREAD_ID = "lgp/thread_id"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def mcp_router(ctx: ServerContext) -> APIRouter:
    """The ``/mcp`` route, and the lifespan that stops its session manager."""
    endpoint = McpEndpoint(ctx)
    router = APIRouter(lifespan=endpoint.lifespan)
    # a plain ASGI route: every method reaches it, and it is not in the OpenAPI document
    endpoint.route = Route(PATH, endpoint, include_in_schema=False)
    router.routes.append(endpoint.route)
    return router


class McpEndpoint:
    """The ASGI app at ``/mcp``: an MCP server whose tools are the served workflows.

    Its session manager runs in a task of its own (an anyio task group must end in
    the task that started it), from the first request until the app stops.
    """

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.tools = WorkflowTools(ctx)
        self._ready: asyncio.Future[StreamableHTTPSessionManager] | None = None
        self._stop = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None
        #: Its route, named in the request metrics (FastAPI names only its own routes).
        self.route: Route | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("route", self.route)
        if scope["method"] != "POST":
            # stateless: no stream of server messages to GET, no session to DELETE
            # (the transport's answer the spec allows; a GET would otherwise hang)
            detail = {"detail": "Method Not Allowed", "hint": "send MCP messages with POST"}
            await send_json(send, 405, detail, [(b"allow", b"POST")])
            return
        manager = await self._started()
        await manager.handle_request(scope, receive, send)

    async def _started(self) -> StreamableHTTPSessionManager:
        if self._ready is None:
            loop = asyncio.get_running_loop()
            self._ready = loop.create_future()
            # a context of its own: nothing of the first request's leaks into it
            self._owner = loop.create_task(
                self._run(self._ready), name="lgp-mcp", context=contextvars.Context()
            )
        return await asyncio.shield(self._ready)

    async def _run(self, ready: asyncio.Future[StreamableHTTPSessionManager]) -> None:
        try:
            await asyncio.to_thread(_import_mcp)  # half a second: not on the event loop
            manager = self._manager()
            async with manager.run():
                ready.set_result(manager)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                log.exception("the MCP endpoint could not start")
                ready.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    def _manager(self) -> StreamableHTTPSessionManager:
        from mcp.server.lowlevel import Server
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        server: Server[Any] = Server(
            "lgp-workbench",
            version=__version__,
            description="LGP Workbench: each served LangGraph workflow as a tool.",
            on_list_tools=self.tools.list_tools,
            on_call_tool=self.tools.call_tool,
        )
        # runs are traced by the engine's tracers: no OpenTelemetry span per MCP message
        server.middleware = []
        settings = self.ctx.settings.server
        security = None
        if not settings.keys:
            # open only on loopback: refuse a page whose DNS name was rebound to it
            security = TransportSecuritySettings(
                allowed_hosts=[*LOOPBACK_HOSTS, *(f"{h}:*" for h in LOOPBACK_HOSTS)],
                allowed_origins=[
                    *(f"http://{h}{port}" for h in LOOPBACK_HOSTS for port in ("", ":*")),
                    *settings.cors_origins,
                ],
            )
        return StreamableHTTPSessionManager(
            app=server,
            stateless=True,
            security_settings=security,
            max_request_body_size=settings.max_body_bytes,
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            self._stop.set()
            if self._owner is not None:
                await asyncio.gather(self._owner, return_exceptions=True)


def _import_mcp() -> None:
    import mcp.server.lowlevel
    import mcp.server.streamable_http_manager
    import mcp.types  # noqa: F401


class WorkflowTools:
    """The tool handlers: the catalog's workflows as tools, a call as a run."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        # name -> (the loaded version it describes, its tool); a reload replaces it
        self._described: dict[str, tuple[LoadedWorkflow, mcp_types.Tool]] = {}

    async def list_tools(self, _rctx: Any, _params: Any) -> mcp_types.ListToolsResult:
        import mcp.types as mcp_types

        return mcp_types.ListToolsResult(tools=[self.tool(n) for n in self.ctx.catalog.names()])

    def tool(self, name: str) -> mcp_types.Tool:
        """The tool of the workflow ``name`` as it is loaded now."""
        import mcp.types as mcp_types

        wf = self.ctx.catalog.workflows[name]
        known = self._described.get(name)
        if known is not None and known[0] is wf:
            return known[1]
        graph = self._graph(wf)
        tool = mcp_types.Tool(
            name=name,
            description=_description(wf),
            input_schema=input_schema(graph),
        )
        self._described[name] = (wf, tool)
        return tool

    def _graph(self, wf: LoadedWorkflow) -> Any:
        """The compiled graph, or None for a factory (built per run) or one that
        cannot be built here."""
        if wf.kind == "factory":
            return None
        try:
            return self.ctx.live_runner.executor(wf).graph()
        except Exception:  # described without its schema; a call reports why
            log.warning("cannot build %s to describe it as an MCP tool", wf.name, exc_info=True)
            return None

    async def call_tool(self, _rctx: Any, params: Any) -> mcp_types.CallToolResult:
        """Run the workflow to its end; its output as JSON text, or a tool error."""
        name: str = params.name
        arguments: dict[str, Any] = params.arguments or {}
        wf = self.ctx.catalog.workflows.get(name)
        if wf is None:
            served = ", ".join(self.ctx.catalog.names()) or "none"
            return _error(f"unknown tool {name!r}; tools: {served}")
        try:
            problem = _argument_problem(name, arguments, self._graph(wf))
            if problem:
                return _error(problem)
            return await self._run(wf, arguments)
        except LGPError as exc:
            return _error(self.ctx.public(exc.describe(_field_name)))
        except Exception:
            log.exception("MCP call of %s failed", name)
            return _error(f"{name}: internal server error (details are in the server's log)")

    async def _run(self, wf: LoadedWorkflow, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        import mcp.types as mcp_types

        ctx = self.ctx
        handle = await ctx.live_hub.launch(ctx.live_runner.astart(wf, arguments))
        await handle.done.wait()
        last = handle.last
        # where to look the run up (GET /runs/{id}, /sessions/{thread})
        meta = {RUN_ID: handle.run_id, THREAD_ID: handle.thread_id}
        if last is not None and last.type == "run.completed":
            output = to_jsonable(last.data.get("output"))
            return mcp_types.CallToolResult(
                content=[mcp_types.TextContent(text=json.dumps(output, ensure_ascii=False))],
                structured_content=output if isinstance(output, dict) else None,
                _meta=meta,
            )
        if last is not None and last.type == "interrupt":
            asked = [i.get("value") for i in last.data.get("interrupts") or []]
            return _error(
                f"{wf.name} stopped at an interrupt, waiting for input: "
                f"{_one_line(json.dumps(to_jsonable(asked), ensure_ascii=False))}; "
                f"answer it with POST /sessions/{handle.thread_id}/resume",
                meta,
            )
        if last is not None and last.type == "run.failed":
            error = ctx.public_error(last.data) or {}
            kind = error.get("error_type") or "error"
            node = f" in node {error['node']}" if error.get("node") else ""
            message = _one_line(str(error.get("message") or ""))
            return _error(f"{wf.name} failed{node}: {kind}: {message}", meta)
        return _error(f"{wf.name} was cancelled (run {handle.run_id})", meta)


def _error(text: str, meta: dict[str, Any] | None = None) -> mcp_types.CallToolResult:
    import mcp.types as mcp_types

    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(text=text)], is_error=True, _meta=meta
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _field_name(name: str) -> str:
    """An engine error's field as an MCP client knows it."""
    return "arguments" if name == "input" else name


def _description(wf: LoadedWorkflow) -> str:
    """The configured description, else the module docstring's first paragraph."""
    if wf.source.description:
        return wf.source.description
    doc = (wf.module.__doc__ or "").strip().split("\n\n")[0]
    return _one_line(doc) or f"Runs the {wf.name} workflow."


def _argument_problem(name: str, arguments: dict[str, Any], graph: Any) -> str | None:
    """Why ``arguments`` cannot be the input of ``graph`` (None when they can).

    LangGraph drops input keys that are not in its input schema without a word; a
    tool call that names one is most likely mistaken, so it is refused.
    """
    keys = input_keys(graph) if graph is not None else None
    if not keys:
        return None
    unknown = sorted(set(arguments) - set(keys))
    if not unknown:
        return None
    return (
        f"unknown argument(s) for {name}: {', '.join(unknown)}; it takes: {', '.join(sorted(keys))}"
    )
