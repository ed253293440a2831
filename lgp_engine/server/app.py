"""The FastAPI app factory: ``create_app(settings, target)``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .._version import __version__
from ..backends.signals import EventSignals
from ..config import Settings
from ..runner import Runner
from .adoption import adopting
from .auth import resolve_auth, with_worker_keys
from .catalog import Catalog, build_catalog
from .context import ServerContext
from .http_errors import ERROR_RESPONSES, PublicText, install_error_handlers
from .hub import RunHub
from .langgraph.document import describe_assistants
from .metrics import Metrics
from .openapi import install_docs
from .ratelimit import build_limiter
from .routing import MethodGuard
from .run_queue import dispatching
from .security import GuardMiddleware, install_access_log_redaction
from .served import check_anomaly_settings, served_versions, serving_versions

if TYPE_CHECKING:
    from ..events import AnomalyEvent
    from ..reload import ReloadOutcome

log = logging.getLogger("lgp.server")

#: How many worker processes serve the app, handed to each by ``lgp serve --workers N``.
WORKERS_ENV = "LGP_SERVE_WORKERS"


def create_app(
    settings: Settings,
    target: str | None = None,
    *,
    catalog: Catalog | None = None,
    reload: bool = False,
    on_reload: Callable[[ReloadOutcome], None] | None = None,
    on_anomaly: Callable[[AnomalyEvent], None] | None = None,
    workers: int = 1,
) -> FastAPI:
    """The hosted API over ``target``'s workflows (see ``lgp serve --help``).

    Workflows are loaded now (so a bad one fails before the server listens); the
    stores are opened when the app starts (its lifespan) and closed when it stops,
    after in-flight runs were cancelled and recorded as such.

    With ``reload``, each served workflow is watched while the app runs: a good
    save swaps the new version into the catalog for new runs (runs in flight
    finish on the code they started with); a broken one keeps the old version.
    ``on_reload`` hears every outcome, on the app's event loop.

    Every served version is recorded (``lgp incidents``, rollbacks); with
    ``anomaly.enabled`` the error rate of each is watched, and a version whose runs
    fail too often is rolled back (:mod:`lgp_engine.ops.anomaly`). ``on_anomaly``
    hears what the detector does (default: the ``lgp.anomaly`` log).

    ``workers`` is how many processes serve the app (``lgp serve --workers N``): with
    more than one, requests are counted for the rate limit in a store they share
    (:mod:`lgp_engine.server.ratelimit`).
    """
    check_anomaly_settings(settings)
    if not settings.server.keys and settings.server.when_no_key != "open_on_loopback":
        # keys are resolved by the front end (``resolve_auth``): a generated key is
        # theirs to show; a config that refuses to start without a key refuses here too
        settings = resolve_auth(settings, settings.server.host).settings
    ctx = ServerContext(
        settings=settings, catalog=catalog or build_catalog(settings, target), metrics=Metrics()
    )
    limiter = build_limiter(settings, workers)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # sync nodes run in the loop's default executor: give runs a pool of their own,
        # sized from config, so busy runs never starve a quick one (or the server)
        pool = ThreadPoolExecutor(settings.server.run_threads, thread_name_prefix="lgp-run")
        asyncio.get_running_loop().set_default_executor(pool)
        try:
            if limiter is not None:
                await limiter.start()  # reach a shared store before serving
            with Runner.open(settings, max_steps=settings.server.max_steps) as runner:
                ctx.runner = runner
                ctx.metrics.watch_tracing(runner.tracing)
                signals = EventSignals(
                    settings.checkpointer.postgres_dsn
                    if settings.checkpointer.backend == "postgres"
                    else None
                )
                await signals.start()
                ctx.hub = RunHub(
                    runner.runs,
                    leases=runner.leases,
                    signals=signals,
                    on_event=ctx.metrics.observe_event,
                    max_running=settings.server.max_concurrent_runs,
                )
                async with (
                    _closing(signals),
                    adopting(ctx),
                    dispatching(ctx),
                    serving_versions(ctx, on_swap=swapped, on_anomaly=on_anomaly),
                    _watching(ctx, reload, reloaded),
                ):
                    yield
                    await ctx.hub.shutdown(settings.server.shutdown_grace_s)
        finally:
            if limiter is not None:
                await limiter.aclose()
            pool.shutdown(wait=False, cancel_futures=True)

    def swapped() -> None:
        app.openapi_schema = None  # another version of a workflow serves: describe it again

    def reloaded(outcome: ReloadOutcome) -> None:
        if outcome.workflow is not None:
            app.openapi_schema = None  # its nodes are in the document: describe it again
        if on_reload is not None:
            on_reload(outcome)

    server = settings.server
    app = FastAPI(
        title="LGP Workbench API",
        version=__version__,
        lifespan=lifespan,
        description="Run LangGraph workflows over HTTP; LangGraph SDK compatible.",
        docs_url=None,
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.ctx = ctx
    ctx.public = PublicText(str(settings.project_dir))
    install_error_handlers(app, ctx.public)
    install_docs(
        app,
        secured=bool(server.keys),
        throttled=bool(server.keys) or server.rate_limit_per_minute > 0,
        extend=[functools.partial(describe_assistants, ctx)],
    )
    install_access_log_redaction(server.keys)

    from .langgraph import ROUTERS
    from .mcp_endpoint import mcp_router
    from .routes import core, incidents

    for router in (core.router, incidents.router, *ROUTERS, mcp_router(ctx)):
        app.include_router(router)

    # innermost: CORS (when on) answers preflight OPTIONS before it
    app.add_middleware(MethodGuard, document=app.openapi)
    if server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=server.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Retry-After", "Content-Location"],
            # a public page (LangGraph Studio) calling a server on this machine: the
            # browser's Private Network Access preflight, for the allowed origins only
            allow_private_network=True,
        )
    app.add_middleware(
        GuardMiddleware,
        api_keys=server.keys,
        limiter=limiter,
        auth_failures=server.auth_failures_per_minute,
        max_body=server.max_body_bytes,
        metrics=ctx.metrics,
        cors_origins=server.cors_origins,
    )
    return app


@contextlib.asynccontextmanager
async def _closing(signals: EventSignals) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await signals.close()


@contextlib.asynccontextmanager
async def _watching(
    ctx: ServerContext, enabled: bool, on_reload: Callable[[ReloadOutcome], None] | None
) -> AsyncIterator[None]:
    """Hot reload of every served workflow while the app runs (live before it serves)."""
    if not enabled:
        yield
        return
    import asyncio
    import threading

    from ..reload import WorkflowReloader

    stop = asyncio.Event()
    reloaders = [
        WorkflowReloader(wf, ctx.settings)
        for wf in ctx.catalog.workflows.values()
        if wf.source.path is not None
    ]
    live = [threading.Event() for _ in reloaders]

    async def follow(reloader: WorkflowReloader, ready: threading.Event) -> None:
        async for outcome in reloader.awatch(stop, on_ready=lambda _: ready.set()):
            served = served_versions(ctx)
            if outcome.workflow is not None and served is not None:
                # recorded, and served unless it is code an anomaly rolled back from
                await served.reloaded(reloader, outcome)
            elif outcome.workflow is not None:
                ctx.catalog.workflows[reloader.name] = outcome.workflow  # new runs only
            if on_reload is not None:
                try:
                    on_reload(outcome)
                except Exception:
                    log.exception("reload listener failed")

    tasks = [
        asyncio.create_task(follow(r, e), name=f"lgp-reload-{r.name}")
        for r, e in zip(reloaders, live, strict=True)
    ]
    ctx.extra["reloaders"] = reloaders
    deadline = asyncio.get_running_loop().time() + 10
    while not all(e.is_set() for e in live) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def app_from_env() -> FastAPI:
    """App factory for worker processes (``lgp serve --workers N``)."""
    import os

    from ..config import load_settings

    settings = with_worker_keys(load_settings(os.environ.get("LGP_ENV") or "hosted"))
    workers = int(os.environ.get(WORKERS_ENV) or 1)
    return create_app(settings, os.environ.get("LGP_SERVE_TARGET") or None, workers=workers)
