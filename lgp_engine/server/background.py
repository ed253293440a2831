"""The hosted API on a background thread, for front ends that stay in charge of the
process (the workbench's server toggle).

``lgp serve`` owns its process and its signals; :class:`BackgroundServer` runs the
same app (``create_app``: same workflows, checkpointer and run store) on a thread
with its own event loop, so starting and stopping it never blocks the caller for
long, and a port already in use is a :class:`~lgp_engine.errors.ConfigError` from
:meth:`BackgroundServer.start`, not a dead thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import ConfigError, LGPError
from .catalog import Catalog
from .serving import display_host

if TYPE_CHECKING:
    from ..events import AnomalyEvent, RunEvent
    from ..reload import ReloadOutcome

STARTUP_TIMEOUT_S = 15.0
log = logging.getLogger("lgp.server")


class BackgroundServer:
    """``create_app(settings, catalog=...)`` served by uvicorn on a daemon thread.

    Args:
        settings: The project's settings (auth, rate limit, CORS; host and port
            unless given here).
        catalog: The workflows to serve (by default the project's registered ones).
        host, port: Where to listen (``port=0`` picks a free one).
        on_anomaly: Hears what the anomaly detector does (``anomaly.enabled``), on the
            server's thread: a UI hands it over to its own (Textual's
            ``call_from_thread``) and shows :attr:`AnomalyEvent.line`.
        on_run_event: Hears every event of the runs this server executes (made by its
            HTTP clients), on the server's thread, as they are recorded: a UI shows
            them beside its own runs. It must not block.
    """

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        on_anomaly: Callable[[AnomalyEvent], None] | None = None,
        on_run_event: Callable[[RunEvent], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_anomaly = on_anomaly
        self.on_run_event = on_run_event
        self.catalog = catalog
        self.host = host or settings.server.host
        self.port = settings.server.port if port is None else port
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._metrics: Any = None
        #: The API key made for this start when the config asks for one (show it once).
        self.generated_key: str | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def ctx(self) -> Any:
        """The served app's :class:`~lgp_engine.server.context.ServerContext` (its
        runner and run hub) while it runs, else None."""
        return self._server.ctx if self._server is not None else None

    @property
    def url(self) -> str:
        return f"http://{display_host(self.host)}:{self.port}"

    @property
    def request_count(self) -> int:
        """HTTP requests answered so far (all routes, all statuses)."""
        if self._metrics is None:
            return 0
        return int(
            sum(
                sample.value
                for metric in self._metrics.requests.collect()
                for sample in metric.samples
                if sample.name.endswith("_total")
            )
        )

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> str:
        """Bind, start serving and return the URL once the app answers.

        Raises:
            ConfigError: the port is in use (or the address unusable), the app could
                not start, or it did not start within ``timeout`` seconds.
        """
        if self.running:
            return self.url
        import uvicorn

        from .app import create_app
        from .auth import resolve_auth
        from .serving import LgpServer, bind

        auth = resolve_auth(self.settings, self.host)
        self.generated_key = auth.generated_key
        app = create_app(auth.settings, catalog=self.catalog, on_anomaly=self.on_anomaly)
        sock = bind(self.host, self.port)  # ConfigError on a port in use, before any thread
        self.port = sock.getsockname()[1]
        self._metrics = app.state.ctx.metrics
        config = uvicorn.Config(
            app,
            log_level="critical",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            log_config=None,
        )
        self._server = LgpServer(config, app.state.ctx)
        self._error = None
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name="lgp-background-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                reason = f": {self._error}" if self._error else ""
                raise ConfigError(f"the API server did not start on {self.url}{reason}")
            time.sleep(0.01)
        if self.on_run_event is not None:
            self._follow_runs(self.on_run_event)
        return self.url

    def _follow_runs(self, listener: Callable[[RunEvent], None]) -> None:
        """Chain ``listener`` after the hub's own event hook (metrics, anomaly)."""
        hub = self._server.ctx.hub
        before = hub.on_event

        def on_event(event: RunEvent) -> None:
            if before is not None:
                before(event)
            try:
                listener(event)
            except Exception:  # a listener's bug must not fail the run
                log.exception("run event listener failed")

        hub.on_event = on_event

    def reloaded(self, outcome: ReloadOutcome, timeout: float = 10.0) -> None:
        """A hot reload made by the front end (``outcome.workflow`` loaded): serve it
        to new runs as ``lgp serve --reload`` does, its version recorded (anomaly
        detection compares versions and rolls back to the previous good one), unless
        its code is a version an anomaly rolled back from: then the restored version
        keeps serving (an ``rollback.kept`` :class:`AnomalyEvent` says so).

        Blocks up to ``timeout`` seconds (version lookups): call it off the UI thread.
        """
        from .served import served_versions

        loaded = outcome.workflow
        ctx, loop = self.ctx, self._loop
        if loaded is None or ctx is None or loop is None or loop.is_closed():
            return
        served = served_versions(ctx)
        if served is None:
            ctx.catalog.workflows[loaded.name] = loaded  # new runs only
            return
        if loaded.name not in ctx.catalog.workflows:  # first served now: a load, not a reload
            served.versions.record(loaded, "load")
            ctx.catalog.workflows[loaded.name] = loaded
            return
        reloader = served.reloader(loaded.name)
        future = asyncio.run_coroutine_threadsafe(served.reloaded(reloader, outcome), loop)
        future.result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel runs in flight (recorded as cancelled), close connections, join.

        Safe to call twice or from two threads: the second call finds nothing to stop.
        """
        with self._lock:
            thread, server, loop = self._thread, self._server, self._loop
            self._thread = self._server = self._loop = None
        if thread is None or server is None:
            return
        try:
            hub = getattr(server.ctx, "hub", None)
            if hub is not None and loop is not None and not loop.is_closed():
                future = asyncio.run_coroutine_threadsafe(hub.shutdown(), loop)
                try:
                    future.result(timeout)
                except Exception:  # noqa: BLE001 - a stuck run must not keep the port open
                    future.cancel()
        except RuntimeError:
            pass  # the loop already stopped
        finally:
            server.should_exit = True
            thread.join(timeout)

    def _serve(self, sock: Any) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._server.serve(sockets=[sock]))
        except (LGPError, Exception) as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
        except SystemExit as exc:  # uvicorn exits when its startup fails
            self._error = exc
        finally:
            sock.close()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
