"""SSE under load: a 10,000-event burst, reconnects with Last-Event-ID, restarts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess, parse_sse
from tests.workflows import open_gate

BURST = 10_000


def _frames(server: ServerProcess, method: str, url: str, **kw: object) -> list[dict]:
    with server.client(API_KEY) as http, http.stream(method, url, **kw) as r:
        assert r.status_code == 200, r.read()
        return list(parse_sse(r.iter_lines()))


def _seqs(frames: list[dict]) -> list[int]:
    return [int(f["id"]) for f in frames]


def test_burst_replay_and_restart(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=100000)
    server = ServerProcess(project, "workflows").start()
    try:
        frames = _frames(
            server, "POST", "/workflows/burst/stream", json={"input": {"count": BURST}}
        )
        seqs = _seqs(frames)
        assert seqs == list(range(1, len(frames) + 1))  # complete, in order, no duplicates
        custom = [
            json.loads(f["data"])["data"]["value"]["i"] for f in frames if f["event"] == "custom"
        ]
        assert custom == list(range(BURST))
        assert frames[-1]["event"] == "run.completed"
        run_id = json.loads(frames[0]["data"])["run_id"]
        total = seqs[-1]

        for n in (0, 1, 5000, total - 1, total):
            again = _frames(
                server, "GET", f"/runs/{run_id}/events", headers={"Last-Event-ID": str(n)}
            )
            assert _seqs(again) == list(range(n + 1, total + 1))
        by_query = _frames(server, "GET", f"/runs/{run_id}/events?last_event_id=9990")
        assert _seqs(by_query) == list(range(9991, total + 1))
    finally:
        server.stop()

    restarted = ServerProcess(project, "workflows").start()  # a new process, same stores
    try:
        after = _frames(
            restarted, "GET", f"/runs/{run_id}/events", headers={"Last-Event-ID": "7777"}
        )
        assert _seqs(after) == list(range(7778, total + 1))
        assert after[-1]["event"] == "run.completed"
    finally:
        restarted.stop()


def test_follow_a_live_run_from_the_middle(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY])
    with ServerProcess(project, "workflows") as server, server.client(API_KEY) as http:
        with http.stream("POST", "/workflows/slow/stream", json={"input": {}}) as r:
            lines = r.iter_lines()
            first = next(parse_sse(lines))
            run_id = json.loads(first["data"])["run_id"]
            # a second client joins while the run holds at its gate, from seq 1; the
            # gate opens once it has had its first event
            with (
                server.client(API_KEY) as other,
                other.stream(
                    "GET", f"/runs/{run_id}/events", headers={"Last-Event-ID": "1"}
                ) as follow,
            ):
                assert follow.status_code == 200, follow.read()
                live = []
                for frame in parse_sse(follow.iter_lines()):
                    if not live:
                        open_gate(project / "workflows" / "slow.open")
                    live.append(frame)
            rest = list(parse_sse(lines))
        assert _seqs(live) == list(range(2, _seqs(live)[-1] + 1))
        assert live[-1]["event"] == "run.completed"
        assert _seqs(rest)[-1] == _seqs(live)[-1]
