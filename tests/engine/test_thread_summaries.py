"""Thread summaries (name, workflow, status, lineage) and renames, on a real SQLite
file with real runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from lgp_engine import (
    NotFoundError,
    Runner,
    Settings,
    ThreadSummary,
    UsageError,
    input_title,
    load_settings,
    load_workflow,
    rename_thread,
    resolve_in_project,
    summarize_threads,
)
from tests.workflows import copy_workflows


@pytest.fixture
def settings(project: Path) -> Settings:
    copy_workflows(project / "workflows", "mixed_outcomes.py")
    return load_settings(project_dir=project)


@pytest.fixture
def outcomes(settings: Settings) -> Settings:
    """Threads ended each way: completed, interrupted, failed, cancelled, forked,
    replayed (oldest first)."""
    mixed = load_workflow(resolve_in_project("workflows/mixed_outcomes.py", settings))
    basic = load_workflow(resolve_in_project("basic_workflow", settings))
    with Runner.open(settings) as runner:
        done = list(runner.start(basic, {"input": "  hello\n  there "}, thread_id="t-done"))
        assert done[-1].type == "run.completed"
        asked = list(runner.start(mixed, {"outcome": "ask"}, thread_id="t-ask"))
        assert asked[-1].type == "interrupt"
        failed = list(runner.start(mixed, {"outcome": "fail"}, thread_id="t-fail"))
        assert failed[-1].type == "run.failed"
        for event in runner.start(basic, {"input": "stop me"}, thread_id="t-stop"):
            if event.type == "node.finished":
                break  # the consumer stops reading: the run is cancelled
        greet = next(
            e.data["checkpoint_id"]
            for e in runner.start(basic, {"input": "to fork"}, thread_id="t-fork")
            if e.type == "checkpoint" and e.data["step"] == 1
        )
        forked = list(runner.fork(basic, "t-fork", greet, {"input": "forked"}))
        assert forked[-1].type == "run.completed"
        first = next(
            e.data["checkpoint_id"]
            for e in runner.start(basic, {"input": "to replay"}, thread_id="t-replay")
            if e.type == "checkpoint" and e.data["step"] == 0
        )
        replayed = list(runner.replay(basic, "t-replay", first))
        assert replayed[-1].type == "run.completed"
    return settings


def by_id(summaries: list[ThreadSummary]) -> dict[str, ThreadSummary]:
    return {s.thread_id: s for s in summaries}


def test_status_workflow_name_and_lineage_of_each_thread(outcomes: Settings) -> None:
    with Runner.open(outcomes) as runner:
        summaries = summarize_threads(runner.store, runner.runs)
        greet = next(
            c.checkpoint_id
            for c in runner.store.history("t-fork", limit=100)
            if c.step == 1 and c.source == "loop"
        )
        replay_from = next(
            c.checkpoint_id for c in runner.store.history("t-replay", limit=100) if c.step == 0
        )
    assert [s.thread_id for s in summaries] == [
        "t-replay",
        "t-fork",
        "t-stop",
        "t-fail",
        "t-ask",
        "t-done",
    ]
    got = by_id(summaries)
    assert {t: s.status for t, s in got.items()} == {
        "t-done": "completed",
        "t-ask": "interrupted",
        "t-fail": "failed",
        "t-stop": "cancelled",
        "t-fork": "completed",
        "t-replay": "completed",
    }
    assert got["t-done"].workflow == "basic_workflow"
    assert got["t-ask"].workflow == "mixed_outcomes"
    assert got["t-done"].name == "hello there"  # the input's text on one line
    assert not got["t-done"].named
    assert got["t-ask"].name == "ask"  # the first text of the input
    assert got["t-fail"].error == "boom"
    assert got["t-done"].error is None
    assert got["t-done"].lineage is None
    fork = got["t-fork"].lineage
    assert fork is not None
    assert (fork.kind, fork.thread_id, fork.checkpoint_id) == ("fork", "t-fork", greet)
    assert got["t-fork"].name == "to fork"  # the first run's input, not the fork's
    replay = got["t-replay"].lineage
    assert replay is not None
    assert (replay.kind, replay.thread_id, replay.checkpoint_id) == (
        "replay",
        "t-replay",
        replay_from,
    )
    for s in summaries:
        assert s.checkpoints > 0
        assert s.updated_at is not None


def test_rename_sets_the_name_in_the_thread_metadata(outcomes: Settings) -> None:
    with Runner.open(outcomes) as runner:
        assert rename_thread(runner.store, runner.runs, "t-fail", "  the\nfailing one ") == (
            "the failing one"
        )
        meta = runner.runs.get_thread("t-fail")
        assert meta is not None
        assert meta.metadata == {"name": "the failing one"}
        got = by_id(summarize_threads(runner.store, runner.runs))["t-fail"]
        assert (got.name, got.named) == ("the failing one", True)
        assert got.matches("FAILING boom") is False  # every word must be somewhere
        assert got.matches("failing mixed")  # name and workflow
        assert got.matches("failed t-fail")  # status and id

        # an empty name removes it: named after its input again; other keys stay
        runner.runs.put_thread("t-fail", {"graph_id": "mixed_outcomes"})
        assert rename_thread(runner.store, runner.runs, "t-fail", " ") is None
        meta = runner.runs.get_thread("t-fail")
        assert meta is not None
        assert meta.metadata == {"graph_id": "mixed_outcomes"}
        got = by_id(summarize_threads(runner.store, runner.runs))["t-fail"]
        assert (got.name, got.named) == ("fail", False)

        with pytest.raises(UsageError) as too_long:
            rename_thread(runner.store, runner.runs, "t-fail", "x" * 121)
        assert too_long.value.field == "name"
        with pytest.raises(NotFoundError):
            rename_thread(runner.store, runner.runs, "no-such-thread", "x")


def test_a_copied_thread_names_the_thread_it_came_from(outcomes: Settings) -> None:
    with Runner.open(outcomes) as runner:
        runner.store.copy_thread("t-done", "t-copy")
        got = by_id(summarize_threads(runner.store, runner.runs))
    copy = got["t-copy"]
    assert copy.lineage is not None
    assert (copy.lineage.kind, copy.lineage.thread_id) == ("copy", "t-done")
    assert (copy.name, copy.workflow) == ("hello there", "basic_workflow")
    assert copy.status == "completed"  # from its newest checkpoint: nothing left to run


def test_summaries_take_a_fixed_number_of_queries(outcomes: Settings) -> None:
    """More threads do not mean more queries (no query per thread)."""

    def count_queries() -> int:
        statements: list[str] = []
        with Runner.open(outcomes) as runner:
            runner.store.threads(limit=1)  # opens its read connection
            conn = runner.store._read_conn
            assert conn is not None
            conn.set_trace_callback(statements.append)
            runs_conn = runner.runs._db._conn  # type: ignore[attr-defined]
            runs_conn.set_trace_callback(statements.append)
            summarize_threads(runner.store, runner.runs)
        return len(statements)

    few = count_queries()
    basic_threads = [f"more-{i}" for i in range(20)]
    basic = load_workflow(resolve_in_project("basic_workflow", outcomes))
    with Runner.open(outcomes) as runner:
        for tid in basic_threads:
            list(runner.start(basic, {"input": tid}, thread_id=tid))
    assert count_queries() == few


CHAT = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "what is 40?"}]


@pytest.mark.parametrize(
    ("value", "title"),
    [
        ({"messages": CHAT}, "what is 40?"),  # the first human message
        ({"messages": CHAT[:1]}, "be brief"),  # none: the first message
        ({"topic": "release notes", "n": 3}, "release notes"),
        ({"n": 3, "label": "x"}, "x"),
        ({"n": 3}, '{"n": 3}'),
        ({"command": {"resume": "yes"}}, None),  # a resume names nothing
        (None, None),
        ("a" * 80, "a" * 59 + "…"),
    ],
)
def test_input_title(value: object, title: str | None) -> None:
    assert input_title(value) == title


def test_the_agent_server_api_shows_the_name(outcomes: Settings) -> None:
    """The name is the thread metadata the API serves: ``client.threads.get`` and
    ``threads.search(metadata=...)`` see it, and a PATCH from a client renames."""
    from langgraph_sdk import get_sync_client

    from lgp_engine import BackgroundServer, build_catalog

    with Runner.open(outcomes) as runner:
        rename_thread(runner.store, runner.runs, "t-ask", "waiting for you")
    server = BackgroundServer(outcomes, build_catalog(outcomes), host="127.0.0.1", port=0)
    server.start()
    try:
        client = get_sync_client(url=server.url)
        thread = client.threads.get("t-ask")
        assert thread["metadata"]["name"] == "waiting for you"
        assert thread["status"] == "interrupted"
        found = client.threads.search(metadata={"name": "waiting for you"})
        assert [t["thread_id"] for t in found] == ["t-ask"]
        client.threads.update("t-done", metadata={"name": "from a client"})
    finally:
        server.stop()
    with Runner.open(outcomes) as runner:
        got = by_id(summarize_threads(runner.store, runner.runs))
    assert (got["t-done"].name, got["t-done"].named) == ("from a client", True)
