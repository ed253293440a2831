"""The real Claude Code CLI (bundled in ``claude-agent-sdk``) against the fake
Anthropic server, offline: what a Claude Code node will read from the CLI.

Skipped when ``claude-agent-sdk`` (not a project dependency yet) is not installed.
Each CLI run takes about 0.6 s (2 cores)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import process_env
from tests.servers.anthropic_fake import FakeAnthropic


def _bundled_cli() -> Path | None:
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "_bundled" / "claude"
    return path if path.is_file() else None


CLI = _bundled_cli()
pytestmark = pytest.mark.skipif(
    CLI is None,
    reason="the Claude Code CLI is not installed (claude-agent-sdk bundles it; "
    "it is not a project dependency yet)",
)


@pytest.fixture(scope="module")
def anthropic_server() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic.start()
    yield server
    server.stop()


@pytest.fixture
def fake(anthropic_server: FakeAnthropic) -> FakeAnthropic:
    anthropic_server.reset()
    return anthropic_server


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
    assert CLI is not None
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


def test_write_tool_creates_the_file(fake: FakeAnthropic, repo: Path) -> None:
    target = repo / "notes.txt"
    fake.script(
        {"tool_uses": [{"name": "Write", "input": {"file_path": str(target), "content": "hi\n"}}]},
        {"text": "Wrote notes.txt."},
    )
    code, lines = claude(fake, repo, "-p", "Write notes", "--permission-mode", "acceptEdits")

    assert code == 0
    assert target.read_text() == "hi\n"
    (tool_result,) = [m for m in lines if m["type"] == "user"]
    block = tool_result["message"]["content"][0]
    assert block["type"] == "tool_result" and not block.get("is_error")
    assert lines[-1]["result"] == "Wrote notes.txt."
    assert lines[-1]["num_turns"] == 2 and lines[-1]["permission_denials"] == []
    _, second = fake.requests()
    sent = second["messages"][-1]["content"][0]
    assert sent["type"] == "tool_result" and sent["tool_use_id"] == block["tool_use_id"]


def test_resume_sends_the_earlier_turns(fake: FakeAnthropic, repo: Path) -> None:
    fake.script({"text": "First answer ALPHA."}, {"text": "Second answer BETA."})
    _, first = claude(fake, repo, "-p", "first question")
    session = first[-1]["session_id"]
    code, second = claude(fake, repo, "-p", "second question", "--resume", session)

    assert code == 0
    assert second[-1]["session_id"] == session
    assert second[-1]["result"] == "Second answer BETA."
    sent = json.dumps(fake.requests()[-1]["messages"])
    assert "first question" in sent and "First answer ALPHA." in sent
    assert sent.index("First answer ALPHA.") < sent.index("second question")
