"""A process that races others for the ticks of one cron (see tests/server/test_crons.py).
It opens the cron store, prints ``ready``, waits for the file GO to exist, then:

    python tests/cron_worker.py claim TARGET GO CRON_ID FIRST COUNT
        claims the COUNT ticks FIRST, FIRST+60, ... of CRON_ID as fast as it can (as
        every replica's scheduler would when they all wake for the same tick)
    python tests/cron_worker.py schedule TARGET GO
        runs the scheduler's pass (``CronScheduler.run_due``) in a loop until the file
        GO.stop exists, its runs started by a fire that only prints

and prints ``won CRON_ID TICK`` for each tick this process won, then ``done``.
TARGET is a SQLite file or a PostgreSQL URL.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time


def wait_for(go: str) -> None:
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            raise SystemExit("no go")
        time.sleep(0.001)


def main(argv: list[str]) -> None:
    from lgp_engine.backends.sql import open_database
    from lgp_engine.ops.crons import CronRecord, CronScheduler, CronStore

    mode, target, go = argv[:3]
    store = CronStore(database=open_database(target, pool_size=2))
    wait_for(go)
    if mode == "claim":
        cron_id, first, count = argv[3], int(argv[4]), int(argv[5])
        for i in range(count):
            tick = first + 60 * i
            if store.claim(cron_id, tick, tick + 60):
                print(f"won {cron_id} {tick}", flush=True)
    else:
        stop = f"{go}.stop"

        async def fire(cron: CronRecord, tick: int, _link: object) -> str:
            print(f"won {cron.cron_id} {tick}", flush=True)
            return f"run-{tick}"

        async def loop() -> None:
            scheduler = CronScheduler(store, fire)
            while not os.path.exists(stop):
                await scheduler.run_due()
                await asyncio.sleep(0.002)
            await scheduler.stop()

        asyncio.run(loop())
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1:])
