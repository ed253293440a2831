"""Who may call the API: the keys a server accepts, decided once at start.

``server.api_keys`` lists the keys (``${LGP_API_KEY}`` typically). Without one,
``server.when_no_key`` decides: ``open_on_loopback`` serves without
authentication but only on a loopback address (the workbench on a laptop),
``generate`` makes a random key for this start, which the front end shows once,
and ``refuse`` stops. A server reachable from other machines never runs without a
key.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from ..config import Settings
from ..errors import ConfigError
from .serving import is_loopback

# The keys a supervisor hands its worker processes (``lgp serve --workers N``).
WORKER_KEYS_ENV = "LGP_SERVE_API_KEYS"


@dataclass(frozen=True)
class ServerAuth:
    """The settings to serve with (keys filled in) and the key made for this start."""

    settings: Settings
    generated_key: str | None = None

    @property
    def open(self) -> bool:
        return not self.settings.server.keys


def resolve_auth(settings: Settings, host: str) -> ServerAuth:
    """The keys to serve with on ``host``; a generated one when the config asks for it.

    Raises:
        ConfigError: no key, and the config refuses to start without one, or
            ``host`` is reachable from other machines.
    """
    server = settings.server
    if server.keys:
        return ServerAuth(settings)
    if server.when_no_key == "refuse":
        raise ConfigError(
            f"the {settings.environment} environment needs an API key",
            code="api_key_required",
            hint=f"set LGP_API_KEY, or list server.api_keys in config/{settings.environment}.yaml",
        )
    if server.when_no_key == "generate":
        key = secrets.token_urlsafe(24)
        updated = server.model_copy(update={"api_keys": [key]})
        return ServerAuth(settings.model_copy(update={"server": updated}), key)
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without an API key: anyone who can reach it "
            "could run and read your workflows",
            field="host",
            code="api_key_required",
            hint="set LGP_API_KEY and list it in server.api_keys, or listen on 127.0.0.1",
        )
    return ServerAuth(settings)


def with_worker_keys(settings: Settings) -> Settings:
    """In a worker process: the keys its supervisor resolved (a generated key too)."""
    raw = os.environ.get(WORKER_KEYS_ENV)
    if not raw:
        return settings
    keys = [k for k in raw.split("\n") if k]
    updated = settings.server.model_copy(update={"api_keys": keys})
    return settings.model_copy(update={"server": updated})
