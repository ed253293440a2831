"""The hosted API from the workbench: toggle it, reach it over HTTP, stop it, port clashes."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from lgp_engine import Settings, load_settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.status.status_bar import StatusBar

from .conftest import SIZE, fill, log_text, notified, wait_until


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
            await wait_until(pilot, lambda: bar.server == "off (not started)", what="the error")
            shown = await notified(pilot, lambda n: n.title == "Server not started")
            errors = [n.message for n in shown]
            assert errors and "already in use" in errors[0]
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


@pytest.mark.asyncio
async def test_a_generated_key_is_shown_once_and_written_nowhere(
    tui_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LGP_API_KEY", raising=False)  # hosted then makes a key per start
    hosted = load_settings("hosted", project_dir=tui_project)
    port = free_port()
    app = WorkbenchApp(hosted, serve=True, port=port)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.server.startswith("http://"), what="server on")
        assert app.server is not None
        key = app.server.generated_key
        assert key
        shown = await notified(pilot, lambda n: key in n.message, what="the key")
        assert len(shown) == 1 and shown[0].title == "API key for this server"
        url = f"http://127.0.0.1:{port}"
        curl = f"curl -H 'Authorization: Bearer {key}' {url}/workflows"
        assert shown[0].message.splitlines()[-1] == curl
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            assert (await client.get("/workflows")).status_code == 401
            reply = await client.get("/workflows", headers={"Authorization": f"Bearer {key}"})
            assert reply.status_code == 200, reply.text
            invoked = await client.post(
                "/workflows/basic_workflow/invoke",
                json={"input": {"input": "with the key"}},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert invoked.status_code == 200, invoked.text
        assert key not in bar.server and key not in log_text(app)
    written = [
        path
        for path in tui_project.rglob("*")
        if path.is_file() and key.encode() in path.read_bytes()
    ]
    assert written == []  # not in the stores, the traces, the workbench's memory


@pytest.mark.asyncio
async def test_a_public_host_without_a_key_is_refused_in_place(tui_project: Path) -> None:
    config = tui_project / "config" / "experiment.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "server:\n  host: 0.0.0.0\n", encoding="utf-8"
    )
    settings = load_settings("experiment", project_dir=tui_project)
    app = WorkbenchApp(settings, port=free_port())
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        bar = app.query_one(StatusBar)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bar.server.startswith("off ("), what="the refusal")
        assert bar.server == "off (not started)"  # short: every field stays on the bar
        assert "env experiment" in bar.render().plain and "checkpoints" in bar.render().plain
        assert app.server is None
        errors = await notified(pilot, lambda n: n.title == "Server not started")
        assert len(errors) == 1 and errors[0].severity == "error"
        assert "refusing to serve on 0.0.0.0 without an API key" in errors[0].message
        assert "set LGP_API_KEY" in errors[0].message  # the hint says what to do
        await pilot.press("ctrl+r")  # the workbench goes on
        await wait_until(pilot, lambda: bar.status == "completed", what="a run")


async def port_dialog_ready(pilot: Pilot, app: WorkbenchApp) -> Input:
    """Wait until the port dialog is up with its field focused; the field."""
    from lgp_tui.screens.port_dialog import PortDialog

    def ready() -> bool:
        screen = app.screen
        return isinstance(screen, PortDialog) and bool(
            screen.query("#port-input") and screen.query_one("#port-input").has_focus
        )

    await wait_until(pilot, ready, what="the port dialog")
    return app.screen.query_one("#port-input", Input)


def server_errors(app: WorkbenchApp) -> list[str]:
    return [str(n.message) for n in app._notifications if n.title == "Server not started"]


@pytest.mark.asyncio
async def test_a_port_in_use_is_changed_from_the_palette_without_a_restart(
    settings: Settings,
) -> None:
    """Issue 16: the port could only be changed by restarting the app."""
    from lgp_tui.screens.port_dialog import PortDialog

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        app = WorkbenchApp(settings, port=busy)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.ready)
            bar = app.query_one(StatusBar)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: bar.server == "off (not started)", what="the error")
            assert "already in use" in server_errors(app)[0]
            assert "Serve on another port" in server_errors(app)[0]  # says what to do

            await pilot.press("ctrl+p")  # from the command palette
            await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*"another port", "enter")
            field = await port_dialog_ready(pilot, app)
            dialog = app.screen
            assert field.value == str(busy)  # prefilled with the port that was asked
            error = dialog.query_one("#port-error", Static)
            serve = dialog.query_one("#port-serve", Button)

            for text, reason in (
                ("70000", "70000 is out of range: enter a port between 1 and 65535"),
                ("0", "0 is out of range"),
                ("80a", "'80a' is not a whole number"),
                ("", "enter a port between 1 and 65535"),
            ):
                await fill(pilot, field, text)
                assert reason in str(error.render()), (text, str(error.render()))
                assert serve.disabled and dialog.has_class("-invalid")
            await pilot.press("enter")  # refused, and said
            assert isinstance(app.screen, PortDialog)
            await notified(pilot, lambda n: "Not served: enter a port" in str(n.message))

            # the same busy port: the same clear notification, the app goes on
            await fill(pilot, field, str(busy))
            assert not serve.disabled and str(error.render()) == ""
            await pilot.press("enter")
            await wait_until(pilot, lambda: len(server_errors(app)) == 2, what="the 2nd error")
            assert f"cannot listen on 127.0.0.1:{busy}: already in use" in server_errors(app)[1]
            assert bar.server == "off (not started)" and app.server is None

            # a free port: served there, without restarting the app
            port = free_port()
            app.action_serve_on_port()
            field = await port_dialog_ready(pilot, app)
            assert field.value == str(busy)  # the port last asked for
            await fill(pilot, field, str(port))
            await pilot.press("enter")
            url = f"http://127.0.0.1:{port}"
            await wait_until(pilot, lambda: bar.server.startswith(url), what="the server on")
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                health = await client.get("/health")
            assert health.status_code == 200 and "basic_workflow" in health.json()["workflows"]
            await notified(pilot, lambda n: f"at {url}" in str(n.message))
        with pytest.raises(httpx.ConnectError):  # quitting stopped it
            httpx.get(f"{url}/health", timeout=2)


@pytest.mark.asyncio
async def test_a_running_server_moves_to_another_port(settings: Settings) -> None:
    first, second = free_port(), free_port()
    while second == first:
        second = free_port()
    app = WorkbenchApp(settings, serve=True, port=first)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.server.startswith("http://"), what="server on")
        app.action_serve_on_port()
        field = await port_dialog_ready(pilot, app)
        assert field.value == str(first)
        note = str(app.screen.query_one("#port-note", Static).render())
        assert f"Serving at http://127.0.0.1:{first}" in note

        await fill(pilot, field, str(first))  # where it already is: nothing to do
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: any("Already serving" in str(n.message) for n in app._notifications)
        )
        assert app.server is not None and app.server.port == first

        app.action_serve_on_port()
        field = await port_dialog_ready(pilot, app)
        await fill(pilot, field, str(second))
        await pilot.press("enter")
        url = f"http://127.0.0.1:{second}"
        await wait_until(pilot, lambda: bar.server.startswith(url), what="the server moved")
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        with pytest.raises(httpx.ConnectError):  # no longer on the first port
            httpx.get(f"http://127.0.0.1:{first}/health", timeout=2)

        await pilot.press("ctrl+s")  # the toggle goes on with the new port
        await wait_until(pilot, lambda: bar.server == "off", what="server off")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bar.server.startswith(url), what="on again, there")
