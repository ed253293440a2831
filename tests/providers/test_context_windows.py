"""Context windows (what the workbench's context meter measures against): from the
bundled pricing table, extended or overridden by the config's ``pricing:``; and the
conversation's tokens at each reply of a real Claude Code session, in its events."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lgp_engine import PriceTable, load_settings
from lgp_engine.providers.pricing import bundled_prices
from tests.processes import run_lgp
from tests.providers.conftest import write_config
from tests.providers.test_claude_code import (
    KEY,
    claude_env,
    events_of,
    make_repo,
    of_type,
    run_id_of,
)
from tests.servers.anthropic_fake import FakeAnthropic


def test_every_bundled_model_has_its_window_and_names_match_by_prefix() -> None:
    assert all(price.context_window for price in bundled_prices().values())
    table = PriceTable()
    assert table.context_window("gpt-4o") == 128_000
    assert table.context_window("gpt-4o-mini-2024-07-18") == 128_000
    assert table.context_window("openai/gpt-4.1") == 1_047_576
    assert table.context_window("claude-sonnet-4-5-20250929") == 200_000
    assert table.context_window("llama3.2") is None  # not in the table: unknown
    assert table.context_window(None) is None


def test_the_config_adds_a_window_and_a_new_price_keeps_the_known_one(project: Path) -> None:
    config = project / "config" / "experiment.yaml"
    body = yaml.safe_load(config.read_text()) or {}
    body["pricing"] = {
        "llama3.2": {"input_per_million": 0, "output_per_million": 0, "context_window": 131_072},
        "gpt-4o": {"input_per_million": 2.0, "output_per_million": 8.0},  # no window given
    }
    config.write_text(yaml.safe_dump(body))
    table = PriceTable(load_settings(project_dir=project).pricing)
    assert table.context_window("llama3.2") == 131_072
    assert table.context_window("gpt-4o") == 128_000
    assert table.cost("gpt-4o", 1_000_000, 0) == 2.0  # the config's price


def test_a_claude_code_sessions_events_say_the_conversations_tokens_at_each_reply(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    claude = {"base_url": fake_anthropic.url, "api_key": KEY, "max_retries": 0}
    write_config(project, "experiment", llm_providers={"claude_code": claude})
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "site")
    created = run_lgp("create", "coder", "--template", "with_claude_code", cwd=project, env=env)
    assert created.returncode == 0, created.stderr
    target = repo / "NOTES.md"
    write = {"name": "Write", "input": {"file_path": str(target), "content": "hi\n"}}
    fake_anthropic.script(
        {
            "tool_uses": [write],
            "usage": {"input_tokens": 3000, "output_tokens": 40, "cache_read_input_tokens": 500},
        },
        {"text": "Wrote it.", "usage": {"input_tokens": 3100, "output_tokens": 8}},
    )
    given = json.dumps({"task": "write the notes", "repository": str(repo)})
    ran = run_lgp("run", "coder", "--input", given, cwd=project, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    events = events_of(project, run_id_of(ran.stdout), env)
    # the prompt (fresh, cached) and the answer's tokens as the CLI streams them with
    # the reply: the count of its first chunk (1), as Anthropic's message_start says
    (use,) = of_type(events, "agent.tool_use")
    assert use["context_tokens"] == 3000 + 500 + 1
    (message,) = of_type(events, "agent.message")
    assert message["context_tokens"] == 3100 + 1
    (result,) = of_type(events, "agent.result")
    assert result["context_tokens"] == 3101  # its last reply's
