"""The agent layer through the ``lgp`` command, as a user meets it: the
``multi_agent`` template created and run against the local OpenAI-compatible server
(acceptance of the agent nodes), then the same workflow under ``--env hosted``, bound
to other models by the repository's own ``config/hosted.yaml``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import FAKE_OPENAI_KEY
from tests.processes import run_lgp
from tests.servers.openai_fake import FakeOpenAI

REPLIES = (
    ("careful researcher", "Notes: WAL and resume", 900, 100),
    ("technical writer", "Checkpoints make agents crash safe.", 1800, 300),
    ("demanding editor", "APPROVE", 600, 2),
)


def script_run(fake: FakeOpenAI) -> None:
    fake.script(
        *[
            {
                "match": match,
                "content": reply,
                "usage": {"prompt_tokens": p, "completion_tokens": c},
            }
            for match, reply, p, c in REPLIES
        ]
    )


def events_of(project: Path, run_id: str, env: dict[str, str]) -> list[dict[str, Any]]:
    shown = run_lgp("events", run_id, "--json", cwd=project, env=env)
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines()]


def test_create_the_team_then_run_it_on_the_local_models(
    project: Path, fake_openai: FakeOpenAI
) -> None:
    env = {"OLLAMA_BASE_URL": fake_openai.base_url, "OLLAMA_API_KEY": FAKE_OPENAI_KEY}
    created = run_lgp("create", "team", "--template", "multi_agent", cwd=project, env=env)
    assert created.returncode == 0, created.stderr
    script_run(fake_openai)
    ran = run_lgp("run", "team", cwd=project, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for role in ("researcher", "writer", "reviewer"):
        assert f"[lgp]   ✅ Injected {role}_agent (ollama:llama3.2)" in ran.stdout
    assert "Usage: 3,702 tokens, $0.00 (3,300 in, 402 out)" in ran.stdout
    run_id = next(
        line.split()[-1] for line in ran.stdout.splitlines() if line.startswith("[lgp] Run:")
    )
    events = events_of(project, run_id, env)
    deltas = [e for e in events if e["type"] == "message.delta" and e["data"]["content"]]
    assert {e["node"] for e in deltas} == {"researcher", "writer", "reviewer"}
    writer_text = "".join(e["data"]["content"] for e in deltas if e["node"] == "writer")
    assert writer_text == "Checkpoints make agents crash safe."
    usage = events[-1]["data"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (3300, 402)  # as reported
    assert usage["by_model"]["ollama:llama3.2"]["calls"] == 3
    assert usage["cost_usd"] == 0  # local models cost nothing
    runs = run_lgp("runs", cwd=project, env=env)
    assert "3,702" in runs.stdout, runs.stdout


def test_the_same_workflow_under_hosted_uses_the_models_of_hosted_yaml(
    project: Path, fake_openai: FakeOpenAI
) -> None:
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": FAKE_OPENAI_KEY}
    assert run_lgp("create", "team", "--template", "multi_agent", cwd=project).returncode == 0
    script_run(fake_openai)
    ran = run_lgp("run", "team", "--env", "hosted", cwd=project, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for role in ("researcher", "writer", "reviewer"):
        assert f"[lgp]   ✅ Injected {role}_agent (openai:gpt-4o-mini)" in ran.stdout
    assert {r["model"] for r in fake_openai.requests()} == {"gpt-4o-mini"}
    run_id = next(
        line.split()[-1] for line in ran.stdout.splitlines() if line.startswith("[lgp] Run:")
    )
    usage = events_of(project, run_id, {**env, "LGP_ENV": "hosted"})[-1]["data"]["usage"]
    assert list(usage["by_model"]) == ["openai:gpt-4o-mini"]
    # gpt-4o-mini: $0.15 / $0.60 per million input / output tokens (the bundled table)
    assert abs(usage["cost_usd"] - (3300 * 0.15 + 402 * 0.60) / 1e6) < 1e-9
    cost = run_lgp("cost", "--env", "hosted", "--json", cwd=project, env=env)
    assert cost.returncode == 0, cost.stderr
    assert json.loads(cost.stdout)["total_tokens"] == 3702


def test_a_role_on_a_provider_without_a_key_is_a_load_error(project: Path) -> None:
    assert run_lgp("create", "team", "--template", "multi_agent", cwd=project).returncode == 0
    ran = run_lgp("run", "team", "--env", "hosted", cwd=project, env={"OPENAI_API_KEY": ""})
    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines() == [
        "[lgp] ❌ Configuration error: agent role 'researcher' uses provider 'openai', which "
        "has no API key (llm_providers.openai.api_key is empty in config/hosted.yaml) "
        "(set OPENAI_API_KEY, or api_key: ${OPENAI_API_KEY} under llm_providers.openai)"
    ]
    assert not (project / ".lgp").exists()  # nothing written
