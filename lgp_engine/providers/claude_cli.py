"""One invocation of the Claude Code CLI, watched as it runs.

We run the CLI ourselves (``claude -p --output-format stream-json --verbose``, the
task on stdin) rather than through ``claude_agent_sdk``'s Python client: the node
needs the process in its own hands, to notice a stall between two stream messages,
to stop the CLI together with the tool shells it started, and to tell a crash from a
refusal. The SDK package is still how the CLI gets installed (it bundles it).

Each stream-json line is handed to ``on_message`` as it arrives; the heartbeat is the
time of the last line. The run ends with a :class:`CliOutcome`: the ``result``
message, or how the process ended when it never sent one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import process_tree
from .base import ProviderError

#: Longest stream-json line read (a tool result can hold a whole file).
LINE_LIMIT = 64 * 1024 * 1024
#: How often the processes below the CLI are noted (to stop orphans after a crash).
SNAPSHOT_EVERY_S = 0.5
#: Seconds the CLI gets to end its tool shells after SIGTERM, before SIGKILL.
GRACE_S = 2.0
#: Run the CLI through ``setpriv --pdeathsig TERM`` where there is one (Linux): if this
#: process dies outright (kill -9), the kernel sends the CLI SIGTERM, and the CLI
#: ends its tool shells, instead of running on as an orphan.
ORPHAN_GUARD: tuple[str, ...] = (
    ("setpriv", "--pdeathsig", "TERM", "--")
    if sys.platform == "linux" and shutil.which("setpriv")
    else ()
)
INSTALL_HINT = (
    "install it with `pip install 'lgp-workbench[claude-code]'` (claude-agent-sdk bundles "
    "the CLI) or `npm install -g @anthropic-ai/claude-code`, or set "
    "llm_providers.claude_code.cli_path"
)


def bundled_cli() -> Path | None:
    """The CLI that ``claude-agent-sdk`` bundles, if that package is installed."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "_bundled" / "claude"
        if path.is_file():
            return path
    return None


def find_cli(cli_path: str | None, *, role: str) -> Path:
    """The claude executable: ``cli_path``, else the bundled one, else ``claude`` on
    PATH; ``unavailable`` when there is none."""
    if cli_path:
        path = Path(cli_path).expanduser()
        found = shutil.which(str(path)) if not path.is_file() else str(path)
        if found is None or not os.access(found, os.X_OK):
            raise ProviderError(
                "unavailable",
                f"the Claude Code CLI {cli_path} (llm_providers.claude_code.cli_path) "
                "does not exist or is not executable",
                provider="claude_code",
                role=role,
                hint=INSTALL_HINT,
            )
        return Path(found)
    bundled = bundled_cli()
    if bundled is not None:
        return bundled
    on_path = shutil.which("claude")
    if on_path is None:
        raise ProviderError(
            "unavailable",
            "the Claude Code CLI is not installed",
            provider="claude_code",
            role=role,
            hint=INSTALL_HINT,
        )
    return Path(on_path)


@dataclass
class CliOutcome:
    """How one invocation ended."""

    result: dict[str, Any] | None  # the CLI's ``result`` message
    returncode: int | None
    stopped: str | None  # "stalled" / "timeout" when we stopped it
    stderr: str
    messages: int
    duration_ms: float
    session_id: str | None


@dataclass
class CliRun:
    """Runs ``argv`` in ``cwd`` with ``task`` on stdin; see the module docstring."""

    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    task: str
    timeout_s: float
    stall_timeout_s: float
    on_message: Callable[[dict[str, Any]], None]
    _seen: set[process_tree.Proc] = field(default_factory=set)

    async def run(self) -> CliOutcome:
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *ORPHAN_GUARD,
                *self.argv,
                cwd=self.cwd,
                env=dict(self.env),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group, away from our signals
                limit=LINE_LIMIT,
            )
        except OSError as exc:
            raise ProviderError(
                "unavailable",
                f"cannot start the Claude Code CLI {self.argv[0]}: {exc.strerror}",
                provider="claude_code",
                hint=INSTALL_HINT,
            ) from None
        tail: collections.deque[str] = collections.deque(maxlen=40)
        errors = asyncio.create_task(_drain(proc.stderr, tail))
        outcome = CliOutcome(None, None, None, "", 0, 0.0, None)
        try:
            await _feed(proc, self.task)
            outcome.stopped = await self._read(proc, outcome, started)
            if outcome.stopped is not None:
                await self._stop(proc)
            outcome.returncode = await proc.wait()
        except BaseException:
            await asyncio.shield(self._stop(proc))
            raise
        finally:
            if proc.returncode is not None:
                # what a CLI that died without ending it left: its process group (the
                # copies of itself it runs, e.g. ripgrep) and the tool shells seen
                await asyncio.shield(asyncio.to_thread(process_tree.sweep, proc.pid, self._seen))
            errors.cancel()
        outcome.stderr = "".join(tail)
        outcome.duration_ms = round((time.monotonic() - started) * 1000, 3)
        return outcome

    async def _read(
        self, proc: asyncio.subprocess.Process, outcome: CliOutcome, started: float
    ) -> str | None:
        """Hand each stream message on until EOF; the reason if we must stop it."""
        assert proc.stdout is not None
        beat = snapshot = time.monotonic()
        while True:
            now = time.monotonic()
            if now - started >= self.timeout_s:
                return "timeout"
            if now - beat >= self.stall_timeout_s:
                return "stalled"
            wait = min(self.timeout_s - (now - started), self.stall_timeout_s - (now - beat))
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), min(wait, 1.0))
            except TimeoutError:
                self._note_children(proc.pid)
                continue
            if not line:
                return None
            beat = time.monotonic()
            if beat - snapshot >= SNAPSHOT_EVERY_S:
                snapshot = beat
                self._note_children(proc.pid)
            message = _parse(line)
            if message is None:
                continue
            outcome.messages += 1
            if message.get("session_id"):
                outcome.session_id = str(message["session_id"])
            if message.get("type") == "result":
                outcome.result = message
            self.on_message(message)

    def _note_children(self, pid: int) -> None:
        self._seen.update(process_tree.descendants(pid))

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            known = set(self._seen)
            await asyncio.to_thread(process_tree.stop, proc.pid, known, grace_s=GRACE_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), GRACE_S)


async def _feed(proc: asyncio.subprocess.Process, task: str) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(task.encode())
        await proc.stdin.drain()
        proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it died at once: its exit status says why


async def _drain(stream: asyncio.StreamReader | None, tail: collections.deque[str]) -> None:
    """Keep the last lines of the CLI's stderr (for the error message)."""
    if stream is None:
        return
    while line := await stream.readline():
        tail.append(line.decode(errors="replace"))


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None  # not a stream message (a warning the CLI printed)
    return value if isinstance(value, dict) else None
