"""The long-term store read and edited from outside a run (``LongTermStore``, what the
workbench's store browser uses): what a real run of ``tests/workflows/remember.py``
saved is listed, found and edited, and the next run sees the edit; on SQLite and
PostgreSQL. Bad namespaces, keys and values are refused before anything is written."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine import (
    LongTermStore,
    Runner,
    Settings,
    StoreError,
    StoreItem,
    UsageError,
    load_workflow,
    parse_namespace,
    resolve_target,
)
from tests.workflows import copy_workflows

TEA = {"user": "ada", "note": "I drink green tea every morning", "topic": "food"}
CAT = {"user": "ada", "note": "My cat is called Miso", "topic": "pets"}
BOB = {"user": "bob", "note": "Bob likes jazz", "topic": "music"}
TEA_KEY = "i-drink-green-tea-every-morning"


def settings_for(backend: str, project: Path, dsn: str | None = None, **extra: Any) -> Settings:
    checkpointer: dict[str, Any] = {"backend": backend}
    if backend == "postgres":
        checkpointer["dsn"] = dsn
    return Settings(project_dir=project, checkpointer=checkpointer, **extra)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    backend = str(request.param)
    dsn = request.getfixturevalue("postgres_dsn") if backend == "postgres" else None
    copy_workflows(tmp_path / "workflows", "remember.py")
    return settings_for(backend, tmp_path, dsn)


def remember(settings: Settings) -> Any:
    return load_workflow(resolve_target("workflows/remember.py", project_dir=settings.project_dir))


def run(runner: Runner, workflow: Any, payload: dict[str, Any], thread: str) -> dict[str, Any]:
    events = list(runner.start(workflow, payload, thread_id=thread))
    assert events[-1].type == "run.completed", events[-1]
    return dict(events[-1].data["output"])


@pytest.fixture
def runner(settings: Settings) -> Iterator[Runner]:
    with Runner.open(settings) as opened:
        yield opened


def test_what_a_run_saved_is_browsed_edited_and_the_next_run_sees_it(
    settings: Settings, runner: Runner
) -> None:
    workflow = remember(settings)
    run(runner, workflow, TEA, "t1")
    run(runner, workflow, CAT, "t2")
    run(runner, workflow, BOB, "t3")
    memory = LongTermStore.of(runner, workflow)
    assert memory is not None and not memory.indexed

    assert memory.namespaces() == [("memories", "ada"), ("memories", "bob")]
    assert memory.namespaces(("memories", "bob")) == [("memories", "bob")]
    ada = memory.search(("memories", "ada"), exact=True)
    assert sorted(i.key for i in ada) == [
        "i-drink-green-tea-every-morning",
        "my-cat-is-called-miso",
    ]
    assert all(i.updated_at is not None and i.updated_at.tzinfo is not None for i in ada)
    assert len(memory.search(("memories",))) == 3  # a prefix reaches deeper namespaces
    assert memory.search(("memories",), exact=True) == []  # nothing at the prefix itself
    # text filters look in the value, the key and the namespace, in any case
    assert [i.key for i in memory.search(text="GREEN TEA")] == [TEA_KEY]
    assert [i.key for i in memory.search(text="bob")] == ["bob-likes-jazz"]
    assert [i.value["topic"] for i in memory.search(text='"pets"')] == ["pets"]
    assert memory.search(text="nowhere to be found") == []
    assert len(memory.search(limit=2)) == 2

    tea = memory.get(("memories", "ada"), TEA_KEY)
    assert tea is not None and tea.value == {"text": TEA["note"], "topic": "food"}
    assert tea.to_json()["namespace"] == ["memories", "ada"]
    assert tea.to_json()["updated_at"].endswith("+00:00")
    assert memory.get(("memories", "ada"), "no-such-key") is None

    # an edit from outside the run: the next run of the user recalls it
    edited = memory.put(
        ("memories", "ada"), TEA_KEY, {"text": "I drink coffee now", "topic": "food"}
    )
    assert edited.value["text"] == "I drink coffee now"
    assert run(runner, workflow, {"user": "ada", "topic": "food"}, "t4")["same_topic"] == [
        "I drink coffee now"
    ]
    # a new item in a new namespace, then one refused because its key is taken
    added = memory.put(
        ("memories", "cy"), "first", {"text": "Cy is new", "topic": "misc"}, replace=False
    )
    assert added.namespace == ("memories", "cy") and added.created_at is not None
    with pytest.raises(UsageError) as taken:
        memory.put(("memories", "cy"), "first", {"text": "again"}, replace=False)
    assert taken.value.code == "item_exists"
    assert memory.get(("memories", "cy"), "first").value["text"] == "Cy is new"  # type: ignore[union-attr]
    assert ("memories", "cy") in memory.namespaces()
    assert run(runner, workflow, {"user": "cy"}, "t5")["memories"] == ["Cy is new"]

    # deleted: gone for the next run, and a second delete finds nothing
    assert memory.delete(("memories", "ada"), "my-cat-is-called-miso") is True
    assert memory.delete(("memories", "ada"), "my-cat-is-called-miso") is False
    assert run(runner, workflow, {"user": "ada"}, "t6")["memories"] == ["I drink coffee now"]


def test_open_alone_reads_what_a_runner_wrote(tmp_path: Path) -> None:
    copy_workflows(tmp_path / "workflows", "remember.py")
    settings = settings_for("sqlite", tmp_path)
    workflow = remember(settings)
    with Runner.open(settings) as runner:
        run(runner, workflow, TEA, "t1")
    with LongTermStore.open(settings) as memory:
        assert memory is not None
        assert memory.location.endswith("checkpoints.db")
        assert [i.key for i in memory.search()] == [TEA_KEY]
        memory.put(("memories", "ada"), "extra", {"text": "added alone"})
    with Runner.open(settings) as runner:
        assert run(runner, workflow, {"user": "ada"}, "t2")["memories"] == [
            "added alone",
            TEA["note"],
        ]


@pytest.mark.parametrize(
    ("namespace", "key", "value", "field"),
    [
        ((), "k", {}, "namespace"),
        (("a.b",), "k", {}, "namespace"),
        (("a", ""), "k", {}, "namespace"),
        (("langgraph", "x"), "k", {}, "namespace"),
        (("x" * 201,), "k", {}, "namespace"),
        (("a",), "", {}, "key"),
        (("a",), "   ", {}, "key"),
        (("a",), "k", ["not", "an", "object"], "value"),
        (("a",), "k", "text", "value"),
        (("a",), "k", {"n": float("nan")}, "value"),
    ],
)
def test_bad_items_are_refused_and_nothing_is_written(
    tmp_path: Path, namespace: tuple[str, ...], key: str, value: Any, field: str
) -> None:
    with LongTermStore.open(settings_for("sqlite", tmp_path)) as memory:
        assert memory is not None
        with pytest.raises(UsageError) as refused:
            memory.put(namespace, key, value)
        assert refused.value.field == field
        assert memory.namespaces() == [] and memory.search() == []


def test_namespaces_typed_with_dots() -> None:
    assert parse_namespace("memories.ada") == ("memories", "ada")
    assert parse_namespace(" memories . ada ") == ("memories", "ada")
    for bad in ("", "memories.", ".ada", "a..b", "langgraph.x"):
        with pytest.raises(UsageError):
            parse_namespace(bad)


EMBED = textwrap.dedent(
    """
    def embed(texts):
        return [[float("tea" in t), float("cat" in t), 1.0] for t in texts]
    """
)


def test_a_query_ranks_by_meaning_on_an_indexed_store_only(tmp_path: Path) -> None:
    (tmp_path / "emb.py").write_text(EMBED, encoding="utf-8")
    index = {"dims": 3, "embed": "./emb.py:embed", "fields": ["text"]}
    indexed = settings_for("sqlite", tmp_path, store={"index": index})
    with LongTermStore.open(indexed) as memory:
        assert memory is not None and memory.indexed
        memory.put(("m",), "a", {"text": "likes tea"})
        memory.put(("m",), "b", {"text": "has a cat"})
        found = memory.search(("m",), query="a cat")
        assert [i.key for i in found] == ["b", "a"]
        assert found[0].score is not None and found[0].score > (found[1].score or 0)
        assert "score" in found[0].to_json()
    plain = settings_for("sqlite", tmp_path / "plain")
    with LongTermStore.open(plain) as memory:
        assert memory is not None and not memory.indexed
        with pytest.raises(UsageError) as refused:
            memory.search(query="a cat")
        assert refused.value.field == "query"


def test_no_store_configured(tmp_path: Path) -> None:
    settings = settings_for("sqlite", tmp_path, store={"backend": "none"})
    with LongTermStore.open(settings) as memory:
        assert memory is None
    with Runner.open(settings) as runner:
        assert LongTermStore.of(runner) is None


def test_a_database_failure_is_a_store_error(tmp_path: Path) -> None:
    settings = settings_for("sqlite", tmp_path)
    with LongTermStore.open(settings) as memory:
        assert memory is not None
        memory.put(("m",), "k", {"v": 1})
        store = memory
    with pytest.raises(StoreError) as failed:  # its connection closed with the stores
        store.search()
    assert failed.value.code == "store_unavailable"
    assert "database" in str(failed.value)


def test_items_as_the_api_answers_them() -> None:
    item = StoreItem(("a",), "k", {"x": 1}, None, None)
    assert json.loads(json.dumps(item.to_json())) == {
        "namespace": ["a"],
        "key": "k",
        "value": {"x": 1},
        "created_at": None,
        "updated_at": None,
    }
