"""A project whose runs cost something: the ``multi_agent`` template as ``team``, its
three roles bound to the local OpenAI-compatible server (``fake_openai``) with known
token counts, so every surface (CLI, HTTP API, workbench) can check the same sums.

    project = team_project(tmp_path / "p", fake_openai)   # config/experiment.yaml
    script_team(fake_openai)                              # the replies of one run
    ...run team...
    assert usage["total_tokens"] == TEAM_RUN["total_tokens"]

The researcher runs on ``openai:gpt-4o-mini`` and the writer on ``openai:gpt-4o``
(priced by the bundled table), the reviewer on ``ollama:llama3.2`` (local: $0) and
approves the first draft, so one run is exactly three calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import FAKE_OPENAI_KEY, copy_project
from tests.servers.openai_fake import FakeOpenAI

# (role, match in its messages, provider:model, prompt tokens, completion tokens, reply)
TEAM_CALLS = (
    ("researcher", "careful researcher", "openai:gpt-4o-mini", 1000, 200, "Notes: WAL, resume"),
    ("writer", "concise technical writer", "openai:gpt-4o", 2000, 400, "Checkpoints persist."),
    ("reviewer", "demanding editor", "ollama:llama3.2", 500, 1, "APPROVE"),
)
# USD per million tokens (input, output) in lgp_engine/providers/pricing.yaml
_PRICES = {"openai:gpt-4o-mini": (0.15, 0.60), "openai:gpt-4o": (2.50, 10.00)}


def call_cost(model: str, prompt: int, completion: int) -> float:
    price_in, price_out = _PRICES.get(model, (0.0, 0.0))
    return (prompt * price_in + completion * price_out) / 1_000_000


#: What each node of one team run reports: {node: (tokens, cost)}.
TEAM_NODES = {
    role: (prompt + completion, call_cost(model, prompt, completion))
    for role, _, model, prompt, completion, _ in TEAM_CALLS
}
#: The usage of one team run.
TEAM_RUN: dict[str, Any] = {
    "calls": len(TEAM_CALLS),
    "input_tokens": sum(c[3] for c in TEAM_CALLS),
    "output_tokens": sum(c[4] for c in TEAM_CALLS),
    "total_tokens": sum(c[3] + c[4] for c in TEAM_CALLS),
    "cost_usd": sum(cost for _, cost in TEAM_NODES.values()),
    "by_model": {c[2]: call_cost(c[2], c[3], c[4]) for c in TEAM_CALLS},
}


def agent_sections(fake: FakeOpenAI) -> dict[str, Any]:
    """The ``llm_providers`` and ``agents`` config of the team, on ``fake``."""
    endpoint = {"base_url": fake.base_url, "api_key": FAKE_OPENAI_KEY, "max_backoff_s": 0.01}
    agents = {}
    for role, _, name, *_ in TEAM_CALLS:
        provider, model = name.split(":")
        agents[role] = {"provider": provider, "model": model}
    return {"llm_providers": {"openai": endpoint, "ollama": dict(endpoint)}, "agents": agents}


def team_project(root: Path, fake: FakeOpenAI, env: str = "experiment") -> Path:
    """A copy of the project with ``workflows/team.py`` (the multi_agent template,
    registered) whose roles call ``fake``, configured in ``config/<env>.yaml``."""
    project = copy_project(root)
    add_team(project, fake, env)
    return project


def add_team(project: Path, fake: FakeOpenAI, env: str = "experiment") -> None:
    """Create and register ``workflows/team.py`` in ``project``; its roles call ``fake``
    in environment ``env``."""
    from lgp_engine import create_workflow, load_settings

    create_workflow("team", "multi_agent", load_settings("experiment", project))
    add_agent_config(project, fake, env)


def add_agent_config(project: Path, fake: FakeOpenAI, env: str = "experiment") -> None:
    """Point ``config/<env>.yaml``'s providers and agent roles at ``fake`` (other
    sections kept)."""
    path = project / "config" / f"{env}.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config.update(agent_sections(fake))
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def script_team(fake: FakeOpenAI, runs: int = 1) -> None:
    """Queue the replies of ``runs`` team runs (each role's reply found by its prompt)."""
    items = [
        {
            "match": match,
            "content": reply,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
        }
        for _, match, _, prompt, completion, reply in TEAM_CALLS
    ]
    fake.script(*(items * runs))
