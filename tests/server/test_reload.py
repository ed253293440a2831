"""`lgp serve --reload` as a real process: edit a served workflow on disk, run
again, see the new code; a slow run started before the edit finishes on the old
code; a broken save keeps the old version serving."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import copy_project
from tests.server.server_process import ServerProcess, write_hosted_config

TIMEOUT = 20.0

FLOW = """\
import time
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

VERSION = {version!r}


class S(TypedDict, total=False):
    seconds: float
    version: str
    extra: str


def work(state: S) -> S:
    time.sleep(state.get("seconds", 0))
    return {{"version": VERSION}}

{more}
workflow = StateGraph(S)
workflow.add_node("work", work)
{wiring}
"""


def flow(version: str, *, second: bool = False) -> str:
    more, wiring = "", 'workflow.add_edge(START, "work")\nworkflow.add_edge("work", END)'
    if second:
        more = 'def second(state: S) -> S:\n    return {"extra": "added"}\n'
        wiring = (
            'workflow.add_node("second", second)\nworkflow.add_edge(START, "work")\n'
            'workflow.add_edge("work", "second")\nworkflow.add_edge("second", END)'
        )
    return FLOW.format(version=version, more=more, wiring=wiring)


def invoke(server: ServerProcess, **payload: Any) -> dict[str, Any]:
    with server.client(timeout=60) as http:
        r = http.post("/workflows/hot/invoke", json={"input": payload})
    assert r.status_code == 200, r.text
    return r.json()


def wait_for_output(server: ServerProcess, key: str, value: Any) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        body = invoke(server)
        if body["result"].get(key) == value:
            return body
        assert time.monotonic() < deadline, f"never saw {key}={value!r}: {body}"
        time.sleep(0.1)


def test_serve_reload_new_runs_get_new_code_in_flight_runs_keep_theirs(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "project")
    write_hosted_config(project, rate_limit_per_minute=0)
    path = project / "workflows" / "hot.py"
    path.write_text(textwrap.dedent(flow("v1")))
    with ServerProcess(project, "workflows/hot.py", "--reload") as server:
        assert any("Hot reload: ON" in ln for ln in server.output)
        assert invoke(server)["result"] == {"version": "v1"}

        # a slow run in flight on v1 while the file changes to v2
        slow: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: slow.update(invoke(server, seconds=2.0)))
        thread.start()
        time.sleep(0.5)
        path.write_text(textwrap.dedent(flow("v2", second=True)))
        body = wait_for_output(server, "version", "v2")
        assert body["result"] == {"version": "v2", "extra": "added"}
        thread.join(TIMEOUT)
        assert slow["status"] == "completed"
        assert slow["result"] == {"seconds": 2.0, "version": "v1"}  # the code it started with

        with server.client() as http:  # the LangGraph API sees the new graph too
            assistants = http.post("/assistants/search", json={}).json()
            (hot,) = [a for a in assistants if a["graph_id"] == "hot"]
            graph = http.get(f"/assistants/{hot['assistant_id']}/graph").json()
        assert "second" in {n["id"] for n in graph["nodes"]}

        # a broken save: reported with file and line, the old version keeps serving
        path.write_text(
            textwrap.dedent(flow("v3")).replace(
                "def work(state: S) -> S:", "def work(state: S) -> S"
            )
        )
        deadline = time.monotonic() + TIMEOUT
        while not any("Workflow load error" in ln for ln in server.output):
            assert time.monotonic() < deadline, "".join(server.output)
            time.sleep(0.05)
        assert any(f"{path.resolve()}:" in ln and "syntax error" in ln for ln in server.output)
        assert invoke(server)["result"] == {"version": "v2", "extra": "added"}

        # the fix recovers
        path.write_text(textwrap.dedent(flow("v4")))
        assert wait_for_output(server, "version", "v4")["result"] == {"version": "v4"}


def test_serve_reload_refuses_several_workers(tmp_path: Path, lgp) -> None:
    project = copy_project(tmp_path / "project")
    done = lgp("serve", "--reload", "--workers", "2", "--port", "0", cwd=project)
    assert done.returncode == 2
    assert "--reload works with one worker" in done.stderr
