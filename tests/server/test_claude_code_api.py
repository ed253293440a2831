"""A Claude Code node behind the hosted API (a real ``lgp serve`` process, the real
Claude Code CLI, the local Anthropic-compatible server): its session's events reach
an SSE client as they happen, and cancelling the run over the API stops the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.processes import wait_until
from tests.providers.conftest import write_config
from tests.providers.test_claude_code import claude_env, claude_processes, make_repo
from tests.server.server_process import ServerProcess, parse_sse
from tests.servers.anthropic_fake import FakeAnthropic
from tests.workflows import copy_workflows

API_KEY = "claude-api-key-1"


def test_sse_shows_the_session_live_and_cancel_stops_the_cli(
    tmp_path: Path, fake_anthropic: FakeAnthropic
) -> None:
    project = tmp_path / "project"
    copy_workflows(project / "workflows", "claude_one.py")
    (project / "workflows" / "config.yaml").write_text(
        "workflows:\n  coder: {path: claude_one.py}\n", encoding="utf-8"
    )
    write_config(
        project,
        "hosted",
        server={"api_keys": [API_KEY], "rate_limit_per_minute": 100000},
        llm_providers={
            "claude_code": {"base_url": fake_anthropic.url, "api_key": "sk-ant-x", "max_retries": 0}
        },
    )
    repo = make_repo(tmp_path / "repo")
    fake_anthropic.script({"text": "never sent", "delay_ms": 60000})
    body = {"input": {"task": "long job", "repository": str(repo)}}
    seen: list[dict[str, str]] = []
    with ServerProcess(project, "--env", "hosted", env=claude_env(tmp_path)) as server:
        with (
            server.client(API_KEY) as http,
            http.stream(
                "POST", "/workflows/coder/stream", json=body, timeout=httpx.Timeout(60)
            ) as response,
        ):
            assert response.status_code == 200
            run_id = response.headers["X-Run-Id"]
            for frame in parse_sse(response.iter_lines()):
                if not frame.get("event"):
                    continue
                seen.append(frame)
                if frame["event"] == "agent.init":
                    wait_until(fake_anthropic.requests, what="the CLI's request")
                    assert len(claude_processes(tmp_path, roots=True)) == 1
                    with server.client(API_KEY) as other:
                        assert other.post(f"/runs/{run_id}/cancel").status_code == 202
                if frame["event"] in ("run.completed", "run.failed", "run.cancelled"):
                    break
        assert seen[-1]["event"] == "run.cancelled", seen
        init = json.loads(next(f["data"] for f in seen if f["event"] == "agent.init"))
        assert (init["data"]["role"], init["data"]["cwd"]) == ("coder", str(repo))
        assert claude_processes(tmp_path) == []
