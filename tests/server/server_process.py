"""A real ``lgp serve`` process on a free port, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``lgp serve`` in ``project`` (a folder with config/ and workflows/)."""

    def __init__(
        self, project: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        self.project = project
        self.args = args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 30) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LGP_")}
        env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", **self.env})
        self.output = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lgp_engine", "serve", *self.args, "--port", str(self.port)],
            cwd=self.project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("lgp serve exited:\n" + "".join(self.output))
            if any("Ready" in line for line in self.output):
                return self
            time.sleep(0.05)
        raise RuntimeError("lgp serve did not become ready:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def client(self, key: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        kw.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, headers=headers, **kw)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
