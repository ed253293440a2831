"""Agent nodes against a real local OpenAI-compatible server process (``fake_openai``):
tokens, usage and cost, bindings from config, each failure kind with bounded retries,
resume after the endpoint recovers, fallbacks, output-schema repair, budget."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lgp_engine import (
    ConfigError,
    RunEvent,
    Runner,
    load_settings,
    load_workflow,
    resolve_target,
)
from tests.providers.conftest import KEY, write_config


def run(
    project: Path, workflow: str, input_: Any = None, *, thread: str = "t1", **kw: Any
) -> list[RunEvent]:
    settings = load_settings("experiment", project)
    with Runner.open(settings) as runner:
        loaded = load_workflow(resolve_target(str(project / "workflows" / workflow)))
        return list(
            runner.start(loaded, input_ or {"task": "write a haiku"}, thread_id=thread, **kw)
        )


def resume(project: Path, workflow: str, thread: str = "t1") -> list[RunEvent]:
    settings = load_settings("experiment", project)
    with Runner.open(settings) as runner:
        loaded = load_workflow(resolve_target(str(project / "workflows" / workflow)))
        return list(runner.resume(loaded, thread))


def of_type(events: list[RunEvent], type_: str) -> list[RunEvent]:
    return [e for e in events if e.type == type_]


def test_tokens_stream_as_deltas_and_usage_is_what_the_server_reported(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    project = agent_project("agent_pair.py")
    fake_openai.script(
        {
            "content": "Leaves fall softly down",
            "usage": {"prompt_tokens": 31, "completion_tokens": 7},
        }
    )
    events = run(project, "agent_pair.py")
    last = events[-1]
    assert last.type == "run.completed", last.data
    deltas = "".join(e.data["content"] for e in of_type(events, "message.delta"))
    assert deltas == "Leaves fall softly down"
    assert all(e.node == "writer" for e in of_type(events, "message.delta"))
    assert last.data["output"]["writer_output"] == "Leaves fall softly down"
    usage = last.data["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (31, 7, 38)
    assert usage["calls"] == 1 and usage["cost_usd"] == 0  # Ollama is local: $0
    assert list(usage["by_model"]) == ["ollama:llama3.2"]
    [writer] = [e for e in of_type(events, "node.finished") if e.node == "writer"]
    [call] = writer.data["usage"]["llm_calls"]
    assert call["cost_model"] == "local" and call["duration_ms"] > 0
    [request] = fake_openai.requests()
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    assert request["messages"][-1]["content"] == "write a haiku"
    # the run store keeps the run's usage
    with sqlite3.connect(project / ".lgp" / "checkpoints.db") as db:
        [(stored,)] = db.execute("SELECT usage FROM lgp_runs").fetchall()
    assert json.loads(stored)["total_tokens"] == 38


def test_a_priced_model_costs_what_the_table_says(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    project = agent_project("agent_pair.py")
    write_config(
        project,
        "experiment",
        llm_providers={"openai": {"base_url": fake_openai.base_url, "api_key": KEY}},
        agents={"writer": {"provider": "openai", "model": "gpt-4o-mini"}},
        pricing={"gpt-4o-mini": {"input_per_million": 2.0, "output_per_million": 10.0}},
    )
    fake_openai.script(
        {"content": "ok", "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 100_000}}
    )
    events = run(project, "agent_pair.py")
    usage = events[-1].data["usage"]
    assert usage["cost_usd"] == pytest.approx(2.0 + 1.0)  # the config's price overrides
    assert list(usage["by_model"]) == ["openai:gpt-4o-mini"]
    assert fake_openai.requests()[0]["model"] == "gpt-4o-mini"
    assert fake_openai.requests()[0]["authorization"] == f"Bearer {KEY}"


FAULTS = [
    # fault, the kind it ends in, attempts the server sees (max_retries=2)
    ({"kind": "status", "status": 401, "times": 9}, "auth", 1),
    ({"kind": "status", "status": 429, "retry_after": 0, "times": 9}, "rate_limit", 3),
    ({"kind": "status", "status": 500, "times": 9}, "unavailable", 3),
    ({"kind": "stall", "times": 9}, "timeout", 3),
    ({"kind": "malformed_json", "times": 9}, "malformed_output", 3),
    (
        {"kind": "status", "status": 400, "code": "context_length_exceeded", "times": 9},
        "context_length",
        1,
    ),
]


@pytest.mark.parametrize(("fault", "kind", "attempts"), FAULTS, ids=[f[1] for f in FAULTS])
def test_each_failure_kind_ends_the_run_after_bounded_retries_and_resume_finishes(
    agent_project: Callable[..., Path],
    fake_openai: Any,
    fault: dict[str, Any],
    kind: str,
    attempts: int,
) -> None:
    project = agent_project("agent_pair.py", max_retries=2, timeout_s=0.5)
    fake_openai.fault(**fault)
    events = run(project, "agent_pair.py")
    failed = events[-1]
    assert failed.type == "run.failed", failed.data
    assert failed.data["kind"] == kind
    assert failed.node == "writer"
    assert failed.data["provider"] == "ollama" and failed.data["model"] == "llama3.2"
    assert fake_openai.base_url in failed.data["message"] or kind == "context_length"
    assert len(fake_openai.requests()) == attempts
    # the checkpoint after `prepare` is intact: resuming runs only the writer
    fake_openai.reset()
    fake_openai.script({"content": "recovered"})
    done = resume(project, "agent_pair.py")
    assert done[-1].type == "run.completed", done[-1].data
    assert done[-1].data["output"] == {
        "task": "write a haiku",
        "prepared": True,
        "writer_output": "recovered",
    }
    assert [e.node for e in of_type(done, "node.started")] == ["writer"]


def test_429_waits_as_long_as_retry_after_says(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    project = agent_project("agent_pair.py", max_retries=1, max_backoff_s=5)
    fake_openai.fault(kind="status", status=429, retry_after=0.4, times=1)
    events = run(project, "agent_pair.py")
    assert events[-1].type == "run.completed"
    first, second = fake_openai.requests()
    assert second["started_at"] - first["started_at"] >= 0.4


def test_an_endpoint_that_is_not_running_is_unavailable_with_advice(
    agent_project: Callable[..., Path], tmp_path: Path
) -> None:
    project = agent_project("agent_pair.py", max_retries=1)
    write_config(
        project,
        "experiment",
        llm_providers={
            "ollama": {"base_url": "http://127.0.0.1:9/v1", "max_backoff_s": 0.01, "max_retries": 1}
        },
    )
    failed = run(project, "agent_pair.py")[-1]
    assert failed.data["kind"] == "unavailable"
    assert failed.data["message"].startswith(
        "Ollama is not reachable at http://127.0.0.1:9/v1: start it with 'ollama serve' or "
        "set llm_providers.ollama.base_url in config/experiment.yaml"
    )
    assert failed.data["attempts"] == 2


def test_fallbacks_take_over_when_the_provider_stays_down(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    project = agent_project("agent_pair.py")
    write_config(
        project,
        "experiment",
        llm_providers={
            "ollama": {"base_url": "http://127.0.0.1:9/v1", "max_retries": 0},
            "backup": {"base_url": fake_openai.base_url, "api_key": KEY, "local": True},
        },
        agents={"writer": {"fallbacks": ["backup:qwen3"]}},
    )
    events = run(project, "agent_pair.py")
    assert events[-1].type == "run.completed"
    [fallback] = of_type(events, "agent.fallback")
    assert fallback.data["failed"] == "ollama:llama3.2"
    assert fallback.data["next"] == "backup:qwen3"
    assert list(events[-1].data["usage"]["by_model"]) == ["backup:qwen3"]
    assert fake_openai.requests()[0]["model"] == "qwen3"


def test_an_invalid_answer_is_repaired(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    project = agent_project("agent_schema.py")
    fake_openai.script(
        {"content": "I think it deserves a 7."},
        {"content": '```json\n{"score": 7, "reason": "clear"}\n```'},
    )
    events = run(project, "agent_schema.py")
    assert events[-1].type == "run.completed", events[-1].data
    [repair] = of_type(events, "agent.repair")
    assert repair.data["attempt"] == 1 and repair.data["schema"] == "Grade"
    assert events[-1].data["output"]["grader_output"] == {"score": 7, "reason": "clear"}
    second = fake_openai.requests()[1]["messages"]
    assert "does not match the required JSON schema" in second[-1]["content"]


def test_an_answer_that_never_fits_is_malformed_output_after_max_repairs(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    project = agent_project("agent_schema.py")
    fake_openai.script(*[{"content": '{"score": "high"}'}] * 3)
    events = run(project, "agent_schema.py")
    assert events[-1].data["kind"] == "malformed_output"
    assert len(of_type(events, "agent.repair")) == 2
    assert len(fake_openai.requests()) == 3
    assert "score" in events[-1].data["message"]


def test_the_budget_stops_the_run_before_the_call_that_would_pass_it(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    project = agent_project("agent_schema.py")
    write_config(
        project,
        "experiment",
        llm_providers={"openai": {"base_url": fake_openai.base_url, "api_key": KEY}},
        agents={"grader": {"provider": "openai", "model": "gpt-4o"}},
    )
    # the first answer costs $0.035 (more than the budget, which no one could know before
    # the call) and is invalid: its repair is refused
    fake_openai.script(
        {"content": "no json", "usage": {"prompt_tokens": 10_000, "completion_tokens": 1_000}}
    )
    events = run(project, "agent_schema.py", max_cost_usd=0.03)
    failed = events[-1]
    assert failed.data["kind"] == "budget_exceeded", failed.data
    assert len(fake_openai.requests()) == 1
    assert failed.data["usage"]["cost_usd"] == pytest.approx(0.035)


def test_a_role_bound_to_an_unconfigured_provider_is_a_config_error_before_anything_runs(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    project = agent_project("agent_pair.py")
    write_config(project, "experiment", agents={"writer": {"provider": "openai"}})
    with pytest.raises(ConfigError) as err:
        run(project, "agent_pair.py")
    assert "agent role 'writer' uses provider 'openai', which is not configured" in str(err.value)
    assert err.value.field == "llm_providers.openai"
    assert not (project / ".lgp").exists() or not _runs(project)
    assert fake_openai.requests() == []


def _runs(project: Path) -> list[Any]:
    with sqlite3.connect(project / ".lgp" / "checkpoints.db") as db:
        return db.execute("SELECT * FROM lgp_runs").fetchall()


def test_the_endpoints_structured_output_mode_only_when_configured(
    agent_project: Callable[..., Path], fake_openai: Any
) -> None:
    answer = {"content": '{"score": 9, "reason": "ok"}'}
    project = agent_project("agent_schema.py")
    fake_openai.script(answer)
    assert run(project, "agent_schema.py")[-1].type == "run.completed"
    assert fake_openai.requests()[0]["response_format"] is None  # parsed from the text
    project = agent_project("agent_schema.py", structured_output=True)
    fake_openai.reset()
    fake_openai.script(answer)
    events = run(project, "agent_schema.py", thread="t2")
    assert events[-1].data["output"]["grader_output"] == {"score": 9, "reason": "ok"}
    asked = fake_openai.requests()[0]["response_format"]
    assert asked["type"] == "json_schema" and asked["json_schema"]["name"] == "Grade"
    assert asked["json_schema"]["schema"]["required"] == ["score", "reason"]


def test_a_hand_written_chat_model_node_counts_too(
    agent_project: Callable[..., Path], fake_openai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = agent_project("chat_node.py")
    monkeypatch.setenv("CHAT_NODE_URL", fake_openai.base_url)
    monkeypatch.setenv("CHAT_NODE_KEY", KEY)
    fake_openai.script(
        {"content": "forty-two", "usage": {"prompt_tokens": 100_000, "completion_tokens": 10_000}}
    )
    events = run(project, "chat_node.py", {"question": "what?"})
    assert events[-1].type == "run.completed", events[-1].data
    assert "".join(e.data["content"] for e in of_type(events, "message.delta")) == "forty-two"
    usage = events[-1].data["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["calls"]) == (100_000, 10_000, 1)
    # gpt-4o-mini from the bundled table: $0.15 and $0.60 per million tokens
    assert usage["cost_usd"] == pytest.approx(0.015 + 0.006)
    assert list(usage["by_model"]) == ["openai:gpt-4o-mini"]
    [ask] = [e for e in of_type(events, "node.finished") if e.node == "ask"]
    assert ask.data["usage"]["total_tokens"] == 110_000
