"""Long-term memory and run config on real projects (issue 14), each run three ways and
compared with the same graph run by LangGraph alone (``store_reference.py``):

* ``memory_agent/``: saves a user's memories in the store (``("memories", user_id)``,
  ``user_id`` from ``configurable``) and finds them by meaning (the ``store.index`` of
  its ``langgraph.json``, embedded by the fake OpenAI server) and by topic; a thread
  sees what another thread of the same user saved;
* ``factory_store/``: a ``make_graph(config, runtime)`` factory that refuses to build
  without ``runtime.store``;
* ``configurable/``: a loop that reads ``configurable`` and ``tags`` and is stopped by
  a small ``recursion_limit``, completed with a larger one.

Through ``lgp run --config`` (subprocesses), ``lgp serve`` with the official
``langgraph_sdk`` (one server per project, started together for the module) and the
workbench (Pilot: the run bar's input, thread and config fields, then ctrl+r).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client

from tests.conftest import FAKE_OPENAI_KEY
from tests.processes import run_python
from tests.projects import HERE, copy_project
from tests.server.server_process import ServerProcess, free_port
from tests.servers.openai_fake import FakeOpenAI

# One set of servers and one reference run for the module: its tests stay on one worker.
pytestmark = pytest.mark.xdist_group("projects_memory_config")

REFERENCE = HERE / "store_reference.py"
EMBEDDINGS = {"dims": 64, "fields": ["text"], "model": "text-embedding-3-small"}

ADA = {"configurable": {"user_id": "ada"}}
TEA = {"note": "I drink green tea every morning", "topic": "food"}
CAT = {"note": "My cat is called Miso", "topic": "pets"}
QUESTION = "what do I drink in the morning"
MEMORY_RUNS = [  # three threads: ada saves, ada saves and asks, bob asks
    {"input": TEA, "config": ADA},
    {"input": {**CAT, "question": QUESTION}, "config": ADA},
    {
        "input": {"question": QUESTION, "topic": "food"},
        "config": {"configurable": {"user_id": "bob"}},
    },
]
WORK = {"configurable": {"notebook": "work"}}
NOTEBOOK_RUNS = [
    {"input": {"page": "p1", "text": "one two three"}, "config": WORK},
    {"input": {"page": "p2", "text": "four five"}, "config": WORK},
]
DRAFT_CONFIG = {"configurable": {"user_id": "ada", "model": "m1"}, "tags": ["night", "draft"]}
DRAFT_RUNS = [  # 30 passes take 31 steps: 10 stops them, 40 lets them finish
    {"input": {"words": 30}, "config": {**DRAFT_CONFIG, "recursion_limit": 10}},
    {"input": {"words": 30}, "config": {**DRAFT_CONFIG, "recursion_limit": 40}},
]

RECURSION = "GraphRecursionError: Recursion limit of 10 reached without hitting a stop condition"


# --------------------------------------------------------------------------- fixtures


def reference_jobs(fake: FakeOpenAI) -> dict[str, dict[str, Any]]:
    index = {**EMBEDDINGS, "base_url": fake.base_url, "api_key": FAKE_OPENAI_KEY}
    memory: dict[str, Any] = {"cwd": str(HERE / "memory_agent"), "graph": "./agent.py:graph"}
    memory["index"] = index
    notebook: dict[str, Any] = {"cwd": str(HERE / "factory_store"), "factory": True}
    notebook["graph"] = "./notebook.py:make_graph"
    drafter = {"cwd": str(HERE / "configurable"), "graph": "./drafter.py:graph"}
    return {
        "memory": {**memory, "runs": MEMORY_RUNS},
        "notebook": {**notebook, "runs": NOTEBOOK_RUNS},
        "notebook_no_store": {**notebook, "store": False, "runs": NOTEBOOK_RUNS[:1]},
        "drafter": {**drafter, "runs": DRAFT_RUNS},
    }


@pytest.fixture(scope="module")
def direct(openai_server: FakeOpenAI) -> dict[str, list[dict[str, Any]]]:
    """Every run of the module by LangGraph alone (one process; it only reads the
    projects), by job name: each run's final state or ``{"error": ...}``."""
    jobs = reference_jobs(openai_server)
    proc = run_python(str(REFERENCE), json.dumps(list(jobs.values())), cwd=HERE)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(jobs), proc.stdout
    return dict(zip(jobs, results, strict=True))


def embeddings_env(url: str) -> dict[str, str]:
    """What memory_agent/config/experiment.yaml reads its embeddings endpoint from."""
    return {"EMBEDDINGS_BASE_URL": url, "EMBEDDINGS_API_KEY": FAKE_OPENAI_KEY}


def unreachable_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, openai_server: FakeOpenAI
) -> Iterator[dict[str, ServerProcess]]:
    """``lgp serve langgraph.json`` of each project (and of memory_agent with its
    embeddings endpoint down), each in a copy of its own, started together."""
    root = tmp_path_factory.mktemp("served")
    good, down = embeddings_env(openai_server.base_url), embeddings_env(unreachable_url())
    specs = {
        "memory": ("memory_agent", root / "up", good),
        "memory_down": ("memory_agent", root / "down", down),
        "notebook": ("factory_store", root, {}),
        "drafter": ("configurable", root, {}),
    }
    found = {
        name: ServerProcess(
            copy_project(project, dest), "langgraph.json", "--env", "experiment", env=env
        )
        for name, (project, dest, env) in specs.items()
    }
    with ThreadPoolExecutor(len(found)) as pool:
        started = [pool.submit(server.start) for server in found.values()]
    try:
        for future in started:
            future.result()
        yield found
    finally:
        for server in found.values():
            if server.process is not None:
                server.process.kill()


def lgp_result(proc: Any) -> dict[str, Any]:
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("Result: ")]
    assert len(lines) == 1, proc.stdout
    return dict(json.loads(lines[0].removeprefix("Result: ")))


def lgp_failure(proc: Any) -> str:
    """The ``❌ Failed`` line of a failed ``lgp run`` (exit 1), with no traceback."""
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output
    [line] = [ln for ln in output.splitlines() if "❌ Failed" in ln]
    return line


def lgp_runs(lgp: Any, root: Path, runs: list[dict[str, Any]], **kw: Any) -> list[Any]:
    """``lgp run langgraph.json --input ... --config ...`` in ``root``, once per run."""
    return [
        lgp(
            "run",
            "langgraph.json",
            "--input",
            json.dumps(run["input"]),
            "--config",
            json.dumps(run["config"]),
            cwd=root,
            **kw,
        )
        for run in runs
    ]


def sdk_runs(server: ServerProcess, graph: str, runs: list[dict[str, Any]]) -> list[Any]:
    """Each run on a new thread through the SDK's ``runs.wait``: its final state, or
    ``{"__error__": ...}``."""
    with get_sync_client(url=server.url) as client:
        out = []
        for run in runs:
            thread = client.threads.create()["thread_id"]
            out.append(
                client.runs.wait(
                    thread, graph, input=run["input"], config=run["config"], raise_error=False
                )
            )
        return out


# --------------------------------------------------------------------------- memory agent


def test_memory_agent_through_lgp_run(
    tmp_path: Path, lgp: Any, openai_server: FakeOpenAI, direct: dict[str, Any]
) -> None:
    root = copy_project("memory_agent", tmp_path)
    procs = lgp_runs(lgp, root, MEMORY_RUNS, env=embeddings_env(openai_server.base_url))
    assert [lgp_result(p) for p in procs] == direct["memory"]
    _, ada, bob = direct["memory"]
    # the second thread finds the first one's memory first, by meaning; bob finds none
    assert ada["recalled"] == [TEA["note"], CAT["note"]]
    assert ada["same_topic"] == [CAT["note"]]
    assert bob == {
        "question": QUESTION,
        "topic": "food",
        "user_id": "bob",
        "saved": None,
        "recalled": [],
        "same_topic": [],
    }

    url = unreachable_url()
    [proc] = lgp_runs(lgp, root, MEMORY_RUNS[:1], env=embeddings_env(url))
    line = lgp_failure(proc)
    # a reachable-again endpoint would have been found: retried 3 times, then it fails
    assert proc.stdout.count("Restarting... (attempt") == 3, proc.stdout
    assert "[unavailable]" in line, line
    assert f"the embeddings endpoint {url} is unreachable" in line, line
    assert "openai:text-embedding-3-small" in line, line


def test_memory_agent_through_the_sdk(
    servers: dict[str, ServerProcess], direct: dict[str, Any]
) -> None:
    assert sdk_runs(servers["memory"], "memory_agent", MEMORY_RUNS) == direct["memory"]
    with get_sync_client(url=servers["memory"].url) as client:
        found = client.store.search_items(["memories", "ada"], query=QUESTION)
        assert [item["value"]["text"] for item in found["items"]] == [TEA["note"], CAT["note"]]
        spaces = client.store.list_namespaces(prefix=["memories"])
        assert spaces["namespaces"] == [["memories", "ada"]]  # bob saved nothing

    [failed] = sdk_runs(servers["memory_down"], "memory_agent", MEMORY_RUNS[:1])
    error = failed["__error__"]
    assert error["error"] == "ProviderError", failed
    assert "the embeddings endpoint http://127.0.0.1:" in error["message"], failed
    assert " is unreachable (store index embed openai:text-embedding-3-small)" in error["message"]
    assert "\n" not in error["message"] and "Traceback" not in error["message"]


# --------------------------------------------------------------------------- factory


def test_factory_with_the_runtimes_store_through_lgp_run(
    tmp_path: Path, lgp: Any, direct: dict[str, Any]
) -> None:
    root = copy_project("factory_store", tmp_path)
    procs = lgp_runs(lgp, root, NOTEBOOK_RUNS)
    assert [lgp_result(p) for p in procs] == direct["notebook"]
    second = direct["notebook"][1]
    assert second["pages"] == ["p1", "p2"] and second["notebook"] == "work"  # across threads

    # without a store (store.backend: none) the factory refuses, as with LangGraph alone
    (root / "config").mkdir()
    (root / "config" / "experiment.yaml").write_text("store:\n  backend: none\n")
    [proc] = lgp_runs(lgp, root, NOTEBOOK_RUNS[:1])
    [no_store] = direct["notebook_no_store"]
    assert no_store == {
        "error": "RuntimeError: make_graph needs a long-term store: runtime.store is None"
    }
    assert no_store["error"] in lgp_failure(proc)


def test_factory_with_the_runtimes_store_through_the_sdk(
    servers: dict[str, ServerProcess], direct: dict[str, Any]
) -> None:
    assert sdk_runs(servers["notebook"], "notebook", NOTEBOOK_RUNS) == direct["notebook"]


# --------------------------------------------------------------------------- configurable


def test_configurable_and_recursion_limit_through_lgp_run(
    tmp_path: Path, lgp: Any, direct: dict[str, Any]
) -> None:
    root = copy_project("configurable", tmp_path)
    stopped, finished = lgp_runs(lgp, root, DRAFT_RUNS)
    limited, done = direct["drafter"]
    assert limited["error"].startswith(RECURSION)
    assert RECURSION in lgp_failure(stopped)
    assert lgp_result(finished) == done
    assert done["author"] == "ada" and done["tags"] == ["draft", "night"]
    assert done["passes"] == 30 and done["draft"].endswith(" m1-29 m1-30")


def test_configurable_and_recursion_limit_through_the_sdk(
    servers: dict[str, ServerProcess], direct: dict[str, Any]
) -> None:
    stopped, finished = sdk_runs(servers["drafter"], "drafter", DRAFT_RUNS)
    limited, done = direct["drafter"]
    assert stopped["__error__"]["error"] == "GraphRecursionError", stopped
    assert limited["error"] == f"GraphRecursionError: {stopped['__error__']['message']}"
    assert finished == done


# --------------------------------------------------------------------------- workbench


@pytest.fixture
def forget_projects(tmp_path: Path) -> Iterator[None]:
    """The workbench imports the projects into this process: take their modules and
    import paths out again afterwards."""
    path, meta_path = list(sys.path), list(sys.meta_path)
    yield
    sys.path[:] = path
    sys.meta_path[:] = meta_path
    roots = (str(tmp_path), str(tmp_path.resolve()))
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(roots):
            del sys.modules[name]


@pytest.mark.asyncio
async def test_the_three_projects_in_the_workbench(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_server: FakeOpenAI,
    direct: dict[str, Any],
    forget_projects: None,
) -> None:
    """One workbench opens each project in turn and runs (a part of) its runs with
    their config; the final states or errors are LangGraph's."""
    from lgp_engine import load_settings
    from lgp_tui.app import WorkbenchApp
    from lgp_tui.widgets.run.run_bar import RunBar
    from tests.tui.conftest import SIZE, wait_until

    memory = copy_project("memory_agent", tmp_path) / "langgraph.json"
    notebook = copy_project("factory_store", tmp_path) / "langgraph.json"
    drafter = copy_project("configurable", tmp_path) / "langgraph.json"
    for name, value in embeddings_env(openai_server.base_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(memory.parent)  # as `lgp-tui langgraph.json` started in the project
    app = WorkbenchApp(load_settings(project_dir=memory.parent), target="langgraph.json")

    def outcome(thread: str) -> dict[str, Any] | None:
        """The thread's run as the reference reports it (final state or error), once
        the run is over and Run is enabled again."""
        runs = app.runner.runs  # type: ignore[union-attr]
        record = runs.latest_for_thread(thread)
        if record is None or not record.is_terminal or not app.query_one(RunBar).can_run:
            return None
        ends = ("run.completed", "run.failed", "run.cancelled")
        [end] = [e for e in runs.events(record.run_id) if e.type in ends]
        if end.type == "run.failed":
            return {"error": f"{end.data['error_type']}: {end.data['message']}"}
        assert end.type == "run.completed", end
        return dict(end.data["output"])

    def ended(thread: str) -> bool:
        return outcome(thread) is not None

    async def run_all(project: Path, runs: list[dict[str, Any]]) -> list[Any]:
        """Open ``project`` (unless open) and run each of ``runs`` on a new thread."""
        if app.workflow is None or app.workflow.source.project_file != project:
            app.load(str(project))

        def opened() -> bool:
            return app.ready and app.workflow.source.project_file == project  # type: ignore[union-attr]

        await wait_until(pilot, opened, what=f"{project} loaded")
        bar, got = app.query_one(RunBar), []
        for n, run in enumerate(runs):
            thread = f"{project.parent.name}-{n}"
            bar.input_text, bar.thread_id = json.dumps(run["input"]), thread
            bar.config_text = json.dumps(run["config"])
            await pilot.press("ctrl+r")
            await wait_until(pilot, partial(ended, thread), what=f"the run on {thread}")
            got.append(outcome(thread))
        return got

    async with app.run_test(size=SIZE) as pilot:
        assert await run_all(memory, MEMORY_RUNS[:2]) == direct["memory"][:2]
        assert await run_all(notebook, NOTEBOOK_RUNS[:1]) == direct["notebook"][:1]
        assert await run_all(drafter, DRAFT_RUNS) == direct["drafter"]
