"""The hosted API from the workbench: toggle it, reach it over HTTP, stop it, port clashes."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from lgp_engine import Settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.status.status_bar import StatusBar

from .conftest import SIZE, wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.asyncio
async def test_toggle_server_serves_health_counts_requests_and_stops(settings: Settings) -> None:
    port = free_port()
    app = WorkbenchApp(settings, port=port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        bar = app.query_one(StatusBar)
        assert bar.server == "off"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bar.server.startswith("http://"), what="server on")
        url = f"http://127.0.0.1:{port}"
        assert bar.server.startswith(url)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            health = await client.get("/health")
            assert health.status_code == 200
            assert "basic_workflow" in health.json()["workflows"]
            reply = await client.post(
                "/workflows/basic_workflow/invoke", json={"input": {"input": "over http"}}
            )
            assert reply.status_code == 200, reply.text
        await wait_until(pilot, lambda: "2 requests" in bar.server, what="the request count")

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bar.server == "off", what="server off")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", timeout=2)


@pytest.mark.asyncio
async def test_serve_flag_starts_it_and_quitting_stops_it(settings: Settings) -> None:
    port = free_port()
    app = WorkbenchApp(settings, serve=True, port=port)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.server.startswith("http://"), what="server on")
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    with pytest.raises(httpx.ConnectError):  # quit stopped it
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


@pytest.mark.asyncio
async def test_port_in_use_is_shown_in_place_and_the_app_keeps_working(
    settings: Settings,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = WorkbenchApp(settings, port=port)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.ready)
            bar = app.query_one(StatusBar)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: "already in use" in bar.server, what="the error")
            assert bar.server.startswith("off")
            assert app.server is None
            await pilot.press("ctrl+r")  # still usable
            await wait_until(pilot, lambda: bar.status == "completed", what="a run")


@pytest.mark.asyncio
async def test_serve_flag_serves_the_open_workflow_without_a_registry(
    settings: Settings, tui_project: Path
) -> None:
    (tui_project / "workflows" / "config.yaml").unlink()  # a plain folder of workflows
    port = free_port()
    app = WorkbenchApp(settings, target="workflows/approval_workflow.py", serve=True, port=port)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.server.startswith("http://"), what="server on")
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert health.json()["workflows"] == ["approval_workflow"]
