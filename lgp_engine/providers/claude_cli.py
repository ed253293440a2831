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
#: Seconds the CLI may take to exit after its last message (its result) before it is
#: stopped; the result stands.
EXIT_GRACE_S = 5.0
LINGERED = "lingered"
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

    result: dict[str, Any] | None = None  # the CLI's ``result`` message
    returncode: int | None = None
    stopped: str | None = None  # "stalled" / "timeout" / "unreadable" when we stopped it
    stderr: str = ""
    duration_ms: float = 0.0


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
        root = process_tree.this(proc.pid) or (proc.pid, -1)
        tail: collections.deque[str] = collections.deque(maxlen=40)
        helpers = [
            asyncio.create_task(_drain(proc.stderr, tail)),
            # written beside the reading: a CLI that never reads its input must not
            # hold the node past its timeouts
            asyncio.create_task(_feed(proc, self.task)),
        ]
        outcome = CliOutcome()
        try:
            stopped = await self._read(proc, outcome, started)
            if stopped is not None or not await _exited(proc, EXIT_GRACE_S):
                await self._stop(proc, root)
            # one that lingered after its result is stopped, but its answer stands
            outcome.stopped = None if stopped == LINGERED else stopped
            outcome.returncode = proc.returncode
        except BaseException:
            await asyncio.shield(self._stop(proc, root))
            raise
        finally:
            for helper in helpers:
                helper.cancel()
            if proc.returncode is not None:
                # what a CLI that died without ending it left: its process group (the
                # copies of itself it runs, e.g. ripgrep) and the tool shells seen
                await asyncio.shield(asyncio.to_thread(process_tree.sweep, root[0], self._seen))
        outcome.stderr = "".join(tail)
        outcome.duration_ms = round((time.monotonic() - started) * 1000, 3)
        return outcome

    async def _read(
        self, proc: asyncio.subprocess.Process, outcome: CliOutcome, started: float
    ) -> str | None:
        """Hand each stream message on until EOF; the reason if we must stop it.

        One read is pending at a time and waited on with a timeout (never cancelled
        and restarted), so no line is lost and a cancellation of the node is never
        swallowed."""
        assert proc.stdout is not None
        beat = snapshot = time.monotonic()
        reading: asyncio.Future[bytes] | None = None
        try:
            while True:
                now = time.monotonic()
                if outcome.result is not None and now - beat >= EXIT_GRACE_S:
                    return LINGERED
                if now - started >= self.timeout_s:
                    return "timeout"
                if now - beat >= self.stall_timeout_s:
                    return "stalled"
                if reading is None:
                    reading = asyncio.ensure_future(proc.stdout.readline())
                wait = min(self.timeout_s - (now - started), self.stall_timeout_s - (now - beat))
                done, _ = await asyncio.wait({reading}, timeout=min(wait, SNAPSHOT_EVERY_S))
                if not done:
                    await self._note_children(proc.pid)
                    continue
                try:
                    line = reading.result()
                except ValueError:  # a line past LINE_LIMIT
                    return "unreadable"
                reading = None
                if not line:
                    await self._note_children(proc.pid)
                    return None
                beat = time.monotonic()
                if beat - snapshot >= SNAPSHOT_EVERY_S:
                    snapshot = beat
                    await self._note_children(proc.pid)
                message = _parse(line)
                if message is None:
                    continue
                if message.get("type") == "result":
                    outcome.result = message
                self.on_message(message)
        finally:
            if reading is not None and not reading.done():
                reading.cancel()

    async def _note_children(self, pid: int) -> None:
        """Note the processes below the CLI (its tool shells run in sessions of their
        own: if it dies outright, they are stopped from this list)."""
        self._seen.update(await asyncio.to_thread(process_tree.descendants, pid))

    async def _stop(self, proc: asyncio.subprocess.Process, root: process_tree.Proc) -> None:
        if proc.returncode is None:
            known = set(self._seen)
            await asyncio.to_thread(process_tree.stop, root, known, grace_s=GRACE_S)
        await _exited(proc, GRACE_S)


async def _exited(proc: asyncio.subprocess.Process, within_s: float) -> bool:
    """Whether ``proc`` ends within ``within_s`` (it is not stopped here)."""
    if proc.returncode is not None:
        return True
    waiting = asyncio.ensure_future(proc.wait())
    done, _ = await asyncio.wait({waiting}, timeout=within_s)
    if not done:
        waiting.cancel()
    return bool(done)


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
