"""The processes an agent process started, and how to stop all of them.

The Claude Code CLI runs its tool shells in sessions of their own, so signalling its
process group does not reach them; when the CLI is killed outright (SIGKILL) they are
orphaned. We keep a snapshot of its descendants (read from ``/proc``) and stop those
too. A process is named by ``(pid, start time)`` so that a pid reused by an unrelated
process is never signalled. Without ``/proc`` (not Linux) only the direct child and
its process group are stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

#: A process: its pid and its start time (clock ticks after boot).
Proc = tuple[int, int]

_PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, int, int] | None:
    """``(parent pid, process group, start time)`` of ``pid``, or None when it is gone
    (or a zombie)."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after it
    fields = raw[raw.rfind(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2]), int(fields[19])


def this(pid: int) -> Proc | None:
    """``pid`` as a :data:`Proc`, or None when it is gone."""
    stat = _stat(pid)
    return None if stat is None else (pid, stat[2])


def _all() -> list[tuple[Proc, int, int]]:
    """Every live process: ``((pid, start time), parent pid, process group)``."""
    try:
        entries = [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]
    except OSError:
        return []
    found = []
    for pid in entries:
        stat = _stat(pid)
        if stat is not None:
            found.append(((pid, stat[2]), stat[0], stat[1]))
    return found


def group(pgid: int) -> list[Proc]:
    """The live members of process group ``pgid``."""
    return [proc for proc, _, pgrp in _all() if pgrp == pgid]


def descendants(pid: int) -> list[Proc]:
    """Every live process below ``pid`` (children, their children...)."""
    children: dict[int, list[Proc]] = {}
    for proc, parent, _ in _all():
        children.setdefault(parent, []).append(proc)
    found: list[Proc] = []
    todo = [pid]
    while todo:
        for proc in children.get(todo.pop(), ()):
            found.append(proc)
            todo.append(proc[0])
    return found


def alive(procs: Iterable[Proc]) -> list[Proc]:
    """Those of ``procs`` still running (same pid and start time)."""
    return [p for p in procs if this(p[0]) == p]


def signal_all(procs: Iterable[Proc], sig: int) -> None:
    """Send ``sig`` to each of ``procs`` that is still the same process."""
    for proc in alive(procs):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc[0], sig)


def stop(root: Proc, known: Iterable[Proc] = (), *, grace_s: float = 2.0) -> None:
    """Stop ``root`` (the leader of its own process group) and everything below it:
    SIGTERM first (the Claude Code CLI then ends its tool shells itself), SIGKILL for
    whatever still runs after ``grace_s``. ``known`` adds processes seen below it
    earlier (orphans of a root that is already dead)."""
    if not _PROC.is_dir():  # no /proc (macOS): the root and its group, by pid
        _stop_without_proc(root[0], grace_s)
        return
    procs = set(alive(known)) | set(alive([root]))
    if procs:
        procs |= set(descendants(root[0]))
    signal_all(procs, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive(procs) and time.monotonic() < deadline:
        time.sleep(0.02)
    if alive([root]):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root[0], signal.SIGKILL)
    signal_all(procs, signal.SIGKILL)


def _stop_without_proc(pid: int, grace_s: float) -> None:
    """SIGTERM, a grace, then SIGKILL to ``pid``'s group (our child: not reaped yet,
    so its pid is still its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # ProcessLookupError once it is gone
            time.sleep(0.02)
        os.killpg(pid, signal.SIGKILL)


def sweep(pgid: int, known: Iterable[Proc] = (), *, grace_s: float = 2.0) -> None:
    """After a process group's leader has ended: stop what is left of the group, and
    ``known`` processes seen below the leader (orphans now). Nothing is signalled by
    the leader's pid, which may belong to another process by now."""
    procs = set(group(pgid)) | set(alive(known))
    if not procs:
        return
    signal_all(procs, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive(procs) and time.monotonic() < deadline:
        time.sleep(0.02)
    signal_all(procs, signal.SIGKILL)
