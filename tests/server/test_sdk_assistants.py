"""Assistants as the LangGraph Agent Server has them, and what LangGraph Studio asks of a
server, through the official ``langgraph_sdk`` against a real ``lgp serve``.

One server for the module. Its project also serves ``configured`` (a node that shows
the ``configurable`` values, tags and context its run got), ``nested`` (subgraphs two
deep) and ``subflow`` (a subgraph, then an interrupt).
"""

from __future__ import annotations

import typing
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import typing_extensions
from langgraph_sdk import get_client
from langgraph_sdk import schema as sdk
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)

from lgp_engine.server.langgraph import models
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess
from tests.workflows import copy_workflows

pytestmark = pytest.mark.xdist_group("server_assistants")

WORKFLOWS = ("configured.py", "nested.py", "subflow.py")
SYSTEM = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


@pytest.fixture(scope="module")
def assistants_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    project = make_server_project(
        tmp_path_factory.mktemp("assistants"),
        api_keys=[API_KEY],
        rate_limit_per_minute=100000,
    )
    copy_workflows(project / "workflows", *WORKFLOWS)
    with ServerProcess(project, "workflows") as proc:
        yield proc


@pytest_asyncio.fixture
async def client(assistants_server: ServerProcess) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=assistants_server.url, api_key=API_KEY) as sdk_client:
        yield sdk_client


def required_keys(typed_dict: type) -> set[str]:
    hints = typing.get_type_hints(typed_dict, include_extras=True)
    optional = (typing.NotRequired, typing_extensions.NotRequired)
    return {k for k, hint in hints.items() if typing.get_origin(hint) not in optional}


@pytest.mark.parametrize(
    ("official", "ours"),
    [(sdk.AssistantVersion, models.AssistantVersion), (sdk.GraphSchema, models.AssistantSchemas)],
    ids=lambda t: t.__name__,
)
def test_the_shapes_answer_every_field_the_sdk_requires(official: type, ours: type) -> None:
    assert required_keys(official) <= set(ours.model_fields)


# --------------------------------------------------------------------------- CRUD


@pytest.mark.asyncio
async def test_create_update_versions_set_latest_delete(client: LangGraphClient) -> None:
    made = await client.assistants.create(
        "configured",
        config={"configurable": {"model": "m1"}, "tags": ["a"]},
        metadata={"team": "blue"},
        name="m1 bot",
        description="answers with m1",
    )
    aid = made["assistant_id"]
    assert uuid.UUID(aid) and made["version"] == 1 and made["graph_id"] == "configured"
    assert made["context"] == {"model": "m1"}  # config.configurable and context are one
    assert made["config"] == {"configurable": {"model": "m1"}, "tags": ["a"]}
    assert (made["name"], made["description"], made["metadata"]) == (
        "m1 bot",
        "answers with m1",
        {"team": "blue"},
    )
    assert await client.assistants.get(aid) == made
    with pytest.raises(ConflictError):
        await client.assistants.create("configured", assistant_id=aid)
    same = await client.assistants.create("configured", assistant_id=aid, if_exists="do_nothing")
    assert same == made

    second = await client.assistants.update(aid, context={"model": "m2"}, metadata={"stage": 2})
    assert second["version"] == 2 and second["name"] == "m1 bot"
    assert second["config"] == {"configurable": {"model": "m2"}, "tags": ["a"]}
    assert second["metadata"] == {"team": "blue", "stage": 2}
    third = await client.assistants.update(aid, name="renamed")
    assert third["version"] == 3 and third["context"] == {"model": "m2"}

    versions = await client.assistants.get_versions(aid)
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["name"] for v in versions] == ["renamed", "m1 bot", "m1 bot"]
    assert versions[2]["context"] == {"model": "m1"} and "updated_at" not in versions[2]
    staged = await client.assistants.get_versions(aid, metadata={"stage": 2})
    assert [v["version"] for v in staged] == [3, 2]

    back = await client.assistants.set_latest(aid, 1)
    assert (back["version"], back["name"], back["context"]) == (1, "m1 bot", {"model": "m1"})
    assert (await client.assistants.get(aid))["version"] == 1
    with pytest.raises(NotFoundError):
        await client.assistants.set_latest(aid, 7)

    found = await client.assistants.search(graph_id="configured")
    assert {a["assistant_id"] for a in found} == {aid, str(uuid.uuid5(SYSTEM, "configured"))}
    assert await client.assistants.count(graph_id="configured") == 2
    assert [a["assistant_id"] for a in await client.assistants.search(metadata={"team": "blue"})]
    assert [a["name"] for a in await client.assistants.search(name="M1 B")] == ["m1 bot"]
    system = await client.assistants.search(metadata={"created_by": "system"}, limit=100)
    assert aid not in {a["assistant_id"] for a in system}  # what Studio lists as graphs
    assert "configured" in {a["graph_id"] for a in system}

    await client.assistants.delete(aid)
    with pytest.raises(NotFoundError):
        await client.assistants.get(aid)
    with pytest.raises(NotFoundError):
        await client.assistants.get_versions(aid)
    with pytest.raises(NotFoundError):
        await client.assistants.delete(aid)


@pytest.mark.asyncio
async def test_refusals(client: LangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        await client.assistants.create("no_such_graph")
    with pytest.raises(BadRequestError):  # values in both places, as the Agent Server says
        await client.assistants.create(
            "configured", config={"configurable": {"a": 1}}, context={"b": 2}
        )
    with pytest.raises(UnprocessableEntityError):
        await client.assistants.create("configured", assistant_id="not-a-uuid")
    with pytest.raises(UnprocessableEntityError):
        await client.assistants.create("configured", config={"recursion_limit": 0})
    # a graph's own (system) assistant stays, on its graph
    with pytest.raises(ConflictError):
        await client.assistants.delete("configured")
    with pytest.raises(ConflictError):
        await client.assistants.update("configured", graph_id="tiny")
    with pytest.raises(NotFoundError):
        await client.assistants.search(graph_id="no_such_graph")
    made = await client.assistants.create("configured")
    with pytest.raises(NotFoundError):
        await client.assistants.update(made["assistant_id"], graph_id="no_such_graph")
    moved = await client.assistants.update(made["assistant_id"], graph_id="tiny")
    assert moved["graph_id"] == "tiny" and moved["version"] == 2
    await client.assistants.delete(made["assistant_id"])


# --------------------------------------------------------------------------- runs


@pytest.mark.asyncio
async def test_a_run_gets_the_assistants_config_and_context(client: LangGraphClient) -> None:
    made = await client.assistants.create(
        "configured",
        context={"model": "m1", "persona": "pirate", "temperature": 0},
        config={"tags": ["from-assistant"]},
    )
    aid = made["assistant_id"]
    tid = (await client.threads.create())["thread_id"]

    out = await client.runs.wait(tid, aid, input={"question": "q"})
    assert out["configured"] == {"model": "m1", "persona": "pirate", "temperature": 0}
    assert out["persona"] == "pirate" and out["tags"] == ["from-assistant"]

    # the request's values win; configurable is merged, tags come from the request
    out = await client.runs.wait(
        tid, aid, input={"question": "q"}, config={"configurable": {"model": "m2"}, "tags": ["r"]}
    )
    assert out["configured"] == {"model": "m2", "persona": "pirate", "temperature": 0}
    assert out["tags"] == ["r"] and out["persona"] == "pirate"
    out = await client.runs.wait(tid, aid, input={"question": "q"}, context={"persona": "poet"})
    assert out["persona"] == "poet" and out["configured"]["persona"] == "poet"

    runs = await client.runs.list(tid)
    assert {r["assistant_id"] for r in runs} == {aid}
    assert runs[0]["kwargs"]["config"]["configurable"]["persona"] == "poet"
    assert (await client.threads.get(tid))["metadata"]["assistant_id"] == aid

    # a new version is what the next run gets; set_latest brings the old one back
    await client.assistants.update(aid, context={"model": "m3"})
    out = await client.runs.wait(None, aid, input={"question": "q"})
    assert out["configured"] == {"model": "m3"} and out["persona"] is None
    await client.assistants.set_latest(aid, 1)
    out = await client.runs.wait(None, aid, input={"question": "q"})
    assert out["configured"]["model"] == "m1"

    # the system assistant has no values: the graph name runs it as before
    plain = await client.runs.wait(None, "configured", input={"question": "q"})
    assert plain["configured"] == {} and plain["persona"] is None
    kept = (await client.threads.create())["thread_id"]  # not this assistant's thread
    await client.assistants.delete(aid, delete_threads=True)
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)  # its threads went with it
    assert (await client.threads.get(kept))["thread_id"] == kept
    with pytest.raises(httpx.HTTPStatusError) as gone:  # runs.wait raises httpx's own
        await client.runs.wait(None, aid, input={"question": "q"})
    assert gone.value.response.status_code == 404


# --------------------------------------------------------------------------- graphs


@pytest.mark.asyncio
async def test_schemas_subgraphs_and_xray(client: LangGraphClient) -> None:
    schemas = await client.assistants.get_schemas("configured")
    assert schemas["graph_id"] == "configured"
    assert set(schemas["input_schema"]["properties"]) == {
        "question",
        "configured",
        "tags",
        "persona",
    }
    assert set(schemas["state_schema"]["properties"]) == set(schemas["input_schema"]["properties"])
    assert schemas["context_schema"]["properties"] == {
        "persona": {"title": "Persona", "type": "string"}
    }
    assert "persona" in schemas["config_schema"]["properties"]

    nested = str(uuid.uuid5(SYSTEM, "nested"))
    assert set(await client.assistants.get_subgraphs(nested)) == {"middle"}
    deep = await client.assistants.get_subgraphs(nested, recurse=True)
    assert set(deep) == {"middle", "middle|inner"}
    assert set(deep["middle|inner"]["state_schema"]["properties"]) == {"n"}
    assert set(await client.assistants.get_subgraphs(nested, namespace="middle")) == {"middle"}
    assert await client.assistants.get_subgraphs("configured") == {}

    def ids(graph: dict[str, Any]) -> set[str]:
        return {n["id"] for n in graph["nodes"]}

    flat = await client.assistants.get_graph(nested)
    assert ids(flat) == {"__start__", "start", "middle", "__end__"}
    one = await client.assistants.get_graph(nested, xray=1)
    assert {"middle:m1", "middle:inner"} <= ids(one) and "middle:inner:i1" not in ids(one)
    every = await client.assistants.get_graph(nested, xray=True)
    assert {"middle:m1", "middle:inner:i1"} <= ids(every)

    made = await client.assistants.create("nested", name="drawn")
    assert ids(await client.assistants.get_graph(made["assistant_id"], xray=True)) == ids(every)
    assert (await client.assistants.get_schemas(made["assistant_id"]))["graph_id"] == "nested"
    await client.assistants.delete(made["assistant_id"])


# --------------------------------------------------------------------------- Studio


@pytest.mark.asyncio
async def test_what_studio_asks(client: LangGraphClient) -> None:
    """The calls LangGraph Studio makes, in its order: server info, the graphs (system
    assistants), a graph drawn with its subgraphs, schemas; a thread, a streamed run
    that stops at an interrupt, resumed with a Command; then "re-run from here": a
    copy of a past checkpoint (``as_node="__copy__"``) and a run from it."""
    info = await client.http.get("/info")
    assert info["flags"]["assistants"] is True and info["flags"]["crons"] is True
    assert info["version"] and info["langgraph_py_version"].startswith("1.")

    graphs = await client.assistants.search(metadata={"created_by": "system"}, limit=100)
    subflow = next(a for a in graphs if a["graph_id"] == "subflow")
    drawn = await client.assistants.get_graph(subflow["assistant_id"], xray=True)
    assert "subg:sub_a" in {n["id"] for n in drawn["nodes"]}
    assert (await client.assistants.get_schemas(subflow["assistant_id"]))["state_schema"]
    assert set(await client.assistants.get_subgraphs(subflow["assistant_id"], recurse=True)) == {
        "subg"
    }

    tid = (await client.threads.create(metadata={"graph_id": "subflow"}))["thread_id"]
    events = [
        part
        async for part in client.runs.stream(
            tid,
            subflow["assistant_id"],
            input={"x": 1},
            stream_mode=["values", "updates", "messages-tuple", "debug"],
            stream_subgraphs=True,
        )
    ]
    kinds = {p.event.split("|")[0] for p in events}
    assert {"metadata", "values", "updates", "debug"} <= kinds
    state = await client.threads.get_state(tid)
    assert state["next"] == ["ask"] and state["interrupts"]
    done = await client.runs.wait(tid, subflow["assistant_id"], command={"resume": "yes"})
    assert done["answer"] == "yes" and done["x"] == 12

    # re-run from the checkpoint before the subgraph
    history = await client.threads.get_history(tid, limit=100)
    before = next(h for h in history if h["next"] == ["subg"])
    copied = await client.threads.update_state(
        tid, None, as_node="__copy__", checkpoint_id=before["checkpoint_id"]
    )
    copy_id = copied["checkpoint_id"]
    assert copy_id not in {h["checkpoint_id"] for h in history}
    head = await client.threads.get_state(tid)
    assert head["checkpoint_id"] == copy_id and head["next"] == ["subg"]
    assert head["values"] == before["values"] and head["metadata"]["source"] == "fork"
    assert head["parent_checkpoint_id"] == before["parent_checkpoint_id"]  # a sibling

    updates = [
        part.data
        async for part in client.runs.stream(
            tid, subflow["assistant_id"], input=None, stream_mode="updates"
        )
        if part.event == "updates"
    ]
    assert [next(iter(u)) for u in updates] == ["subg", "__interrupt__"]  # step1 not again
    assert (await client.threads.get_state(tid))["values"]["x"] == 12
    after = await client.threads.get_history(tid, limit=100)
    assert {h["checkpoint_id"] for h in history} <= {h["checkpoint_id"] for h in after}

    # a copy takes no values; an unknown checkpoint is 404
    with pytest.raises(BadRequestError):
        await client.threads.update_state(
            tid, {"x": 5}, as_node="__copy__", checkpoint_id=before["checkpoint_id"]
        )
    with pytest.raises(NotFoundError):
        await client.threads.update_state(
            tid, None, as_node="__copy__", checkpoint_id="1f0d0000-0000-6000-8000-000000000000"
        )
