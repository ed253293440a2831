"""Self-healing (issue 15, seed R7.4): a run that fails with a retryable error continues
from its last checkpoint after a backoff, at most ``runs.max_retries`` times, without
running finished nodes again; a bug in a node is not retried."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lgp_engine import Runner, Settings, load_workflow, resolve_target
from lgp_engine.config import RunSettings
from lgp_engine.executor import collect
from lgp_engine.ops.retries import RetryPolicy, retryable

# ``prepare`` runs once; ``call`` fails as an unreachable provider does until the
# attempts file says it has failed FAILS times (FAILS and ERROR come from the test).
WORKFLOW = textwrap.dedent(
    """
    from pathlib import Path
    from typing import TypedDict

    from langgraph.graph import START, StateGraph

    from lgp_engine.providers.base import ProviderError

    HERE = Path(__file__).parent
    FAILS = int((HERE / "fails").read_text())
    ERROR = (HERE / "error").read_text()


    class S(TypedDict, total=False):
        prepared: int
        answer: str


    def prepare(state: S) -> dict:
        with (HERE / "prepare.log").open("a") as f:
            f.write("ran\\n")
        return {"prepared": 1}


    def call(state: S) -> dict:
        log = HERE / "call.log"
        tries = len(log.read_text().splitlines()) if log.exists() else 0
        with log.open("a") as f:
            f.write("try\\n")
        if tries < FAILS:
            if ERROR == "bug":
                raise ValueError("a bug in the node")
            raise ProviderError("unavailable", "cannot reach http://127.0.0.1:9/v1")
        return {"answer": "done"}


    b = StateGraph(S)
    b.add_node("prepare", prepare)
    b.add_node("call", call)
    b.add_edge(START, "prepare")
    b.add_edge("prepare", "call")
    graph = b.compile()
    """
)


def _project(tmp_path: Path, fails: int, error: str = "unavailable") -> Path:
    (tmp_path / "flaky.py").write_text(WORKFLOW, encoding="utf-8")
    (tmp_path / "fails").write_text(str(fails))
    (tmp_path / "error").write_text(error)
    return tmp_path


def _settings(project: Path, max_retries: int) -> Settings:
    runs = RunSettings(max_retries=max_retries, retry_backoff_s=0.01, retry_backoff_max_s=0.05)
    return Settings(project_dir=project, runs=runs)


def test_a_retryable_failure_resumes_from_the_last_checkpoint_and_recovers(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path, fails=2)
    wf = load_workflow(resolve_target("flaky.py", project_dir=project))
    with Runner.open(_settings(project, max_retries=3)) as runner:
        result = collect(runner.start(wf, {}, thread_id="t1"))
        assert result.status == "completed", result.error
        retrying = [e for e in result.events if e.type == "run.retrying"]
        assert [e.data["attempt"] for e in retrying] == [1, 2]
        assert all(e.data["kind"] == "unavailable" and e.node is None for e in retrying)
        assert retrying[0].data["message"] == "cannot reach http://127.0.0.1:9/v1"
        starts = [e.data.get("retry") for e in result.events if e.type == "run.started"]
        assert starts == [None, 1, 2]
        assert result.events[-1].data["retries"] == 2
        seqs = [e.seq for e in result.events]
        assert seqs == list(range(1, len(seqs) + 1))  # one log, numbered without gaps
        record = runner.runs.get(result.run_id)
        assert record.status == "completed"
        stored = [e.type for e in runner.events(result.run_id)]
        assert stored.count("run.retrying") == 2 and "run.failed" not in stored
    assert (project / "prepare.log").read_text().splitlines() == ["ran"]  # not run again
    assert len((project / "call.log").read_text().splitlines()) == 3


def test_retries_stop_at_max_retries_and_the_run_fails(tmp_path: Path) -> None:
    project = _project(tmp_path, fails=10)
    wf = load_workflow(resolve_target("flaky.py", project_dir=project))
    with Runner.open(_settings(project, max_retries=2)) as runner:
        result = collect(runner.start(wf, {}, thread_id="t1"))
    assert result.status == "failed"
    assert [e.type for e in result.events].count("run.retrying") == 2
    assert result.events[-1].data["kind"] == "unavailable"
    assert len((project / "call.log").read_text().splitlines()) == 3  # 1 + 2 retries


def test_a_bug_in_a_node_is_not_retried(tmp_path: Path) -> None:
    project = _project(tmp_path, fails=1, error="bug")
    wf = load_workflow(resolve_target("flaky.py", project_dir=project))
    with Runner.open(_settings(project, max_retries=3)) as runner:
        result = collect(runner.start(wf, {}, thread_id="t1"))
    assert result.status == "failed"
    assert "run.retrying" not in [e.type for e in result.events]
    assert len((project / "call.log").read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ({"kind": "rate_limit"}, True),
        ({"kind": "timeout"}, True),
        ({"kind": "stalled"}, True),
        ({"kind": "auth"}, False),
        ({"kind": "budget_exceeded"}, False),
        ({"error_type": "OperationalError", "message": "server closed the connection"}, True),
        ({"error_type": "OperationalError", "message": "no such table: x"}, False),
        ({"error_type": "KeyError", "message": "'x'"}, False),
    ],
)
def test_what_is_retryable(failure: dict[str, str], expected: bool) -> None:
    assert retryable(failure) is expected


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=5, backoff_s=1.0, backoff_max_s=4.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0)]:
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
