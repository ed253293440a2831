"""Fixtures for the hosted API: a project with the shared test workflows and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_project
from tests.server.server_process import ServerProcess, write_hosted_config
from tests.workflows import copy_workflows

API_KEY = "test-key-123"

# Shared test workflows (tests/workflows/) that every server test project serves.
SERVER_WORKFLOWS = ("burst.py", "boom.py", "slow.py", "tiny.py")


def make_server_project(root: Path, **server: object) -> Path:
    """A project copy whose workflows/ also holds the server test workflows."""
    project = copy_project(root)
    copy_workflows(project / "workflows", *SERVER_WORKFLOWS)
    write_hosted_config(project, **server)
    return project


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One authenticated server for a module: key API_KEY, generous rate limit."""
    project = make_server_project(
        tmp_path_factory.mktemp("srv"),
        api_keys=[API_KEY],
        rate_limit_per_minute=100000,
        max_body_bytes=65536,
    )
    with ServerProcess(project, "workflows") as proc:
        yield proc
