"""``FakeAnthropic``: the local Anthropic-compatible server (``anthropic_server.py``)
as a real process, and its control API as methods.

    fake = FakeAnthropic.start()
    fake.script({"tool_uses": [{"name": "Write", "input": {...}}]}, {"text": "Done."})
    env = {"ANTHROPIC_BASE_URL": fake.url, "ANTHROPIC_API_KEY": "sk-ant-test", ...}
    ...
    fake.requests()  # what the clients sent, in order
    fake.stop()
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.processes import Process
from tests.servers.serving import start_server

MODULE = "tests.servers.anthropic_server"


class FakeAnthropic:
    """A running fake Anthropic server: ``url`` for ``ANTHROPIC_BASE_URL``, the rest to
    steer it."""

    def __init__(self, process: Process, url: str) -> None:
        self.process = process
        self.url = url  # http://127.0.0.1:PORT, no /v1: clients add it
        self._control = httpx.Client(base_url=f"{url}/_control", timeout=10)

    @classmethod
    def start(cls, api_key: str | None = None, timeout: float = 30) -> FakeAnthropic:
        """Start the server on a free port; return once it accepts connections."""
        args = ["--api-key", api_key] if api_key is not None else []
        process, url = start_server(MODULE, *args, timeout=timeout)
        return cls(process, url)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._control.post(path, json=body)
        if response.status_code != 200:
            raise AssertionError(f"fake Anthropic refused {path}: {response.text}")
        return response.json()

    def script(self, *items: dict[str, Any]) -> None:
        """Queue replies: ``{"text", "tool_uses": [{"name", "input", "id"}], "usage",
        "stop_reason", "delay_ms", "chunk_delay_ms", "match", "model", "barrier",
        "parties"}`` (``barrier``: answer once ``parties`` such requests are in flight)."""
        self._post("/script", {"responses": list(items)})

    def fault(self, **spec: Any) -> None:
        """Make the next ``times`` (1) matching requests fail: ``kind="status"`` (with
        ``status``, ``retry_after``, ``error_type``, ``message``), ``"stall"`` or
        ``"disconnect"``; ``match`` / ``model`` narrow it."""
        self._post("/fault", spec)

    def requests(self) -> list[dict[str, Any]]:
        response = self._control.get("/requests")
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        response = self._control.get("/pending")
        response.raise_for_status()
        result: dict[str, list[dict[str, Any]]] = response.json()
        return result

    def arrive(self, barrier: str) -> None:
        """Reach ``barrier`` from the test: a reply held there (``"barrier": barrier,
        "parties": 2``) goes."""
        self._post(f"/arrive/{barrier}", {})

    def reset(self) -> None:
        self._post("/reset", {})

    def stop(self) -> None:
        self._control.close()
        self.process.stop(timeout=10)

    def __enter__(self) -> FakeAnthropic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
