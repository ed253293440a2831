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
