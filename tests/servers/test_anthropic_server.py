"""The real Claude Code CLI (bundled in ``claude-agent-sdk``) against the fake
Anthropic server, offline: what a Claude Code node will read from the CLI.

The CLI is the one ``claude-agent-sdk`` bundles (the ``claude-code`` extra, which
the test setup installs). What the CLI does with tool calls and resumed sessions is
tested through Claude Code nodes (``tests/providers/test_claude_code.py``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.providers.claude_cli import bundled_cli
from tests.processes import process_env
from tests.servers.anthropic_fake import FakeAnthropic

CLI = bundled_cli()


@pytest.fixture
def fake(fake_anthropic: FakeAnthropic) -> FakeAnthropic:
    return fake_anthropic


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    return repo


def claude(fake: FakeAnthropic, repo: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """Run ``claude -p ... --output-format stream-json --verbose`` in ``repo`` with a
    temp HOME beside it; return its exit code and its JSON lines."""
    home = repo.parent / "home"
    home.mkdir(exist_ok=True)
    env = process_env(
        {
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": fake.url,
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
    )
    assert CLI is not None, "the Claude Code CLI is not installed (pip install -e '.[claude-code]')"
    done = subprocess.run(
        [str(CLI), *args, "--output-format", "stream-json", "--verbose"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, lines


def test_init_then_assistant_then_result(fake: FakeAnthropic, repo: Path) -> None:
    fake.script(
        {"text": "Hello from the fake.", "usage": {"input_tokens": 100, "output_tokens": 7}}
    )
    code, lines = claude(fake, repo, "-p", "Say hello", "--model", "claude-sonnet-4-5")

    assert code == 0
    init, *middle, result = lines
    assert (init["type"], init["subtype"]) == ("system", "init")
    assert init["cwd"] == str(repo)
    assert init["model"] == "claude-sonnet-4-5"
    assert "Write" in init["tools"] and "Bash" in init["tools"]
    session = init["session_id"]
    (assistant,) = [m for m in middle if m["type"] == "assistant"]
    assert assistant["message"]["content"] == [{"type": "text", "text": "Hello from the fake."}]
    assert result["type"] == "result"
    assert (result["subtype"], result["is_error"], result["num_turns"]) == ("success", False, 1)
    assert result["result"] == "Hello from the fake."
    assert result["session_id"] == session
    assert (result["usage"]["input_tokens"], result["usage"]["output_tokens"]) == (100, 7)
    # claude-sonnet-4-5 at $3 / $15 per million input / output tokens
    assert result["total_cost_usd"] == pytest.approx(100 * 3e-6 + 7 * 15e-6)
    assert isinstance(result["duration_ms"], int)

    (request,) = fake.requests()
    assert (request["path"], request["stream"], request["model"]) == (
        "/v1/messages",
        True,
        "claude-sonnet-4-5",
    )
    assert request["has_x_api_key"] and "Write" in request["tools"]
