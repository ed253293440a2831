"""`/mcp` of a real `lgp serve` process: the served workflows as MCP tools over
streamable HTTP, through the `mcp` package's own client (both protocol eras), behind
the API's keys."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import copy_project
from tests.processes import wait_until
from tests.server.conftest import API_KEY
from tests.server.server_process import ServerProcess, write_hosted_config

# One server for the module: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("server_mcp")

T = TypeVar("T")
# The first request of a 2025 client: what the 401 checks send.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}


def with_mcp(
    server: ServerProcess,
    use: Callable[[Client], Awaitable[T]],
    *,
    key: str | None = API_KEY,
    mode: str = "auto",
) -> T:
    """``use(client)`` with an MCP client connected to the server's ``/mcp``.

    ``mode`` "auto" speaks the 2026-07-28 protocol (per-request, no handshake);
    "legacy" the initialize handshake of the 2025 revisions.
    """

    async def main() -> T:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
            async with Client(transport, mode=mode) as client:
                return await use(client)

    return asyncio.run(main())


def text_of(result: Any) -> str:
    [content] = result.content
    return str(content.text)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_the_served_workflows_are_the_tools(server: ServerProcess, mode: str) -> None:
    async def tools(client: Client) -> Any:
        return (await client.list_tools()).tools

    listed = {t.name: t for t in with_mcp(server, tools, mode=mode)}
    with server.client() as http:
        served = http.get("/health").json()["workflows"]
    assert sorted(listed) == sorted(served)
    tiny = listed["tiny"]
    assert tiny.description.startswith("a -> b -> c on one number")  # its docstring
    assert tiny.input_schema["type"] == "object"
    assert tiny.input_schema["properties"] == {"n": {"type": "integer"}}
    basic = listed["basic_workflow"].input_schema
    assert basic["properties"]["input"] == {"type": "string"}


def test_a_call_runs_the_workflow_and_answers_its_output(server: ServerProcess) -> None:
    async def call(client: Client) -> Any:
        return await client.call_tool("tiny", {"n": 2})

    result = with_mcp(server, call)
    assert not result.is_error, text_of(result)
    assert json.loads(text_of(result)) == {"n": 9}  # (2 + 1) * 2 + 3
    assert result.structured_content == {"n": 9}
    # a run like any other: recorded, on its own thread
    run_id, thread_id = result.meta["lgp/run_id"], result.meta["lgp/thread_id"]
    with server.client(API_KEY) as http:
        run = http.get(f"/runs/{run_id}").json()
        session = http.get(f"/sessions/{thread_id}").json()
    assert (run["workflow"], run["status"], run["input"]) == ("tiny", "completed", {"n": 2})
    assert session["latest_state"] == {"n": 9}


def test_a_handshake_client_calls_a_tool_too(server: ServerProcess) -> None:
    async def call(client: Client) -> Any:
        return await client.call_tool("tiny", {"n": 0})

    result = with_mcp(server, call, mode="legacy")
    assert json.loads(text_of(result)) == {"n": 5}


def test_a_failed_run_is_a_tool_error_in_one_line(server: ServerProcess) -> None:
    async def call(client: Client) -> Any:
        return await client.call_tool("boom", {})

    result = with_mcp(server, call)
    assert result.is_error
    text = text_of(result)
    assert text == "boom failed in node explode: ValueError: kaboom"
    with server.client(API_KEY) as http:
        run = http.get(f"/runs/{result.meta['lgp/run_id']}").json()
    assert run["status"] == "failed"


def test_bad_arguments_and_unknown_tools_are_tool_errors(server: ServerProcess) -> None:
    async def calls(client: Client) -> list[Any]:
        return [
            await client.call_tool("tiny", {"m": 1}),
            await client.call_tool("nope", {}),
            await client.call_tool("approval_workflow", {"topic": "mcp"}),
        ]

    unknown_key, unknown_tool, interrupted = with_mcp(server, calls)
    assert unknown_key.is_error
    assert text_of(unknown_key) == "unknown argument(s) for tiny: m; it takes: n"
    assert unknown_tool.is_error
    assert text_of(unknown_tool).startswith("unknown tool 'nope'; tools: approval_workflow")
    # a run that waits for a human cannot answer the call: where to answer it instead
    assert interrupted.is_error
    thread = interrupted.meta["lgp/thread_id"]
    assert "stopped at an interrupt, waiting for input" in text_of(interrupted)
    assert f"POST /sessions/{thread}/resume" in text_of(interrupted)


def test_without_the_key_or_with_a_wrong_one_it_is_401(server: ServerProcess) -> None:
    for key in (None, "wrong-key"):
        with server.client(key) as http:
            refused = http.post("/mcp", json=INITIALIZE, headers=MCP_ACCEPT)
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"] == "Bearer"
    with server.client(API_KEY) as http:
        assert http.post("/mcp", json=INITIALIZE, headers=MCP_ACCEPT).status_code == 200
        # stateless: no stream to GET, no session to DELETE
        assert http.get("/mcp", headers=MCP_ACCEPT).status_code == 405
        assert "/mcp" not in http.get("/openapi.json").json()["paths"]


HOT = '''\
"""{doc}"""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class S(TypedDict, total=False):
    {keys}


def work(state: S) -> S:
    return {{}}


workflow = StateGraph(S)
workflow.add_node("work", work)
workflow.add_edge(START, "work")
workflow.add_edge("work", END)
'''


def test_after_a_reload_the_tool_is_the_new_code_and_an_open_server_checks_the_host(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "project")
    write_hosted_config(project, rate_limit_per_minute=0)  # no key: open on loopback
    hot = project / "workflows" / "hot.py"
    hot.write_text(textwrap.dedent(HOT.format(doc="First version.", keys="a: int")))
    with ServerProcess(project, "workflows/hot.py", "--reload") as server:

        def tool() -> Any:
            async def listed(client: Client) -> Any:
                [only] = (await client.list_tools()).tools
                return only

            return with_mcp(server, listed, key=None)

        first = tool()
        assert (first.name, first.description) == ("hot", "First version.")
        assert list(first.input_schema["properties"]) == ["a"]
        hot.write_text(textwrap.dedent(HOT.format(doc="Second version.", keys="b: str")))
        second = wait_until(
            lambda: (t := tool()).description == "Second version." and t, 20, "the reload"
        )
        assert second.input_schema["properties"] == {"b": {"type": "string"}}

        # without a key, a page whose DNS name points at this loopback server is refused
        with server.client() as http:
            rebound = http.post(
                "/mcp", json=INITIALIZE, headers={**MCP_ACCEPT, "Host": "evil.example:80"}
            )
            assert rebound.status_code == 421
            assert http.post("/mcp", json=INITIALIZE, headers=MCP_ACCEPT).status_code == 200
