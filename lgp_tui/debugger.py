"""``breakpoint()`` inside a node, in the workbench: the run pauses there and the
workbench shows where (the node's source line, its locals, the return value, the
stack) and takes ``n``/``s``/``r``/``c``, instead of pdb waiting for input on a
terminal the TUI owns (it would hang the run, and the screen with it).

:class:`BreakpointHook` replaces :func:`sys.breakpointhook` while the app runs. A
``breakpoint()`` on a run's thread starts a :class:`NodeDebugger` (a :mod:`bdb`
debugger, as pdb is) on that frame; at each stop it hands a :class:`Paused` to the
app and blocks that thread until a command arrives. Only the run's thread is
traced (tracing is per thread); the UI keeps drawing. ``PYTHONBREAKPOINT=0`` turns
``breakpoint()`` off, as in Python.

:class:`ToolBreaks` is "break when tool X is called": the engine's tool gate
(``AgentRuntime.tool_gate``) for the workbench's runs. A matching MCP tool call is
held (its ``tool.called`` event already out, the call not made) and shown in the same
screen, its arguments as the locals, until ``c``.
"""

from __future__ import annotations

import bdb
import fnmatch
import linecache
import os
import queue
import reprlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from lgp_engine import ToolCallInfo

Command = Literal["next", "step", "return", "continue"]
CONTEXT_LINES = 6
_repr = reprlib.Repr()
_repr.maxstring = 200
_repr.maxother = 200
_repr.maxlist = _repr.maxdict = 12
#: Frames of these modules are stepped over (pdb's ``skip``): the engine and the
#: libraries that call the node, so ``s``/``r`` stay in the workflow's own code.
SKIP = (
    "lgp_engine.*",
    "lgp_tui.*",
    "langgraph.*",
    "langchain_core.*",
    "asyncio.*",
    "concurrent.*",
    "threading",
    "contextvars",
    "bdb",
)


@dataclass(frozen=True)
class Paused:
    """Where a run stopped, as the debugger screen shows it.

    Attributes:
        file, line, function: The frame's place.
        source: ``(number, text)`` of the lines around :attr:`line`.
        locals: Each local's name and a short repr.
        stack: ``file:line function`` of the frames from the node down to here.
        event: ``line`` (about to run :attr:`line`) or ``return`` (returning).
        returned: The repr of the return value (``return`` only).
        thread: The name of the thread that paused (a run worker).
    """

    file: str
    line: int
    function: str
    source: tuple[tuple[int, str], ...]
    locals: tuple[tuple[str, str], ...]
    stack: tuple[str, ...]
    event: str = "line"
    returned: str | None = None
    thread: str = ""
    values: dict[str, Any] = field(default_factory=dict, compare=False)
    """The locals themselves (for the value viewer), read on the paused thread."""


class Stopped(Protocol):
    """Something a run waits on: a :class:`NodeDebugger`, or a held tool call."""

    def command(self, command: Command) -> None: ...


class NodeDebugger(bdb.Bdb):
    """One ``breakpoint()``'s session: stops are handed to ``on_pause``; the thread
    then waits for :meth:`command` (from the UI)."""

    def __init__(self, on_pause: Callable[[Stopped, Paused], object]) -> None:
        super().__init__(skip=SKIP)
        self.on_pause = on_pause
        self._commands: queue.Queue[Command] = queue.Queue()
        self._root: FrameType | None = None
        self.done = False

    def command(self, command: Command) -> None:
        """Go on (thread-safe): ``next`` line, ``step`` into a call, ``return`` from
        this function, ``continue`` to the end (or the next ``breakpoint()``)."""
        self._commands.put(command)

    # -- bdb's hooks (on the paused thread) --------------------------------------
    def user_line(self, frame: FrameType) -> None:
        self._pause(frame, "line")

    def user_return(self, frame: FrameType, return_value: Any) -> None:
        self._pause(frame, "return", return_value)

    def _pause(self, frame: FrameType, event: str, value: Any = None) -> None:
        self.on_pause(self, describe(frame, event, value, self._root))
        match self._commands.get():
            case "next":
                self.set_next(frame)
            case "step":
                self.set_step()
            case "return":
                self.set_return(frame)
            case _:
                self.done = True
                self.set_continue()

    def start(self, frame: FrameType) -> None:
        """Stop at the next line of ``frame`` (the line after ``breakpoint()``)."""
        self._root = frame
        self.set_trace(frame)


class BreakpointHook:
    """``sys.breakpointhook`` for the workbench (see the module's docstring).

    Args:
        on_pause: Called on the paused thread with the debugger and where it
            stopped; the app posts it to itself and answers with
            :meth:`NodeDebugger.command`.
    """

    def __init__(self, on_pause: Callable[[Stopped, Paused], object]) -> None:
        self.on_pause = on_pause
        self.active: list[NodeDebugger] = []
        self._lock = threading.Lock()
        self._previous: Callable[..., Any] | None = None
        self.enabled = True

    def install(self) -> None:
        self._previous = sys.breakpointhook
        sys.breakpointhook = self

    def uninstall(self) -> None:
        """Put the previous hook back and let every paused run go on."""
        if sys.breakpointhook is self and self._previous is not None:
            sys.breakpointhook = self._previous
        self.release()

    def release(self) -> None:
        """Every paused run continues (a cancel, the app quitting)."""
        with self._lock:
            active, self.active = self.active, []
        for debugger in active:
            debugger.command("continue")

    def __call__(self, *_args: Any, **_kwargs: Any) -> None:
        if os.environ.get("PYTHONBREAKPOINT") == "0" or not self.enabled:
            return
        if threading.current_thread() is threading.main_thread():
            return  # the UI's own thread must never block (a node never runs there)
        debugger = NodeDebugger(self._paused)
        with self._lock:
            self.active.append(debugger)
        caller = sys._getframe(1)
        debugger.start(caller)

    def _paused(self, debugger: Stopped, where: Paused) -> None:
        self.on_pause(debugger, where)


class HeldCall:
    """A tool call held by :class:`ToolBreaks` until any command."""

    def __init__(self) -> None:
        self._go = threading.Event()

    def command(self, command: Command) -> None:
        self._go.set()

    def wait(self) -> None:
        self._go.wait()


class ToolBreaks:
    """Hold the MCP tool calls whose name matches one of :attr:`patterns` (``add``,
    ``tools.add``, ``tools.*``) until the screen lets them go (see the module's
    docstring). Set it as the runner's ``agents.tool_gate``."""

    def __init__(self, on_pause: Callable[[Stopped, Paused], object]) -> None:
        self.on_pause = on_pause
        self.patterns: tuple[str, ...] = ()
        self._held: list[HeldCall] = []
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        """``tool add, tools.*`` for the status bar (empty when none)."""
        return f"tool {', '.join(self.patterns)}" if self.patterns else ""

    def set(self, text: str) -> tuple[str, ...]:
        """Break on the comma- or space-separated names of ``text`` (empty: none)."""
        names = [n.strip() for n in text.replace(",", " ").split()]
        self.patterns = tuple(dict.fromkeys(n for n in names if n))
        return self.patterns

    def matches(self, call: ToolCallInfo) -> bool:
        return any(
            fnmatch.fnmatchcase(call.name, p) or fnmatch.fnmatchcase(call.tool, p)
            for p in self.patterns
        )

    def __call__(self, call: ToolCallInfo) -> None:
        if not self.matches(call):
            return
        held = HeldCall()
        with self._lock:
            self._held.append(held)
        arguments = call.arguments if isinstance(call.arguments, dict) else {"": call.arguments}
        where = Paused(
            file=call.name,
            line=0,
            function=call.name,
            source=(),
            locals=tuple((str(k), _safe_repr(v)) for k, v in arguments.items()),
            stack=(f"node {call.node or '?'}", f"run {(call.run_id or '?')[:8]}"),
            event="tool",
            thread=threading.current_thread().name,
            values=dict(arguments),
        )
        self.on_pause(held, where)
        held.wait()
        with self._lock:
            if held in self._held:
                self._held.remove(held)

    def release(self) -> None:
        """Let every held call go (a cancel, the app quitting)."""
        with self._lock:
            held, self._held = self._held, []
        for call in held:
            call.command("continue")


def describe(
    frame: FrameType, event: str, value: Any = None, root: FrameType | None = None
) -> Paused:
    """What the screen shows of ``frame`` (read on its own thread)."""
    code = frame.f_code
    line = frame.f_lineno
    first = max(1, line - CONTEXT_LINES)
    source = tuple(
        (n, linecache.getline(code.co_filename, n).rstrip("\n"))
        for n in range(first, line + CONTEXT_LINES + 1)
        if linecache.getline(code.co_filename, n)
    )
    values = {k: v for k, v in frame.f_locals.items() if not k.startswith("__")}
    stack: list[str] = []
    walk: FrameType | None = frame
    while walk is not None:
        stack.append(f"{short_path(walk.f_code.co_filename)}:{walk.f_lineno} {walk.f_code.co_name}")
        if root is not None and walk is root:
            break
        walk = walk.f_back
    return Paused(
        file=code.co_filename,
        line=line,
        function=code.co_name,
        source=source,
        locals=tuple((k, _safe_repr(v)) for k, v in values.items()),
        stack=tuple(reversed(stack)),
        event=event,
        returned=_safe_repr(value) if event == "return" else None,
        thread=threading.current_thread().name,
        values=values,
    )


def _safe_repr(value: Any) -> str:
    try:
        return _repr.repr(value)
    except Exception as exc:  # noqa: BLE001 - a repr that raises is shown as such
        return f"<repr failed: {type(exc).__name__}>"


def short_path(path: str) -> str:
    """``path`` relative to the working directory when it is under it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return path
