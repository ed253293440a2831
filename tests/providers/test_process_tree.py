"""Stopping an agent process and what it started, as the Claude Code CLI's tool
shells are: children in sessions of their own, out of reach of a process-group
signal, and orphans once their parent is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from lgp_engine.providers import process_tree
from tests.processes import wait_until

# a parent that starts a child in a session of its own, prints the child's pid, then waits
PARENT = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
    " start_new_session=True)\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def start_parent() -> tuple[subprocess.Popen[str], int]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert parent.stdout is not None
    return parent, int(parent.stdout.readline())


def gone(pid: int) -> bool:
    return process_tree.this(pid) is None


def test_stop_ends_the_process_and_a_child_in_its_own_session() -> None:
    parent, child = start_parent()
    assert [p for p, _ in process_tree.descendants(parent.pid)] == [child]
    root = process_tree.this(parent.pid)
    assert root is not None
    process_tree.stop(root, grace_s=1)
    assert parent.wait(5) == -signal.SIGTERM
    wait_until(lambda: gone(child), timeout=5, what="the child to end")


def test_stop_ends_the_orphans_of_a_killed_process_it_saw_before() -> None:
    parent, child = start_parent()
    root = process_tree.this(parent.pid)
    assert root is not None
    seen = process_tree.descendants(parent.pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(5)
    assert not gone(child)  # orphaned, still running
    process_tree.stop(root, seen, grace_s=1)
    wait_until(lambda: gone(child), timeout=5, what="the orphan to end")


def test_a_reused_pid_is_never_signalled() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid, started = process_tree.this(sleeper.pid) or (0, 0)
        process_tree.signal_all([(pid, started + 1)], signal.SIGKILL)  # another start time
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_sweep_ends_what_is_left_of_the_group_of_a_dead_leader() -> None:
    # a child in the leader's own process group (as the CLI's copies of itself are)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.replace(", start_new_session=True", "")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(5)
    assert [pid for pid, _ in process_tree.group(parent.pid)] == [child]
    process_tree.sweep(parent.pid, grace_s=1)
    wait_until(lambda: gone(child), timeout=5, what="the group's last member to end")
