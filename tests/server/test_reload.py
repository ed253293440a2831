"""`lgp serve --reload` as a real process: edit a served workflow on disk, run
again, see the new code; a slow run started before the edit finishes on the old
code; a broken save keeps the old version serving."""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path
from typing import Any

from tests.conftest import copy_project
from tests.processes import wait_until
from tests.server.server_process import ServerProcess, write_hosted_config
from tests.workflows import open_gate

TIMEOUT = 20.0

# With ``hold``, ``work`` says it started (STARTED), then holds until the test
# opens GATE: both files sit outside the watched workflows/ folder.
FLOW = """\
import time
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

VERSION = {version!r}
STARTED = Path({started!r})
GATE = Path({gate!r})


class S(TypedDict, total=False):
    hold: bool
    version: str
    extra: str


def work(state: S) -> S:
    if state.get("hold"):
        STARTED.touch()
        deadline = time.monotonic() + 60
        while not GATE.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the test never opened the gate")
            time.sleep(0.01)
    return {{"version": VERSION}}

{more}
workflow = StateGraph(S)
workflow.add_node("work", work)
{wiring}
"""


def flow(project: Path, version: str, *, second: bool = False) -> str:
    more, wiring = "", 'workflow.add_edge(START, "work")\nworkflow.add_edge("work", END)'
    if second:
        more = 'def second(state: S) -> S:\n    return {"extra": "added"}\n'
        wiring = (
            'workflow.add_node("second", second)\nworkflow.add_edge(START, "work")\n'
            'workflow.add_edge("work", "second")\nworkflow.add_edge("second", END)'
        )
    started, gate = str(project / "work.started"), str(project / "work.open")
    return FLOW.format(version=version, started=started, gate=gate, more=more, wiring=wiring)


def invoke(server: ServerProcess, **payload: Any) -> dict[str, Any]:
    with server.client(timeout=60) as http:
        r = http.post("/workflows/hot/invoke", json={"input": payload})
    assert r.status_code == 200, r.text
    return r.json()


def wait_for_output(server: ServerProcess, key: str, value: Any) -> dict[str, Any]:
    """Invoke until the result has ``key: value`` (the reload has landed); that body."""

    def landed() -> dict[str, Any] | None:
        body = invoke(server)
        return body if body["result"].get(key) == value else None

    return wait_until(landed, TIMEOUT, f"{key}={value!r}", interval=0.1)


def test_serve_reload_new_runs_get_new_code_in_flight_runs_keep_theirs(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "project")
    write_hosted_config(project, rate_limit_per_minute=0)
    path = project / "workflows" / "hot.py"
    path.write_text(textwrap.dedent(flow(project, "v1")))
    with ServerProcess(project, "workflows/hot.py", "--reload") as server:
        assert any("Hot reload: ON" in ln for ln in server.output)
        assert invoke(server)["result"] == {"version": "v1"}

        # a slow run in flight on v1 while the file changes to v2
        slow: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: slow.update(invoke(server, hold=True)))
        thread.start()
        wait_until(lambda: (project / "work.started").exists(), TIMEOUT, "the slow run")
        path.write_text(textwrap.dedent(flow(project, "v2", second=True)))
        body = wait_for_output(server, "version", "v2")
        assert body["result"] == {"version": "v2", "extra": "added"}
        open_gate(project / "work.open")
        thread.join(TIMEOUT)
        assert slow["status"] == "completed"
        assert slow["result"] == {"hold": True, "version": "v1"}  # the code it started with

        with server.client() as http:  # the LangGraph API sees the new graph too
            assistants = http.post("/assistants/search", json={}).json()
            (hot,) = [a for a in assistants if a["graph_id"] == "hot"]
            graph = http.get(f"/assistants/{hot['assistant_id']}/graph").json()
        assert "second" in {n["id"] for n in graph["nodes"]}

        # a broken save: reported with file and line, the old version keeps serving
        path.write_text(
            textwrap.dedent(flow(project, "v3")).replace(
                "def work(state: S) -> S:", "def work(state: S) -> S"
            )
        )
        server.process.wait_for(
            lambda: any("Workflow load error" in ln for ln in server.output), TIMEOUT
        )
        assert any(f"{path.resolve()}:" in ln and "syntax error" in ln for ln in server.output)
        assert invoke(server)["result"] == {"version": "v2", "extra": "added"}

        # the fix recovers
        path.write_text(textwrap.dedent(flow(project, "v4")))
        assert wait_for_output(server, "version", "v4")["result"] == {"version": "v4"}


def test_serve_reload_refuses_several_workers(tmp_path: Path, lgp) -> None:
    project = copy_project(tmp_path / "project")
    done = lgp("serve", "--reload", "--workers", "2", "--port", "0", cwd=project)
    assert done.returncode == 2
    assert "--reload works with one worker" in done.stderr
