"""A real ``lgp serve`` process on a free port, for the server tests."""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.processes import Process, start_lgp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``lgp serve ARGS`` in ``project`` (a folder with config/ and workflows/), its
    stdout and stderr read as one stream of lines (``output``)."""

    def __init__(
        self, project: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        self.project = project
        self.args = args
        self.port = port or free_port()
        self.chosen = port is None  # a free port of ours: another may be picked
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.process: Process | None = None

    @property
    def output(self) -> list[str]:
        """The lines it printed so far."""
        return self.process.stdout if self.process is not None else []

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    def start(self, timeout: float = 30) -> ServerProcess:
        return self.launch().wait_ready(timeout)

    def launch(self) -> ServerProcess:
        """Start the process without waiting (several servers can then load at once)."""
        self.process = start_lgp(
            "serve",
            *self.args,
            "--port",
            str(self.port),
            cwd=self.project,
            env=self.env,
            merge_stderr=True,
        )
        return self

    def wait_ready(self, timeout: float = 30) -> ServerProcess:
        """Wait for its Ready line (killed if it does not come). A port this object
        picked that another process took between the pick and the bind (tests run in
        parallel) is picked again, twice at most."""
        for attempt in range(3):
            assert self.process is not None
            try:
                self.process.wait_for(
                    lambda: any("Ready" in line for line in self.output),
                    timeout,
                    "lgp serve's Ready",
                )
                return self
            except BaseException:
                self.process.kill()
                taken = any("already in use" in line for line in self.output)
                if not (self.chosen and taken) or attempt == 2:
                    raise
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.launch()
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``sig`` and return the exit code (fails if it does not exit in time)."""
        assert self.process is not None
        return self.process.stop(sig, timeout)

    def client(self, key: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        kw.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, headers=headers, **kw)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def replicas(project: Path, envs: list[dict[str, str]]) -> Iterator[list[ServerProcess]]:
    """Server processes on ``project`` (one per ``envs`` entry, its extra environment),
    started together and all stopped at the end (those still running)."""
    servers = [ServerProcess(project, "workflows", env=env).launch() for env in envs]
    try:
        for srv in servers:
            srv.wait_ready()
        yield servers
    finally:
        for srv in servers:
            if srv.process is not None and srv.process.returncode is None:
                srv.stop()


def write_hosted_config(project: Path, **server: Any) -> None:
    """config/hosted.yaml with the given ``server:`` settings (SQLite in .lgp/)."""
    lines = [
        "environment: hosted",
        "checkpointer:",
        "  backend: sqlite",
        "  path: .lgp/hosted.db",
        "server:",
    ]
    for key, value in server.items():
        if isinstance(value, list):
            value = "[" + ", ".join(f'"{v}"' for v in value) + "]"
        lines.append(f"  {key}: {value}")
    (project / "config" / "hosted.yaml").write_text("\n".join(lines) + "\n")


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Frames of an SSE stream as ``{"id", "event", "data"}`` (data as text)."""
    frame: dict[str, Any] = {}
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data or frame:
                frame["data"] = "\n".join(data)
                yield frame
            frame, data = {}, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field in ("id", "event"):
            frame[field] = value


def use_postgres(project: Path, dsn: str) -> None:
    """Point config/hosted.yaml's checkpointer (and so every store) at PostgreSQL ``dsn``."""
    path = project / "config" / "hosted.yaml"
    text = path.read_text().replace(
        "  backend: sqlite\n  path: .lgp/hosted.db\n", f"  backend: postgres\n  dsn: {dsn}\n"
    )
    assert "backend: postgres" in text, "hosted.yaml has no SQLite checkpointer to replace"
    path.write_text(text)
