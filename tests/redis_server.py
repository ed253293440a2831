"""The Redis of the machine (127.0.0.1:6379) for tests, and throw-away Redis servers.

Redis is shared by every test (and keeps nothing on disk here): a test takes a key
prefix of its own (:func:`fresh_prefix`) and deletes its keys afterwards.
``LGP_TEST_REDIS`` overrides the URL; when it cannot be reached the tests that need
it are skipped, unless ``LGP_REQUIRE_REDIS=1`` makes that a failure.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.processes import wait_until

URL = os.environ.get("LGP_TEST_REDIS", "redis://127.0.0.1:6379/0")


@functools.cache
def available() -> str | None:
    """None when Redis answers, else why not."""
    import redis

    try:
        redis.Redis.from_url(URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return str(exc).strip().splitlines()[0]
    return None


def require() -> str:
    """The URL of the machine's Redis (skips the test without one)."""
    reason = available()
    if reason is not None:
        if os.environ.get("LGP_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {URL} is required: {reason}")
        pytest.skip(f"no Redis at {URL}: {reason}")
    return URL


def fresh_prefix() -> str:
    return f"lgp-test-{uuid.uuid4().hex[:12]}:"


def drop_prefix(prefix: str) -> None:
    """Delete every key under ``prefix``."""
    import redis

    client = redis.Redis.from_url(URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class RedisProcess:
    """A ``redis-server`` of our own on ``port`` (nothing saved), to stop and start."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisProcess:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server on PATH")
        self.workdir.mkdir(parents=True, exist_ok=True)
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), *options, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
