"""``lgp`` commands for the tests, started from a process that has already imported
the engine: each command is a real child process (its own pid, pipes, signals, exit
status, stores), forked instead of started from scratch.

Why: an ``lgp`` process spends about a second importing LangGraph and LangChain
before it does anything, and the suite runs some 200 of them: on 2 cores that import
was most of the suite's time. A fork server (one per pytest worker) imports them once;
each command is then ``fork()``, set up as ``python -m lgp_engine ARGS`` would be
(cwd, environment, ``sys.argv``, ``sys.path[0]``, stdin/stdout/stderr on pipes), run,
and ended as the interpreter ends (atexit handlers, threads joined, streams flushed).

The server is single-threaded (forking a threaded process is unsafe): one selector
loop over its listening socket, its clients and a SIGCHLD wakeup pipe. A client sends
the command as JSON with the child's ends of its pipes (SCM_RIGHTS) and reads back
the child's pid, then its wait status.

Commands whose environment changes how Python starts (another ``PYTHON*`` variable)
run as plain processes instead; ``LGP_TEST_NO_FORKSERVER=1`` turns the fork server off.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PRELOAD = (
    "lgp_engine",
    "lgp_engine.cli",
    "lgp_engine.runner",
    "lgp_engine.loader",
    "langgraph.graph",
    "langgraph.checkpoint.sqlite",
    "langgraph.checkpoint.sqlite.aio",
    "langchain_core.runnables",
    "lgp_engine.backends.memory_store",  # every runner opens the store and node cache
    "lgp_engine.backends.node_cache",
    "langgraph.store.sqlite",
    "openai",  # agent nodes and store embeddings (~0.4 s a process otherwise)
    # `lgp serve` (some 60 servers a run): FastAPI, uvicorn and the routes, ~0.6 s each
    "lgp_engine.cli.serve",
    "lgp_engine.server.serving",
    "lgp_engine.server.app",
    "lgp_engine.server.langgraph",
    "lgp_engine.server.mcp_endpoint",
    "lgp_engine.server.routes.core",
    "lgp_engine.server.routes.incidents",
    "uvicorn",
)


# --------------------------------------------------------------------------- server


def serve(path: str) -> None:
    """The fork server: preload, then fork one child per command until stdin closes."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through wake_w
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    selector.register(sys.stdin, selectors.EVENT_READ, "parent")  # EOF: the tests ended
    clients: dict[int, socket.socket] = {}  # child pid -> the client waiting for it
    print("READY", flush=True)
    while True:
        for key, _ in selector.select():
            if key.data == "parent":
                if not sys.stdin.buffer.read1(1):
                    return
            elif key.data == "accept":
                conn, _ = listener.accept()
                pid = _spawn(conn, listener, selector)
                if pid is not None:
                    clients[pid] = conn
            else:
                os.read(wake_r, 4096)
                _reap(clients)


def _spawn(conn: socket.socket, listener: socket.socket, selector: Any) -> int | None:
    msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    if len(fds) != 3:
        conn.close()
        return None
    request = json.loads(msg)
    pid = os.fork()
    if pid == 0:  # the command
        selector.close()
        listener.close()
        conn.close()
        _run_command(request, fds)  # never returns
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    return pid


def _reap(clients: dict[int, socket.socket]) -> None:
    while clients:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = clients.pop(pid, None)
        if conn is not None:
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"returncode": code}).encode() + b"\n")
            conn.close()


def _run_command(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become ``python -m lgp_engine ARGS`` and run it."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as CPython sets it at start
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [str(REPO / "lgp_engine" / "__main__.py"), *request["args"]]
        sys.path[0] = os.getcwd()
        import runpy

        runpy.run_module("lgp_engine", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: BLE001 - printed as Python would, then exit 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        _finish(code)


def _exit_code(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)
    return 1


def _finish(code: int) -> None:
    """End as the interpreter would: join threads, run atexit, flush, exit."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
        import atexit

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    finally:
        os._exit(code)


# --------------------------------------------------------------------------- client

_STARTUP_VARS = frozenset(
    {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSAFEPATH",
        "PYTHONWARNINGS",
        "PYTHONDEVMODE",
        "PYTHONUTF8",
        "PYTHONIOENCODING",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "PYTHONMALLOC",
        "PYTHONFAULTHANDLER",
        "PYTHONTRACEMALLOC",
        "PYTHONOPTIMIZE",
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONNOUSERSITE",
    }
)


class ForkServer:
    """A running fork server and the commands it forks."""

    def __init__(self, base_env: Mapping[str, str]) -> None:
        self.base_env = dict(base_env)
        self.dir = tempfile.mkdtemp(prefix="lgp-fork-")
        self.path = os.path.join(self.dir, "s")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from tests.forkserver import serve; serve(sys.argv[1])",
                self.path,
            ],
            cwd=REPO,
            env=self.base_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.proc.kill()
            raise RuntimeError(f"the fork server did not start: {line!r}")

    def accepts(self, env: Mapping[str, str]) -> bool:
        """True if a command with ``env`` starts like the server did."""
        return all(env.get(k) == self.base_env.get(k) for k in _STARTUP_VARS)

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        input: str | None,  # noqa: A002 - mirrors subprocess.run
        timeout: float,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``lgp ARGS`` forked from the server; like ``subprocess.run``."""
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        conn = self._send(args, cwd, env, [in_r, out_w, err_w])
        replies = conn.makefile("r", encoding="utf-8")
        pid = json.loads(replies.readline())["pid"]
        out: list[bytes] = []
        err: list[bytes] = []
        readers = [
            threading.Thread(target=_drain, args=(out_r, out), daemon=True),
            threading.Thread(target=_drain, args=(err_r, err), daemon=True),
        ]
        for reader in readers:
            reader.start()
        with open(in_w, "wb") as stdin:
            if input is not None:
                with contextlib.suppress(BrokenPipeError):
                    stdin.write(input.encode("utf-8"))
        conn.settimeout(timeout)
        try:
            status = json.loads(replies.readline())
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            conn.settimeout(10)
            replies.readline()
            raise subprocess.TimeoutExpired(["lgp", *args], timeout) from None
        finally:
            for reader in readers:
                reader.join(10)
            conn.close()
        return subprocess.CompletedProcess(
            ["lgp", *args],
            status["returncode"],
            b"".join(out).decode("utf-8", "replace"),
            b"".join(err).decode("utf-8", "replace"),
        )

    def popen(
        self, args: Sequence[str], *, cwd: Path, env: Mapping[str, str], merge_stderr: bool
    ) -> ForkedChild:
        """Start ``lgp ARGS`` forked from the server; like ``subprocess.Popen`` with
        stdin from /dev/null and text stdout/stderr pipes."""
        null = os.open(os.devnull, os.O_RDONLY)
        out_r, out_w = os.pipe()
        err_r, err_w = (out_r, out_w) if merge_stderr else os.pipe()
        conn = self._send(args, cwd, env, [null, out_w, err_w])
        return ForkedChild(conn, out_r, None if merge_stderr else err_r)

    def _send(
        self, args: Sequence[str], cwd: Path, env: Mapping[str, str], fds: list[int]
    ) -> socket.socket:
        """Ask the server for a command whose stdin, stdout and stderr are ``fds``
        (closed here once sent: the child has its own copies)."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
            request = {"args": list(args), "cwd": str(cwd), "env": dict(env)}
            socket.send_fds(conn, [json.dumps(request).encode()], fds)
        finally:
            for fd in set(fds):
                os.close(fd)
        return conn

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class ForkedChild:
    """A command forked by the server, seen as ``subprocess.Popen`` sees a child: its
    pid, its output streams, and its exit status (the server reports it)."""

    def __init__(self, conn: socket.socket, out_fd: int, err_fd: int | None) -> None:
        self._replies = conn.makefile("r", encoding="utf-8")
        self._conn = conn
        self.pid: int = json.loads(self._replies.readline())["pid"]
        self.stdout = open(out_fd, encoding="utf-8", errors="replace")  # noqa: SIM115
        self.stderr = (
            open(err_fd, encoding="utf-8", errors="replace") if err_fd is not None else None  # noqa: SIM115
        )
        self.returncode: int | None = None
        self._ended = threading.Event()
        threading.Thread(target=self._await_status, daemon=True).start()

    def _await_status(self) -> None:
        try:
            line = self._replies.readline()
            self.returncode = json.loads(line)["returncode"] if line else -9
        except (OSError, ValueError):
            self.returncode = -9
        finally:
            self._conn.close()
            self._ended.set()

    def poll(self) -> int | None:
        return self.returncode if self._ended.is_set() else None

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(["lgp"], timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if not self._ended.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _drain(fd: int, into: list[bytes]) -> None:
    with open(fd, "rb", buffering=0) as stream:
        while chunk := stream.read(65536):
            into.append(chunk)
