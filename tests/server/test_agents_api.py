"""Agent nodes behind the hosted API (a real ``lgp serve`` process, the local
OpenAI-compatible server as the model): tokens reach the official SDK's ``messages``
stream modes, runs carry their usage and failure kind, and no API key reaches a
client, the event log or the database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.providers.conftest import KEY, write_config
from tests.server.server_process import ServerProcess, parse_sse
from tests.workflows import copy_workflows

API_KEY = "agents-api-key-1"


@pytest.fixture(scope="module")
def agent_server(
    tmp_path_factory: pytest.TempPathFactory, openai_server: Any
) -> Iterator[ServerProcess]:
    project = tmp_path_factory.mktemp("agents") / "project"
    copy_workflows(project / "workflows", "agent_pair.py")
    (project / "workflows" / "config.yaml").write_text(
        "workflows:\n  pair: {path: agent_pair.py}\n", encoding="utf-8"
    )
    write_config(
        project,
        "hosted",
        server={"api_keys": [API_KEY], "rate_limit_per_minute": 100000},
        llm_providers={
            "openai": {"base_url": openai_server.base_url, "api_key": KEY, "max_retries": 0}
        },
        agents={"writer": {"provider": "openai", "model": "gpt-4o-mini"}},
        checkpointer={"backend": "sqlite", "path": ".lgp/hosted.db"},
    )
    with ServerProcess(project, "--env", "hosted") as proc:
        yield proc


@pytest.mark.asyncio
async def test_the_sdk_messages_modes_yield_the_tokens(
    agent_server: ServerProcess, fake_openai: Any
) -> None:
    fake_openai.script({"content": "one two three"}, {"content": "four five"})
    async with get_client(url=agent_server.url, api_key=API_KEY) as sdk:
        thread = await sdk.threads.create()
        tuples = [
            p
            async for p in sdk.runs.stream(
                thread["thread_id"], "pair", input={"task": "count"}, stream_mode="messages-tuple"
            )
        ]
        tokens = [p.data[0]["content"] for p in tuples if p.event == "messages"]
        assert "".join(tokens) == "one two three"
        assert all(p.data[1]["langgraph_node"] == "writer" for p in tuples if p.event == "messages")
        partial = [
            p.data[0]["content"]
            async for p in sdk.runs.stream(
                thread["thread_id"], "pair", input={"task": "more"}, stream_mode="messages"
            )
            if p.event == "messages/partial"
        ]
        assert partial[-1] == "four five"


def test_core_api_run_records_carry_usage_and_failures_their_kind(
    agent_server: ServerProcess, fake_openai: Any
) -> None:
    fake_openai.script({"content": "done", "usage": {"prompt_tokens": 12, "completion_tokens": 3}})
    with agent_server.client(API_KEY) as http:
        ok = http.post("/workflows/pair/invoke", json={"input": {"task": "go"}}).json()
        assert ok["status"] == "completed", ok
        fake_openai.fault(kind="status", status=401)
        bad = http.post("/workflows/pair/invoke", json={"input": {"task": "go"}}).json()
        assert bad["status"] == "failed"
        with http.stream("GET", f"/runs/{bad['run_id']}/events") as response:
            frames = [f for f in parse_sse(response.iter_lines()) if f.get("event")]
    failed = [f for f in frames if f["event"] == "run.failed"]
    assert failed and '"kind": "auth"' in failed[0]["data"].replace('":"', '": "')
    assert "traceback" not in failed[0]["data"]


def test_no_api_key_reaches_a_client_the_event_log_or_the_database(
    agent_server: ServerProcess, fake_openai: Any
) -> None:
    fake_openai.fault(kind="status", status=401, message=f"Incorrect API key provided: {KEY}")
    with agent_server.client(API_KEY) as http:
        bad = http.post("/workflows/pair/invoke", json={"input": {"task": "go"}})
        text = bad.text
        with http.stream("GET", f"/runs/{bad.json()['run_id']}/events") as response:
            text += "".join(response.iter_lines())
    assert "[redacted]" in text
    assert KEY not in text
    files = [p for p in (agent_server.project / ".lgp").iterdir() if p.is_file()]
    assert files
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in agent_server.text
