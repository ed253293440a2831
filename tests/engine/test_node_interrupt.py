"""``NodeInterrupt`` (LangGraph's older way to stop a run) resumes without a value,
as LangGraph resumes it: the node runs again with the thread's current state."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lgp_engine import Runner, Settings, load_workflow, resolve_target
from lgp_engine.executor import collect

WORKFLOW = textwrap.dedent(
    """
    import warnings
    from typing import TypedDict

    from langgraph.errors import NodeInterrupt
    from langgraph.graph import START, StateGraph

    warnings.simplefilter("ignore")  # NodeInterrupt is deprecated in LangGraph 1.x


    class S(TypedDict, total=False):
        x: int
        ok: bool


    def check(state: S) -> dict:
        if not state.get("ok"):
            raise NodeInterrupt(f"x={state['x']} needs ok")
        return {"x": state["x"] + 1}


    def after(state: S) -> dict:
        return {"x": state["x"] * 10}


    b = StateGraph(S)
    b.add_node("check", check)
    b.add_node("after", after)
    b.add_edge(START, "check")
    b.add_edge("check", "after")
    graph = b.compile()
    """
)


def test_a_node_interrupt_resumes_without_a_value(tmp_path: Path) -> None:
    (tmp_path / "gate.py").write_text(WORKFLOW, encoding="utf-8")
    wf = load_workflow(resolve_target("gate.py", project_dir=tmp_path))
    with Runner.open(Settings(project_dir=tmp_path)) as runner:
        first = collect(runner.start(wf, {"x": 1}, thread_id="t1"))
        assert first.status == "interrupted"
        assert first.interrupts[0]["value"] == "x=1 needs ok"
        # no value needed (nor asked): the node runs again and stops again
        again = collect(runner.resume(wf, "t1"))
        assert again.status == "interrupted"
        assert [e.node for e in again.events if e.type == "node.started"] == ["check"]
        # the state changed (as a user would with update_state / lgp fork): it goes on
        [head] = runner.store.history("t1", limit=1)
        done = collect(runner.fork(wf, "t1", head.checkpoint_id, {"ok": True}))
        assert done.status == "completed"
        assert done.output == {"x": 20, "ok": True}
