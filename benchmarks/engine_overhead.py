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
from typing import Annotated, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langgraph.graph import END, START, StateGraph  # noqa: E402

from lgp_engine import Executor, Settings, open_checkpoints  # noqa: E402
from lgp_engine.loader import LoadedWorkflow, WorkflowSource  # noqa: E402


class State(TypedDict, total=False):
    value: int
    trail: Annotated[list[str], operator.add]


def build(nodes: int) -> StateGraph:
    graph = StateGraph(State)
    names = [f"n{i}" for i in range(nodes)]
    for name in names:
        graph.add_node(name, lambda s, name=name: {"value": s.get("value", 0) + 1, "trail": [name]})
    graph.add_edge(START, names[0])
    for a, b in zip(names, names[1:], strict=False):
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
            loaded = LoadedWorkflow(source, sys.modules[__name__], "graph", state_graph,
                                    "state_graph")
            executor = Executor(loaded, store)

            def plain(i: int) -> None:
                out = compiled.invoke({"value": 0}, {"configurable": {"thread_id": f"p{i}"}})
                assert out["value"] == args.nodes

            def engine(i: int) -> None:
                events = list(executor.stream({"value": 0}, thread_id=f"e{i}"))
                last = events[-1]
                assert last.type == "run.completed"
                assert last.data["output"]["value"] == args.nodes

            for i in range(10):  # warm up both paths
                plain(-1 - i)
                engine(-1 - i)
            t_plain: list[float] = []
            t_engine: list[float] = []
            for i in range(args.runs):
                for fn, bucket in ((plain, t_plain), (engine, t_engine))[:: 1 if i % 2 else -1]:
                    t0 = time.perf_counter()
                    fn(i)
                    bucket.append(time.perf_counter() - t0)

    p_med, e_med = statistics.median(t_plain), statistics.median(t_engine)
    ratio_med = e_med / p_med
    ratio_total = sum(t_engine) / sum(t_plain)
    print(f"graph: {args.nodes} nodes, {args.runs} runs per path, SqliteSaver (WAL)")
    print(f"plain graph.invoke : median {p_med * 1000:7.2f} ms/run, total {sum(t_plain):6.2f} s")
    print(f"lgp Executor.stream: median {e_med * 1000:7.2f} ms/run, total {sum(t_engine):6.2f} s")
    print(f"ratio (median)     : {ratio_med:.3f}  (target <= 1.15)")
    print(f"ratio (total)      : {ratio_total:.3f}")


if __name__ == "__main__":
    main()
