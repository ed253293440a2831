"""The path-rule projects (issue 14, acceptance 1) through ``lgp serve`` with the
official ``langgraph_sdk`` and in the workbench (Pilot): the same final states as
``lgp run`` and LangGraph alone give in ``test_path_rules.py``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client
from textual.widgets import Input

from lgp_engine import Settings, load_settings, open_checkpoints, state_at
from lgp_tui.app import WorkbenchApp
from tests.projects import copy_project
from tests.projects.test_path_rules import QUOTE_INPUT, QUOTE_OUTPUT, SUPPORT_INPUT
from tests.server.server_process import ServerProcess
from tests.tui.conftest import SIZE, fill, status, wait_until

pytestmark = pytest.mark.xdist_group("path_projects")  # one worker: one set of servers

WEATHER_INPUT = {"city": "Oslo"}
# (project folder, working directory inside it, langgraph.json from there, graph, input)
CASES = [
    ("monorepo", ".", "apps/agent/langgraph.json", "quote", QUOTE_INPUT),
    ("same_name", ".", "langgraph.json", "weather", WEATHER_INPUT),
    ("cwd_relative", ".", "deploy/langgraph.json", "support", SUPPORT_INPUT),
]


def expected(graph: str, output: dict[str, Any]) -> None:
    """What LangGraph alone gives (checked against it in test_path_rules.py)."""
    if graph == "quote":
        assert output == QUOTE_OUTPUT
    elif graph == "weather":
        assert output["report"] == "Oslo: -3.0 °C (26.6 °F)"
    else:
        assert output["answer"] == "Refunds take 5 business days. (the support desk)"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("projects")
    return {name: copy_project(name, base) for name, *_ in CASES}


@pytest.fixture(scope="module")
def servers(projects: dict[str, Path]) -> Iterator[dict[str, ServerProcess]]:
    """One ``lgp serve`` per project, started together, each in its working directory."""
    started = {
        name: ServerProcess(projects[name] / cwd, config).launch()
        for name, cwd, config, _graph, _payload in CASES
    }
    try:
        for server in started.values():
            server.wait_ready(60)
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.mark.parametrize(("name", "cwd", "config", "graph", "payload"), CASES)
def test_served_with_the_official_sdk(
    servers: dict[str, ServerProcess],
    name: str,
    cwd: str,
    config: str,
    graph: str,
    payload: dict[str, Any],
) -> None:
    client = get_sync_client(url=servers[name].url)
    [assistant] = client.assistants.search(graph_id=graph)
    thread = client.threads.create()
    output = client.runs.wait(thread["thread_id"], assistant["assistant_id"], input=payload)
    expected(graph, output)
    assert client.threads.get_state(thread["thread_id"])["values"] == output


@pytest.fixture
def forget_projects(projects: dict[str, Path]) -> Iterator[None]:
    """The workbench imports a project in this process: afterwards, put ``sys.path`` and
    ``sys.meta_path`` back and forget its modules (another test loads a ``weather``)."""
    path, meta_path = list(sys.path), list(sys.meta_path)
    yield
    sys.path[:] = path
    sys.meta_path[:] = meta_path
    roots = tuple(str(p.parent) for p in projects.values())
    for module_name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(roots):
            del sys.modules[module_name]


@pytest.mark.asyncio
@pytest.mark.usefixtures("forget_projects")
@pytest.mark.parametrize(("name", "cwd", "config", "graph", "payload"), CASES)
async def test_run_in_the_workbench(
    projects: dict[str, Path],
    name: str,
    cwd: str,
    config: str,
    graph: str,
    payload: dict[str, Any],
) -> None:
    root = projects[name] / cwd
    settings: Settings = load_settings(project_dir=root)
    app = WorkbenchApp(settings, config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready, what="the project loaded")
        await fill(pilot, app.query_one("#run-input", Input), json.dumps(payload))
        await fill(pilot, app.query_one("#thread-input", Input), f"tui-{graph}")
        await pilot.click("#run-button")
        await wait_until(pilot, lambda: status(app) == "completed", what="the run to complete")
    with open_checkpoints(settings, readonly=True) as store:
        expected(graph, state_at(store, f"tui-{graph}").values)
