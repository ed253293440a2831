"""What every route needs, built once per app: settings, workflows, stores, hub."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from ..config import Settings
from ..runner import Runner
from .catalog import Catalog
from .hub import RunHub
from .metrics import Metrics


@dataclass
class ServerContext:
    """The server's shared state (``app.state.ctx``)."""

    settings: Settings
    catalog: Catalog
    metrics: Metrics
    runner: Runner | None = None
    hub: RunHub | None = None
    started_at: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)
    #: Rewrites text for clients (host paths made relative to the project).
    public: Callable[[str], str] = str

    def public_error(self, error: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A run's error for a client: its message without the host's paths."""
        if error is None:
            return None
        out = dict(error)
        if isinstance(out.get("message"), str):
            out["message"] = self.public(out["message"])
        return out

    @property
    def live_runner(self) -> Runner:
        assert self.runner is not None, "the app's lifespan has not started"
        return self.runner

    @property
    def live_hub(self) -> RunHub:
        assert self.hub is not None, "the app's lifespan has not started"
        return self.hub


async def get_ctx(request: Request) -> ServerContext:
    """The app's context (async: a sync dependency would cost every request a hop to a
    worker thread and back)."""
    return request.app.state.ctx


Ctx = Annotated[ServerContext, Depends(get_ctx)]
