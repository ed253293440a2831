"""The per-key rate limit is shared by every process of the API (issue 15): two
workers of ``lgp serve --workers 2`` (or two servers on one PostgreSQL database)
together allow N requests per minute, not N each. Counted in Redis when
``server.redis_url`` is set, else in the database; and a shared store that fails
never takes the API down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests import redis_server
from tests.processes import wait_until
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess, free_port, write_hosted_config
from tests.server.test_workers import client_on_worker, worker_of

LIMIT = 10


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    redis_server.require()
    prefix = redis_server.fresh_prefix()
    yield prefix
    redis_server.drop_prefix(prefix)


def clients_on_both(srv: ServerProcess, stack: ExitStack) -> list[httpx.Client]:
    """One kept-alive client on each of the server's two workers."""
    first = stack.enter_context(srv.client(API_KEY))
    home = worker_of(first)
    others = {pid for pid in _workers(srv) if pid != home}
    second = client_on_worker(srv, others)
    stack.callback(second.close)
    return [first, second]


def _workers(srv: ServerProcess) -> set[int]:
    pids: set[int] = set()

    def both() -> bool:
        with srv.client(API_KEY) as http:
            pids.add(worker_of(http))
        return len(pids) == 2

    wait_until(both, 30, "both workers to answer")
    return pids


def spread_requests(clients: list[httpx.Client], total: int) -> list[tuple[int, httpx.Response]]:
    """``total`` limited requests, taking turns over ``clients``: (client index, response)."""
    out = []
    for i in range(total):
        which = i % len(clients)
        out.append((which, clients[which].get("/workflows")))
    return out


def assert_shared_limit(answers: list[tuple[int, httpx.Response]]) -> None:
    ok = [(c, r) for c, r in answers if r.status_code == 200]
    refused = [(c, r) for c, r in answers if r.status_code == 429]
    assert len(ok) == LIMIT, [r.status_code for _, r in answers]
    assert len(refused) == len(answers) - LIMIT
    assert {c for c, _ in ok} == {0, 1}  # both processes let requests through...
    assert {c for c, _ in refused} == {0, 1}  # ...and both refused once the limit was met
    for _, r in refused:
        wait = int(r.headers["retry-after"])
        assert 1 <= wait <= 60
        assert r.json()["retry_after"] == wait
        assert f"rate limit of {LIMIT} requests per minute" in r.json()["detail"]


def two_workers(project: Path) -> ServerProcess:
    return ServerProcess(project, "workflows/tiny.py", "--workers", "2")


def test_two_workers_share_the_limit_in_redis(tmp_path: Path, redis_prefix: str) -> None:
    project = make_server_project(
        tmp_path / "p",
        api_keys=[API_KEY],
        rate_limit_per_minute=LIMIT,
        redis_url=redis_server.URL,
        redis_key_prefix=f'"{redis_prefix}"',
    )
    with two_workers(project) as srv, ExitStack() as stack:
        answers = spread_requests(clients_on_both(srv, stack), 3 * LIMIT)
        assert "Rate limit: 10/min per key, shared in Redis at redis://127.0.0.1:6379/0" in srv.text
    assert_shared_limit(answers)
    keys = _redis_keys(redis_prefix)
    assert len(keys) == 1 and API_KEY not in keys[0]  # one key, by the API key's hash


def test_two_workers_share_the_limit_in_the_sqlite_file(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=LIMIT)
    with two_workers(project) as srv, ExitStack() as stack:
        answers = spread_requests(clients_on_both(srv, stack), 3 * LIMIT)
        assert "Rate limit: 10/min per key, shared in the SQLite file" in srv.text
    assert_shared_limit(answers)


def test_two_servers_on_one_postgres_database_share_the_limit(
    tmp_path: Path, postgres_dsn: str
) -> None:
    projects = []
    for name in ("a", "b"):
        project = make_server_project(
            tmp_path / name, api_keys=[API_KEY], rate_limit_per_minute=LIMIT
        )
        write_hosted_config(project, api_keys=[API_KEY], rate_limit_per_minute=LIMIT)
        config = project / "config" / "hosted.yaml"
        config.write_text(
            config.read_text().replace(
                "  backend: sqlite\n  path: .lgp/hosted.db\n",
                f"  backend: postgres\n  dsn: {postgres_dsn}\n",
            )
        )
        projects.append(project)
    servers = [ServerProcess(p, "workflows/tiny.py") for p in projects]
    with ExitStack() as stack:
        for srv in servers:
            srv.launch()
        for srv in servers:
            stack.callback(srv.stop)
        for srv in servers:
            srv.wait_ready(60)
        clients = [stack.enter_context(srv.client(API_KEY)) for srv in servers]
        answers = spread_requests(clients, 3 * LIMIT)
        for srv in servers:
            assert "Rate limit: 10/min per key, shared in PostgreSQL at postgresql://" in srv.text
    assert_shared_limit(answers)


def test_an_unreachable_redis_falls_back_to_this_process_and_says_so_once(
    tmp_path: Path,
) -> None:
    dead = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"  # nothing listens there
    project = make_server_project(
        tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=3, redis_url=dead
    )
    with ServerProcess(project, "workflows/tiny.py") as srv, srv.client(API_KEY) as http:
        codes = [http.get("/workflows").status_code for _ in range(5)]
        text = srv.text
    assert codes == [200, 200, 200, 429, 429]  # served, and still limited (here)
    assert "Rate limit: 3/min per key, shared in Redis at redis://127.0.0.1:" in text
    lines = [line for line in text.splitlines() if "rate limit:" in line and "failed" in line]
    assert len(lines) == 1, text
    assert "Redis at redis://127.0.0.1:" in lines[0]
    assert "s3cret-pw" not in text


def _redis_keys(prefix: str) -> list[str]:
    import redis

    client = redis.Redis.from_url(redis_server.URL, decode_responses=True)
    try:
        return list(client.scan_iter(match=f"{prefix}*"))
    finally:
        client.close()
