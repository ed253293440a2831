"""The Langfuse tracer against a real local receiver process (``otlp_receiver.py``) that
decodes what the SDK exports: a multi-agent run (its models: the local OpenAI-compatible
server) as one trace, with spans, generations, metadata, tags and cut strings, and no
secret in the bytes sent; a host that refuses connections, one that never answers and
keys that are refused: runs that do not slow down, a close that keeps its deadline, and
one warning saying what to fix."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from lgp_engine import (
    AgentRuntime,
    ConfigError,
    Executor,
    RunEvent,
    load_workflow,
    resolve_target,
)
from lgp_engine._version import __version__
from lgp_engine.checkpointing import open_checkpoints
from lgp_engine.config import CheckpointerSettings, LangfuseSettings, Settings, TracingSettings
from lgp_engine.providers.settings import LlmProviderSettings
from lgp_engine.tracing.base import RunInfo
from lgp_engine.tracing.langfuse import LangfuseTracer, langfuse_environment
from tests.conftest import FAKE_OPENAI_KEY
from tests.processes import start_python
from tests.servers.openai_fake import FakeOpenAI
from tests.servers.otlp_fake import FakeLangfuse
from tests.workflows import copy_workflows

REPO = Path(__file__).resolve().parents[2]
TASK = "why checkpoints make agents crash-safe"
ROOT = "langfuse.internal.as_root"
META = "langfuse.trace.metadata."
TRACE_KEYS = (  # the trace metadata the issue lists
    "workflow_name",
    "environment",
    "runtime_version",
    "repository",
    "thread_id",
    "run_id",
    "provider",
    "model",
    "cost_model",
)
USAGE = {  # what the fake model server reports for each role's call
    "Research": (11, 5),
    "Write about": (23, 17),
    "Review the draft about": (31, 2),
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def receiver() -> Iterator[FakeLangfuse]:
    """The trace receiver: one process for the module. Tests take ``fake_langfuse``."""
    server = FakeLangfuse.start()
    yield server
    server.stop()


@pytest.fixture
def fake_langfuse(receiver: FakeLangfuse) -> FakeLangfuse:
    receiver.reset()
    return receiver


@dataclass
class Team:
    """``tests/workflows/traced_team.py`` ready to run in this process."""

    executor: Executor
    workflow: str

    def run(self, tracer: LangfuseTracer | None, thread: str = "t1") -> Outcome:
        """Run the team once, feeding each event to ``tracer`` as it comes (as the
        Runner does); the wall time covers the run and the tracing, not a close."""
        info = RunInfo(
            run_id=uuid.uuid4().hex,
            thread_id=thread,
            workflow=self.workflow,
            environment="experiment",
            repository="team-project",
            runtime_version=__version__,
        )
        events: list[RunEvent] = []
        url = None
        started = time.perf_counter()
        if tracer is not None:
            tracer.start_run(info)
        stream = self.executor.stream({"task": TASK}, thread_id=thread, run_id=info.run_id)
        for event in stream:
            events.append(event)
            if tracer is not None and event.is_terminal:
                url = tracer.finish_run(info, event)
            elif tracer is not None:
                tracer.event(info, event)
        return Outcome(info, events, url, time.perf_counter() - started)


@dataclass
class Outcome:
    info: RunInfo
    events: list[RunEvent]
    url: str | None
    wall_s: float


@pytest.fixture
def team(tmp_path: Path, fake_openai: FakeOpenAI) -> Iterator[Team]:
    """The team's roles on the local OpenAI-compatible server (one call each, usage as
    in ``USAGE``), over a memory checkpointer."""
    [path] = copy_workflows(tmp_path / "workflows", "traced_team.py")
    ollama = LlmProviderSettings(
        base_url=fake_openai.base_url, api_key=SecretStr(FAKE_OPENAI_KEY), max_retries=0
    )
    settings = Settings(
        environment="experiment",
        project_dir=tmp_path,
        checkpointer=CheckpointerSettings(backend="memory"),
        llm_providers={"ollama": ollama},
    )
    agents = AgentRuntime(settings)
    loaded = load_workflow(resolve_target(str(path)))
    with open_checkpoints(settings) as store:
        yield Team(Executor(loaded, store, agents=agents), "traced_team")
    agents.close()


def script_replies(fake: FakeOpenAI, runs: int = 1) -> None:
    replies = [
        {
            "match": prompt,
            "content": f"{prompt.split()[0]} answer",
            "usage": {"prompt_tokens": p, "completion_tokens": c},
        }
        for prompt, (p, c) in USAGE.items()
    ]
    fake.script(*(replies * runs))


def tracing(url: str, *, secret: str | None = None, **langfuse: Any) -> TracingSettings:
    from tests.servers.otlp_fake import PUBLIC_KEY, SECRET_KEY

    conf = LangfuseSettings(
        public_key=PUBLIC_KEY,
        secret_key=SecretStr(secret or SECRET_KEY),
        base_url=url,
        **langfuse,
    )
    return TracingSettings(backends=["langfuse"], langfuse=conf)


@pytest.fixture
def make_tracer() -> Iterator[Callable[..., tuple[LangfuseTracer, list[str]]]]:
    """``make_tracer(settings)``: a tracer and the problems it reports; closed after."""
    made: list[LangfuseTracer] = []

    def make(settings: TracingSettings) -> tuple[LangfuseTracer, list[str]]:
        problems: list[str] = []
        tracer = LangfuseTracer(settings, environment="experiment", on_problem=problems.append)
        made.append(tracer)
        return tracer, problems

    yield make
    for tracer in made:
        tracer.close(0.5)


def closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def by_name(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        out.setdefault(span["name"], []).append(span)
    return out


def attr_json(span: dict[str, Any], key: str) -> Any:
    return json.loads(span["attributes"][key])


# --------------------------------------------------------------------------- a run as a trace


def test_a_multi_agent_run_arrives_as_one_trace_with_its_nodes_calls_and_metadata(
    team: Team, fake_openai: FakeOpenAI, fake_langfuse: FakeLangfuse, make_tracer: Any
) -> None:
    script_replies(fake_openai)
    tracer, problems = make_tracer(tracing(fake_langfuse.url, tags=["team-a"]))
    outcome = team.run(tracer)
    assert outcome.events[-1].type == "run.completed", outcome.events[-1].data
    tracer.close(1.0)
    assert problems == []
    spans = fake_langfuse.spans()
    [trace_id] = {s["trace_id"] for s in spans}
    assert outcome.url == f"{fake_langfuse.url}/trace/{trace_id}"
    names = by_name(spans)
    # the root: the run, named after the workflow
    [root] = names.pop("traced_team")
    assert root["attributes"][ROOT] is True
    assert attr_json(root, "langfuse.observation.input") == {"task": TASK}
    # a span per node; the subgraph's nodes under the node that runs it
    nodes = {n: names.pop(n) for n in ("researcher", "writer", "review", "publish")}
    assert all(s["parent_span_id"] == root["span_id"] for [s] in nodes.values())
    [review] = nodes["review"]
    for inner in ("reviewer", "tally"):
        [span] = names.pop(inner)
        assert span["parent_span_id"] == review["span_id"], inner
        nodes[inner] = [span]
    # a generation per model call, under its node, with model and usage
    generations = names.pop("ollama:llama3.2")
    assert names == {}
    assert len(generations) == 3
    by_parent = {g["parent_span_id"]: g for g in generations}
    for role, prompt in (
        ("researcher", "Research"),
        ("writer", "Write about"),
        ("reviewer", "Review the draft about"),
    ):
        generation = by_parent[nodes[role][0]["span_id"]]
        assert generation["attributes"]["langfuse.observation.type"] == "generation"
        assert generation["attributes"]["langfuse.observation.model.name"] == "llama3.2"
        p, c = USAGE[prompt]
        usage = attr_json(generation, "langfuse.observation.usage_details")
        assert usage == {"input": p, "output": c, "total": p + c}
        assert attr_json(generation, "langfuse.observation.cost_details") == {"total": 0.0}
    # trace name, session and tags on every span; the trace's metadata on its root
    for span in spans:
        attributes = span["attributes"]
        assert attributes["langfuse.trace.name"] == "traced_team"
        assert attributes["session.id"] == "t1"
        assert attributes["langfuse.trace.tags"] == ["langgraph-platform", "experiment", "team-a"]
        assert attributes["langfuse.environment"] == "experiment"
    assert {k: attr_json(root, META + k) for k in TRACE_KEYS} == {
        "workflow_name": "traced_team",
        "environment": "experiment",
        "runtime_version": __version__,
        "repository": "team-project",
        "thread_id": "t1",
        "run_id": outcome.info.run_id,
        "provider": "ollama",
        "model": "llama3.2",
        "cost_model": "local",
    }
    # the 15,000 characters of `output`: 2,000 sent, saying so, with the full length
    [publish] = nodes["publish"]
    for span in (publish, root):
        sent = attr_json(span, "langfuse.observation.output")
        assert len(sent["output"]) == 2000 and "truncated" in sent["output"]
        assert sent["output_full_length"] == 15000
    # no key or secret in anything sent
    raw = fake_langfuse.raw()
    assert raw and all(r["auth"] == "ok" and r["status"] == 200 for r in fake_langfuse.requests())
    for secret in (FAKE_OPENAI_KEY, fake_langfuse.secret_key):
        assert secret.encode() not in raw
        assert secret not in json.dumps(spans)


WHERE = {"node": "code", "path": []}
LONG = "ok " * 2000  # a tool's answer of 6,000 characters
SESSION = {**WHERE, "role": "coder", "session_id": "s-1"}
CLAUDE_CALL = {
    "provider": "claude_code",
    "model": "claude-sonnet-4-5",
    "input_tokens": 120,
    "output_tokens": 30,
    "total_tokens": 150,
    "cost_usd": 0.0,
    "cost_model": "subscription",
    "duration_ms": 800.0,
}
SUBSCRIPTION = {
    "cost_model": "fixed_subscription",
    "monthly_cost": 200.0,
    "workflow_invocations": 40,
    "cost_per_invocation": 5.0,
}
TOOL = {**WHERE, "server": "tools", "tool": "add", "call_id": "c1"}
AGENT_RESULT = {
    "subtype": "success",
    "is_error": False,
    "kind": None,
    "turns": 2,
    "duration_ms": 800.0,
    "usage": {"input_tokens": 120, "output_tokens": 30},
    "cost_usd": 0.0,
    "total_cost_usd": 0.02,
    "cost_model": "subscription",
    "model": "claude-sonnet-4-5",
    "text": "Added the README.",
}
# a node that calls an MCP tool, then Claude Code (which writes a file), as their
# providers report it: (seconds after the start, type, data)
CODING_RUN: list[tuple[float, str, dict[str, Any]]] = [
    (0.0, "node.started", {**WHERE, "task_id": "k1", "triggers": []}),
    (0.1, "tool.called", {**TOOL, "arguments": {"a": 1}}),
    (0.2, "tool.result", {**TOOL, "is_error": False, "duration_ms": 5.0, "size": 1, "text": "2"}),
    (
        0.3,
        "agent.init",
        {**SESSION, "model": "claude-sonnet-4-5", "tools": ["Write"], "via": "cli"},
    ),
    (0.4, "agent.tool_use", {**SESSION, "tool": "Write", "tool_use_id": "u1", "input": {"p": 1}}),
    (0.5, "agent.tool_result", {**SESSION, "tool_use_id": "u1", "is_error": False, "text": LONG}),
    (1.1, "agent.result", {**SESSION, **AGENT_RESULT}),
    (
        1.2,
        "node.finished",
        {**WHERE, "task_id": "k1", "update": {"done": True}, "usage": {"llm_calls": [CLAUDE_CALL]}},
    ),
    (1.3, "run.completed", {"output": {"done": True}, "usage": {"subscription": SUBSCRIPTION}}),
]


def test_tool_calls_and_claude_code_sessions_nest_under_their_node(
    fake_langfuse: FakeLangfuse, make_tracer: Any
) -> None:
    """Tool observations under the node, an agent observation for the Claude Code
    invocation with its usage and cost, its model call as a generation under it, and
    the fixed-subscription figures on the trace."""
    tracer, problems = make_tracer(tracing(fake_langfuse.url))
    info = RunInfo(run_id="r-code", thread_id="t9", workflow="coder", environment="experiment")
    t0 = time.time()
    tracer.start_run(info)
    for seq, (dt, type_, data) in enumerate(CODING_RUN, 1):
        event = RunEvent("r-code", seq, type_, "t9", data, data.get("node"), t0 + dt)  # type: ignore[arg-type]
        if event.is_terminal:
            tracer.finish_run(info, event)
        else:
            tracer.event(info, event)
    tracer.close(1.0)
    assert problems == []
    names = by_name(fake_langfuse.spans())
    [node], [root] = names["code"], names["coder"]
    [tool] = names["tools.add"]
    assert tool["parent_span_id"] == node["span_id"]
    assert tool["attributes"]["langfuse.observation.type"] == "tool"
    assert attr_json(tool, "langfuse.observation.input") == {"a": 1}
    assert tool["attributes"]["langfuse.observation.output"] == "2"
    [agent] = names["claude_code:coder"]
    assert agent["parent_span_id"] == node["span_id"]
    assert agent["attributes"]["langfuse.observation.type"] == "agent"
    assert attr_json(agent, "langfuse.observation.metadata.total_cost_usd") == 0.02
    assert attr_json(agent, "langfuse.observation.metadata.usage")["input_tokens"] == 120
    [write] = names["Write"]
    assert write["parent_span_id"] == agent["span_id"]
    answer = write["attributes"]["langfuse.observation.output"]
    assert len(answer) == 2000 and answer.endswith("(truncated, full: 6000 chars)")
    assert attr_json(write, "langfuse.observation.metadata.output_full_length") == 6000
    [generation] = names["claude_code:claude-sonnet-4-5"]
    assert generation["parent_span_id"] == agent["span_id"]
    assert (generation["start_ns"], generation["end_ns"]) == (agent["start_ns"], agent["end_ns"])
    assert attr_json(generation, "langfuse.observation.usage_details")["total"] == 150
    assert {k: attr_json(root, META + k) for k in SUBSCRIPTION} == SUBSCRIPTION


def test_a_failed_run_is_an_error_trace_without_its_traceback(
    team: Team, fake_openai: FakeOpenAI, fake_langfuse: FakeLangfuse, make_tracer: Any
) -> None:
    fake_openai.fault(kind="status", status=401, times=9)
    tracer, _ = make_tracer(tracing(fake_langfuse.url))
    outcome = team.run(tracer)
    failed = outcome.events[-1]
    assert failed.type == "run.failed" and failed.data["kind"] == "auth"
    tracer.close(1.0)
    names = by_name(fake_langfuse.spans())
    [root], [node] = names["traced_team"], names["researcher"]
    for span in (root, node):
        assert span["attributes"]["langfuse.observation.level"] == "ERROR"
        assert "refused the API key" in span["attributes"]["langfuse.observation.status_message"]
    assert attr_json(root, "langfuse.observation.metadata.kind") == "auth"
    assert b"Traceback" not in fake_langfuse.raw()


def test_keys_and_host_come_from_the_environment(
    fake_langfuse: FakeLangfuse, make_tracer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", fake_langfuse.public_key)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", fake_langfuse.secret_key)
    monkeypatch.setenv("LANGFUSE_BASE_URL", fake_langfuse.url + "/")
    tracer, problems = make_tracer(TracingSettings(backends=["langfuse"]))
    info = RunInfo(run_id="r-env", thread_id="t", workflow="w", environment="experiment")
    url = tracer.finish_run(info, RunEvent("r-env", 1, "run.completed", "t", {"output": 1}))
    assert url is not None and url.startswith(f"{fake_langfuse.url}/trace/")
    assert tracer.finish_run(info, RunEvent("r-env", 2, "run.completed", "t")) == url  # once
    tracer.close(1.0)
    assert problems == []
    [span] = fake_langfuse.spans()
    assert url.endswith(span["trace_id"])


BAD_CONFIGS = [
    ({"secret_key": SecretStr("sk")}, "tracing.langfuse.public_key"),
    ({"public_key": "pk", "secret_key": SecretStr("")}, "tracing.langfuse.secret_key"),
    (
        {"public_key": "pk", "secret_key": SecretStr("sk"), "base_url": "lf.local"},
        "tracing.langfuse.base_url",
    ),
]


@pytest.mark.parametrize(("conf", "field"), BAD_CONFIGS, ids=[f for _, f in BAD_CONFIGS])
def test_missing_keys_or_a_bad_host_are_config_errors_naming_the_field(
    conf: dict[str, Any], field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = TracingSettings(langfuse=LangfuseSettings(**conf))
    with pytest.raises(ConfigError) as caught:
        LangfuseTracer(settings, environment="experiment", on_problem=print)
    assert caught.value.field == field
    assert caught.value.hint and ("LANGFUSE_" in caught.value.hint)
    assert "sk" not in caught.value.message.split()


# --------------------------------------------------------------------------- failure isolation


def test_refused_keys_are_reported_once_with_what_to_fix(
    fake_langfuse: FakeLangfuse, make_tracer: Any
) -> None:
    tracer, problems = make_tracer(tracing(fake_langfuse.url, secret="sk-lf-wrong-secret"))
    for n in range(2):
        info = RunInfo(run_id=f"r{n}", thread_id="t", workflow="w", environment="experiment")
        tracer.finish_run(info, RunEvent(info.run_id, 1, "run.completed", "t", {"output": n}))
        tracer._drain()  # the run's observations, now (the worker would, within 50 ms)
        tracer._sdk.client.flush()  # one export per run
    tracer.close(1.0)
    assert [r["auth"] for r in fake_langfuse.requests()] == ["bad", "bad"]
    [problem] = problems
    assert "refused the keys (HTTP 401)" in problem and "LANGFUSE_SECRET_KEY" in problem
    assert b"sk-lf-wrong-secret" not in fake_langfuse.raw()


@pytest.mark.parametrize("host", ["refusing", "hanging"])
def test_an_unreachable_or_silent_host_never_slows_a_run_and_close_keeps_its_deadline(
    host: str,
    team: Team,
    fake_openai: FakeOpenAI,
    fake_langfuse: FakeLangfuse,
    make_tracer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANGFUSE_FLUSH_AT", "1")  # export every span at once, mid-run
    script_replies(fake_openai, runs=3)
    team.run(None, thread="warm-up")
    baseline = team.run(None, thread="plain")
    if host == "refusing":
        url = f"http://127.0.0.1:{closed_port()}"
    else:
        url = fake_langfuse.url
        fake_langfuse.mode("hang")
    tracer, problems = make_tracer(tracing(url, timeout_s=1.0))
    traced = team.run(tracer, thread="traced")
    assert traced.events[-1].type == "run.completed"
    assert traced.wall_s <= baseline.wall_s + 1.0, (traced.wall_s, baseline.wall_s)
    if host == "hanging":  # the run's first spans went out during the run, and wait
        [held, *_] = fake_langfuse.wait_for_requests(1)
        assert held["status"] is None
    started = time.perf_counter()
    tracer.close(1.0)
    closing = time.perf_counter() - started
    assert closing <= 1.25, closing
    [problem] = problems
    if host == "refusing":
        assert problem.startswith(f"cannot reach Langfuse at {url}")
        assert "LANGFUSE_BASE_URL" in problem
    else:
        assert "did not answer within 1 s" in problem or "within 1 s, and were dropped" in problem


EXITING = """
import sys, time
from lgp_engine.config import LangfuseSettings, TracingSettings
from lgp_engine.events import RunEvent
from lgp_engine.tracing.base import RunInfo
from lgp_engine.tracing.langfuse import LangfuseTracer, langfuse_environment

url, public, secret = sys.argv[1:4]
conf = LangfuseSettings(public_key=public, secret_key=secret, base_url=url, timeout_s=1.0)
tracer = LangfuseTracer(
    TracingSettings(langfuse=conf), environment="hosted", on_problem=lambda p: print("PROBLEM", p)
)
for n in range(20):
    info = RunInfo(run_id=f"r{n}", thread_id="t", workflow="w", environment="hosted")
    tracer.event(info, RunEvent(info.run_id, 1, "node.started", "t", {"node": "a", "task_id": "x"}))
    tracer.finish_run(info, RunEvent(info.run_id, 2, "run.completed", "t", {"output": n}))
print("RUN DONE", flush=True)
"""  # the runs' traces are still queued: the process leaves without closing the tracer


def test_a_process_exits_within_a_second_of_its_run_when_langfuse_never_answers(
    fake_langfuse: FakeLangfuse,
) -> None:
    fake_langfuse.mode("hang")
    keys = (fake_langfuse.public_key, fake_langfuse.secret_key)
    process = start_python("-c", EXITING, fake_langfuse.url, *keys, cwd=REPO)
    with process:
        process.expect("^RUN DONE$", timeout=30)
        done = time.monotonic()
        process.wait(timeout=10)
        exiting = time.monotonic() - done
    # the last flush gets 0.8 s, the interpreter's teardown the rest (~0.15 s; 0.92-0.97 s
    # in all, measured alone). Unbounded, the SDK would wait its 5 s export timeout and
    # more: the bound left here is for a loaded machine's slower teardown.
    assert exiting <= 2.5, (exiting, process.text)
    assert any(line.startswith("PROBLEM ") for line in process.stdout), process.text
    assert fake_langfuse.requests()  # the last batch was sent, and held


def test_the_attribute_names_are_the_sdks() -> None:
    from langfuse import LangfuseOtelSpanAttributes as sdk

    from lgp_engine.tracing import langfuse_attrs as ours

    for name in (
        "TRACE_NAME",
        "TRACE_SESSION_ID",
        "TRACE_TAGS",
        "TRACE_METADATA",
        "OBSERVATION_TYPE",
        "OBSERVATION_INPUT",
        "OBSERVATION_OUTPUT",
        "OBSERVATION_METADATA",
        "OBSERVATION_LEVEL",
        "OBSERVATION_STATUS_MESSAGE",
        "OBSERVATION_MODEL",
        "OBSERVATION_USAGE_DETAILS",
        "OBSERVATION_COST_DETAILS",
        "ENVIRONMENT",
        "AS_ROOT",
    ):
        assert getattr(ours, name) == getattr(sdk, name), name


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("hosted", "hosted"), ("Prod EU", "prod-eu"), ("langfuse-x", "lgp-langfuse-x"), ("!!", None)],
)
def test_environments_are_named_as_langfuse_accepts(ours: str, theirs: str | None) -> None:
    assert langfuse_environment(ours) == theirs


def test_a_run_resumed_after_its_interrupt_continues_its_trace_beside_the_root(
    fake_langfuse: FakeLangfuse, make_tracer: Any
) -> None:
    tracer, problems = make_tracer(tracing(fake_langfuse.url))
    first = RunInfo(run_id="r-resumed", thread_id="t", workflow="wf", environment="experiment")
    again = RunInfo(**{**first.__dict__, "kind": "resume"})

    def ev(seq: int, type_: str, node: str | None = None, **data: Any) -> RunEvent:
        return RunEvent("r-resumed", seq, type_, "t", {"node": node, "path": [], **data}, node)  # type: ignore[arg-type]

    tracer.start_run(first)
    tracer.event(first, ev(1, "run.started", input={"q": 1}))
    tracer.event(first, ev(2, "node.started", "a", task_id="ta"))
    tracer.event(first, ev(3, "node.finished", "a", task_id="ta", duration_ms=1.0, update={}))
    url = tracer.finish_run(first, ev(4, "interrupt", "b", interrupts=[], duration_ms=2.0))
    tracer.start_run(again)  # the same run id goes on, in the same process
    tracer.event(again, ev(5, "run.started", input=None, resumed=True))
    tracer.event(again, ev(6, "node.started", "b", task_id="tb"))
    tracer.event(again, ev(7, "node.finished", "b", task_id="tb", duration_ms=1.0, update={}))
    assert tracer.finish_run(again, ev(8, "run.completed", output={}, duration_ms=3.0)) == url
    tracer.close(1.0)
    spans = fake_langfuse.spans()
    assert sorted(s["name"] for s in spans) == ["a", "b", "wf", "wf (resumed)"]
    assert len({s["trace_id"] for s in spans}) == 1
    assert [s["name"] for s in spans if s["attributes"].get(ROOT)] == ["wf"]
    assert problems == []
