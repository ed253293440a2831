"""BackgroundServer: the hosted API on a thread (what the workbench's toggle uses)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lgp_engine import ConfigError, load_settings
from lgp_engine.server.background import BackgroundServer
from tests.processes import wait_until


def test_serves_runs_counts_requests_and_stops(project: Path) -> None:
    settings = load_settings(project_dir=project)
    server = BackgroundServer(settings, port=0)
    url = server.start()
    try:
        assert server.running and url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        body = {"input": {"input": "from the background"}, "thread_id": "bg1"}
        reply = httpx.post(f"{url}/workflows/basic_workflow/invoke", json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        # counted once the response is sent
        wait_until(lambda: server.request_count >= 2, 5, "both requests counted")
        assert server.request_count == 2
        with pytest.raises(ConfigError, match="already in use"):
            BackgroundServer(settings, port=server.port).start()
        assert server.running  # the failed second server did not disturb the first
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)
    server.stop()  # idempotent
