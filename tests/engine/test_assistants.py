"""The assistant store: versions, set_latest, the one-set-of-values rule for config and
context, system assistants, and two stores (two processes) on one database; each on
a SQLite file and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lgp_engine import AssistantStore, system_assistant_id
from lgp_engine.errors import ConflictError, NotFoundError, UsageError
from tests.databases import BACKENDS, StoreDb, postgres_module_dsn, store_db  # noqa: F401


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> StoreDb:
    return store_db(request, tmp_path)


@pytest.fixture
def store(db: StoreDb) -> Iterator[AssistantStore]:
    with db.assistants() as s:
        yield s


def test_every_update_is_a_version_and_any_version_can_be_current_again(
    store: AssistantStore,
) -> None:
    made = store.create(
        "g", config={"configurable": {"model": "m1"}, "tags": ["a"]}, metadata={"team": "x"}
    )
    assert made.version == 1 and made.name == "Untitled" and not made.system
    assert made.context == {"model": "m1"}  # config and context are one set of values
    assert made.config == {"configurable": {"model": "m1"}, "tags": ["a"]}

    second = store.update(made.assistant_id, context={"model": "m2"}, metadata={"stage": 2})
    assert second.version == 2 and second.created_at == made.created_at
    assert second.config == {"configurable": {"model": "m2"}, "tags": ["a"]}
    assert second.metadata == {"team": "x", "stage": 2}  # merged
    third = store.update(made.assistant_id, name="renamed", config={"recursion_limit": 5})
    assert (third.version, third.name) == (3, "renamed")
    assert third.config == {"recursion_limit": 5, "configurable": {"model": "m2"}}
    kept = store.update(made.assistant_id, config={})  # an empty config keeps the current
    assert kept.config == third.config and kept.version == 4

    versions = store.versions(made.assistant_id)
    assert [v.version for v in versions] == [4, 3, 2, 1]
    assert versions[-1].context == {"model": "m1"} and versions[-1].name == "Untitled"

    back = store.set_latest(made.assistant_id, 1)
    assert (back.version, back.context, back.name) == (1, {"model": "m1"}, "Untitled")
    assert back.updated_at >= third.updated_at
    after = store.update(made.assistant_id, description="from v1")
    assert after.version == 5 and after.context == {"model": "m1"}  # built on v1
    with pytest.raises(NotFoundError):
        store.set_latest(made.assistant_id, 9)

    store.delete(made.assistant_id)
    assert store.get(made.assistant_id) is None
    with pytest.raises(NotFoundError):
        store.versions(made.assistant_id)


def test_ids_config_rules_and_system_assistants(store: AssistantStore) -> None:
    given = str(uuid.uuid4())
    first = store.create("g", assistant_id=given, name="one")
    with pytest.raises(ConflictError):
        store.create("g", assistant_id=given)
    assert store.create("other", assistant_id=given, if_exists="do_nothing") == first
    with pytest.raises(UsageError):  # values in both places
        store.create("g", config={"configurable": {"a": 1}}, context={"b": 2})
    with pytest.raises(UsageError):  # not a run config
        store.create("g", config={"callbacks": []})
    owned = store.create("g", config={"configurable": {"thread_id": "t", "x": 1}})
    assert owned.context == {"x": 1}  # the run's own keys are no assistant's

    system = store.ensure_system("g", description="the g graph")
    assert system.assistant_id == system_assistant_id("g") and system.system
    assert (system.name, system.metadata, system.version) == ("g", {"created_by": "system"}, 1)
    assert store.ensure_system("g", description="new words").description == "new words"
    store.update(system.assistant_id, context={"k": 1})
    assert store.ensure_system("g", description="ignored").description == "new words"
    with pytest.raises(ConflictError):
        store.delete(system.assistant_id)
    with pytest.raises(ConflictError):
        store.update(system.assistant_id, graph_id="other")
    assert {a.graph_id for a in store.list_assistants(["other"])} == set()
    assert len(store.list_assistants(["g"])) == 3


def test_two_stores_on_one_database_see_each_other(db: StoreDb) -> None:
    with db.assistants() as one, db.assistants() as two:
        made = one.create("g")
        two.update(made.assistant_id, name="by two")
        assert one.require(made.assistant_id).name == "by two"
        assert [v.version for v in one.versions(made.assistant_id)] == [2, 1]
    with AssistantStore(None) as memory:
        assert memory.list_assistants() == []
