"""Agent nodes with MCP tools: real MCP server processes (stdio and streamable HTTP),
the local OpenAI-compatible server as the model. The tool-calling loop, the allow-list,
tool events, one server process per run process, nothing left behind, and secrets
that never reach the stores, the events or the output."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine import RunEvent, Runner, load_settings, load_workflow, resolve_target
from tests.processes import run_lgp, start_lgp, start_python, wait_until
from tests.providers.conftest import KEY, write_config
from tests.servers.openai_fake import FakeOpenAI
from tests.workflows import copy_workflows

REPO = Path(__file__).resolve().parents[2]
STDIO = {
    "command": sys.executable,
    "args": ["-m", "tests.servers.mcp_tools_server"],
    "cwd": str(REPO),
    "env": {"PYTHONDONTWRITEBYTECODE": "1"},
}
TOOL_SECRET = "sk-live-tool-argument-99"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def project_with(tmp_path: Path, fake: FakeOpenAI, mcp: dict[str, Any], **extra: Any) -> Path:
    project = tmp_path / "project"
    copy_workflows(project / "workflows", "agent_tools.py")
    write_config(
        project,
        "experiment",
        llm_providers={"ollama": {"base_url": fake.base_url, "api_key": KEY, "max_retries": 0}},
        mcp_servers={"tools": mcp},
        **extra,
    )
    return project


def run_in_process(project: Path) -> tuple[list[RunEvent], dict[str, int]]:
    settings = load_settings("experiment", project)
    with Runner.open(settings) as runner:
        loaded = load_workflow(resolve_target(str(project / "workflows" / "agent_tools.py")))
        events = list(runner.start(loaded, {"task": "add two and three"}))
        assert runner.agents is not None
        pids = runner.agents.mcp.pids()
    return events, pids


def of_type(events: list[RunEvent], type_: str) -> list[RunEvent]:
    return [e for e in events if e.type == type_]


@pytest.fixture(scope="module")
def http_tools() -> Iterator[str]:
    server = start_python("-m", "tests.servers.mcp_tools_server", "--http", "--port", "0", cwd=REPO)
    [line] = server.expect(r"^READY http://", timeout=30)[-1:]
    yield line.split()[1]
    server.stop(signal.SIGTERM, 10)


SCRIPT = (
    tool_call("tools__add", a=2, b=3),
    tool_call("tools__fail", message="not allowed"),  # not on the allow-list
    tool_call("tools__echo", text="hi", api_key=TOOL_SECRET),
    {"content": "2 + 3 = 5"},
)


def check_the_loop(events: list[RunEvent], fake: FakeOpenAI) -> None:
    assert events[-1].type == "run.completed", events[-1].data
    called = [(e.data["server"], e.data["tool"]) for e in of_type(events, "tool.called")]
    assert called == [("tools", "add"), ("tools", "echo"), ("tools", "add")]  # last: mcp_session
    results = of_type(events, "tool.result")
    assert results[0].data["text"] == "5" and results[0].data["is_error"] is False
    assert results[0].node == "helper" and results[-1].node == "check"
    [denied] = of_type(events, "tool.denied")
    assert (denied.data["server"], denied.data["tool"]) == ("tools", "fail")
    # each call says which model reply asked for it; a node's own mcp_session call none
    assert [e.data.get("turn") for e in of_type(events, "tool.called")] == [1, 3, None]
    assert [e.data.get("turn") for e in results] == [1, 3, None]
    assert denied.data["turn"] == 2
    assert denied.data["allowed"] == ["tools.add", "tools.echo", "tools.now"]
    echo = of_type(events, "tool.called")[1]
    assert echo.data["arguments"] == {"text": "hi", "api_key": "[redacted]"}
    assert events[-1].data["output"]["helper_output"] == "2 + 3 = 5"
    assert events[-1].data["output"]["checked"] == "42"
    # what the model saw: the result, the refusal, then the echo
    requests = fake.requests()
    assert len(requests) == 4
    offered = {t["function"]["name"] for t in requests[0]["tools"]}
    assert offered == {"tools__add", "tools__echo", "tools__now"}
    tool_messages = [m for m in requests[-1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages][:2] == [
        "5",
        "Error: tool 'tools__fail' is not available to this agent "
        "(allowed: tools.add, tools.echo, tools.now).",
    ]


def test_an_agent_calls_stdio_tools_in_a_loop_and_a_refused_tool_does_not_stop_it(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    project = project_with(tmp_path, fake_openai, STDIO)
    fake_openai.script(*SCRIPT)
    events, pids = run_in_process(project)
    check_the_loop(events, fake_openai)
    # one server process for the whole run (four calls), gone once the runner closed
    assert list(pids) == ["tools"]
    wait_until(lambda: not alive(pids["tools"]), 10, "the MCP server to stop")


def test_the_same_over_streamable_http(
    tmp_path: Path, fake_openai: FakeOpenAI, http_tools: str
) -> None:
    project = project_with(tmp_path, fake_openai, {"url": http_tools})
    fake_openai.script(*SCRIPT)
    events, pids = run_in_process(project)
    check_the_loop(events, fake_openai)
    assert pids == {}


def test_no_mcp_server_is_left_after_ctrl_c(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    project = project_with(tmp_path, fake_openai, STDIO)
    (project / "workflows" / "agent_tools.py").write_text(
        (project / "workflows" / "agent_tools.py")
        .read_text()
        .replace('"tools.now"]', '"tools.now", "tools.pid", "tools.sleep"]'),
    )
    fake_openai.script(tool_call("tools__pid"), tool_call("tools__sleep", seconds=60))
    proc = start_lgp(
        "run", "workflows/agent_tools.py", "--input", '{"task": "t"}', "--json", cwd=project
    )
    lines: list[dict[str, Any]] = []

    def sleeping() -> bool:
        lines[:] = [json.loads(line) for line in proc.stdout if line.startswith("{")]
        return any(e["type"] == "tool.called" and e["data"]["tool"] == "sleep" for e in lines)

    wait_until(sleeping, 30, "the agent to call the sleep tool")
    [pid_result] = [e for e in lines if e["type"] == "tool.result" and e["data"]["tool"] == "pid"]
    pid = int(pid_result["data"]["text"])
    assert alive(pid)
    code = proc.stop(signal.SIGINT, 20)
    assert code == 130
    wait_until(lambda: not alive(pid), 10, "the MCP server to be gone after Ctrl+C")


def test_secrets_reach_neither_the_stores_nor_the_events_nor_the_output(tmp_path: Path) -> None:
    openai_key = "sk-test-acceptance-6-0b1c2d3e"
    fake = FakeOpenAI.start(api_key=openai_key)
    try:
        project = tmp_path / "project"
        copy_workflows(project / "workflows", "agent_tools.py")
        workflow = project / "workflows" / "agent_tools.py"
        workflow.write_text(  # a messages channel: the exchange goes into the checkpoints
            workflow.read_text()
            .replace(
                "from typing import Any, TypedDict", "from typing import Annotated, Any, TypedDict"
            )
            .replace(
                "from langgraph.graph import END, START, StateGraph",
                "from langgraph.graph import END, START, StateGraph, add_messages",
            )
            .replace(
                "    checked: Any\n",
                "    checked: Any\n    messages: Annotated[list, add_messages]\n",
            )
        )
        write_config(
            project,
            "experiment",
            llm_providers={"openai": {"base_url": fake.base_url, "api_key": "${OPENAI_API_KEY}"}},
            agents={"helper": {"provider": "openai", "model": "gpt-4o-mini"}},
            mcp_servers={"tools": STDIO},
        )
        fake.script(*SCRIPT)
        env = {"OPENAI_API_KEY": openai_key}
        task = ("--input", '{"task": "add"}')
        ran = run_lgp(
            "run", "workflows/agent_tools.py", *task, "--json", "-v", cwd=project, env=env
        )
        assert ran.returncode == 0, ran.stderr
        run_id = json.loads(ran.stdout.splitlines()[0])["run_id"]
        shown = run_lgp("events", run_id, "--json", cwd=project, env=env)
        assert shown.returncode == 0, shown.stderr
        texts = {"run": ran.stdout + ran.stderr, "events": shown.stdout + shown.stderr}
        for path in (project / ".lgp").iterdir():
            texts[path.name] = path.read_bytes().decode("utf-8", "replace")
        completed = next(
            e for e in map(json.loads, shown.stdout.splitlines()) if e["type"] == "run.completed"
        )
        messages = completed["data"]["output"]["messages"]
        assert any(m.get("tool_calls") for m in messages)  # the exchange was kept...
        for name, text in texts.items():
            assert openai_key not in text, name
            assert TOOL_SECRET not in text, name  # ...without the secret argument
        assert fake.requests()[0]["authorization"] == f"Bearer {openai_key}"
    finally:
        fake.stop()


def test_a_tool_server_that_cannot_start_fails_the_run_as_unavailable(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    broken = {"command": sys.executable, "args": ["-c", "import sys; sys.exit('no tools today')"]}
    project = project_with(tmp_path, fake_openai, broken)
    events, _ = run_in_process(project)
    failed = events[-1]
    assert failed.type == "run.failed"
    assert failed.data["kind"] == "unavailable"
    assert "no tools today" in failed.data["message"]
    assert fake_openai.requests() == []


def test_the_servers_mcp_process_stops_with_the_server(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    from tests.server.server_process import ServerProcess, parse_sse

    project = tmp_path / "project"
    copy_workflows(project / "workflows", "agent_tools.py")
    (project / "workflows" / "config.yaml").write_text(
        "workflows:\n  tools: {path: agent_tools.py}\n", encoding="utf-8"
    )
    (project / "workflows" / "agent_tools.py").write_text(
        (project / "workflows" / "agent_tools.py")
        .read_text()
        .replace('"tools.now"]', '"tools.now", "tools.pid"]')
    )
    write_config(
        project,
        "hosted",
        server={"api_keys": ["k-123456789"]},
        llm_providers={"ollama": {"base_url": fake_openai.base_url, "api_key": KEY}},
        mcp_servers={"tools": STDIO},
        checkpointer={"backend": "sqlite", "path": ".lgp/hosted.db"},
    )
    fake_openai.script(tool_call("tools__pid"), {"content": "done"}, tool_call("tools__pid"))
    with ServerProcess(project, "--env", "hosted") as server, server.client("k-123456789") as http:
        pids = set()
        for _ in range(2):
            done = http.post("/workflows/tools/invoke", json={"input": {"task": "pid?"}}).json()
            assert done["status"] == "completed", done
            answer = http.get(f"/runs/{done['run_id']}/events", params={"follow": "false"})
            frames = parse_sse(iter(answer.text.splitlines()))
            events = [json.loads(f["data"]) for f in frames if f.get("event") == "tool.result"]
            pids |= {e["data"]["text"] for e in events if e["data"]["tool"] == "pid"}
            fake_openai.script({"content": "done"})
        assert len(pids) == 1  # one MCP server process for the server's runs
        pid = int(pids.pop())
        assert alive(pid)
    wait_until(lambda: not alive(pid), 10, "the MCP server to stop with lgp serve")
