"""The long-term store's options from a ``langgraph.json``: an async embedding function
of the project (found next to the ``langgraph.json``, wherever lgp is started), and a
``ttl`` whose expired items a sweeper deletes."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

from lgp_engine import Runner, Settings, load_workflow, resolve_target

EMBED = textwrap.dedent(
    """
    import asyncio


    async def embed(texts):
        await asyncio.sleep(0)
        return [[float("tea" in t), float("cat" in t), 1.0] for t in texts]
    """
)
GRAPH = textwrap.dedent(
    """
    from typing import TypedDict

    from langgraph.graph import START, StateGraph


    class S(TypedDict):
        x: int


    def step(state: S) -> dict:
        return {"x": state["x"] + 1}


    b = StateGraph(S)
    b.add_node("step", step)
    b.add_edge(START, "step")
    graph = b.compile()
    """
)


def test_an_async_embedding_function_next_to_langgraph_json(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "emb.py").write_text(EMBED, encoding="utf-8")
    (app / "graph.py").write_text(GRAPH, encoding="utf-8")
    config = {
        "graphs": {"g": "./graph.py:graph"},
        "store": {
            "index": {"dims": 3, "embed": "./emb.py:embed", "fields": ["text"]},
            "ttl": {"default_ttl": 60},
        },
    }
    (app / "langgraph.json").write_text(json.dumps(config), encoding="utf-8")
    wf = load_workflow(resolve_target("app/langgraph.json", project_dir=tmp_path))
    with Runner.open(Settings(project_dir=tmp_path)) as runner:  # started above app/
        store = runner.long_term_store(wf)
        assert store._ttl_sweeper_thread is not None  # a ttl: expired items are swept

        async def use() -> list[str]:
            await store.aput(("m",), "a", {"text": "likes tea"})
            await store.aput(("m",), "b", {"text": "has a cat"})
            found = await store.asearch(("m",), query="a cat", limit=1)
            return [i.key for i in found]

        assert asyncio.run(use()) == ["b"]
        store.put(("m",), "c", {"text": "tea and a cat"})  # the sync API embeds too
        assert [i.key for i in store.search(("m",), query="tea", limit=1)] in (["a"], ["c"])
