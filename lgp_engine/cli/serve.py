"""``lgp serve``: the hosted HTTP API."""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import TYPE_CHECKING

import click

from .common import common_options, handle_errors, setup
from .console import PREFIX

if TYPE_CHECKING:
    from ..events import AnomalyEvent
    from ..reload import ReloadOutcome
    from ..server.auth import ServerAuth


@click.command()
@click.argument("target", required=False, metavar="[WORKFLOW|DIR|langgraph.json]")
@click.option("--host", default=None, help="Interface to listen on (config: server.host).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port, 0-65535 (config: server.port; 0 = any free port).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes sharing the same port and stores.",
)
@click.option(
    "--reload",
    "reload",
    is_flag=True,
    help="Hot reload: new runs use the code of the last good save; runs in "
    "flight finish on the code they started with.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="uvicorn's log level (access lines at info; keys in URLs are masked).",
)
@common_options(default_env="hosted")
@handle_errors
def serve(
    target: str | None,
    host: str | None,
    port: int | None,
    workers: int,
    reload: bool,
    log_level: str,
    env: str | None,
    verbose: bool,
) -> None:
    """Serve workflows over HTTP: the LGP API and the LangGraph SDK API.

    TARGET is a workflow file, a folder of them, or a langgraph.json; by default
    the workflows registered in workflows/config.yaml. Settings (API keys, rate
    limit, CORS) come from config/<env>.yaml; the environment is `hosted` unless
    --env or $LGP_ENV names another.

    \b
    Examples:
      lgp serve                              # registered workflows, config/hosted.yaml
      lgp serve workflows/basic_workflow.py --port 8123
      curl localhost:8123/health
      curl -X POST localhost:8123/workflows/basic_workflow/invoke \\
           -H 'Authorization: Bearer KEY' -H 'content-type: application/json' \\
           -d '{"input": {"input": "hi"}}'

    \b
    API keys: requests need `Authorization: Bearer KEY` (or `x-api-key: KEY`)
    once server.api_keys holds one. The hosted config reads it from
    $LGP_API_KEY; when that is unset, a key is made at start and printed once
    (with a curl line to try it). Without any key the server only listens on
    127.0.0.1; production refuses to start without one.

    With --reload, saving a served workflow, a local module it imports or the
    config reloads it for new runs (a broken save is reported and the previous
    version keeps serving); runs already in flight finish on their own code.

    With anomaly.enabled in the config, each workflow version's error rate is
    watched; a version whose runs fail too often is rolled back to the previous
    good one (the file is left alone) and the incident recorded (`lgp incidents`).

    Stops cleanly on Ctrl+C or SIGTERM: runs of the LangGraph API in flight get
    server.shutdown_grace_s to end, then go on from their last checkpoint in another
    replica (or this server, started again); runs of the native API are cancelled
    and recorded as cancelled (resume them later).
    """
    t0 = time.perf_counter()
    from ..server import serving

    serving.limit_malloc_arenas()
    settings = setup(env or os.environ.get("LGP_ENV") or "hosted", verbose)
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    if reload and workers > 1:
        from ..errors import ConfigError

        raise ConfigError("--reload works with one worker", hint="drop --workers or --reload")
    import uvicorn

    from ..runner import Runner
    from ..server.app import WORKERS_ENV, create_app
    from ..server.auth import WORKER_KEYS_ENV, resolve_auth

    auth = resolve_auth(settings, host)  # before anything is loaded or bound
    console = _ServerConsole()
    settings = auth.settings
    click.echo(f"{PREFIX} Environment: {settings.environment}")

    def warn(message: str) -> None:
        click.echo(f"{PREFIX} ⚠ {message}", err=True)

    # a bad store path is one line and exit 2, not a traceback; tracing problems show here
    with Runner.open(settings, warn=warn) as runner:
        if "langfuse" in runner.tracing.names:
            click.echo(f"{PREFIX} Observability: Langfuse enabled")
    app = create_app(
        settings,
        target,
        reload=reload,  # loads the workflows: errors here
        on_reload=console.reload if reload else None,
        on_anomaly=console.anomaly,
        workers=workers,
    )
    names = app.state.ctx.catalog.names()
    click.echo(f"{PREFIX} Workflows: {', '.join(names)}")
    for name, reason in app.state.ctx.catalog.skipped.items():
        click.echo(f"{PREFIX} ⚠ Skipped {name}: {reason}", err=True)
    if reload:
        click.echo(f"{PREFIX} Hot reload: ON (new runs get the new code)")
    anomaly = settings.anomaly
    if anomaly.enabled:
        action = "rollback" if anomaly.rollback else "alert only"
        click.echo(
            f"{PREFIX} Anomaly detection: ON (error rate > {anomaly.threshold * 100:g}% over "
            f"{anomaly.window_s:g}s, at least {anomaly.min_runs} runs: {action}; "
            "`lgp incidents` lists incidents)"
        )
    sock = serving.bind(host, port)
    url = f"http://{serving.display_host(host)}:{sock.getsockname()[1]}"
    _print_auth(auth, url, workers)
    click.echo(f"{PREFIX} Server: {url}")
    if workers > 1:
        click.echo(f"{PREFIX} ✅ Ready ({workers} workers)")
        sys.stdout.flush()
        serving.serve_workers(
            sock,
            workers=workers,
            log_level=log_level,
            environ={
                "LGP_SERVE_TARGET": target or "",
                "LGP_ENV": settings.environment,
                WORKER_KEYS_ENV: "\n".join(settings.server.keys),
                WORKERS_ENV: str(workers),
            },
        )
        click.echo(f"{PREFIX} Stopped")
        return
    config = uvicorn.Config(
        app,
        log_level=log_level,
        timeout_graceful_shutdown=5,
        lifespan="on",
        access_log=log_level in ("debug", "info"),
    )
    server = serving.LgpServer(config, app.state.ctx)
    original_startup = server.startup

    async def startup(sockets: list[object] | None = None) -> None:
        await original_startup(sockets=sockets)  # type: ignore[arg-type]
        if server.started:
            click.echo(f"{PREFIX} ✅ Ready ({time.perf_counter() - t0:.2f}s)")
            sys.stdout.flush()

    server.startup = startup  # type: ignore[method-assign,assignment]
    loop = serving.new_loop()
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


def _print_auth(auth: ServerAuth, url: str, workers: int) -> None:
    """Say how to authenticate; a generated key is shown here, once, and nowhere else."""
    from ..server.ratelimit import describe

    server = auth.settings.server
    limit = (
        f"{server.rate_limit_per_minute}/min per key, {describe(auth.settings, workers)}"
        if server.rate_limit_per_minute
        else "off"
    )
    if auth.generated_key is not None:
        key = auth.generated_key
        click.echo(f"{PREFIX} Auth: API key for this start (set LGP_API_KEY to choose your own):")
        click.echo(f"{PREFIX}     {key}")
        header = shlex.quote(f"Authorization: Bearer {key}")
        click.echo(f"{PREFIX}     curl -H {header} {url}/workflows")
    elif auth.open:
        click.echo(f"{PREFIX} Auth: off (no API key; listening on this machine only)")
    else:
        click.echo(f"{PREFIX} Auth: {len(server.keys)} API key(s)")
    click.echo(f"{PREFIX} Rate limit: {limit}")


class _ServerConsole:
    """Prints reloads (``--reload``) and what the anomaly detector does, in the
    ``[lgp]`` style. A reload of code an anomaly rolled back from is said as such
    (the server hears it before the reload's own lines): not "Serving the new"."""

    def __init__(self) -> None:
        from .console import RunPrinter

        self.printer = RunPrinter()
        self._kept: dict[str, AnomalyEvent] = {}

    def reload(self, outcome: ReloadOutcome) -> None:
        from .common import relpath

        self.printer.reload(outcome, relpath)
        kept = self._kept.pop(outcome.workflow_name, None)
        if kept is not None:
            self.printer.line(kept.line)
        elif outcome.ok:
            self.printer.line(f"Serving the new {outcome.workflow_name} to new runs")

    def anomaly(self, event: AnomalyEvent) -> None:
        if event.type == "rollback.kept":
            self._kept[event.workflow] = event  # said with the reload's lines
            return
        click.echo(f"{PREFIX} {event.line}")
        sys.stdout.flush()


COMMANDS = [serve]
