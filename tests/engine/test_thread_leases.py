"""Thread leases (lgp_engine/backends/leases.py) over SQLite and PostgreSQL: one holder
per thread, renewal, cancel requests, and takeover from a holder that died or expired."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lgp_engine.backends.leases import ThreadLeases


@pytest.fixture(params=["sqlite", "postgres"])
def open_leases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """``open_leases(ttl_s=...)``: a lease table of one shared database per test."""
    opened: list[ThreadLeases] = []
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else None

    def make(ttl_s: float = 30.0) -> ThreadLeases:
        leases = (
            ThreadLeases(dsn=dsn, ttl_s=ttl_s)
            if dsn
            else ThreadLeases(tmp_path / "db.sqlite", ttl_s=ttl_s)
        )
        opened.append(leases)
        return leases

    yield make
    for leases in opened:
        leases.close()


def test_one_holder_per_thread_until_it_releases(open_leases) -> None:  # type: ignore[no-untyped-def]
    a, b = open_leases(), open_leases()  # two processes' views of one database
    assert a.acquire("t1", "run-a") is None
    assert a.acquire("t1", "run-a") is None  # taking it again is a no-op
    held = b.acquire("t1", "run-b")
    assert held is not None and held.run_id == "run-a" and held.owner == a.owner
    assert b.acquire("t2", "run-b") is None  # another thread is free
    b.release("t1", "run-b")  # not the holder: nothing happens
    assert a.holder("t1").run_id == "run-a"  # type: ignore[union-attr]
    a.release("t1", "run-a")
    assert b.acquire("t1", "run-b") is None


def test_cancel_requests_reach_the_holder(open_leases) -> None:  # type: ignore[no-untyped-def]
    a, b = open_leases(), open_leases()
    assert a.acquire("t1", "run-a") is None
    assert a.check("t1", "run-a") == (True, None)
    assert b.request_cancel("run-a", "replaced by a new run (interrupt)")
    assert not b.request_cancel("run-nowhere", "x")
    assert a.check("t1", "run-a") == (True, "replaced by a new run (interrupt)")
    assert a.renew("t1", "run-a") == (True, "replaced by a new run (interrupt)")


def test_a_dead_holder_of_this_host_loses_its_thread_at_once(open_leases) -> None:  # type: ignore[no-untyped-def]
    dead, alive = open_leases(), open_leases()
    dead.owner = dead.owner.rsplit(":", 2)[0] + ":999999999:1"  # no such process here
    assert dead.acquire("t1", "run-dead") is None
    assert alive.acquire("t1", "run-new") is None
    assert alive.holder("t1").run_id == "run-new"  # type: ignore[union-attr]
    assert dead.renew("t1", "run-dead") == (False, None)  # it would stop if it came back


def test_a_holder_on_another_host_keeps_its_thread_until_the_lease_expires(open_leases) -> None:  # type: ignore[no-untyped-def]
    remote, here = open_leases(ttl_s=1.0), open_leases()
    remote.owner = "another-host:4242:77"  # cannot be checked from here: counts as alive
    assert remote.acquire("t1", "run-remote") is None
    assert here.acquire("t1", "run-here") is not None
    assert remote.renew("t1", "run-remote")[0]
    deadline = time.monotonic() + 10
    while here.acquire("t1", "run-here") is not None:  # taken once the renewal lapses
        assert time.monotonic() < deadline, "the expired lease was never taken over"
        time.sleep(0.05)
    assert remote.renew("t1", "run-remote") == (False, None)


def test_a_run_taken_over_is_no_longer_its_old_processes(open_leases) -> None:  # type: ignore[no-untyped-def]
    old, new = open_leases(), open_leases()
    old.owner = old.owner.rsplit(":", 2)[0] + ":999999999:1"  # died (as far as anyone knows)
    assert old.acquire("t1", "run-a", adoptable=True) is None
    old.request_cancel("run-a", "cancel requested through the API")
    # an adoptable lease is not free to other runs, even of a dead process...
    held = new.acquire("t1", "run-b")
    assert held is not None and held.run_id == "run-a" and held.adoptable
    # ...it is taken over, with the cancel request that was made before
    assert new.take_over("t1", "run-a")
    assert not old.take_over("t1", "run-a")  # the new holder is alive
    assert new.check("t1", "run-a") == (True, "cancel requested through the API")
    # the old process, if it comes back, has lost it and cannot free it
    assert old.renew("t1", "run-a") == (False, None)
    old.release("t1", "run-a")
    assert new.holder("t1").owner == new.owner  # type: ignore[union-attr]
    assert new.acquire("t1", "run-a", adoptable=True) is None  # its own again: no-op
