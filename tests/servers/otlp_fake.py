"""``FakeLangfuse``: the local trace receiver (``otlp_receiver.py``) as a real process,
and its control API as methods.

    fake = FakeLangfuse.start()
    tracer = LangfuseTracer(settings_for(fake), ...)  # base_url=fake.url, fake's keys
    ...
    fake.spans()  # what the SDK exported, decoded
    fake.mode("hang")  # accept exports and never answer
    fake.stop()

The tracing tests take the ``fake_langfuse`` fixture (tests/tracing/test_langfuse.py):
one process per module, reset before each test.
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from tests.processes import Process, wait_until
from tests.servers.serving import start_server

MODULE = "tests.servers.otlp_receiver"
PUBLIC_KEY = "pk-lf-test-public"
SECRET_KEY = "sk-lf-test-secret-4f1d9c"  # must never appear in what is sent


class FakeLangfuse:
    """A running receiver: ``url`` as the Langfuse base URL, the rest to read and steer it."""

    def __init__(self, process: Process, url: str, public_key: str, secret_key: str) -> None:
        self.process = process
        self.url = url  # http://127.0.0.1:PORT
        self.public_key = public_key
        self.secret_key = secret_key
        self._control = httpx.Client(base_url=f"{url}/_control", timeout=10)

    @classmethod
    def start(
        cls, public_key: str = PUBLIC_KEY, secret_key: str = SECRET_KEY, timeout: float = 30
    ) -> FakeLangfuse:
        """Start the receiver on a free port; return once it accepts connections."""
        process, url = start_server(
            MODULE, "--public-key", public_key, "--secret-key", secret_key, timeout=timeout
        )
        return cls(process, url, public_key, secret_key)

    def _get(self, path: str) -> Any:
        response = self._control.get(path)
        response.raise_for_status()
        return response.json()

    def spans(self) -> list[dict[str, Any]]:
        """Every span received with good keys, in order (see the receiver's docstring)."""
        result: list[dict[str, Any]] = self._get("/spans")
        return result

    def requests(self) -> list[dict[str, Any]]:
        """Every export request, with how it was answered (``status`` null: held)."""
        result: list[dict[str, Any]] = self._get("/requests")
        return result

    def raw(self) -> bytes:
        """Every request body, as sent and decoded."""
        response = self._control.get("/raw")
        response.raise_for_status()
        return response.content

    def mode(self, mode: str, status: int | None = None) -> None:
        """``normal``, ``hang`` (accept, never answer) or ``status`` (answer ``status``)."""
        response = self._control.post("/mode", json={"mode": mode, "status": status})
        if response.status_code != 200:
            raise AssertionError(f"the receiver refused mode {mode}: {response.text}")

    def wait_for_requests(self, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        """The requests, once at least ``count`` have arrived."""
        result: list[dict[str, Any]] = wait_until(
            lambda: (got := self.requests()) and len(got) >= count and got,
            timeout,
            what=f"{count} export request(s)",
        )
        return result

    def reset(self) -> None:
        """Forget spans, requests and bodies; back to ``normal``."""
        self._control.post("/reset").raise_for_status()

    def stop(self) -> None:
        """Answer held requests, terminate the process and wait for it (killed if it
        does not end in time)."""
        with contextlib.suppress(httpx.HTTPError):
            self.reset()
        self._control.close()
        self.process.stop(timeout=10)

    def __enter__(self) -> FakeLangfuse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
