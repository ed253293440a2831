"""What a fuzzer and an attacker found in the HTTP API (issue 10), each against a real
``lgp serve`` process: ids and bodies checked at the edge before anything runs,
no server tracebacks or host paths for clients, runs that cannot starve the server
or loop forever, and a 500 that keeps the connection usable."""

from __future__ import annotations

import http.client
import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.processes import wait_until
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess, parse_sse

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def add_workflows(project: Path, *names: str) -> None:
    for name in names:
        shutil.copy(WORKFLOWS / f"{name}.py", project / "workflows" / f"{name}.py")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    project = make_server_project(
        tmp_path_factory.mktemp("hardening"),
        api_keys=[API_KEY],
        rate_limit_per_minute=100000,
        auth_failures_per_minute=100000,
        max_body_bytes=2_000_000,
        max_steps=25,
        max_concurrent_runs=20,
    )
    add_workflows(project, "gated", "endless_loop", "reads_missing_file")
    with ServerProcess(project, "workflows", "--log-level", "info") as proc:
        yield proc


def run_count(project: Path) -> int:
    with sqlite3.connect(project / ".lgp" / "hosted.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM lgp_runs").fetchone()[0])


# -- ids ---------------------------------------------------------------------------


def test_a_thread_id_outside_latin_1_runs_and_is_percent_encoded_in_headers(
    srv: ServerProcess,
) -> None:
    thread = "线程 ✓ é"
    with srv.client(API_KEY) as http:
        r = http.post(
            "/workflows/basic_workflow/invoke",
            json={"input": {"input": "hi"}, "thread_id": thread},
        )
        assert r.status_code == 200, r.text
        assert r.headers["x-thread-id"] == quote(thread, safe="-._~!$&'()*+,;=:@")
        assert http.get(f"/sessions/{quote(thread)}").json()["thread_id"] == thread
        lg = "ünïcode-线程"
        assert http.post("/threads", json={"thread_id": lg}).status_code == 200
        created = http.post(f"/threads/{quote(lg)}/runs", json={"assistant_id": "tiny"})
        assert created.status_code == 200, created.text
        location = created.headers["content-location"]
        assert location.isascii() and location.startswith(f"/threads/{quote(lg, safe='')}")


@pytest.mark.parametrize(
    "bad", ["a\x00b", "line\nbreak", "tab\there", "a/b", " padded", "x" * 201, "\x7f"]
)
def test_an_invalid_thread_id_is_422_before_anything_runs(srv: ServerProcess, bad: str) -> None:
    before = run_count(srv.project)
    with srv.client(API_KEY) as http:
        body = http.post("/workflows/tiny/invoke", json={"input": {"n": 1}, "thread_id": bad})
        assert body.status_code == 422, body.text
        assert "thread" in body.json()["detail"]
        assert http.post("/threads", json={"thread_id": bad}).status_code == 422
        if "/" not in bad:  # a '/' is another path, not an id
            path = http.post(
                f"/threads/{quote(bad, safe='')}/runs/wait", json={"assistant_id": "tiny"}
            )
            assert path.status_code == 422, path.text
            assert http.get(f"/sessions/{quote(bad, safe='')}").status_code == 422
    assert run_count(srv.project) == before


def test_ids_in_paths_are_capped(srv: ServerProcess) -> None:
    with srv.client(API_KEY) as http:
        assert http.get(f"/runs/{'r' * 201}").status_code == 422
        assert http.get(f"/sessions/{'t' * 201}").status_code == 422
        assert http.get(f"/threads/{'t' * 201}/state").status_code == 422


# -- bodies and queries -------------------------------------------------------------


def test_offsets_beyond_sqlite_and_unusable_filter_keys_are_422(srv: ServerProcess) -> None:
    with srv.client(API_KEY) as http:
        tid = http.post("/workflows/tiny/invoke", json={"input": {"n": 1}}).json()["thread_id"]
        huge = str(2**70)
        assert http.get(f"/sessions/{tid}/history", params={"offset": huge}).status_code == 422
        assert http.get(f"/threads/{tid}/runs", params={"offset": huge}).status_code == 422
        r = http.post(f"/threads/{tid}/history", json={"metadata": {"a b": 1}})
        assert r.status_code == 422 and "metadata" in r.json()["detail"]
        ok = http.post(f"/threads/{tid}/history", json={"metadata": {"source": "loop"}})
        assert ok.status_code == 200


def _nested(depth: int) -> str:
    return '{"x": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"input": {"text": "\\ud800 alone"}}', "lone UTF-16 surrogate"),
        (b'{"input": {"n": 18446744073709551616}}', "beyond 64 bits"),  # 2**64
        (b'{"input": {"n": -9223372036854775809}}', "beyond 64 bits"),
        (('{"input": ' + _nested(500) + "}").encode(), "nested deeper than 64"),
        (b'{"input": {"n": NaN}}', "NaN is not a JSON number"),
    ],
)
def test_a_body_the_server_cannot_keep_is_422_before_a_run_starts(
    srv: ServerProcess, raw: bytes, reason: str
) -> None:
    before = run_count(srv.project)
    with srv.client(API_KEY) as http:
        for path in ("/workflows/tiny/invoke", "/runs/wait"):
            body = (
                raw
                if path.startswith("/workflows")
                else raw.replace(b'{"input"', b'{"assistant_id": "tiny", "input"', 1)
            )
            r = http.post(path, content=body, headers={"content-type": "application/json"})
            assert r.status_code == 422, r.text
            assert reason in r.json()["detail"]
    assert run_count(srv.project) == before  # no run recorded, failed or otherwise


def test_thread_metadata_nested_500_deep_is_refused_not_stored(srv: ServerProcess) -> None:
    with srv.client(API_KEY) as http:
        body = '{"thread_id": "deep-meta", "metadata": ' + _nested(500) + "}"
        r = http.post("/threads", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert http.get("/threads/deep-meta").status_code == 404
        assert http.post("/threads", json={"thread_id": "deep-meta"}).status_code == 200
        patched = http.patch(
            "/threads/deep-meta",
            content='{"metadata": ' + _nested(500) + "}",
            headers={"content-type": "application/json"},
        )
        assert patched.status_code == 422
        assert http.get("/threads/deep-meta").status_code == 200  # still readable


# -- what clients see of failures ---------------------------------------------------


def test_a_failed_run_over_sse_has_no_traceback_or_host_paths(srv: ServerProcess) -> None:
    project = str(srv.project)
    with srv.client(API_KEY) as http:
        with http.stream("POST", "/workflows/boom/stream", json={"input": {}}) as r:
            frames = list(parse_sse(r.iter_lines()))
        failed = [f for f in frames if f.get("event") == "run.failed"]
        assert failed, frames
        data = json.loads(failed[0]["data"])["data"]
        assert data["error_type"] == "ValueError" and data["node"] == "explode"
        assert "traceback" not in data
        assert all(project not in f["data"] for f in frames)
        run_id = json.loads(frames[0]["data"])["run_id"]
        with http.stream("GET", f"/runs/{run_id}/events") as replay:
            text = replay.read().decode()
        assert "Traceback" not in text and project not in text
        tid = http.post("/threads", json={}).json()["thread_id"]
        with http.stream(
            "POST",
            f"/threads/{tid}/runs/stream",
            json={"assistant_id": "boom", "input": {"x": 0}, "stream_mode": ["events"]},
        ) as lg:
            lg_text = lg.read().decode()
        assert "kaboom" in lg_text and "Traceback" not in lg_text and project not in lg_text


def test_error_messages_name_project_files_relative_to_the_project(srv: ServerProcess) -> None:
    root = str(srv.project.resolve())
    with srv.client(API_KEY) as http:
        invoked = http.post("/workflows/reads_missing_file/invoke", json={"input": {}}).json()
        message = invoked["error"]["message"]
        assert "workflows/notes/missing.txt" in message and root not in message
        run = http.get(f"/runs/{invoked['run_id']}").json()
        assert root not in json.dumps(run)
        with http.stream("GET", f"/runs/{invoked['run_id']}/events") as r:
            assert root not in r.read().decode()
        tid = http.post("/threads", json={}).json()["thread_id"]
        waited = http.post(
            f"/threads/{tid}/runs/wait",
            json={"assistant_id": "reads_missing_file", "input": {"text": ""}},
        )
        assert "workflows/notes/missing.txt" in waited.text and root not in waited.text
        thread = http.get(f"/threads/{tid}").json()
        assert thread["status"] == "error" and root not in json.dumps(thread)


def test_the_traceback_stays_in_the_run_store_for_local_tools(srv: ServerProcess) -> None:
    with srv.client(API_KEY) as http:
        run_id = http.post("/workflows/boom/invoke", json={"input": {}}).json()["run_id"]
    with sqlite3.connect(srv.project / ".lgp" / "hosted.db") as db:
        payload = db.execute(
            "SELECT payload FROM lgp_events WHERE run_id = ? AND type = 'run.failed'", (run_id,)
        ).fetchone()[0]
    assert "Traceback" in json.loads(payload)["traceback"]


def test_a_500_keeps_the_keep_alive_connection_usable(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY])
    hosted = project / "config" / "hosted.yaml"
    hosted.write_text(
        hosted.read_text().replace(
            "  path: .lgp/hosted.db", "  path: .lgp/hosted.db\n  busy_timeout_ms: 200"
        )
    )
    with ServerProcess(project, "workflows") as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        headers = {**AUTH, "content-type": "application/json"}
        body = json.dumps({"input": {"n": 1}})
        locker = sqlite3.connect(project / ".lgp" / "hosted.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        try:
            conn.request("POST", "/workflows/tiny/invoke", body=body, headers=headers)
            first = conn.getresponse()
            text = first.read().decode()
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert first.status == 500, text
        assert json.loads(text) == {"detail": "internal server error"}  # no trace, no path
        conn.request("POST", "/workflows/tiny/invoke", body=body, headers=headers)
        second = conn.getresponse()  # same socket: it was not dropped
        assert second.status == 200, second.read()
        assert json.loads(second.read())["result"]["n"] == 7
        conn.close()
    assert "database is locked" in "".join(srv.output)  # the server's log has the cause


# -- runs cannot starve the server or loop forever ----------------------------------


class GatedRuns:
    """``count`` runs of ``gated.py`` created at once (each from its own thread: a run
    waiting for a slot holds its create request), all held at one gate."""

    def __init__(self, http: httpx.Client, tmp: Path, count: int) -> None:
        self.gate = tmp / "gate"
        self.started = [tmp / f"started-{i}" for i in range(count)]
        self.thread_ids: list[str] = []
        self.threads = [
            threading.Thread(target=self._create, args=(http, i), daemon=True) for i in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def _create(self, http: httpx.Client, i: int) -> None:
        tid = http.post("/threads", json={}).json()["thread_id"]
        self.thread_ids.append(tid)
        payload = {"gate": str(self.gate), "started": str(self.started[i]), "count": 0}
        http.post(f"/threads/{tid}/runs", json={"assistant_id": "gated", "input": payload})

    def running(self) -> int:
        """How many have reached their blocking node."""
        return sum(p.exists() for p in self.started)

    def release(self) -> None:
        """Open the gate; every create request is answered."""
        self.gate.touch()
        for thread in self.threads:
            thread.join(30)


def test_sync_nodes_of_busy_runs_do_not_starve_a_quick_one(
    srv: ServerProcess, tmp_path: Path
) -> None:
    with srv.client(API_KEY, timeout=60) as http:
        runs = GatedRuns(http, tmp_path, 12)
        try:
            # 12 runs each hold a thread in a blocking node; the default pool on this
            # machine has 6, so before runs had their own pool the rest never started
            wait_until(lambda: runs.running() == 12, 30, "12 blocked runs")
            quick = http.post("/workflows/tiny/invoke", json={"input": {"n": 1}}, timeout=20)
            assert quick.status_code == 200 and quick.json()["result"]["n"] == 7
            assert http.get("/health").json()["active_runs"] >= 12
        finally:
            runs.release()
        wait_until(lambda: http.get("/health").json()["active_runs"] == 0, 30, "the runs to end")


def test_runs_beyond_the_limit_wait_and_health_counts_them(tmp_path: Path) -> None:
    project = make_server_project(
        tmp_path / "p", api_keys=[API_KEY], max_concurrent_runs=2, rate_limit_per_minute=100000
    )
    add_workflows(project, "gated")
    with ServerProcess(project, "workflows") as srv, srv.client(API_KEY, timeout=60) as http:
        runs = GatedRuns(http, tmp_path, 4)
        try:
            wait_until(lambda: runs.running() == 2, 30, "two runs to start")
            # runs.create beyond the slots: in the shared run queue, for any process
            wait_until(
                lambda: http.get("/health").json()["runs_queued"] == 2, 30, "two queued runs"
            )
            assert http.get("/health").json()["active_runs"] == 2
            assert runs.running() == 2  # the other two wait for a slot
        finally:
            runs.release()
        wait_until(lambda: runs.running() == 4, 30, "the waiting runs to get their turn")
        wait_until(lambda: http.get("/health").json()["active_runs"] == 0, 30, "the runs to end")
        assert http.get("/health").json()["runs_queued"] == 0


def test_a_graph_stuck_in_a_loop_fails_at_max_steps(srv: ServerProcess) -> None:
    with srv.client(API_KEY) as http:
        r = http.post("/workflows/endless_loop/invoke", json={"input": {}})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "failed"
        assert body["error"]["error_type"] == "GraphRecursionError"
        events = http.get(f"/runs/{body['run_id']}").json()["events"]
        assert events < 200  # 25 steps, not LangGraph's 10,000


def test_cancel_answers_409_with_the_reason_unless_the_run_executes_here(
    srv: ServerProcess, tmp_path: Path
) -> None:
    with srv.client(API_KEY) as http:
        done = http.post("/workflows/tiny/invoke", json={"input": {"n": 1}}).json()
        r = http.post(f"/runs/{done['run_id']}/cancel")
        assert r.status_code == 409 and "already ended (completed)" in r.json()["detail"]
        waiting = http.post(
            "/workflows/approval_workflow/invoke", json={"input": {"topic": "x"}}
        ).json()
        r = http.post(f"/runs/{waiting['run_id']}/cancel")
        assert r.status_code == 409 and "waiting at an interrupt" in r.json()["detail"]
        assert http.post("/runs/no-such-run/cancel").status_code == 404
        runs = GatedRuns(http, tmp_path, 1)
        wait_until(runs.started[0].exists, 30, "the run to start")
        [live] = http.get(f"/threads/{runs.thread_ids[0]}/runs").json()
        r = http.post(f"/runs/{live['run_id']}/cancel")
        runs.release()
        assert r.status_code == 202 and r.json() == {
            "run_id": live["run_id"],
            "cancelled": True,
            "status": "cancelled",
        }


# -- the API's own description -------------------------------------------------------


def test_the_openapi_document_describes_errors_auth_and_media_types(srv: ServerProcess) -> None:
    with srv.client() as http:
        doc = http.get("/openapi.json").json()
    error = doc["components"]["schemas"]["ErrorBody"]
    assert error["properties"]["detail"]["type"] == "string"
    invoke = doc["paths"]["/workflows/{name}/invoke"]["post"]
    for status in ("400", "401", "404", "409", "413", "422", "429"):
        ref = invoke["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorBody"), (status, ref)
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert doc["paths"]["/health"]["get"]["security"] == []
    stream = doc["paths"]["/workflows/{name}/stream"]["post"]["responses"]["200"]["content"]
    assert list(stream) == ["text/event-stream"]
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert "text/plain" in metrics


def test_docs_load_their_assets_from_the_server(srv: ServerProcess) -> None:
    with srv.client() as http:
        for page in ("/docs", "/redoc"):
            html = http.get(page).text
            assets = [part.split('"')[0] for part in html.split('src="')[1:]]
            assets += [p.split('"')[0] for p in html.split('href="')[1:] if "/docs/" in p]
            assert assets, html
            for asset in assets:
                assert asset.startswith("/docs/assets/"), asset  # no CDN
                assert http.get(asset).status_code == 200, asset


def test_times_are_iso_utc_and_workflows_list_nodes_and_relative_sources(
    srv: ServerProcess,
) -> None:
    with srv.client(API_KEY) as http:
        run = http.post("/workflows/tiny/invoke", json={"input": {"n": 1}}).json()
        record = http.get(f"/runs/{run['run_id']}").json()
        session = http.get(f"/sessions/{run['thread_id']}").json()
        history = http.get(f"/sessions/{run['thread_id']}/history").json()
        workflows = {w["name"]: w for w in http.get("/workflows").json()}
    for value in (
        record["created_at"],
        record["started_at"],
        record["ended_at"],
        session["created_at"],
        session["updated_at"],
        history["checkpoints"][0]["created_at"],
    ):
        assert isinstance(value, str) and value.endswith("+00:00"), value
    assert workflows["basic_workflow"]["nodes"] == ["greet", "analyze", "respond"]
    assert workflows["basic_workflow"]["source"] == "workflows/basic_workflow.py"
    assert all(not w["source"].startswith("/") for w in workflows.values())
