"""A process that uses the run and assistant stores at the same time as others (see
tests/engine/test_stores_concurrency.py). It prints ``ready``, waits for the file
GO to exist, does its part, then prints one JSON line of what it saw.

    python tests/store_worker.py open DSN GO
        open both stores on an empty database (their schema is made now)
    python tests/store_worker.py work DSN GO NAME RUNS SHARED
        record RUNS runs of its own (events, running, completed), merge metadata into
        one shared thread and write versions of one shared assistant, then try to
        start each of the SHARED queued runs ``shared-0`` ... (others try too)
"""

from __future__ import annotations

import json
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
    from lgp_engine.assistants import AssistantStore
    from lgp_engine.backends.sql import open_database
    from lgp_engine.events import RunEvent
    from lgp_engine.runs import IllegalTransition, RunStore
    from lgp_engine.status import RunStatus

    mode, dsn, go = argv[:3]
    if mode == "open":
        wait_for(go)
        runs = RunStore(database=open_database(dsn))
        assistants = AssistantStore(database=open_database(dsn))
        runs.close()
        assistants.close()
        print(json.dumps({"opened": True}), flush=True)
        return
    name, count, shared = argv[3], int(argv[4]), int(argv[5])
    runs = RunStore(database=open_database(dsn, pool_size=4))
    assistants = AssistantStore(database=open_database(dsn, pool_size=2))
    wait_for(go)
    for k in range(count):
        run_id = f"{name}-{k}"
        runs.create(run_id, f"thread-{name}", "w", input={"k": k})
        runs.transition(run_id, RunStatus.RUNNING)
        for seq in (1, 2, 3):
            runs.append(RunEvent(run_id, seq, "custom", f"thread-{name}", {"k": k}))
        runs.transition(run_id, RunStatus.COMPLETED, usage={"calls": 1, "total_tokens": 2})
        runs.put_thread("shared-thread", {run_id: k})
        assistants.update("shared-assistant", metadata={name: k})
    won = []
    for i in range(shared):
        try:
            runs.transition(f"shared-{i}", RunStatus.RUNNING)
        except IllegalTransition:
            continue
        won.append(f"shared-{i}")
    print(json.dumps({"won": won, "owner": runs.owner}), flush=True)
    runs.close()
    assistants.close()


if __name__ == "__main__":
    main(sys.argv[1:])
