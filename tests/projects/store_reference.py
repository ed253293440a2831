"""Run graphs with LangGraph alone, with a long-term store and a run config: what
``lgp run``, ``lgp serve`` and the workbench are compared with on the
``memory_agent``, ``factory_store`` and ``configurable`` projects.

``python store_reference.py JOBS``, where ``JOBS`` is a JSON list of objects:

* ``cwd``: the project's folder (appended to ``sys.path``, as ``langgraph dev`` does);
* ``graph``: ``path/to/file.py:attr``, relative to ``cwd``;
* ``factory`` (optional): ``attr`` is a ``make_graph(config, runtime)`` factory,
  called for each run with the run's config and a ``Runtime`` holding the store, as
  the LangGraph server calls it;
* ``store`` (default true): give the graph an ``InMemoryStore`` (false: no store);
* ``index`` (optional): the store's semantic index, ``{"dims", "fields", "model",
  "base_url", "api_key"}``, embedding with LangChain's ``OpenAIEmbeddings``;
* ``runs``: ``[{"input", "config"}]``, each on a thread of its own, all sharing the
  job's store.

One JSON line per job: the final state of each run, or ``{"error": "Type: message"}``.
Nothing of the workbench is imported.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore

_modules: dict[str, Any] = {}


def import_file(cwd: str, file: str) -> Any:
    """The module of ``cwd/file``, imported once under a name derived from its path."""
    path = (Path(cwd) / file).resolve()
    key = str(path)
    if key not in _modules:
        if cwd not in sys.path:
            sys.path.append(cwd)
        name = "__".join(path.parts[-2:]).removesuffix(".py").replace("-", "_")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _modules[key] = module
    return _modules[key]


def make_store(job: dict[str, Any]) -> InMemoryStore | None:
    if not job.get("store", True):
        return None
    index = job.get("index")
    if index is None:
        return InMemoryStore()
    from langchain_openai import OpenAIEmbeddings

    embed = OpenAIEmbeddings(
        model=index["model"],
        base_url=index["base_url"],  # type: ignore[call-arg]
        api_key=index["api_key"],
        check_embedding_ctx_length=False,
    )
    return InMemoryStore(index={"dims": index["dims"], "embed": embed, "fields": index["fields"]})


def run_job(job: dict[str, Any]) -> list[dict[str, Any]]:
    file, attr = job["graph"].rsplit(":", 1)
    target = getattr(import_file(job["cwd"], file), attr)
    store, saver = make_store(job), InMemorySaver()
    results = []
    for n, run in enumerate(job["runs"]):
        config = dict(run.get("config") or {})
        config["configurable"] = {**config.get("configurable", {}), "thread_id": f"t{n}"}
        try:
            graph = target(config, Runtime(store=store)) if job.get("factory") else target
            graph = graph.copy(update={"checkpointer": saver, "store": store})
            results.append(graph.invoke(run["input"], config))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    return results


def main() -> None:
    del sys.path[0]  # this script's folder: not part of any project
    for job in json.loads(sys.argv[1]):
        print(json.dumps(run_job(job)), flush=True)


if __name__ == "__main__":
    main()
