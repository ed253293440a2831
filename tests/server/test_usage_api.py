"""Tokens and cost of runs over HTTP: the LGP API (httpx) and the LangGraph API (the
official ``langgraph_sdk`` client), against a real ``lgp serve`` whose ``team``
workflow calls the local OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess
from tests.servers.openai_fake import FakeOpenAI
from tests.usage_project import TEAM_CALLS, TEAM_NODES, TEAM_RUN, add_team, script_team

# One server for the module: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("server_usage")

USAGE_KEYS = {
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "calls",
    "by_model",
    "subscription",  # None unless a fixed subscription bills the run's agent
}


@pytest.fixture(scope="module")
def usage_server(
    tmp_path_factory: pytest.TempPathFactory, openai_server: FakeOpenAI
) -> Iterator[ServerProcess]:
    """A server whose ``team`` roles call the fake OpenAI server (config/hosted.yaml)."""
    project = make_server_project(
        tmp_path_factory.mktemp("usage"), api_keys=[API_KEY], rate_limit_per_minute=100000
    )
    add_team(project, openai_server, env="hosted")
    with ServerProcess(project, "workflows") as proc:
        yield proc


@pytest_asyncio.fixture
async def client(usage_server: ServerProcess) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=usage_server.url, api_key=API_KEY) as sdk:
        yield sdk


def assert_team_usage(usage: dict[str, Any], runs: int = 1) -> None:
    """``usage`` is that of ``runs`` team runs, every documented key present."""
    assert set(usage) == USAGE_KEYS and usage["subscription"] is None
    assert usage["calls"] == runs * TEAM_RUN["calls"]
    assert usage["input_tokens"] == runs * TEAM_RUN["input_tokens"]
    assert usage["output_tokens"] == runs * TEAM_RUN["output_tokens"]
    assert usage["total_tokens"] == runs * TEAM_RUN["total_tokens"]
    assert usage["cost_usd"] == pytest.approx(runs * TEAM_RUN["cost_usd"])
    assert set(usage["by_model"]) == set(TEAM_RUN["by_model"])
    for name, cost in TEAM_RUN["by_model"].items():
        entry = usage["by_model"][name]
        assert entry["calls"] == runs and entry["cost_usd"] == pytest.approx(runs * cost)
        assert set(entry) == USAGE_KEYS - {"by_model", "subscription"}


def test_invoke_answers_usage_and_run_records_keep_it(
    usage_server: ServerProcess, fake_openai: FakeOpenAI
) -> None:
    script_team(fake_openai)
    with usage_server.client(API_KEY) as http:
        r = http.post("/workflows/team/invoke", json={"input": {"task": "why WAL"}})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "completed", body
        assert body["result"]["reviewer_output"] == "APPROVE"
        assert_team_usage(body["usage"])

        run = http.get(f"/runs/{body['run_id']}").json()
        assert run["status"] == "completed"
        assert_team_usage(run["usage"])
        [listed] = http.get(f"/sessions/{body['thread_id']}/runs").json()
        assert listed["usage"] == run["usage"]

        plain = http.post("/workflows/tiny/invoke", json={"input": {}}).json()
        assert plain["status"] == "completed" and plain["usage"] is None
        assert http.get(f"/runs/{plain['run_id']}").json()["usage"] is None


def test_a_failed_run_says_its_kind_and_keeps_the_usage_of_calls_before(
    usage_server: ServerProcess, fake_openai: FakeOpenAI
) -> None:
    script_team(fake_openai)
    fake_openai.fault(kind="status", status=401, match="concise technical writer", times=9)
    with usage_server.client(API_KEY) as http:
        body = http.post("/workflows/team/invoke", json={"input": {}}).json()
        assert body["status"] == "failed", body
        assert body["error"]["kind"] == "auth" and body["error"]["node"] == "writer"
        researcher = TEAM_CALLS[0]
        assert body["usage"]["calls"] == 1
        assert body["usage"]["total_tokens"] == TEAM_NODES["researcher"][0]
        assert list(body["usage"]["by_model"]) == [researcher[2]]
        run = http.get(f"/runs/{body['run_id']}").json()
        assert run["status"] == "failed" and run["error"]["kind"] == "auth"
        assert run["usage"] == body["usage"]


@pytest.mark.asyncio
async def test_sdk_runs_wait_then_get_and_list_show_usage_in_metadata(
    client: LangGraphClient, fake_openai: FakeOpenAI
) -> None:
    script_team(fake_openai, runs=2)
    thread = (await client.threads.create())["thread_id"]
    created: list[Any] = []
    values = await client.runs.wait(
        thread,
        "team",
        input={"task": "why WAL"},
        metadata={"owner": "sdk", "usage": "mine"},
        on_run_created=created.append,
    )
    assert isinstance(values, dict) and values["reviewer_output"] == "APPROVE"
    run_id = created[0]["run_id"]
    run = await client.runs.get(thread, run_id)
    assert run["status"] == "success"
    assert run["metadata"]["owner"] == "sdk"  # the caller's metadata stays
    assert_team_usage(run["metadata"]["usage"])  # ... but usage is the server's

    second = await client.runs.create(thread, "team", input={"task": "again"})
    await client.runs.join(thread, second["run_id"])
    runs = await client.runs.list(thread)
    assert [r["run_id"] for r in runs] == [second["run_id"], run_id]
    for listed in runs:
        assert_team_usage(listed["metadata"]["usage"])
    selected = await client.runs.list(thread, select=["run_id", "metadata"])
    assert selected[0]["metadata"]["usage"] == runs[0]["metadata"]["usage"]


@pytest.mark.asyncio
async def test_sdk_run_without_model_calls_has_no_usage_key(
    client: LangGraphClient, fake_openai: FakeOpenAI
) -> None:
    thread = (await client.threads.create())["thread_id"]
    created: list[Any] = []
    await client.runs.wait(
        thread, "tiny", input={}, metadata={"usage": "mine"}, on_run_created=created.append
    )
    run = await client.runs.get(thread, created[0]["run_id"])
    assert run["status"] == "success"
    assert run["metadata"] == {}  # no calls: no usage, and the key is the server's
    assert fake_openai.requests() == []


def scrape(http: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` as ``{(sample name, labels): value}`` (parsed by prometheus_client)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = http.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_tokens_cost_call_durations_and_errors_by_kind(
    usage_server: ServerProcess, fake_openai: FakeOpenAI
) -> None:
    with usage_server.client(API_KEY) as http:
        before = scrape(http)
        script_team(fake_openai)
        assert http.post("/workflows/team/invoke", json={"input": {}}).json()["status"] == (
            "completed"
        )
        script_team(fake_openai)
        fake_openai.fault(kind="status", status=401, match="concise technical writer", times=9)
        assert http.post("/workflows/team/invoke", json={"input": {}}).json()["status"] == (
            "failed"
        )
        after = scrape(http)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    researcher, writer, reviewer = TEAM_CALLS
    # the first run made all three calls, the second only the researcher's
    for (_, _, model, prompt, completion, _), runs in ((researcher, 2), (writer, 1), (reviewer, 1)):
        assert delta("lgp_tokens_total", workflow="team", model=model, kind="input") == (
            runs * prompt
        )
        assert delta("lgp_tokens_total", workflow="team", model=model, kind="output") == (
            runs * completion
        )
        assert delta("lgp_llm_call_duration_seconds_count", model=model) == runs
    assert delta("lgp_cost_usd_total", workflow="team", model="openai:gpt-4o") == pytest.approx(
        TEAM_RUN["by_model"]["openai:gpt-4o"]
    )
    assert delta("lgp_errors_total", kind="auth") == 1
