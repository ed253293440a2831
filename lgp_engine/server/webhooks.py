"""Run webhooks: the URL a run was created with (``webhook`` in the Agent Server API)
is called once the run ends, with the run, its status and its final values, as the
Agent Server calls it.

A URL is checked when the run is created (400 when it cannot or may not be called):
``http``/``https`` only,
a host the config allows (``webhooks.allowed_hosts``; with none listed, any public
host), and never a loopback, private or link-local address unless it is listed, so
a client cannot make the server call its own network. A call that fails (no
connection, a timeout, 429 or 5xx) is tried again with backoff, at most
``webhooks.max_attempts`` times; headers from the config (secrets from the
environment) go with it. The URL is logged with its query masked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import HTTPException

from ..config import WebhookSettings
from .security import redact_url

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 4096


def check_webhook(settings: WebhookSettings, url: str) -> None:
    """Refuse (400) a webhook this server may not call: without a usable host, or one
    the config does not allow (a URL that is not http(s) at all is refused by the
    API's document, 422; no DNS lookup here: a host name is checked again, resolved,
    when it is called)."""
    if len(url) > MAX_URL_LENGTH:
        raise HTTPException(400, f"webhook URL longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        hostname = None
    scheme = parts.scheme.lower() if hostname else ""
    if scheme not in ("http", "https") or not hostname:
        raise HTTPException(400, "webhook must be an absolute http(s) URL with a host")
    if settings.require_https and scheme != "https":
        raise HTTPException(400, "webhook must use https (webhooks.require_https)")
    host = hostname.lower()
    if _listed(host, settings.allowed_hosts):
        return
    if settings.allowed_hosts:
        raise HTTPException(
            400, f"webhook host {host!r} is not allowed (webhooks.allowed_hosts in the config)"
        )
    if _internal(_literal_addresses(host)):
        raise HTTPException(400, _INTERNAL.format(host=host))


_INTERNAL = (
    "webhook host {host!r} is a loopback or private address; list it in "
    "webhooks.allowed_hosts to allow it"
)


def _listed(host: str, allowed: list[str]) -> bool:
    for pattern in (p.strip().lower() for p in allowed):
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def _literal_addresses(host: str) -> set[Any]:
    """The address ``host`` names without a lookup (an IP, or localhost)."""
    if host == "localhost" or host.endswith(".localhost"):
        return {ipaddress.ip_address("127.0.0.1")}
    try:
        return {ipaddress.ip_address(host)}
    except ValueError:
        return set()


async def _resolved_addresses(host: str) -> set[Any]:
    """What ``host`` resolves to now (looked up off the event loop)."""
    found = _literal_addresses(host)
    if found:
        return found
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, None)
    except (OSError, UnicodeError, ValueError):
        return set()  # unresolvable (or not a host name at all): the call fails and says so
    return {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}


def _internal(addresses: set[Any]) -> bool:
    """Whether any address is not a public one: this machine, its network, carrier-grade
    NAT (a cloud's metadata service), multicast, reserved ranges (an IPv4-mapped IPv6
    address is judged as the IPv4 one)."""
    for a in addresses:
        address = getattr(a, "ipv4_mapped", None) or a
        if not address.is_global or address.is_multicast:
            return True
    return False


def payload(
    run: dict[str, Any], values: Any, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the webhook receives: the run (its ``status`` the final one), when it
    started and ended, when this call was made, the thread's values, its error."""
    body = {
        **run,
        "run_started_at": run.get("created_at"),
        "run_ended_at": run.get("updated_at"),
        "webhook_sent_at": datetime.now(UTC).isoformat(),
        "values": values,
    }
    if error:
        body["error"] = error
    return body


async def call(settings: WebhookSettings, url: str, body: dict[str, Any]) -> None:
    """POST ``body`` to ``url``, trying again on failures (logged, never raised)."""
    headers = {k: v.get_secret_value() for k, v in settings.headers.items()}
    shown = redact_url(url)
    host = (urlsplit(url).hostname or "").lower()  # checked when the run was created
    if not _listed(host, settings.allowed_hosts) and _internal(await _resolved_addresses(host)):
        log.warning("webhook %s not called: %s", shown, _INTERNAL.format(host=host))
        return
    async with httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False) as http:
        for attempt in range(1, settings.max_attempts + 1):
            try:
                answer = await http.post(url, json=body, headers=headers)
            except Exception as exc:  # noqa: BLE001 - logged in one line, never raised
                problem = f"{type(exc).__name__}"  # InvalidURL, a bad host name, no connection
                if not isinstance(exc, httpx.TransportError):
                    break  # the URL itself cannot be called: trying again would not help
            else:
                if answer.status_code < 400:
                    log.info("webhook %s answered %s", shown, answer.status_code)
                    return
                problem = f"HTTP {answer.status_code}"
                if answer.status_code < 500 and answer.status_code != 429:
                    break  # the receiver refused it: trying again would not help
            if attempt < settings.max_attempts:
                await asyncio.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2))
        log.warning("webhook %s failed after %d attempt(s): %s", shown, attempt, problem)
