"""asyncio helpers shared by the engine's long-running loops."""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, timeout: float | None) -> bool:
    """Until ``event`` is set or ``timeout`` seconds passed; whether it is set.

    Unlike ``asyncio.wait_for(event.wait(), timeout)`` on Python 3.11, a cancel of the
    caller is never lost when the event is set at the same moment (CPython gh-86296):
    a loop stopped with ``task.cancel()`` stops, instead of going on (and whoever
    awaits it waiting forever: a server whose run ended as it stopped never exited).
    """
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return event.is_set()
