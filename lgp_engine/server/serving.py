"""Serving the app with uvicorn: the listening socket, the server, the event loop and
the multi-process supervisor, shared by ``lgp serve`` and the workbench's
background server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import errno
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn

from ..errors import ConfigError

if TYPE_CHECKING:
    from .context import ServerContext

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class LgpServer(uvicorn.Server):
    """uvicorn, but a stop signal first hands the runs in flight to the other server
    processes (after ``server.shutdown_grace_s``: :meth:`RunHub.shutdown`), and the
    process then exits normally instead of re-raising the signal.
    """

    def __init__(self, config: uvicorn.Config, ctx: ServerContext) -> None:
        super().__init__(config)
        self.ctx = ctx

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        hub = self.ctx.hub
        if hub is not None and not self.should_exit:
            with contextlib.suppress(RuntimeError):
                grace = self.ctx.settings.server.shutdown_grace_s
                asyncio.get_running_loop().create_task(hub.shutdown(grace))
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        original = {s: signal.signal(s, self.handle_exit) for s in signals}
        try:
            yield
        finally:
            for s, handler in original.items():
                signal.signal(s, handler)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0`` picks a free one).

    Raises:
        ConfigError: the port is in use or the address cannot be used.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(
            f"port {port} is out of range",
            field="port",
            hint="use a port between 0 and 65535 (0 = any free port)",
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}", field="port") from None
    except (UnicodeError, socket.gaierror) as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}", field="host") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def display_host(host: str) -> str:
    """The host to put in a URL a user can open (``0.0.0.0`` is not one)."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when installed (it is a dependency), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread malloc arenas before worker threads start.

    Sync nodes run in a thread pool; by default every thread gets its own arena and
    the resident size of a busy server creeps up. Two arenas keep it flat at no
    measurable cost here. No-op where glibc is not the allocator.
    """
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).mallopt(-8, arenas)  # M_ARENA_MAX


def serve_workers(
    sock: socket.socket, *, workers: int, log_level: str, environ: dict[str, str]
) -> None:
    """Several processes on one socket (uvicorn's multiprocess supervisor).

    Each worker builds its app with :func:`lgp_engine.server.app.app_from_env`, from
    the variables in ``environ`` (set in this process, inherited by the workers).
    Returns when the workers have stopped (SIGINT/SIGTERM to this process).
    """
    from uvicorn.supervisors import Multiprocess

    os.environ.update(environ)
    config = uvicorn.Config(
        "lgp_engine.server.app:app_from_env",
        factory=True,
        log_level=log_level,
        timeout_graceful_shutdown=3,
        workers=workers,
        access_log=log_level in ("debug", "info"),
    )
    Multiprocess(config, sockets=[sock]).run()
