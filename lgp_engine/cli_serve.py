"""``lgp serve``: the hosted HTTP API."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from .cli_common import common_options, handle_errors, setup
from .console import PREFIX
from .errors import ConfigError

if TYPE_CHECKING:
    from .reload import ReloadOutcome


@click.command()
@click.argument("target", required=False, metavar="[WORKFLOW|DIR|langgraph.json]")
@click.option("--host", default=None, help="Interface to listen on (config: server.host).")
@click.option("--port", type=int, default=None, help="Port (config: server.port; 0 = any free).")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Server processes sharing the same stores.")
@click.option("--reload", "reload", is_flag=True,
              help="Hot reload: new runs use the code of the last good save; runs in "
                   "flight finish on the code they started with.")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]),
              help="uvicorn's log level (access lines at info).")
@common_options
@handle_errors
def serve(target: str | None, host: str | None, port: int | None, workers: int,
          reload: bool, log_level: str, env: str | None, verbose: bool) -> None:
    """Serve workflows over HTTP: the LGP API and the LangGraph SDK API.

    TARGET is a workflow file, a folder of them, or a langgraph.json; by default
    the workflows registered in workflows/config.yaml. Settings (API keys, rate
    limit, CORS) come from config/<env>.yaml; --env defaults to `hosted` here.

    \b
    Examples:
      lgp serve                              # registered workflows, config/hosted.yaml
      lgp serve workflows/basic_workflow.py --port 8123
      curl localhost:8123/health
      curl -X POST localhost:8123/workflows/basic_workflow/invoke \\
           -H 'Authorization: Bearer KEY' -d '{"input": {"input": "hi"}}'

    With --reload, saving a served workflow, a local module it imports or the
    config reloads it for new runs (a broken save is reported and the previous
    version keeps serving); runs already in flight finish on their own code.

    Stops cleanly on Ctrl+C or SIGTERM: runs in flight are cancelled and
    recorded as cancelled (resume them later).
    """
    t0 = time.perf_counter()
    _limit_malloc_arenas()
    settings = setup(env or os.environ.get("LGP_ENV") or "hosted", verbose)
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if reload and workers > 1:
        raise ConfigError("--reload works with one worker", hint="drop --workers or --reload")
    import uvicorn

    from .server.app import create_app

    click.echo(f"{PREFIX} Environment: {settings.environment}")
    from .runner import Runner

    with Runner.open(settings):  # a bad store path is one line and exit 2, not a traceback
        pass
    app = create_app(settings, target, reload=reload,  # loads the workflows: errors here
                     on_reload=_reload_reporter() if reload else None)
    names = app.state.ctx.catalog.names()
    click.echo(f"{PREFIX} Workflows: {', '.join(names)}")
    for name, reason in app.state.ctx.catalog.skipped.items():
        click.echo(f"{PREFIX} ⚠ Skipped {name}: {reason}", err=True)
    if reload:
        click.echo(f"{PREFIX} Hot reload: ON (new runs get the new code)")
    keys = [k for k in settings.server.api_keys if k]
    click.echo(f"{PREFIX} Auth: {f'{len(keys)} API key(s)' if keys else 'off (no api_keys)'}; "
               f"rate limit: {settings.server.rate_limit_per_minute or 'off'}/min per key")
    sock = _bind(host, port)
    shown = sock.getsockname()[1]
    click.echo(f"{PREFIX} Server: http://{_display_host(host)}:{shown}")
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5,
                            lifespan="on", access_log=log_level in ("debug", "info"))
    server = _Server(config, app.state.ctx)
    if workers > 1:
        _serve_workers(sock, settings, target, workers, log_level)
        return

    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        if server.started:
            click.echo(f"{PREFIX} ✅ Ready ({time.perf_counter() - t0:.2f}s)")
            sys.stdout.flush()

    server.startup = startup  # type: ignore[method-assign]
    loop = _new_loop()
    try:
        loop.run_until_complete(server.serve(sockets=[sock]))
    finally:
        click.echo(f"{PREFIX} Stopped")
        sys.stdout.flush()
        sys.stderr.flush()
    # A cancelled run's node may still be sleeping in a worker thread (Python cannot
    # stop a thread); its run is already recorded as cancelled and the stores are
    # closed, so don't wait for it.
    os._exit(0 if server.started else 1)


def _reload_reporter() -> Callable[[ReloadOutcome], None]:
    """Prints each reload of ``lgp serve --reload`` in the ``[lgp]`` style."""
    from .cli_common import relpath
    from .console import RunPrinter

    printer = RunPrinter()

    def report(outcome: ReloadOutcome) -> None:
        printer.reload(outcome, relpath)
        if outcome.ok:
            printer.line(f"Serving the new {outcome.workflow_name} to new runs")

    return report


def _server_class() -> type:
    import asyncio
    import contextlib
    import signal
    import threading

    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn, but a stop signal first cancels the runs in flight (each is
        recorded as cancelled, and requests waiting on them answer at once), and the
        process then exits normally instead of re-raising the signal."""

        def __init__(self, config: uvicorn.Config, ctx: object) -> None:
            super().__init__(config)
            self.ctx = ctx

        def handle_exit(self, sig: int, frame: object) -> None:
            hub = getattr(self.ctx, "hub", None)
            if hub is not None and not self.should_exit:
                with contextlib.suppress(RuntimeError):
                    asyncio.get_running_loop().create_task(hub.shutdown())
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
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

    return Server


def _Server(config: object, ctx: object) -> object:  # noqa: N802 - a class, built lazily
    return _server_class()(config, ctx)


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread malloc arenas before worker threads start.

    Sync nodes run in a thread pool; by default every thread gets its own arena and
    the resident size of a busy server creeps up. Two arenas keep it flat at no
    measurable cost here. No-op where glibc is not the allocator.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).mallopt(-8, arenas)  # M_ARENA_MAX


def _new_loop() -> object:
    """uvloop's event loop when installed (it is a dependency), else asyncio's."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "already in use" if exc.errno == 98 else exc.strerror
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}",
                          hint="pick another --port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def _serve_workers(sock: socket.socket, settings: object, target: str | None, workers: int,
                   log_level: str) -> None:
    """Several processes on one socket (uvicorn's multiprocess supervisor)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ["LGP_SERVE_TARGET"] = target or ""
    os.environ["LGP_ENV"] = settings.environment  # type: ignore[attr-defined]
    config = uvicorn.Config("lgp_engine.server.app:app_from_env", factory=True,
                            log_level=log_level, timeout_graceful_shutdown=3, workers=workers)
    click.echo(f"{PREFIX} ✅ Ready ({workers} workers)")
    Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock]).run()


COMMANDS = [serve]
