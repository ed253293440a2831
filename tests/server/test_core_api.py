"""The LGP API of a real `lgp serve` process, over HTTP with httpx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.processes import stays, wait_until
from tests.server.conftest import API_KEY
from tests.server.server_process import ServerProcess, parse_sse
from tests.workflows import open_gate

# One server for the module: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("server_core_api")


def test_health_needs_no_key_and_lists_workflows(server: ServerProcess) -> None:
    with server.client() as http:
        r = http.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"
    assert {"basic_workflow", "burst", "boom", "slow", "tiny"} <= set(body["workflows"])


def test_invoke_then_session_history_and_run_lookup(server: ServerProcess) -> None:
    with server.client(API_KEY) as http:
        r = http.post("/workflows/basic_workflow/invoke", json={"input": {"input": "hi there"}})
        assert r.status_code == 200, r.text
        first = r.json()
        assert first["status"] == "completed"
        assert first["result"]["run_count"] == 1
        assert isinstance(first["duration_ms"], float)
        thread = first["thread_id"]

        again = http.post(
            "/workflows/basic_workflow/invoke",
            json={"input": {"input": "again"}, "thread_id": thread},
        ).json()
        assert again["result"]["run_count"] == 2  # same thread, state carried over

        session = http.get(f"/sessions/{thread}").json()
        assert session["checkpoints"] == 10
        assert session["latest_state"]["run_count"] == 2
        assert session["created_at"] <= session["updated_at"]

        history = http.get(f"/sessions/{thread}/history").json()
        assert history["total"] == 10
        assert [c["step"] for c in history["checkpoints"]][:2] == [8, 7]  # newest first

        run = http.get(f"/runs/{first['run_id']}").json()
        assert run["status"] == "completed" and run["thread_id"] == thread
        assert run["events"] > 5


def test_interrupt_and_resume_over_http(server: ServerProcess) -> None:
    with server.client(API_KEY) as http:
        stopped = http.post(
            "/workflows/approval_workflow/invoke", json={"input": {"topic": "x"}}
        ).json()
        assert stopped["status"] == "interrupted"
        assert stopped["interrupts"][0]["value"]["question"] == "Approve this draft?"
        done = http.post(f"/sessions/{stopped['thread_id']}/resume", json={"value": "yes"})
        assert done.status_code == 200, done.text
        assert done.json()["result"]["status"] == "published"
        assert done.json()["run_id"] == stopped["run_id"]  # the same run continued
        again = http.post(f"/sessions/{stopped['thread_id']}/resume", json={"value": "yes"})
        assert again.status_code == 409  # nothing to resume: the thread is not waiting
        assert "not interrupted" in again.json()["detail"]


def test_auth_errors_are_json_401(server: ServerProcess) -> None:
    with server.client() as http:
        missing = http.get("/workflows")
        wrong = http.get("/workflows", headers={"Authorization": "Bearer nope"})
        header = http.get("/workflows", headers={"x-api-key": API_KEY})
    assert missing.status_code == 401 and wrong.status_code == 401
    assert "API key" in missing.json()["detail"]
    assert header.status_code == 200  # the LangGraph SDK's header works too


def test_bad_requests_are_json(server: ServerProcess) -> None:
    with server.client(API_KEY) as http:
        unknown = http.post("/workflows/nope/invoke", json={"input": {}})
        no_thread = http.get("/sessions/no-such-thread")
        no_run = http.get("/runs/no-such-run")
        not_json = http.post(
            "/workflows/tiny/invoke", content=b"{bad", headers={"content-type": "application/json"}
        )
        wrong_type = http.post("/workflows/tiny/invoke", json={"input": [1, 2]})
        extra = http.post("/workflows/tiny/invoke", json={"input": {}, "bogus": 1})
        too_big = http.post("/workflows/tiny/invoke", json={"input": {"blob": "x" * 70_000}})
        no_route = http.get("/definitely/not/here")
    assert unknown.status_code == 404 and "unknown workflow" in unknown.json()["detail"]
    assert no_thread.status_code == 404 and "unknown thread" in no_thread.json()["detail"]
    assert no_run.status_code == 404 and "unknown run" in no_run.json()["detail"]
    for r in (not_json, wrong_type, extra):
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["detail"]
    assert "input" in wrong_type.json()["detail"]
    assert too_big.status_code == 413 and "larger than" in too_big.json()["detail"]
    assert no_route.status_code == 404 and no_route.json()["detail"]


def test_failing_workflow_is_a_failed_run_not_a_server_error(server: ServerProcess) -> None:
    # a node that raises ends the run as failed: the request itself was served (200,
    # as the LangGraph API answers __error__), the error says where; no 5xx
    with server.client(API_KEY) as http:
        r = http.post("/workflows/boom/invoke", json={"input": {}})
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "failed" and body["run_id"]
        assert body["error"] == {
            "error_type": "ValueError",
            "message": "kaboom",
            "node": "explode",
            "kind": None,  # a failure of the workflow's own code has no provider kind
        }
        assert body["usage"] is None
        assert http.get(f"/runs/{body['run_id']}").json()["status"] == "failed"
        ok = http.post("/workflows/tiny/invoke", json={"input": {"n": 1}})
        assert ok.status_code == 200 and ok.json()["result"]["n"] == 7


def _stream(http: httpx.Client, method: str, url: str, **kw: Any) -> list[dict[str, Any]]:
    with http.stream(method, url, **kw) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return list(parse_sse(r.iter_lines()))


def test_stream_frames_carry_seq_type_and_json(server: ServerProcess) -> None:
    with server.client(API_KEY) as http:
        frames = _stream(http, "POST", "/workflows/tiny/stream", json={"input": {"n": 2}})
    seqs = [int(f["id"]) for f in frames]
    assert seqs == list(range(1, len(frames) + 1))
    events = [json.loads(f["data"]) for f in frames]
    assert [f["event"] for f in frames] == [e["type"] for e in events]
    assert events[0]["type"] == "run.started" and events[-1]["type"] == "run.completed"
    assert events[-1]["data"]["output"] == {"n": 9}


def test_metrics_count_runs_requests_and_streams(server: ServerProcess) -> None:
    with server.client(API_KEY) as http:
        http.post("/workflows/tiny/invoke", json={"input": {}})
        text = http.get("/metrics").text
    assert 'lgp_runs_total{event="completed"}' in text
    assert 'lgp_runs_total{event="started"}' in text
    assert "lgp_run_duration_seconds_bucket" in text
    assert 'route="/workflows/{name}/invoke"' in text and 'status="200"' in text
    assert "lgp_active_streams" in text
    assert API_KEY not in text
    assert API_KEY not in server.text  # keys are never logged


def test_runs_on_one_thread_take_turns(server: ServerProcess) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def invoke(_: int) -> dict[str, Any]:
        with server.client(API_KEY, timeout=60) as http:
            r = http.post("/workflows/slow/invoke", json={"input": {}, "thread_id": "taking-turns"})
            assert r.status_code == 200, r.text
            return r.json()

    log = server.project / "workflows" / "slow_calls.log"
    with ThreadPoolExecutor(2) as pool:
        calls = [pool.submit(invoke, i) for i in range(2)]
        wait_until(lambda: log.exists() and "wait" in log.read_text().split(), what="`wait`")
        # one run holds at its gate: the other does not start beside it
        assert stays(lambda: log.read_text().split().count("first") == 1, 0.3)
        open_gate(server.project / "workflows" / "slow.open")
        results = [c.result(timeout=60) for c in calls]
    # the second run started from the first one's end state: its trail holds both runs
    assert sorted(len(r["result"]["trail"]) for r in results) == [3, 6]
