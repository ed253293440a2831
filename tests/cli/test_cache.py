"""The node cache (issue 14): a node with a ``cache_policy`` runs once per input and
code; ``lgp cache stats`` measures the hits, ``lgp cache clear`` empties it, and an
edit of the node's code (a hot reload) makes it run again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from lgp_engine import Runner, Settings, WorkflowReloader, load_workflow, resolve_target
from lgp_engine.executor import collect
from tests.conftest import LgpRunner

WORKFLOW = """\
from typing import TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import CachePolicy

COUNTER = {counter!r}


class S(TypedDict, total=False):
    x: int
    y: int
    z: int


def enrich(state: S) -> dict:
    with open(COUNTER, "a", encoding="utf-8") as f:  # one line per execution
        f.write("enrich\\n")
    return {{"y": state["x"] * {factor}}}


def total(state: S) -> dict:
    return {{"z": state["y"] + 1}}


b = StateGraph(S)
b.add_node("enrich", enrich, cache_policy=CachePolicy(ttl=3600))
b.add_node("total", total)
b.add_edge(START, "enrich")
b.add_edge("enrich", "total")
graph = b.compile()
"""


def write(project: Path, factor: int) -> Path:
    path = project / "enrich.py"
    counter = project / "executions.txt"
    path.write_text(WORKFLOW.format(counter=str(counter), factor=factor), encoding="utf-8")
    return path


def executions(project: Path) -> int:
    counter = project / "executions.txt"
    return len(counter.read_text(encoding="utf-8").splitlines()) if counter.exists() else 0


def events(proc: Any) -> list[dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def stats(lgp: LgpRunner, project: Path) -> dict[str, Any]:
    proc = lgp("cache", "stats", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    [node] = json.loads(proc.stdout)["nodes"]
    return node


def test_second_run_is_served_from_the_cache_and_stats_say_so(
    tmp_path: Path, lgp: LgpRunner
) -> None:
    write(tmp_path, factor=2)
    first = events(lgp("run", "enrich.py", "--input", '{"x": 5}', "--json", cwd=tmp_path))
    [ran] = [e for e in first if e["type"] == "node.finished" and e["node"] == "enrich"]
    assert ran["data"]["cache"] == "miss"
    assert executions(tmp_path) == 1

    second = events(lgp("run", "enrich.py", "--input", '{"x": 5}', "--json", cwd=tmp_path))
    types = [(e["type"], e.get("node")) for e in second]
    assert ("node.cached", "enrich") in types
    assert ("node.finished", "enrich") not in types
    assert ("node.finished", "total") in types  # an uncached node still runs
    assert second[-1]["data"]["output"] == {"x": 5, "y": 10, "z": 11}
    assert executions(tmp_path) == 1  # the node did not run

    node = stats(lgp, tmp_path)
    assert (node["workflow"], node["node"], node["entries"]) == ("enrich", "enrich", 1)
    assert (node["hits"], node["misses"]) == (1, 1)
    assert node["last_run"] == {"hits": 1, "misses": 0}  # 100% after the first execution
    table = lgp("cache", "stats", cwd=tmp_path).stdout
    assert "100%" in table.splitlines()[1]

    cleared = lgp("cache", "clear", "--workflow", "enrich", cwd=tmp_path)
    assert "Cleared 1 cached result" in cleared.stdout
    assert stats(lgp, tmp_path)["entries"] == 0
    events(lgp("run", "enrich.py", "--input", '{"x": 5}', "--json", cwd=tmp_path))
    assert executions(tmp_path) == 2  # emptied: it ran again


def test_an_edit_of_the_nodes_code_is_never_served_the_old_result(tmp_path: Path) -> None:
    path = write(tmp_path, factor=2)
    settings = Settings(project_dir=tmp_path)
    reloader = WorkflowReloader(load_workflow(resolve_target(str(path))), settings)
    with Runner.open(settings) as runner:
        assert collect(runner.start(reloader.current, {"x": 3})).output["y"] == 6
        hit = collect(runner.start(reloader.current, {"x": 3}))
        assert [e.type for e in hit.events if e.node == "enrich"] == ["node.started", "node.cached"]
        assert executions(tmp_path) == 1

        write(tmp_path, factor=7)  # the edit a hot reload picks up
        outcome = reloader.reload_now([path])
        assert outcome.ok, outcome.error
        after = collect(runner.start(reloader.current, {"x": 3}))
        assert after.output["y"] == 21  # the new code ran: no stale result
        assert executions(tmp_path) == 2
        again = collect(runner.start(reloader.current, {"x": 3}))
        assert again.output["y"] == 21 and executions(tmp_path) == 2  # cached again


def test_with_invalidate_on_git_a_new_commit_runs_the_node_again(tmp_path: Path) -> None:
    path = write(tmp_path, factor=2)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "enrich.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    settings = Settings(project_dir=tmp_path, node_cache={"invalidate_on": "git"})

    def run_once() -> None:
        wf = load_workflow(resolve_target(str(path)))  # as a new process loads it
        with Runner.open(settings) as runner:
            assert collect(runner.start(wf, {"x": 3})).output["y"] == 6

    run_once()
    run_once()
    assert executions(tmp_path) == 1  # same commit, same code: served
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "two"], check=True)
    run_once()
    assert executions(tmp_path) == 2  # a new commit: it ran again


TWO_GRAPHS = """\
from typing import TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import CachePolicy


class S(TypedDict, total=False):
    text: str
    out: str


def make_node(prefix):
    def translate(state: S) -> dict:
        import lazymod  # imported only when the node runs

        return {"out": f"{prefix}{lazymod.SUFFIX}: {state['text']}"}

    return translate


def build(prefix):
    b = StateGraph(S)
    b.add_node("translate", make_node(prefix), cache_policy=CachePolicy())
    b.add_edge(START, "translate")
    return b.compile()


graph_a = build("FRENCH")
graph_b = build("GERMAN")
"""


def test_two_graphs_of_a_file_and_a_lazily_imported_module_never_share_a_result(
    tmp_path: Path,
) -> None:
    (tmp_path / "two.py").write_text(TWO_GRAPHS, encoding="utf-8")
    lazy = tmp_path / "lazymod.py"
    lazy.write_text('SUFFIX = "-v1"\n', encoding="utf-8")
    settings = Settings(project_dir=tmp_path)

    def run(attr: str) -> Any:
        wf = load_workflow(resolve_target(f"two.py:{attr}", project_dir=tmp_path))
        with Runner.open(settings) as runner:  # each like a new `lgp run`
            return collect(runner.start(wf, {"text": "hello"})).output["out"]

    assert run("graph_a") == "FRENCH-v1: hello"
    assert run("graph_b") == "GERMAN-v1: hello"  # same file, node and input: not a hit
    assert run("graph_a") == "FRENCH-v1: hello"  # a hit, of its own graph
    # another size: Python's own bytecode cache trusts a same-size file of the same second
    lazy.write_text('SUFFIX = "-v2.0"\n', encoding="utf-8")
    sys.modules.pop("lazymod", None)
    assert run("graph_a") == "FRENCH-v2.0: hello"  # the node's module changed: it ran
