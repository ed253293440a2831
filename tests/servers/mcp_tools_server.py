"""A real MCP server for the tests of :mod:`lgp_engine.providers.mcp`.

``python -m tests.servers.mcp_tools_server`` speaks stdio;
``python -m tests.servers.mcp_tools_server --http --port 0`` serves streamable HTTP on
127.0.0.1 and prints ``READY http://127.0.0.1:PORT/mcp`` once it accepts requests
(port 0 picks a free port, so parallel tests never collide); with ``--bearer TOKEN``
it answers 401 to requests without ``Authorization: Bearer TOKEN``.

The tools cover what the manager must handle: plain results (``now``, ``add``,
``echo``), a tool that raises (``fail``), a slow one (``sleep``), one that kills the
server process (``crash``), the server's identity (``pid``), the HTTP headers it
received (``auth_header``), and where it runs (``cwd``, ``env``).

``--linger-when-orphaned SECONDS`` makes a stdio server that outlives its client
(its input ends after the client process died) stay that long, as servers that miss
their client's death do: only a client that ends its servers itself (closing their
input, then signalling them) leaves none behind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server: MCPServer = MCPServer("lgp-test-tools", log_level="WARNING")


@server.tool()
def now() -> str:
    """The current UTC time as YYYY-MM-DDTHH:MM:SSZ."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@server.tool()
def add(a: int, b: int) -> int:
    """a + b."""
    return a + b


@server.tool()
def echo(text: str, api_key: str = "") -> str:
    """Returns ``text`` (``api_key`` is there to test redaction of arguments)."""
    return text


@server.tool()
def fail(message: str) -> str:
    """Raises with ``message``: the client gets a result with is_error set (a
    ToolError's message reaches the client; any other exception's is hidden)."""
    raise ToolError(message)


@server.tool()
async def sleep(seconds: float) -> str:
    """Returns after ``seconds``."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def crash() -> str:
    """Ends the server process at once (exit code 3), as a crash would."""
    os._exit(3)


@server.tool()
def mesh_execute(repository: str, task: str, session_id: str | None = None) -> dict[str, Any]:
    """What a server running Claude Code behind MCP answers (seed R5.1): the output
    and the session id (a new one, or the one given, continued)."""
    files = sorted(p for p in os.listdir(repository) if not p.startswith("."))
    return {
        "output": f"did {task!r} in {os.path.basename(repository)} (files: {', '.join(files)})",
        "session_id": session_id or f"mesh-{abs(hash((repository, task))) % 10**8:08d}",
        "turns": 1,
    }


@server.tool()
def pid() -> int:
    """The server's process id: tells a restarted server from the first one."""
    return os.getpid()


@server.tool()
def cwd() -> str:
    """The server's working directory."""
    return os.getcwd()


@server.tool()
def env(name: str) -> str | None:
    """The value of environment variable ``name`` in the server (None if unset)."""
    return os.environ.get(name)


@server.tool()
def auth_header(ctx: Context) -> str:
    """The Authorization header of the HTTP request that called this tool ('' on stdio)."""
    request: Any = ctx.request_context.request
    if request is None or not hasattr(request, "headers"):
        return ""
    return str(request.headers.get("authorization", ""))


def require_bearer(app: Any, token: str) -> Any:
    """``app`` behind a bearer token check (ASGI middleware)."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != expected:
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        await app(scope, receive, send)

    return guarded


def serve_http(port: int, bearer: str | None) -> None:
    """Streamable HTTP on a socket bound here, so ``--port 0`` can report the port
    it got (``MCPServer.run`` takes a port number only)."""
    import uvicorn

    sock = socket.create_server(("127.0.0.1", port))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    app: Any = server.streamable_http_app(host="127.0.0.1")
    if bearer:
        app = require_bearer(app, bearer)

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            print(f"READY {url}", flush=True)

    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    Announcing(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bearer", metavar="TOKEN", help="HTTP: require this bearer token")
    parser.add_argument("--linger-when-orphaned", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    if args.http:
        serve_http(args.port, args.bearer)
        return
    print("test MCP server on stdio", file=sys.stderr, flush=True)
    parent = os.getppid()
    server.run()
    if args.linger_when_orphaned and os.getppid() != parent:
        time.sleep(args.linger_when_orphaned)


if __name__ == "__main__":
    main()
