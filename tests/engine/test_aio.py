"""lgp_engine.aio.wait_set: a loop that waits on an event with a timeout stops when
cancelled, even if the event is set at the same moment (asyncio.wait_for on Python
3.11 loses that cancel: a server whose run ended as it stopped never exited)."""

from __future__ import annotations

import asyncio

from lgp_engine.aio import wait_set


def test_a_cancel_that_comes_with_the_event_stops_the_loop() -> None:
    async def main() -> tuple[bool, int]:
        event = asyncio.Event()
        rounds = 0

        async def loop() -> None:
            nonlocal rounds
            while True:
                rounds += 1
                await wait_set(event, 0.25)
                event.clear()

        task = asyncio.create_task(loop())
        await asyncio.sleep(0.05)
        event.set()
        task.cancel()  # in the same turn of the loop as the set
        done, _ = await asyncio.wait({task}, timeout=2)
        if not done:
            task.cancel()
        return bool(done) and task.cancelled(), rounds

    stopped, rounds = asyncio.run(main())
    assert stopped and rounds == 1


def test_it_says_whether_the_event_was_set() -> None:
    async def main() -> list[bool]:
        event = asyncio.Event()
        timed_out = await wait_set(event, 0.01)
        asyncio.get_running_loop().call_later(0.01, event.set)
        woken = await wait_set(event, 5)
        at_once = await wait_set(event, 0)
        return [timed_out, woken, at_once]

    assert asyncio.run(main()) == [False, True, True]
