"""``lgp replay --recorded`` (issue 16) as a user runs it: a tool-calling conversation
recorded by ``lgp run`` against the local OpenAI-compatible server and a real MCP
server, the model server stopped, the post-processing code changed, then the replay
from where the run started, printed as any replay and ended by the diff of the two
branches. A thread without recordings, and a replay without a checkpoint or the
flag, are one line on stderr and exit 2."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.processes import run_lgp
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
SCRIPT = (
    {"tool_calls": [{"name": "tools__add", "arguments": {"a": 2, "b": 3}}]},
    {"tool_calls": [{"name": "tools__now", "arguments": {}}]},
    {"content": "2 + 3 = 5", "usage": {"prompt_tokens": 80, "completion_tokens": 6}},
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    copy_workflows(root / "workflows", "recorded_tools.py", "tiny.py")
    return root


def test_lgp_replay_recorded_runs_offline_after_a_code_change_and_ends_with_the_diff(
    project: Path,
) -> None:
    server = FakeOpenAI.start(api_key=KEY)
    try:
        write_config(
            project,
            "experiment",
            llm_providers={"ollama": {"base_url": server.base_url, "api_key": KEY}},
            mcp_servers={"tools": STDIO},
        )
        server.script(*SCRIPT)
        task = json.dumps({"task": "add two and three"})
        first = run_lgp(
            "run", "workflows/recorded_tools.py", "--input", task, "--thread", "t1", cwd=project
        )
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Result:" in first.stdout and "ANSWER: 2 + 3 = 5" in first.stdout
        assert len(server.requests()) == 3
    finally:
        server.stop()  # from here on no model answers
    flow = project / "workflows" / "recorded_tools.py"
    flow.write_text(
        flow.read_text().replace(
            "f\"ANSWER: {state['helper_output'].upper()}\"",
            "f\"answer (v2): {state['helper_output']}\"",
        )
    )

    replay = run_lgp("replay", "t1", "--recorded", cwd=project)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    out = replay.stdout
    assert "Recorded replay from " in out
    assert "3 model calls and 3 tool calls of run " in out
    assert "Replaying from checkpoint" in out
    # every node ran again; the tools answered as recorded
    for node in ("helper", "post", "check"):
        assert f"✓ {node}" in out, out
    assert "tools.add {'a': 2, 'b': 3}" in out or 'tools.add {"a": 2, "b": 3}' in out, out
    assert "✅ Complete" in out
    assert "Usage:" not in out  # nothing spent
    # what the recorded run spent, now not spent again
    [spent] = re.findall(r"Usage: ([\d,]+ tokens, \$[\d.]+)", first.stdout)
    assert f"Answered from the recording: {spent} not spent again (new: 0 tokens, $0)" in out
    tail = out[out.index("Original branch (") :].splitlines()
    assert tail[1:] == ['~ report: "ANSWER: 2 + 3 = 5" → "answer (v2): 2 + 3 = 5"'], out
    assert replay.stderr == ""

    # the same as JSON: events, then the diff
    as_json = run_lgp("replay", "t1", "--recorded", "--json", cwd=project)
    assert as_json.returncode == 0, as_json.stderr
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert lines[-2]["type"] == "run.completed"
    assert lines[-2]["data"]["recorded_usage"]["calls"] == 3
    diff = lines[-1]
    assert diff["type"] == "replay.diff"
    assert [(c["kind"], c["path"]) for c in diff["changes"]] == [("changed", "report")]


def test_lgp_replay_recorded_refuses_a_thread_without_recordings(project: Path) -> None:
    write_config(project, "experiment")
    done = run_lgp("run", "workflows/tiny.py", "--input", '{"n": 1}', "--thread", "t2", cwd=project)
    assert done.returncode == 0, done.stderr

    refused = run_lgp("replay", "t2", "--recorded", cwd=project)
    assert refused.returncode == 2
    assert refused.stdout == ""
    [line] = refused.stderr.strip().splitlines()
    assert "thread t2 has no recorded model or tool calls to replay" in line, line
    assert "replay it without the recording" in line

    unflagged = run_lgp("replay", "t2", "--run", "abc", cwd=project)
    assert unflagged.returncode == 2
    [line] = unflagged.stderr.strip().splitlines()
    assert "--run goes with --recorded" in line, line

    bare = run_lgp("replay", "t2", cwd=project)
    assert bare.returncode == 2
    [line] = bare.stderr.strip().splitlines()
    assert "--checkpoint" in line and "--recorded" in line, line
