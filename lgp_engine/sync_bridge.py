"""Drive an async generator from sync code, on an event loop private to the thread.

The engine is async at its core; sync callers (the CLI, scripts, thread workers)
iterate it through :func:`iterate`. Items are handed over as soon as they are
produced, batched per event-loop turn. Ctrl+C cancels the generator's task with a
reason, and whatever the generator yields while it unwinds (a ``run.cancelled``
event) is still delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
CTRL_C = "interrupted by the user (Ctrl+C)"
_LOOPS = threading.local()


def thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's private event loop (reused, so its thread pool stays warm)."""
    loop = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _LOOPS.loop = loop
    return loop


def _refuse_inside_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{what} was called inside a running event loop; use the async API")


def run(awaitable: Awaitable[T], what: str = "a sync engine call") -> T:
    """Run one coroutine to completion on the thread's private loop."""
    _refuse_inside_loop(what)
    return thread_loop().run_until_complete(awaitable)


def iterate(agen: AsyncIterator[T], what: str = "a sync engine call") -> Iterator[T]:
    """Yield the items of ``agen`` as they come."""
    _refuse_inside_loop(what)
    loop = thread_loop()
    ready: deque[T] = deque()
    finished = False

    async def pump() -> None:
        # One task runs the whole generator; each item stops the loop so the sync
        # side can hand over what is ready.
        nonlocal finished
        try:
            async for item in agen:
                ready.append(item)
                loop.stop()
        finally:
            finished = True
            loop.stop()

    task = loop.create_task(pump())
    try:
        while not finished:
            try:
                loop.run_forever()
            except KeyboardInterrupt:
                task.cancel(CTRL_C)
                continue  # keep running so the generator can unwind and report
            while ready:
                yield ready.popleft()
        while ready:
            yield ready.popleft()
        if task.done() and not task.cancelled():
            task.result()  # an engine bug surfaces rather than hiding
    finally:
        _finish(loop, task)


def _finish(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    if not task.done():
        task.cancel("the consumer stopped reading")
        with contextlib.suppress(BaseException):
            loop.run_until_complete(task)
