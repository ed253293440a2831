"""Engine overhead: a 10-node graph through the Executor vs plain ``graph.invoke``.

Both paths use the same SqliteSaver (one file, WAL mode) in one process; each run
uses a new thread. Runs are interleaved in rounds so drift (disk, CPU frequency)
hits both sides alike. Prints per-run medians and the ratio executor / invoke.

    python benchmarks/engine_overhead.py [--runs 200] [--nodes 10]

Target: ratio <= 1.15.
"""

from __future__ import annotations

import argparse
import operator
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from langgraph.graph import END, START, StateGraph

from lgp_engine import Executor, Settings, open_checkpoints
from lgp_engine.loader import LoadedWorkflow, WorkflowSource
from lgp_engine.runner import Runner
from lgp_engine.runs import RunStore


class State(TypedDict, total=False):
    value: int
    trail: Annotated[list[str], operator.add]


def build(nodes: int) -> StateGraph:
    graph = StateGraph(State)
    names = [f"n{i}" for i in range(nodes)]
    for name in names:
        graph.add_node(name, lambda s, name=name: {"value": s.get("value", 0) + 1, "trail": [name]})
    graph.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(project_dir=Path(tmp))
        with open_checkpoints(settings) as store:
            state_graph = build(args.nodes)
            compiled = state_graph.compile(checkpointer=store.saver)
            source = WorkflowSource(name="bench", path=None, module="bench")
            loaded = LoadedWorkflow(
                source, sys.modules[__name__], "graph", state_graph, "state_graph"
            )
            executor = Executor(loaded, store)
            runner = Runner(store, RunStore(store.db_path), environment="bench")

            def plain(i: int) -> None:
                out = compiled.invoke({"value": 0}, {"configurable": {"thread_id": f"p{i}"}})
                assert out["value"] == args.nodes

            def engine(i: int) -> None:
                events = list(executor.stream({"value": 0}, thread_id=f"e{i}"))
                last = events[-1]
                assert last.type == "run.completed"
                assert last.data["output"]["value"] == args.nodes

            def recorded(i: int) -> None:
                events = list(runner.start(loaded, {"value": 0}, thread_id=f"r{i}"))
                assert events[-1].type == "run.completed"

            for i in range(10):  # warm up every path
                plain(-1 - i)
                engine(-1 - i)
                recorded(-1 - i)

            def measure(pair: list[Any]) -> tuple[list[float], list[float]]:
                times: tuple[list[float], list[float]] = ([], [])
                for i in range(args.runs):
                    order = [0, 1] if i % 2 else [1, 0]  # alternate who goes first
                    for k in order:
                        t0 = time.perf_counter()
                        pair[k](i)
                        times[k].append(time.perf_counter() - t0)
                return times

            t_plain, t_engine = measure([plain, engine])
            t_plain2, t_runner = measure([plain, recorded])
            runner.runs.close()

    med = statistics.median
    print(f"graph: {args.nodes} nodes, {args.runs} runs per path, one SqliteSaver (WAL)")
    print(f"plain graph.invoke  : median {med(t_plain) * 1000:6.2f} ms/run")
    print(f"lgp Executor.stream : median {med(t_engine) * 1000:6.2f} ms/run")
    print(
        f"ratio executor/invoke: {med(t_engine) / med(t_plain):.3f} median, "
        f"{sum(t_engine) / sum(t_plain):.3f} total  (target <= 1.15)"
    )
    print(
        f"lgp Runner.start    : median {med(t_runner) * 1000:6.2f} ms/run "
        "(also persists every event and the run record)"
    )
    print(f"ratio runner/invoke : {med(t_runner) / med(t_plain2):.3f} median (for information)")


if __name__ == "__main__":
    main()
