"""Rate limiting, with a server whose limit is small."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import make_server_project
from tests.server.server_process import ServerProcess


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", api_keys=["k1", "k2"], rate_limit_per_minute=5)
    with ServerProcess(project, "workflows/tiny.py") as server:
        with server.client("k1") as http:
            codes = [http.get("/workflows").status_code for _ in range(5)]
            limited = http.get("/workflows")
            health = http.get("/health")
        with server.client("k2") as other:
            fresh = other.get("/workflows")
    assert codes == [200] * 5
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "rate limit" in limited.json()["detail"]
    assert health.status_code == 200  # health is never limited
    assert fresh.status_code == 200  # the limit is per key


def test_without_auth_a_made_up_key_does_not_dodge_the_limit(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", rate_limit_per_minute=3)
    with ServerProcess(project, "workflows/tiny.py") as server, server.client() as http:
        codes = [
            http.get("/workflows", headers={"x-api-key": f"k{i}"}).status_code for i in range(5)
        ]
    assert codes == [200, 200, 200, 429, 429]


def test_oversized_chunked_body_is_413(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", max_body_bytes=1000)
    with ServerProcess(project, "workflows/tiny.py") as server, server.client() as http:

        def chunks():  # no Content-Length: the size is only known while reading
            yield b'{"input": {"blob": "'
            for _ in range(50):
                yield b"x" * 100
            yield b'"}}'

        r = http.post(
            "/workflows/tiny/invoke", content=chunks(), headers={"content-type": "application/json"}
        )
    assert r.status_code == 413
    assert "larger than 1000" in r.json()["detail"]
