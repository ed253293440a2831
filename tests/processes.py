"""Every process the tests start, through one door.

``run_lgp`` runs ``python -m lgp_engine ARGS`` (the ``lgp`` command) to the end;
``start_lgp`` starts one (``lgp run --watch``, ``lgp serve``, a run to kill) and
reads its output line by line in the background; ``run_python`` / ``start_python``
do the same for plain ``python`` arguments. All of them get the same environment
(``process_env``): no ``LGP_*`` variable of the developer's shell (they would pick
another config or database), unbuffered UTF-8 output, and no ``.pyc`` written into
the test projects.

``wait_until`` polls a condition with a deadline; tests wait on it (or on a line of
output) instead of sleeping for a guessed time.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

LGP = (sys.executable, "-m", "lgp_engine")
TIMEOUT = 60.0
# Besides every LGP_* variable: LangGraph's serializer mode, which a test sets itself.
_SCRUBBED = ("LANGGRAPH_STRICT_MSGPACK",)


def process_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every test process, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGP_") and k not in _SCRUBBED}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    env.update(extra or {})
    return env


def wait_until(
    condition: Callable[[], Any], timeout: float = 20.0, what: str = "", interval: float = 0.02
) -> Any:
    """Poll ``condition()`` until it returns something true (returned); fail after
    ``timeout`` seconds, naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def stays(condition: Callable[[], Any], seconds: float) -> bool:
    """Whether ``condition()`` holds for ``seconds``: the only honest way to check
    that something does *not* happen, so keep ``seconds`` short."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(0.01)
    return bool(condition())


# --------------------------------------------------------------------------- to the end


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    input: str | None = None,  # noqa: A002 - mirrors subprocess.run
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in ``cwd`` to the end and capture its text output."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=process_env(env),
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def run_lgp(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    input: str | None = None,  # noqa: A002 - mirrors subprocess.run
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """``python -m lgp_engine ARGS`` in ``cwd``, to the end: forked from a process that
    has the engine imported already (``tests/forkserver.py``), else started anew."""
    server = _fork_server()
    full_env = process_env(env)
    if server is not None and server.accepts(full_env):
        return server.run(args, cwd=cwd, env=full_env, input=input, timeout=timeout)
    return run_process([*LGP, *args], cwd=cwd, env=env, input=input, timeout=timeout)


_fork_lock = threading.Lock()
_forks: list[Any] = []  # the fork server of this process, once started


def _fork_server() -> Any:
    if os.environ.get("LGP_TEST_NO_FORKSERVER"):
        return None
    with _fork_lock:
        if not _forks:
            from tests.forkserver import ForkServer

            server = ForkServer(process_env())
            atexit.register(server.close)
            _forks.append(server)
        return _forks[0]


def run_python(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in ``cwd``, to the end."""
    return run_process([sys.executable, *args], cwd=cwd, env=env, timeout=timeout)


# --------------------------------------------------------------------------- running

# Every started process still alive when the test session ends (a test failed before
# stopping it) is killed then, so none outlives the run.
_started: weakref.WeakSet[Process] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_started):
        process.kill()


class Process:
    """A started process whose stdout and stderr are collected line by line (without
    the newline) by two reader threads, so a test can wait for a line while the
    process goes on. A context manager: leaving it kills the process if it still runs.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        merge_stderr: bool = False,
    ) -> None:
        self.argv = list(argv)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._cursor = 0
        self._changed = threading.Condition()
        self._open_streams = 1 if merge_stderr else 2
        full_env = process_env(env)
        server = _fork_server() if self.argv[: len(LGP)] == list(LGP) else None
        self.proc: Any
        if server is not None and server.accepts(full_env):
            # an `lgp` command: forked from a process that has the engine imported
            args = self.argv[len(LGP) :]
            self.proc = server.popen(args, cwd=cwd, env=full_env, merge_stderr=merge_stderr)
        else:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
        _started.add(self)
        streams = [(self.proc.stdout, self.stdout)]
        if not merge_stderr:
            streams.append((self.proc.stderr, self.stderr))
        for stream, lines in streams:
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()

    def _read(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._open_streams -= 1
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    @property
    def finished_reading(self) -> bool:
        """Both streams are at their end (the process has exited, or closed them)."""
        return self._open_streams == 0

    @property
    def text(self) -> str:
        """Everything read so far, stdout then stderr, for failure messages."""
        return "\n".join([*self.stdout, *(["--- stderr:"] if self.stderr else []), *self.stderr])

    def wait_for(self, condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
        """Wait until ``condition()`` is true (checked at every new line, and every
        50 ms); fail when ``timeout`` passes or the process ends first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = condition()
                if result:
                    return result
                left = deadline - time.monotonic()
                if self.finished_reading or left <= 0:
                    why = "the process ended" if self.finished_reading else f"{timeout} s passed"
                    raise AssertionError(f"{why} before {what or condition}:\n{self.text}")
                self._changed.wait(min(left, 0.05))  # also polls conditions on files

    def expect(self, pattern: str, timeout: float = 20.0) -> list[str]:
        """The stdout lines after the previous ``expect`` up to and including the first
        one matching ``pattern`` (a regular expression)."""

        def match() -> int | None:
            for i in range(self._cursor, len(self.stdout)):
                if re.search(pattern, self.stdout[i]):
                    return i + 1
            return None

        end = self.wait_for(match, timeout, what=f"a line matching {pattern!r}")
        got, self._cursor = self.stdout[self._cursor : end], end
        return got

    def rest(self, timeout: float = 20.0) -> list[str]:
        """The stdout lines after the last ``expect``, once the process has ended."""
        self.wait(timeout)
        with self._changed:
            self._changed.wait_for(lambda: self.finished_reading, timeout)
        got, self._cursor = self.stdout[self._cursor :], len(self.stdout)
        return got

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` and wait for the exit code; kill the process if it does not end
        within ``timeout`` (and fail: a stop that needs a kill is a bug)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"{self.argv[1:]} did not stop within {timeout} s of signal {sig}:\n{self.text}"
                ) from None
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def start_lgp(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, merge_stderr: bool = False
) -> Process:
    """Start ``python -m lgp_engine ARGS`` in ``cwd``."""
    return Process([*LGP, *args], cwd=cwd, env=env, merge_stderr=merge_stderr)


def start_python(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Process:
    """Start ``python ARGS`` in ``cwd``."""
    return Process([sys.executable, *args], cwd=cwd, env=env)
