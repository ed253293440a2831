"""MCP sessions owned by the process (:mod:`lgp_engine.providers.mcp`), against real
servers: ``tests/servers/mcp_tools_server.py`` as a stdio child of the manager and as
a streamable HTTP process of its own."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.errors import ConfigError
from lgp_engine.providers.base import ProviderError
from lgp_engine.providers.guard import tool_allowed
from lgp_engine.providers.mcp import (
    McpManager,
    McpTool,
    find_tool,
    openai_tool_spec,
    parse_tool_name,
)
from lgp_engine.providers.settings import McpServerSettings
from tests.processes import Process, process_env, run_python, start_python, wait_until

pytestmark = pytest.mark.xdist_group("mcp")

REPO = Path(__file__).resolve().parents[2]
SERVER = ("-m", "tests.servers.mcp_tools_server")
TOOLS = {
    "now",
    "add",
    "echo",
    "fail",
    "sleep",
    "crash",
    "pid",
    "auth_header",
    "cwd",
    "env",
    "mesh_execute",
}
TOKEN = "s3cret-value"
SECRET = f"Bearer {TOKEN}"


def stdio(*args: str, command: str = sys.executable, **settings: Any) -> McpServerSettings:
    """A stdio server run with the test processes' environment (tests/processes.py)."""
    settings.setdefault("env", process_env())
    return McpServerSettings(command=command, args=list(args or SERVER), **settings)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def pid_of(manager: McpManager, server: str = "tools") -> int:
    result = manager.call_tool_sync(server, "pid", {})
    assert not result.is_error, result.text
    return int(result.structured["result"])


@pytest.fixture(scope="module")
def tools() -> Iterator[McpManager]:
    """One stdio server, started once for the module's tests; it runs in a folder of
    the project, with a variable added to the environment."""
    tools = stdio(
        cwd="tests/servers",
        env={"PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1", "MCP_TEST_MARK": "marked"},
        timeout_s=10,
    )
    with McpManager({"tools": tools, "off": stdio(enabled=False)}, project_dir=REPO) as manager:
        manager.start_sync()
        yield manager


def start_http_server(port: int = 0) -> tuple[Process, str]:
    server = start_python(*SERVER, "--http", "--port", str(port), "--bearer", TOKEN, cwd=REPO)
    [line] = server.expect(r"^READY http://", timeout=20)[-1:]
    return server, line.split()[1]


# --------------------------------------------------------------------------- stdio


def test_lists_tools_with_their_schemas(tools: McpManager) -> None:
    listed = asyncio.run(tools.list_tools("tools"))
    assert {t.name for t in listed} == TOOLS
    add = next(t for t in listed if t.name == "add")
    assert add.server == "tools" and add.qualified == "tools.add"
    assert add.description == "a + b."
    assert add.input_schema["required"] == ["a", "b"]
    assert add.input_schema["properties"]["a"]["type"] == "integer"
    # every enabled server by default; the disabled one is left out
    assert asyncio.run(tools.list_tools()) == listed


def test_calls_a_tool(tools: McpManager) -> None:
    result = asyncio.run(tools.call_tool("tools", "add", {"a": 2, "b": 40}))
    assert (result.text, result.structured, result.is_error) == ("42", {"result": 42}, False)
    assert result.content == [{"type": "text", "text": "42"}]
    assert 0 < result.duration_ms < 5000
    json.dumps(result.content)  # JSON-safe, for events
    now = tools.call_tool_sync("tools", "now", {})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now.text)


def test_the_server_runs_where_configured(tools: McpManager) -> None:
    assert tools.call_tool_sync("tools", "cwd", {}).text == str(REPO / "tests" / "servers")
    assert tools.call_tool_sync("tools", "env", {"name": "MCP_TEST_MARK"}).text == "marked"
    # and our whole environment, not mcp's default few variables (PATH, HOME...)
    inherited = tools.call_tool_sync("tools", "env", {"name": "PYTEST_CURRENT_TEST"})
    assert "test_mcp.py" in inherited.text


def test_failed_calls_are_results_not_errors(tools: McpManager) -> None:
    failed = tools.call_tool_sync("tools", "fail", {"message": "the disk is full"})
    assert failed.is_error and "the disk is full" in failed.text
    unknown = tools.call_tool_sync("tools", "no_such_tool", {})
    assert unknown.is_error and "no_such_tool" in unknown.text
    bad_arguments = tools.call_tool_sync("tools", "add", {"a": "many"})
    assert bad_arguments.is_error
    # the session is fine afterwards
    assert tools.call_tool_sync("tools", "echo", {"text": "hi"}).text == "hi"


def test_a_call_beyond_its_timeout_fails_with_kind_timeout(tools: McpManager) -> None:
    pid = tools.pids()["tools"]
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        asyncio.run(tools.call_tool("tools", "sleep", {"seconds": 10}, timeout_s=0.3))
    assert time.monotonic() - started < 2.0
    error = caught.value
    assert error.kind == "timeout" and error.provider == "mcp:tools"
    assert "sleep" in error.message and "0.3 s" in error.message
    # the server is still the same one, and still answers
    assert tools.call_tool_sync("tools", "add", {"a": 1, "b": 1}).text == "2"
    assert tools.pids() == {"tools": pid}


def test_unknown_and_disabled_servers_are_config_errors(tools: McpManager) -> None:
    with pytest.raises(ConfigError, match=r"mcp_servers\.nope: .*\(configured: off, tools\)"):
        tools.call_tool_sync("nope", "now", {})
    with pytest.raises(ConfigError, match=r"mcp_servers\.nope"):
        asyncio.run(tools.list_tools("nope"))
    with pytest.raises(ConfigError, match=r"mcp_servers\.nope"):
        tools.start_sync(["tools", "nope"])
    with pytest.raises(ConfigError, match=r"mcp_servers\.off is disabled"):
        asyncio.run(tools.call_tool("off", "now", {}))
    with pytest.raises(ConfigError, match="single '_'"):
        McpManager({"my__server": stdio()}, project_dir=REPO)


def test_the_life_of_a_stdio_server() -> None:
    """Started once for callers on several loops; a crash during a call is retried
    once (and crashes again); the next call finds the server dead, restarts it and
    succeeds; close() ends it."""
    manager = McpManager({"tools": stdio()}, project_dir=REPO)
    try:
        barrier = threading.Barrier(3)
        pids: list[int] = []

        def on_a_loop_of_its_own() -> None:
            barrier.wait(10)
            result = asyncio.run(manager.call_tool("tools", "pid", {}))
            pids.append(int(result.structured["result"]))

        threads = [threading.Thread(target=on_a_loop_of_its_own) for _ in range(2)]
        for thread in threads:
            thread.start()
        barrier.wait(10)
        pids.append(pid_of(manager))  # and a sync caller
        for thread in threads:
            thread.join(30)
        first = pids[0]
        assert pids == [first] * 3
        assert manager.pids() == {"tools": first}

        with pytest.raises(ProviderError) as caught:
            manager.call_tool_sync("tools", "crash", {})
        error = caught.value
        assert (error.kind, error.provider) == ("unavailable", "mcp:tools")
        assert "the process exited with code 3 during the call to crash" in error.message
        assert "again after a restart" in error.message
        assert not alive(first)

        second = pid_of(manager)  # restarted for this call
        assert second != first and manager.pids() == {"tools": second}

        assert alive(second)
    finally:
        started = time.monotonic()
        manager.close()
        assert time.monotonic() - started < 5
    assert not alive(second) and manager.pids() == {}
    manager.close()  # idempotent
    with pytest.raises(ProviderError, match="closed"):
        manager.call_tool_sync("tools", "pid", {})


def test_a_server_that_cannot_start_says_why() -> None:
    crashing = stdio(
        "-c", "import sys; print('config.toml: no such file', file=sys.stderr); sys.exit(1)"
    )
    with McpManager(
        {"crashing": crashing, "missing": stdio(command="/no/such/mcp-server")},
        project_dir=REPO,
    ) as manager:
        with pytest.raises(ProviderError) as caught:
            manager.start_sync(["crashing"])
        error = caught.value
        assert (error.kind, error.provider) == ("unavailable", "mcp:crashing")
        assert "MCP server 'crashing'" in error.message
        assert sys.executable in error.message  # the command
        assert "the process exited with code 1" in error.message
        assert "config.toml: no such file" in error.message  # its stderr
        assert manager.pids() == {}

        with pytest.raises(ProviderError, match=r"/no/such/mcp-server.*No such file") as caught:
            asyncio.run(manager.call_tool("missing", "now", {}))
        assert caught.value.kind == "unavailable"


def test_a_server_that_never_initializes_times_out() -> None:
    # reads its input and never answers; ends when its stdin closes
    mute = stdio("-c", "import sys; sys.stdin.read()", startup_timeout_s=0.5)
    with McpManager({"mute": mute}, project_dir=REPO) as manager:
        started = time.monotonic()
        with pytest.raises(ProviderError) as caught:
            asyncio.run(manager.start())
        assert time.monotonic() - started < 3
        assert caught.value.kind == "timeout"
        assert "did not initialize within 0.5 s" in caught.value.message


def test_close_ends_a_server_that_is_still_starting() -> None:
    mute = stdio("-c", "import sys; sys.stdin.read()")  # startup timeout: 20 s
    manager = McpManager({"mute": mute}, project_dir=REPO)
    errors: list[ProviderError] = []

    def start() -> None:
        try:
            manager.start_sync()
        except ProviderError as exc:
            errors.append(exc)

    starter = threading.Thread(target=start)
    starter.start()
    pid = wait_until(lambda: manager.pids().get("mute"), 10, "the server process")
    started = time.monotonic()
    manager.close()
    assert time.monotonic() - started < 3
    starter.join(5)
    assert [e.kind for e in errors] == ["unavailable"]
    assert "closed" in errors[0].message
    assert not alive(pid)


def test_a_process_that_forgets_close_leaves_no_server() -> None:
    # This server stays 30 s when its input ends after its client died: only the
    # manager's exit handler, which closes the server's input while the client still
    # lives, makes it end at once.
    script = f"""
from pathlib import Path
from lgp_engine.providers.mcp import McpManager
from lgp_engine.providers.settings import McpServerSettings

args = [*{SERVER!r}, "--linger-when-orphaned", "30"]
tools = McpServerSettings(command={sys.executable!r}, args=args)
manager = McpManager({{"tools": tools}}, project_dir=Path.cwd())
manager.start_sync()
print(manager.pids()["tools"])
"""
    done = run_python("-c", script, cwd=REPO, timeout=30)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    wait_until(lambda: not alive(pid), 5, f"server process {pid} to end")


# --------------------------------------------------------------------------- HTTP


def test_streamable_http_server() -> None:
    """Headers reach the server (a wrong token is an auth error); a server gone is
    unavailable; a server back on its port gets a new session. Header values never
    appear in errors."""
    server, url = start_http_server()
    settings = McpServerSettings(url=url, headers={"Authorization": SECRET}, startup_timeout_s=5)
    try:
        with McpManager({"web": settings}, project_dir=REPO) as manager:
            assert {t.qualified for t in asyncio.run(manager.list_tools())} == {
                f"web.{name}" for name in TOOLS
            }
            assert manager.call_tool_sync("web", "add", {"a": 1, "b": 2}).structured == {
                "result": 3
            }
            assert manager.call_tool_sync("web", "auth_header", {}).text == SECRET
            assert manager.call_tool_sync("web", "fail", {"message": "no"}).is_error
            assert manager.pids() == {}  # not a child of ours

            wrong = McpServerSettings(url=url, headers={"Authorization": "Bearer wr0ng"})
            intruder = McpManager({"web": wrong}, project_dir=REPO)
            with intruder, pytest.raises(ProviderError) as caught:
                intruder.start_sync()
            assert (caught.value.kind, caught.value.provider) == ("auth", "mcp:web")
            assert "HTTP 401" in caught.value.message and "wr0ng" not in str(caught.value)
            first = pid_of(manager, "web")
            assert first == server.pid

            server.kill()
            with pytest.raises(ProviderError) as caught:
                manager.call_tool_sync("web", "pid", {})
            error = caught.value
            assert (error.kind, error.provider) == ("unavailable", "mcp:web")
            assert url in error.message and "connection refused" in error.message
            assert "s3cret" not in str(error) and "s3cret" not in repr(error.details)

            port = int(url.rsplit(":", 1)[1].split("/")[0])
            server, _ = start_http_server(port)  # back, knowing no session of ours
            assert pid_of(manager, "web") == server.pid
    finally:
        server.kill()


def test_an_http_server_that_is_not_there() -> None:
    absent = McpServerSettings(url="http://127.0.0.1:9/mcp", headers={"X-Key": SECRET})
    with (
        McpManager({"web": absent}, project_dir=REPO) as manager,
        pytest.raises(ProviderError) as caught,
    ):
        manager.start_sync()
    assert caught.value.kind == "unavailable"
    assert "http://127.0.0.1:9/mcp" in caught.value.message
    assert "s3cret" not in str(caught.value)


# --------------------------------------------------------------------------- pure parts


def test_tool_specs_for_models() -> None:
    tool = McpTool("time", "now", "The time.", {"type": "object", "properties": {}})
    spec = openai_tool_spec(tool)
    assert spec == {
        "type": "function",
        "function": {
            "name": "time__now",
            "description": "The time.",
            "parameters": {"type": "object", "properties": {}},
        },
    }
    assert parse_tool_name("time__now") == ("time", "now")
    assert parse_tool_name("git-hub__list__prs") == ("git-hub", "list__prs")
    with pytest.raises(ValueError):
        parse_tool_name("now")
    dotted = McpTool("fs", "files.read", "", {})
    assert openai_tool_spec(dotted)["function"]["name"] == "fs__files__read"
    assert re.fullmatch(
        r"[a-zA-Z0-9_-]+", openai_tool_spec(McpTool("a", "x/y z", "", {}))["function"]["name"]
    )
    assert find_tool("fs__files__read", [tool, dotted]) is dotted
    assert find_tool("fs__nope", [tool, dotted]) is None


@pytest.mark.parametrize(
    ("patterns", "server", "tool", "allowed"),
    [
        (None, "time", "now", False),
        ([], "time", "now", False),
        (["now"], "time", "now", True),
        (["time.now"], "time", "now", True),
        (["time.now"], "clock", "now", False),
        (["time.*"], "time", "zone", True),
        (["time.*"], "times", "now", False),
        (["git_*"], "git", "git_status", True),
        (["git_*"], "git", "status", False),
        (["*"], "any", "thing", True),
        (["echo", "time.*"], "tools", "echo", True),
        (["Now"], "time", "now", False),  # case-sensitive
    ],
)
def test_tool_allowed(patterns: list[str] | None, server: str, tool: str, allowed: bool) -> None:
    assert tool_allowed(patterns, server, tool) is allowed
