"""What the local test servers (OpenAI, Anthropic, OTLP receiver) share: serving an
app on a free port with a ``READY <url>`` line, and starting one as a process."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from tests.processes import Process, start_python

REPO = Path(__file__).resolve().parents[2]


async def serve_app(
    app: FastAPI,
    host: str,
    port: int,
    *,
    started: Callable[[uvicorn.Server], None] | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` (0: a free port); print ``READY <url>`` once it
    is up (``started`` gets the server then), and return when it stops."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit NODELAY (Linux). Without it uvicorn's separate writes of
    # headers and body waited for the client's delayed ACK: +40 ms a keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    url = f"http://{host}:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=1, lifespan="off"
    )
    server = uvicorn.Server(config)
    if started is not None:
        started(server)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task  # it failed to start: its error, or its exit
            return
        await asyncio.sleep(0.01)
    print(f"READY {url}", flush=True)
    await task


def start_server(module: str, *args: str, timeout: float = 30) -> tuple[Process, str]:
    """``python -m module --port 0 ARGS`` as a process; it and its URL once it is up."""
    process = start_python("-m", module, "--port", "0", *args, cwd=REPO)
    try:
        line = process.expect(r"^READY http://", timeout)[-1]
    except BaseException:
        process.kill()
        raise
    match = re.fullmatch(r"READY (http://\S+)", line)
    assert match, line
    return process, match[1]
