"""MCP tools for agent nodes: sessions owned by the process, usable from any loop.

Why a manager with a thread of its own: agent nodes run on whatever event loop
drives their run (a thread-private loop per CLI run, uvicorn's loop in the server,
worker threads for sync nodes), while an MCP session is a set of anyio tasks tied to
the loop that opened it, whose contexts must be left in the very task that entered
them. Opening a session per call would cost a server start each time (about a
second for a Python server). So :class:`McpManager` runs ONE daemon thread with its
own loop; each server's session lives there in one long-lived task, which enters
the transport and :class:`mcp.ClientSession` contexts, initializes, and waits for
its stop signal; every public method marshals onto that loop and can be awaited
from any loop (or called through its ``*_sync`` twin from any thread).

A server that dies (process exit, lost connection) is restarted once for the call
that finds it dead, and the call runs again there; a second failure is a
:class:`ProviderError` of kind ``unavailable``. A call during which the server died
is run again too, so a tool with side effects may have done its work once already
(the server could not say); a call that kills its server fails after the second try.
Tool failures are results (``is_error``), never exceptions: the model sees them and
can correct itself.

Tool specs for models (:func:`openai_tool_spec`) name a tool ``server__tool``
(OpenAI function names allow ``[a-zA-Z0-9_-]`` only); :func:`parse_tool_name`
reverses that.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import os
import re
import shlex
import signal
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .._version import __version__
from ..errors import ConfigError
from .base import ErrorKind, ProviderError
from .settings import McpServerSettings

if TYPE_CHECKING:
    # The client stack (mcp, anyio, httpx2: ~0.8 s of imports) is imported by the
    # first session, so that importing this module, as every agent node does, costs
    # nothing to a project without MCP servers.
    import httpx2
    import mcp.types as mcp_types
    from mcp import ClientSession
    from mcp.shared.exceptions import MCPError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Lines of a server's stderr kept for error messages.
STDERR_LINES = 20
#: How many of them an error message quotes.
STDERR_QUOTED = 8
#: Longest quoted stderr line (a traceback's data can be huge).
STDERR_LINE_CHARS = 300
#: How long close() lets sessions end on their own before it cancels them. The stdio
#: transport closes the server's stdin, waits 2 s, then SIGTERMs (and SIGKILLs) the
#: process group; a server that exits on end of input is gone in milliseconds.
CLOSE_GRACE_S = 5.0
#: A tool call may take this much longer than its MCP timeout before we give up on
#: the MCP layer's own timeout answer (it normally comes first).
TIMEOUT_GRACE_S = 2.0
#: Server names become part of OpenAI function names (``server__tool``).
_SERVER_NAME = re.compile(r"[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*")
#: What an OpenAI function name may not contain.
_NOT_IN_FN_NAME = re.compile(r"[^A-Za-z0-9_-]")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class McpTool:
    """A tool offered by one MCP server."""

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]

    @property
    def qualified(self) -> str:
        """``server.tool``: how allow-lists, events and users name it."""
        return f"{self.server}.{self.name}"


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returned. ``is_error`` marks a failed call (unknown tool,
    bad arguments, the tool raised): a result the model should see, not an error
    of the run."""

    text: str
    structured: Any | None
    is_error: bool
    duration_ms: float
    content: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- tool specs


def openai_tool_name(server: str, tool: str) -> str:
    """``server__tool``: the qualified name spelled as OpenAI function names must be.

    A ``.`` in the tool name also becomes ``__`` and any other character outside
    ``[A-Za-z0-9_-]`` becomes ``_``; :func:`parse_tool_name` cannot undo those two
    (use :func:`find_tool` for such names).
    """
    return f"{server}__{_NOT_IN_FN_NAME.sub('_', tool.replace('.', '__'))}"


def openai_tool_spec(tool: McpTool) -> dict[str, Any]:
    """The OpenAI / LangChain function-tool dict for ``tool`` (``bind_tools`` takes it)."""
    return {
        "type": "function",
        "function": {
            "name": openai_tool_name(tool.server, tool.name),
            "description": tool.description,
            "parameters": tool.input_schema or {"type": "object", "properties": {}},
        },
    }


def parse_tool_name(fn_name: str) -> tuple[str, str]:
    """``(server, tool)`` from a function name made by :func:`openai_tool_spec`.

    Exact for tool names made of ``[A-Za-z0-9_-]`` (server names never hold ``__``:
    the manager refuses them). Raises ``ValueError`` for a name without ``__``, which
    no spec of ours produced (a model inventing a tool).
    """
    server, sep, tool = fn_name.partition("__")
    if not sep or not server or not tool:
        raise ValueError(f"{fn_name!r} is not a server__tool name")
    return server, tool


def find_tool(fn_name: str, tools: Iterable[McpTool]) -> McpTool | None:
    """The tool among ``tools`` whose spec is named ``fn_name``: exact even for tool
    names :func:`parse_tool_name` cannot undo (with ``.`` or other characters)."""
    return next((t for t in tools if openai_tool_name(t.server, t.name) == fn_name), None)


# --------------------------------------------------------------------------- child pids

# mcp's stdio_client does not expose the process it spawns, and we need it: for its
# pid (pids(), the last-resort kill in close()) and for its exit code (the reason in
# an error message). Every spawn goes through the module-level function
# ``mcp.client.stdio._create_platform_compatible_process`` (looked up at call time),
# so we wrap it once; the wrapper reports the process to the hook that the session's
# task set in its own context, and does nothing for anyone else's stdio_client.
_SPAWN_HOOK: contextvars.ContextVar[Callable[[Any], None] | None] = contextvars.ContextVar(
    "lgp_mcp_spawn_hook", default=None
)
_SPAWN_FUNCTION = "_create_platform_compatible_process"
_hook_lock = threading.Lock()


def _install_spawn_hook() -> bool:
    """Wrap mcp's spawn function (once); False when this mcp version has none."""
    import mcp.client.stdio as mcp_stdio

    with _hook_lock:
        original = getattr(mcp_stdio, _SPAWN_FUNCTION, None)
        if original is None:
            return False
        if getattr(original, "_lgp_spawn_hook", False):
            return True

        async def spawn(*args: Any, **kwargs: Any) -> Any:
            process = await original(*args, **kwargs)
            hook = _SPAWN_HOOK.get()
            if hook is not None:
                hook(process)
            return process

        spawn._lgp_spawn_hook = True  # type: ignore[attr-defined]
        setattr(mcp_stdio, _SPAWN_FUNCTION, spawn)
        return True


# --------------------------------------------------------------------------- a session


class _Lost(Exception):
    """The session's server went away (process exited, connection lost)."""


class _Session:
    """One connection to one server, living in one task on the manager's loop.

    Created on that loop; ``ready`` resolves to the initialized ClientSession or to
    the :class:`ProviderError` saying why it could not start.
    """

    def __init__(
        self, name: str, settings: McpServerSettings, project_dir: Path, *, restart: bool
    ) -> None:
        self.name = name
        self.settings = settings
        self.project_dir = project_dir
        self.restart = restart
        self.loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[ClientSession] = self.loop.create_future()
        self.stop = asyncio.Event()
        self.process: Any = None  # anyio.abc.Process, once spawned
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.tools: list[McpTool] | None = None
        self.http_status: int | None = None  # of the last failed POST
        self.http_session_gone = False  # the server answered 404 to our session id
        self.failure: BaseException | None = None
        self._starting: Any = None  # anyio.CancelScope around initialize()
        self.task = self.loop.create_task(self._run(), name=f"mcp:{name}")

    def halt(self) -> None:
        """Ask the session to end (its task leaves the transport's contexts), even
        while it is still initializing."""
        self.stop.set()
        if self._starting is not None:
            self._starting.cancel()

    # ------------------------------------------------------------------ state

    @property
    def where(self) -> str:
        """The server as the user configured it (header values stay out: secrets)."""
        if self.settings.command:
            return f"command: {shlex.join([self.settings.command, *self.settings.args])}"
        return f"url: {self.settings.url}"

    @property
    def pid(self) -> int | None:
        """The server process, while it runs."""
        process = self.process
        if process is None or process.returncode is not None:
            return None
        return int(process.pid)

    def lost(self) -> bool:
        """Whether the server is known to be gone (an HTTP server's death shows only
        at the next request)."""
        if self.task.done() or self.http_session_gone:
            return True
        return self.process is not None and self.process.returncode is not None

    def started_ok(self) -> bool:
        return self.ready.done() and not self.ready.cancelled() and self.ready.exception() is None

    async def why_lost(self) -> str:
        """Why the server went away.

        A request learns first (its pipe or connection closed); the exit code or the
        transport's error follow within moments, so wait for them a little.
        """
        import anyio

        with anyio.move_on_after(0.5):
            if self.process is not None:
                while self.process.returncode is None:
                    await anyio.sleep(0.01)
            elif not self.http_session_gone:
                await asyncio.wait({self.task})
        if self.process is not None and self.process.returncode is not None:
            return _exit_text(self.process.returncode)
        if self.http_session_gone:
            return "the server no longer knows the session (it restarted?)"
        if self.failure is not None and _leaves(self.failure):
            return _reason_text(self, self.failure)[1]
        return "it closed the connection"

    # ------------------------------------------------------------------ the task

    async def _run(self) -> None:
        import anyio
        import mcp.types as mcp_types
        from mcp import ClientSession, StdioServerParameters, stdio_client
        from mcp.client.streamable_http import streamable_http_client

        stderr_task: asyncio.Task[None] | None = None
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.settings.command:
                    if not _install_spawn_hook():
                        log.warning("this mcp version hides its stdio processes: no pids")
                    read_fd, write_fd = os.pipe()
                    errlog = os.fdopen(write_fd, "w", encoding="utf-8", errors="replace")
                    stack.callback(errlog.close)
                    stderr_task = self.loop.create_task(self._read_stderr(read_fd))
                    _SPAWN_HOOK.set(lambda process: self._spawned(process, errlog))
                    params = StdioServerParameters(
                        command=self.settings.command,
                        args=list(self.settings.args),
                        env={**os.environ, **self.settings.env},
                        cwd=self.project_dir / self.settings.cwd
                        if self.settings.cwd
                        else self.project_dir,
                    )
                    streams = await stack.enter_async_context(stdio_client(params, errlog=errlog))
                else:
                    assert self.settings.url
                    client = await stack.enter_async_context(self._http_client())
                    streams = await stack.enter_async_context(
                        streamable_http_client(self.settings.url, http_client=client)
                    )
                session = await stack.enter_async_context(
                    ClientSession(
                        *streams,
                        client_info=mcp_types.Implementation(
                            name="lgp-workbench", version=__version__
                        ),
                    )
                )
                with anyio.CancelScope() as self._starting:
                    if self.stop.is_set():
                        self._starting.cancel()
                    try:
                        with anyio.fail_after(self.settings.startup_timeout_s):
                            await session.initialize()
                    except TimeoutError:
                        # Say so now: ending the transport may wait for the process.
                        limit = self.settings.startup_timeout_s
                        self._fail_start("timeout", f"it did not initialize within {limit:g} s")
                        raise
                self._starting = None
                if self.stop.is_set():  # halted while initializing
                    self._fail_start("unavailable", "the MCP manager was closed meanwhile")
                    return
                self.ready.set_result(session)
                await self.stop.wait()
        except BaseException as exc:
            self.failure = exc
            if stderr_task is not None:
                await _drain(stderr_task)
            if isinstance(exc, asyncio.CancelledError):
                self._fail_start("unavailable", "the MCP manager was closed meanwhile")
                raise
            self._fail_start(*_reason_text(self, exc))
        finally:
            if stderr_task is not None and not stderr_task.done():
                stderr_task.cancel()
            self._fail_start("unavailable", "it stopped before it was ready")

    def _fail_start(self, kind: ErrorKind, reason: str) -> None:
        """Fail ``ready`` (unless settled) with the error a user should see."""
        if not self.ready.done():
            self.ready.set_exception(self.error(kind, reason, starting=True))

    def error(
        self, kind: ErrorKind, reason: str, *, starting: bool = False, stderr: bool = False
    ) -> ProviderError:
        """A ProviderError naming the server, how it is configured and ``reason``;
        when the server failed to start (or died), the last lines of its stderr
        follow: that is where a server says why."""
        if starting:
            verb = "could not be restarted" if self.restart else "could not start"
            message = f"MCP server '{self.name}' ({self.where}) {verb}: {reason}"
        else:
            message = f"MCP server '{self.name}' ({self.where}): {reason}"
        tail = list(self.stderr)[-STDERR_QUOTED:] if starting or stderr else []
        if tail:
            quoted = "\n".join(f"  {_clip(line)}" for line in tail)
            message += f"\nLast lines of its stderr:\n{quoted}"
        key = f"mcp_servers.{self.name}"
        if kind == "auth":
            hint = f"check the headers of {key}"
        elif kind == "timeout" and starting:
            hint = f"raise {key}.startup_timeout_s if the server is slow to start"
        elif kind == "timeout":
            hint = f"raise {key}.timeout_s, or the call's timeout"
        elif self.settings.command:
            hint = f"run the command of {key} yourself to see it fail"
        else:
            hint = f"is the server of {key} running at that URL?"
        return ProviderError(kind, message, provider=f"mcp:{self.name}", hint=hint)

    def _spawned(self, process: Any, errlog: Any) -> None:
        self.process = process
        errlog.close()  # the child has its copy: our end must close for EOF to come

    def _http_client(self) -> httpx2.AsyncClient:
        """An HTTP client sending the configured headers, that notes failed POSTs'
        status (the transport turns a 401 into a bare 'error response')."""
        import httpx2

        async def note_status(response: httpx2.Response) -> None:
            if response.request.method != "POST" or response.status_code < 400:
                return
            self.http_status = response.status_code
            # MCP: a 404 to a request with a session id means the session is gone
            # (the server restarted); the client must start a new one.
            if response.status_code == 404 and "mcp-session-id" in response.request.headers:
                self.http_session_gone = True

        timeout = httpx2.Timeout(
            30.0,
            connect=min(self.settings.startup_timeout_s, 30.0),
            read=max(300.0, self.settings.timeout_s + 30.0),  # a long call answers late
        )
        return httpx2.AsyncClient(
            headers=dict(self.settings.headers),
            timeout=timeout,
            event_hooks={"response": [note_status]},
        )

    async def _read_stderr(self, fd: int) -> None:
        """Keep the last lines the server writes to stderr (for error messages), log
        them at debug level, and never let a chatty server fill the pipe."""
        reader = asyncio.StreamReader()
        pipe = os.fdopen(fd, "rb", 0)
        transport, _ = await self.loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        pending = b""
        try:
            while chunk := await reader.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                if len(pending) > 65536:  # one endless line: keep its start
                    lines.append(pending[:STDERR_LINE_CHARS])
                    pending = b""
                for raw in lines:
                    self._stderr_line(raw)
            if pending:
                self._stderr_line(pending)
        finally:
            transport.close()

    def _stderr_line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if line.strip():
            self.stderr.append(line)
            log.debug("[mcp:%s] %s", self.name, line)


async def _drain(task: asyncio.Task[None], timeout: float = 0.5) -> None:
    """Let the stderr reader reach the end of the pipe (bounded: a grandchild of the
    server may hold the pipe open)."""
    with contextlib.suppress(Exception):
        await asyncio.wait({task}, timeout=timeout)


def _clip(line: str) -> str:
    return line if len(line) <= STDERR_LINE_CHARS else line[:STDERR_LINE_CHARS] + "..."


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"the process was killed by {signal.Signals(-code).name}"
    return f"the process exited with code {code}"


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, cancellations left out."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [] if isinstance(exc, asyncio.CancelledError) else [exc]


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError at the root of ``exc`` (httpx wraps 'connection refused' twice)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current
        current = current.__cause__ or current.__context__
    return None


def _reason_text(session: _Session, exc: BaseException) -> tuple[ErrorKind, str]:
    """Why ``session`` failed, as (kind, words a user can act on)."""
    import httpx2
    import mcp.types as mcp_types
    from mcp.shared.exceptions import MCPError

    process = session.process
    if process is not None and process.returncode is not None:
        return "unavailable", _exit_text(process.returncode)
    leaves = _leaves(exc) or [exc]
    status = session.http_status
    if status in (401, 403):
        return "auth", f"the server refused the credentials (HTTP {status})"
    for leaf in leaves:
        if isinstance(leaf, OSError) and session.settings.command and process is None:
            return "unavailable", f"cannot run it: {leaf.strerror or leaf}"
        if isinstance(leaf, httpx2.TimeoutException):
            return "timeout", f"no answer from the server ({type(leaf).__name__})"
        if isinstance(leaf, httpx2.TransportError):
            root = _os_error(leaf)
            if isinstance(root, ConnectionRefusedError):
                return "unavailable", "connection refused"
            return "unavailable", f"cannot connect: {root.strerror if root else leaf}"
    if status is not None:
        return "unavailable", f"the server answered HTTP {status}"
    leaf = leaves[0]
    if isinstance(leaf, MCPError) and leaf.code == mcp_types.CONNECTION_CLOSED:
        return "unavailable", "it closed the connection"
    return "unavailable", str(leaf) or type(leaf).__name__


# --------------------------------------------------------------------------- the manager


class _Core:
    """Everything the manager owns, kept apart from it so that a manager dropped
    without close() can still be cleaned up (``weakref.finalize`` holds this, not
    the manager)."""

    def __init__(self, servers: Mapping[str, McpServerSettings], project_dir: Path) -> None:
        self.settings = dict(servers)
        self.project_dir = project_dir
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.closed = False
        # touched on the loop only
        self.sessions: dict[str, _Session] = {}
        self.all_sessions: list[_Session] = []
        self.locks: dict[str, asyncio.Lock] = {}
        self.closing = False

    # ------------------------------------------------------------------ names

    def check(self, name: str) -> McpServerSettings:
        settings = self.settings.get(name)
        if settings is None:
            known = ", ".join(sorted(self.settings)) or "none"
            raise ConfigError(
                f"mcp_servers.{name}: no such MCP server (configured: {known})",
                code="unknown_mcp_server",
            )
        if not settings.enabled:
            raise ConfigError(
                f"mcp_servers.{name} is disabled (enabled: false)", code="mcp_server_disabled"
            )
        return settings

    def names(self, names: Iterable[str] | None) -> list[str]:
        if names is None:
            return [n for n, s in self.settings.items() if s.enabled]
        chosen = list(dict.fromkeys(names))
        for name in chosen:
            self.check(name)
        return chosen

    # ------------------------------------------------------------------ the loop

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The manager's loop, started on first use (a manager never used costs no
        thread)."""
        with self.lock:
            if self.closed:
                raise ProviderError("unavailable", "the MCP manager is closed", provider="mcp")
            if self.loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_run_loop, args=(loop,), name="lgp-mcp", daemon=True
                )
                thread.start()
                self.loop, self.thread = loop, thread
            return self.loop

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            loop = self.get_loop()
        except BaseException:
            coro.close()
            raise
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            loop = self.get_loop()
            if threading.current_thread() is self.thread:
                raise RuntimeError("a sync McpManager method was called on its own loop")
        except BaseException:
            coro.close()
            raise
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    # ------------------------------------------------------------------ sessions

    async def session(self, name: str, *, dead: _Session | None = None) -> tuple[_Session, bool]:
        """The started session of ``name`` and whether it was restarted now.

        Starts it if it never ran or its start failed; restarts it if it died, or if
        it is ``dead`` (a call just lost it). Raises the start's ProviderError.
        """
        lock = self.locks.setdefault(name, asyncio.Lock())
        async with lock:
            if self.closing:
                raise ProviderError("unavailable", "the MCP manager is closed", provider="mcp")
            current = self.sessions.get(name)
            restarted = False
            if current is not None and (
                current is dead
                or (current.ready.done() and (not current.started_ok() or current.lost()))
            ):
                restarted = current.started_ok()
                current.halt()  # its task ends in the background
                current = None
            if current is None:
                current = _Session(name, self.settings[name], self.project_dir, restart=restarted)
                self.sessions[name] = current
                self.all_sessions = [s for s in self.all_sessions if not s.task.done()]
                self.all_sessions.append(current)
            await asyncio.shield(current.ready)
            return current, restarted

    async def with_session(
        self, name: str, what: str, op: Callable[[_Session, ClientSession], Awaitable[T]]
    ) -> T:
        """Run ``op`` on the session of ``name``; if the server turns out to be gone
        (found dead, or dying during ``op``), restart it once and run ``op`` again
        there. A session restarted because it was found dead counts as that once."""
        session, restarted = await self.session(name)
        try:
            return await op(session, session.ready.result())
        except _Lost:
            why = await session.why_lost()
            if restarted:
                raise session.error(
                    "unavailable", f"{why} during {what}, right after a restart", stderr=True
                ) from None
        log.info("MCP server '%s' went away (%s): restarting it", name, why)
        session, _ = await self.session(name, dead=session)
        try:
            return await op(session, session.ready.result())
        except _Lost:
            again = await session.why_lost()
            after = (
                "and again after a restart" if again == why else f"then after a restart, {again}"
            )
            raise session.error(
                "unavailable", f"{why} during {what}, {after}", stderr=True
            ) from None

    async def start(self, names: list[str]) -> None:
        results = await asyncio.gather(
            *(self.session(name) for name in names), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def list_tools(self, names: list[str]) -> list[McpTool]:
        results = await asyncio.gather(
            *(self.tools_of(name) for name in names), return_exceptions=True
        )
        tools: list[McpTool] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            tools.extend(result)
        return tools

    async def tools_of(self, name: str) -> list[McpTool]:
        import anyio
        from mcp.shared.exceptions import MCPError

        async def op(session: _Session, client: ClientSession) -> list[McpTool]:
            if session.tools is None:
                timeout = session.settings.timeout_s
                try:
                    with anyio.fail_after(timeout + TIMEOUT_GRACE_S):
                        session.tools = await _list_all_tools(name, client, timeout)
                except TimeoutError:
                    raise session.error(
                        "timeout", f"tools/list got no answer within {timeout:g} s"
                    ) from None
                except MCPError as exc:
                    raise _mcp_failure(session, exc, "tools/list") from None
            return session.tools

        return await self.with_session(name, "tools/list", op)

    async def call_tool(
        self, server: str, name: str, arguments: dict[str, Any], timeout_s: float | None
    ) -> ToolResult:
        import anyio
        import mcp.types as mcp_types
        from mcp.shared.exceptions import MCPError

        async def op(session: _Session, client: ClientSession) -> ToolResult:
            timeout = timeout_s if timeout_s is not None else session.settings.timeout_s
            started = time.perf_counter()
            try:
                with anyio.fail_after(timeout + TIMEOUT_GRACE_S):
                    result = await client.call_tool(name, arguments, read_timeout_seconds=timeout)
            except TimeoutError:
                raise _call_timeout(session, name, timeout) from None
            except MCPError as exc:
                if exc.code == mcp_types.REQUEST_TIMEOUT:
                    raise _call_timeout(session, name, timeout) from None
                failure = _mcp_failure(session, exc, f"the call to {name}")
                if isinstance(failure, _Lost):
                    raise failure from None
                # A protocol error about this call (unknown tool, bad arguments, on a
                # server that answers those with errors): a failed call for the model.
                return ToolResult(
                    text=exc.message,
                    structured=None,
                    is_error=True,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    content=[{"type": "text", "text": exc.message}],
                )
            except RuntimeError as exc:  # a result that breaks the tool's output schema
                raise session.error("malformed_output", f"{name} returned {exc}") from None
            return _tool_result(result, (time.perf_counter() - started) * 1000)

        return await self.with_session(server, f"the call to {name}", op)

    # ------------------------------------------------------------------ closing

    def close(self, grace: float = CLOSE_GRACE_S) -> None:
        """Stop every session and the loop; bounded by about ``grace`` + 3 s."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            loop, thread = self.loop, self.thread
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:  # cannot wait for ourselves
            loop.create_task(self._shutdown(grace)).add_done_callback(lambda _: loop.stop())
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(grace), loop).result(grace + 2)
        except (concurrent.futures.TimeoutError, RuntimeError) as exc:
            log.warning("MCP sessions did not all end within %.0f s: %r", grace, exc)
        finally:
            self._kill_leftovers()
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(loop.stop)
            thread.join(1.0)

    async def _shutdown(self, grace: float) -> None:
        self.closing = True
        tasks = {s.task for s in self.all_sessions if not s.task.done()}
        for session in self.all_sessions:
            session.halt()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        # Calls still waiting (on a session that hung) end now, not with the loop.
        others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others, timeout=1.0)

    def _kill_leftovers(self) -> None:
        """SIGKILL the process group of any server that outlived the shutdown. The
        stdio transport starts each server in a session of its own (pgid == pid),
        and an unreaped child's pid cannot have been reused."""
        for session in list(self.all_sessions):
            pid = session.pid
            if pid is None:
                continue
            with contextlib.suppress(OSError):
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
            log.warning("MCP server '%s' (pid %d) had to be killed", session.name, pid)

    def pids(self) -> dict[str, int]:
        return {
            name: pid
            for name, session in list(self.sessions.items())
            if (pid := session.pid) is not None
        }


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _list_all_tools(server: str, client: ClientSession, timeout: float) -> list[McpTool]:
    import mcp.types as mcp_types

    tools: list[McpTool] = []
    cursor: str | None = None
    while True:
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await client.list_tools(params=params)
        tools.extend(
            McpTool(
                server=server,
                name=tool.name,
                description=tool.description or "",
                input_schema=dict(tool.input_schema or {}),
            )
            for tool in page.tools
        )
        cursor = page.next_cursor
        if not cursor:
            return tools


def _mcp_failure(session: _Session, exc: MCPError, what: str) -> Exception:
    """An MCP error answer as: the session is lost (``_Lost``), or the ProviderError
    for ``what``."""
    import mcp.types as mcp_types

    if exc.code == mcp_types.CONNECTION_CLOSED or session.http_session_gone:
        return _Lost(exc.message)
    return session.error("unavailable", f"{what} failed: {exc.message} (MCP error {exc.code})")


def _call_timeout(session: _Session, tool: str, timeout: float) -> ProviderError:
    return session.error("timeout", f"tool {tool} did not answer within {timeout:g} s")


def _tool_result(result: mcp_types.CallToolResult, duration_ms: float) -> ToolResult:
    import mcp.types as mcp_types

    content = [
        block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content
    ]
    text = "\n".join(
        block.text for block in result.content if isinstance(block, mcp_types.TextContent)
    )
    return ToolResult(
        text=text,
        structured=result.structured_content,
        is_error=bool(result.is_error),
        duration_ms=duration_ms,
        content=content,
    )


class McpManager:
    """The process's MCP sessions: one per configured server, started on demand,
    shared by every run and every loop, restarted once when found dead.

    Use it as a context manager or call :meth:`close`; a manager left open is closed
    when it is garbage collected or the interpreter exits, so no server outlives us.
    """

    def __init__(self, servers: Mapping[str, McpServerSettings], *, project_dir: Path) -> None:
        for name in servers:
            if not _SERVER_NAME.fullmatch(name):
                raise ConfigError(
                    f"mcp_servers.{name}: a server name may hold letters, digits, '-' and "
                    "single '_' only (it becomes part of tool names like server__tool)",
                    code="bad_mcp_server_name",
                )
        self._core = _Core(servers, Path(project_dir))
        # Closes at garbage collection or interpreter exit, whichever comes first;
        # calling it (close()) detaches it, so it runs once.
        self._finalizer = weakref.finalize(self, self._core.close)

    # ------------------------------------------------------------------ async API

    async def start(self, names: Iterable[str] | None = None) -> None:
        """Start the named servers (every enabled one by default) unless running, and
        wait until they are initialized. Raises ConfigError for an unknown or
        disabled name, ProviderError (``unavailable``, ``timeout``, ``auth``) for a
        server that cannot start."""
        chosen = self._core.names(names)
        await self._core.run_async(self._core.start(chosen))

    async def list_tools(self, server: str | None = None) -> list[McpTool]:
        """The tools of ``server`` (of every enabled server by default), starting
        servers as needed; listed once per session."""
        chosen = self._core.names(None if server is None else [server])
        return await self._core.run_async(self._core.list_tools(chosen))

    async def call_tool(
        self,
        server: str,
        name: str,
        arguments: dict[str, Any],
        *,
        timeout_s: float | None = None,
    ) -> ToolResult:
        """Call ``server``'s tool ``name``. A failed call is a result with
        ``is_error``; ProviderError ``timeout`` after ``timeout_s`` (default: the
        server's ``timeout_s``), ``unavailable`` when the server is gone even after
        one restart."""
        self._core.check(server)
        return await self._core.run_async(
            self._core.call_tool(server, name, dict(arguments), timeout_s)
        )

    async def aclose(self) -> None:
        """:meth:`close` without blocking the caller's loop."""
        await asyncio.to_thread(self.close)

    # ------------------------------------------------------------------ sync API

    def start_sync(self, names: Iterable[str] | None = None) -> None:
        """:meth:`start` for threads without a loop (sync nodes, the CLI)."""
        chosen = self._core.names(names)
        self._core.run_sync(self._core.start(chosen))

    def list_tools_sync(self, server: str | None = None) -> list[McpTool]:
        """:meth:`list_tools` for threads without a loop."""
        chosen = self._core.names(None if server is None else [server])
        return self._core.run_sync(self._core.list_tools(chosen))

    def call_tool_sync(
        self,
        server: str,
        name: str,
        arguments: dict[str, Any],
        *,
        timeout_s: float | None = None,
    ) -> ToolResult:
        """:meth:`call_tool` for threads without a loop."""
        self._core.check(server)
        return self._core.run_sync(self._core.call_tool(server, name, dict(arguments), timeout_s))

    def pids(self) -> dict[str, int]:
        """The process id of each running stdio server, by server name."""
        return self._core.pids()

    @property
    def servers(self) -> dict[str, McpServerSettings]:
        """The configured servers (enabled or not)."""
        return dict(self._core.settings)

    def close(self) -> None:
        """Stop every session (their processes end), the loop and its thread.
        Idempotent; takes a few seconds at most."""
        self._finalizer()

    def __enter__(self) -> McpManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> McpManager:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
