"""Which version of each workflow the server serves, and anomaly detection over them.

:class:`ServedVersions` records every version the server serves (on load, on a hot
reload, on a rollback; :mod:`lgp_engine.ops.versions`), serves an earlier version
from its recorded snapshot when the anomaly monitor rolls back (the files on disk
are left alone), and keeps a rollback when a hot reload finds the very code that was
rolled back from. :func:`serving_versions` opens it for the app's lifespan, with the
:class:`~lgp_engine.ops.anomaly.AnomalyMonitor` when ``anomaly.enabled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import ConfigError, WorkflowLoadError
from ..events import AnomalyEvent, RunEvent
from ..ops.incidents import IncidentStore
from ..ops.versions import VersionStore, code_version

if TYPE_CHECKING:
    from ..loader import LoadedWorkflow
    from ..ops.anomaly import AnomalyMonitor
    from ..reload import ReloadOutcome, WorkflowReloader
    from .context import ServerContext

log = logging.getLogger("lgp.anomaly")

#: ``ServerContext.extra`` key of the app's :class:`ServedVersions`.
EXTRA_KEY = "served"


def check_anomaly_settings(settings: Settings) -> None:
    """:class:`ConfigError` when ``anomaly.alert_webhook`` may not be called (the
    checks of run webhooks: http(s), an allowed host, no private address unless
    listed in ``webhooks.allowed_hosts``)."""
    url = settings.anomaly.alert_webhook
    if not url:
        return
    from fastapi import HTTPException

    from .webhooks import check_webhook

    try:
        check_webhook(settings.webhooks, url)
    except HTTPException as exc:
        raise ConfigError(f"anomaly.alert_webhook: {exc.detail}") from None


class ServedVersions:
    """The served versions of the app's workflows (the anomaly monitor's
    :class:`~lgp_engine.ops.anomaly.Serving`).

    Args:
        ctx: The server's context (its catalog is what is served).
        versions: The project's recorded versions.
        incidents: The project's incidents.
        on_swap: Called after another version of a workflow is put in the catalog.
    """

    def __init__(
        self,
        ctx: ServerContext,
        versions: VersionStore,
        incidents: IncidentStore,
        *,
        on_swap: Callable[[], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.versions = versions
        self.incidents = incidents
        self.on_swap = on_swap
        self.monitor: AnomalyMonitor | None = None
        self._reloaders: dict[str, WorkflowReloader] = {}
        self._listeners: list[Callable[[AnomalyEvent], None]] = []

    # -- events --------------------------------------------------------------------
    def subscribe(self, listener: Callable[[AnomalyEvent], None]) -> None:
        """Hear every :class:`AnomalyEvent` of the app (on its event loop)."""
        self._listeners.append(listener)

    def publish(self, event: AnomalyEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("anomaly listener failed")

    # -- Serving -------------------------------------------------------------------
    def workflows(self) -> list[str]:
        return self.ctx.catalog.names()

    def served_version(self, workflow: str) -> str | None:
        loaded = self.ctx.catalog.workflows.get(workflow)
        return loaded.version if loaded is not None else None

    def workflow_files(self, workflow: str) -> list[str]:
        from ..reload import local_module_files

        loaded = self.ctx.catalog.workflows.get(workflow)
        if loaded is None:
            return []
        return [_shown(p, self.ctx.settings.project_dir) for p in local_module_files(loaded)]

    async def roll_back(self, workflow: str, version: str) -> None:
        """Serve ``version`` of ``workflow`` to new runs, loaded from its snapshot."""
        snapshot = await asyncio.to_thread(self.versions.snapshot, workflow, version)
        if not snapshot:
            raise WorkflowLoadError(f"no sources of version {version} of {workflow} are recorded")
        reloader = self.reloader(workflow)
        outcome = await asyncio.to_thread(reloader.reload_now, sources=snapshot)
        if outcome.workflow is None:
            raise outcome.error or WorkflowLoadError(
                f"version {version} of {workflow} did not load"
            )
        recorded = await asyncio.to_thread(self.versions.record, outcome.workflow, "rollback")
        if recorded.version != version:
            log.warning(
                "%s: version %s loaded from its snapshot hashes as %s (a module outside "
                "the snapshot changed?)",
                workflow,
                version,
                recorded.version,
            )
        self._serve(workflow, outcome.workflow)

    # -- loads ---------------------------------------------------------------------
    def record_all(self) -> None:
        """Record the version of every workflow the app serves (at start)."""
        for loaded in self.ctx.catalog.workflows.values():
            try:
                self.versions.record(loaded, "load")
            except Exception:
                log.exception("cannot record the version of %s", loaded.name)

    async def reloaded(self, reloader: WorkflowReloader, outcome: ReloadOutcome) -> None:
        """A hot reload loaded ``outcome.workflow``: record it and serve it, unless its
        code is a version an anomaly rolled back from; then the version it was rolled
        back to keeps serving (loaded again from its snapshot)."""
        loaded = outcome.workflow
        assert loaded is not None
        self._reloaders[reloader.name] = reloader
        name = reloader.name
        try:
            code = await asyncio.to_thread(code_version, loaded)
            bad = (await asyncio.to_thread(self.versions.bad, name)).get(code.version)
        except Exception:
            log.exception("cannot look up the version of %s", name)
            self._serve(name, loaded)
            return
        if bad is not None and bad.replaced_by:
            try:
                await self.roll_back(name, bad.replaced_by)
            except Exception as exc:  # noqa: BLE001 - say it; the previous object serves on
                log.warning("%s: cannot keep the rollback to %s: %s", name, bad.replaced_by, exc)
                return
            self.publish(
                AnomalyEvent(
                    "rollback.kept",
                    name,
                    bad.incident_id,
                    {"version": code.version, "restored": bad.replaced_by},
                )
            )
            return
        try:
            await asyncio.to_thread(self.versions.record, loaded, "reload")
        except Exception:
            log.exception("cannot record the version of %s", name)
        self._serve(name, loaded)

    def reloader(self, workflow: str) -> WorkflowReloader:
        """The reloader of ``workflow``: hot reload's own, else one made for it."""
        found = self._reloaders.get(workflow)
        if found is None:
            for reloader in self.ctx.extra.get("reloaders") or ():
                if reloader.name == workflow:
                    found = reloader
            if found is None:
                from ..reload import WorkflowReloader

                found = WorkflowReloader(self.ctx.catalog.get(workflow), self.ctx.settings)
            self._reloaders[workflow] = found
        return found

    def _serve(self, workflow: str, loaded: LoadedWorkflow) -> None:
        self.ctx.catalog.workflows[workflow] = loaded  # new runs only
        if self.on_swap is not None:
            self.on_swap()


def served_versions(ctx: ServerContext) -> ServedVersions | None:
    """The app's :class:`ServedVersions` while it runs."""
    return ctx.extra.get(EXTRA_KEY)


@contextlib.asynccontextmanager
async def serving_versions(
    ctx: ServerContext,
    *,
    on_swap: Callable[[], None] | None = None,
    on_anomaly: Callable[[AnomalyEvent], None] | None = None,
) -> AsyncIterator[ServedVersions]:
    """Record the served versions and (``anomaly.enabled``) watch their error rates,
    for the app's lifespan (after its runner and hub exist). ``on_anomaly`` hears
    every :class:`AnomalyEvent`; without it they go to the ``lgp.anomaly`` log
    (``anomaly.alert_log: false`` silences both)."""
    settings = ctx.settings
    runner = ctx.live_runner
    versions = await asyncio.to_thread(VersionStore.open, settings, runner.store.db_path)
    try:
        incidents = IncidentStore(versions.db)
        served = ServedVersions(ctx, versions, incidents, on_swap=on_swap)
        await asyncio.to_thread(served.record_all)
        if settings.anomaly.alert_log:
            served.subscribe(on_anomaly or _log_event)
        ctx.extra[EXTRA_KEY] = served
        task = None
        if settings.anomaly.enabled:
            monitor = _monitor(ctx, served)
            task = asyncio.create_task(monitor.run(), name="lgp-anomaly")
        try:
            yield served
        finally:
            ctx.extra.pop(EXTRA_KEY, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if served.monitor is not None:
                await served.monitor.close()
    finally:
        versions.close()


def _monitor(ctx: ServerContext, served: ServedVersions) -> AnomalyMonitor:
    from ..ops.anomaly import AnomalyMonitor

    settings = ctx.settings
    url = settings.anomaly.alert_webhook

    async def alert(body: dict[str, Any]) -> None:
        from .webhooks import call

        assert url is not None
        await call(settings.webhooks, url, body)

    monitor = AnomalyMonitor(
        settings.anomaly,
        served.versions,
        served.incidents,
        served,
        alert=alert if url else None,
    )
    monitor.subscribe(served.publish)
    served.monitor = monitor
    hub = ctx.live_hub
    before = hub.on_event

    def observe(event: RunEvent) -> None:
        if before is not None:
            before(event)
        monitor.observe(event)

    hub.on_event = observe
    return monitor


def _log_event(event: AnomalyEvent) -> None:
    level = (
        logging.INFO if event.type in ("incident.resolved", "rollback.kept") else logging.WARNING
    )
    log.log(level, "%s: %s", event.workflow, event.line)


def _shown(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root) if path.is_relative_to(root) else str(path)
    except ValueError:
        return str(path)
