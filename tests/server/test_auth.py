"""Who may call the API (issue 10): hosted generates a key when none is set and shows
it once; an open server only listens on loopback; failed keys are throttled; keys
never reach the access log. Each case against a real ``lgp serve`` process."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import LgpRunner, copy_project
from tests.server.conftest import API_KEY, make_server_project
from tests.server.server_process import ServerProcess, free_port


def test_hosted_without_a_key_generates_one_shows_it_once_and_requires_it(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "p")  # the shipped config/hosted.yaml
    with ServerProcess(project, "--log-level", "info", env={"LGP_ENV": "hosted"}) as srv:
        startup = "".join(srv.output)
        match = re.search(r"Authorization: Bearer ([A-Za-z0-9_-]{20,})", startup)
        assert match, startup
        key = match.group(1)
        assert f"curl -H 'Authorization: Bearer {key}' {srv.url}/workflows" in startup
        with srv.client() as anonymous:
            denied = anonymous.get("/workflows")
            assert denied.status_code == 401
            assert denied.headers["www-authenticate"] == "Bearer"
        with srv.client(key) as http:
            assert http.get("/workflows").status_code == 200
            assert (
                http.post(
                    "/workflows/basic_workflow/invoke", json={"input": {"input": "hi"}}
                ).status_code
                == 200
            )
        mentions = [line for line in srv.output if key in line]
    assert len(mentions) == 2  # the key line and its curl line at start, nowhere else


def test_hosted_with_lgp_api_key_uses_it_and_prints_no_key(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    env = {"LGP_ENV": "hosted", "LGP_API_KEY": "chosen-key-0123456789"}
    with ServerProcess(project, env=env) as srv:
        assert "chosen-key" not in "".join(srv.output)
        assert "Auth: 1 API key(s)" in "".join(srv.output)
        with srv.client("chosen-key-0123456789") as http:
            assert http.get("/workflows").status_code == 200
        with srv.client("wrong") as http:
            assert http.get("/workflows").status_code == 401
        with srv.client() as http:  # open, as the Agent Server's: Studio asks it first
            info = http.get("/info")
            assert info.status_code == 200 and info.json()["metadata"] == {}


def test_an_open_server_only_listens_on_loopback(lgp: LgpRunner, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    port = str(free_port())
    refused = lgp("serve", "--env", "experiment", "--host", "0.0.0.0", "--port", port, cwd=project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    [line] = refused.stderr.splitlines()
    assert "refusing to serve on 0.0.0.0 without an API key" in line
    production = lgp("serve", "--env", "production", "--port", port, cwd=project)
    assert production.returncode == 2
    assert "needs an API key" in production.stderr


def test_failed_authentication_is_throttled_per_address(tmp_path: Path) -> None:
    project = make_server_project(
        tmp_path / "p", api_keys=[API_KEY], auth_failures_per_minute=5, rate_limit_per_minute=100000
    )
    with ServerProcess(project, "workflows") as srv:
        with srv.client("wrong-key") as http:
            statuses = [http.get("/workflows").status_code for _ in range(8)]
        assert statuses == [401] * 5 + [429] * 3
        with srv.client(API_KEY) as http:
            throttled = http.get("/workflows")  # this address is locked out for the minute
            assert throttled.status_code == 429
            assert 1 <= int(throttled.headers["retry-after"]) <= 60
            assert http.get("/health").status_code == 200  # open routes stay open


def test_a_key_in_the_query_string_never_reaches_the_access_log(tmp_path: Path) -> None:
    project = make_server_project(tmp_path / "p", api_keys=[API_KEY], rate_limit_per_minute=100000)
    with ServerProcess(project, "workflows", "--log-level", "info") as srv:
        with srv.client() as http:
            assert http.get("/workflows", params={"api_key": "leaked-secret-1"}).status_code == 401
            assert (
                http.get("/workflows", params={"token": "leaked-secret-2", "x": "1"}).status_code
                == 401
            )
            assert http.get(f"/runs/{API_KEY}").status_code == 401
        with srv.client(API_KEY) as http:
            assert http.get(f"/runs/{API_KEY}").status_code == 404
    log = "".join(srv.output)
    assert "GET /workflows?api_key=***" in log
    assert "token=***&x=1" in log
    for secret in ("leaked-secret-1", "leaked-secret-2", API_KEY):
        assert secret not in log
