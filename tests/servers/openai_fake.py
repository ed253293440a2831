"""``FakeOpenAI``: the local OpenAI-compatible server (``openai_server.py``) as a real
process, and its control API as methods.

    fake = FakeOpenAI.start(api_key="sk-test")
    fake.script({"content": "Hello there", "usage": {"prompt_tokens": 5}})
    fake.fault(kind="status", status=429, retry_after=1)
    client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test")
    ...
    fake.requests()  # what the clients sent, in order
    fake.stop()

Tests use the ``fake_openai`` fixture (tests/conftest.py): one process per xdist
worker, reset before each test.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.processes import Process
from tests.servers.serving import start_server

MODULE = "tests.servers.openai_server"


class FakeOpenAI:
    """A running fake OpenAI server: ``base_url`` for clients, the rest to steer it."""

    def __init__(self, process: Process, url: str, api_key: str | None) -> None:
        self.process = process
        self.url = url  # http://127.0.0.1:PORT
        self.base_url = f"{url}/v1"  # what clients take as base_url
        self.api_key = api_key
        self._control = httpx.Client(base_url=f"{url}/_control", timeout=10)

    @classmethod
    def start(
        cls, api_key: str | None = None, delay_ms: int = 0, timeout: float = 30
    ) -> FakeOpenAI:
        """Start the server on a free port; return once it accepts connections."""
        args = ["--delay-ms", str(delay_ms)]
        if api_key is not None:
            args += ["--api-key", api_key]
        process, url = start_server(MODULE, *args, timeout=timeout)
        return cls(process, url, api_key)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._control.post(path, json=body)
        if response.status_code != 200:
            raise AssertionError(f"fake OpenAI refused {path}: {response.text}")
        return response.json()

    def script(self, *items: dict[str, Any]) -> None:
        """Queue replies: ``{"content", "tool_calls": [{"name", "arguments"}], "usage":
        {"prompt_tokens", "completion_tokens", "cached_tokens"}, "delay_ms",
        "chunk_delay_ms", "match", "model"}`` (every key optional)."""
        self._post("/script", {"responses": list(items)})

    def fault(self, **spec: Any) -> None:
        """Make the next ``times`` (1) matching requests fail: ``kind="status"`` (with
        ``status``, ``retry_after``, ``code``, ``message``), ``"stall"``,
        ``"malformed_json"`` or ``"disconnect"``; ``match`` / ``model`` narrow it."""
        self._post("/fault", spec)

    def requests(self) -> list[dict[str, Any]]:
        """Every chat request received since the last reset, in order."""
        response = self._control.get("/requests")
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        """What is still queued: ``{"responses": [...], "faults": [...]}``."""
        response = self._control.get("/pending")
        response.raise_for_status()
        result: dict[str, list[dict[str, Any]]] = response.json()
        return result

    def reset(self) -> None:
        """Forget the queue, the faults and the request log."""
        self._post("/reset", {})

    def stop(self) -> None:
        """Terminate the process and wait for it (killed if it does not end in time)."""
        self._control.close()
        self.process.stop(timeout=10)

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
