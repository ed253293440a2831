"""Helpers of the provider tests: a project whose config points agent roles at the
local OpenAI-compatible server (``fake_openai``, a real process)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FAKE_OPENAI_KEY as KEY  # must never be written anywhere
from tests.workflows import copy_workflows


def write_config(project: Path, env: str, **sections: Any) -> Path:
    """Write ``config/<env>.yaml`` of ``project`` (the sections given, over a SQLite
    store in the project). A failed call ends its run here: the runner's own retries
    of a run (tests/ops/test_retries.py) are off unless a test turns them on."""
    path = project / "config" / f"{env}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "checkpointer": {"backend": "sqlite", "path": ".lgp/checkpoints.db"},
        "runs": {"max_retries": 0},
        **sections,
    }
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def agent_project(tmp_path: Path, fake_openai: Any) -> Callable[..., Path]:
    """``agent_project(*workflows, **provider_options)``: a project with the shared test
    workflows named, whose ``ollama`` provider is the fake server (quick retries)."""

    def make(*workflows: str, **options: Any) -> Path:
        project = tmp_path / "project"
        copy_workflows(project / "workflows", *workflows)
        ollama = {
            "base_url": fake_openai.base_url,
            "api_key": KEY,
            "max_backoff_s": 0.01,
            **options,
        }
        write_config(project, "experiment", llm_providers={"ollama": ollama})
        return project

    return make
