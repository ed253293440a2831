"""The console tracer: an ``[lgp]`` summary of each run when it ends, with the time,
tokens and cost of each node.

    [lgp] Trace: team completed in 1.84s · 3 nodes · 3,702 tokens · $0.0012
    [lgp]   researcher   412.3 ms  1,000 tokens  $0.0004
    [lgp]   writer       998.0 ms  2,100 tokens  $0.0006
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..events import RunEvent
from ..providers.pricing import format_usd
from .base import RunInfo

_STATUS = {
    "run.completed": "completed",
    "run.failed": "failed",
    "run.cancelled": "cancelled",
    "interrupt": "interrupted",
}


@dataclass
class _Node:
    ms: float = 0.0
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0


@dataclass
class _Run:
    nodes: dict[str, _Node] = field(default_factory=dict)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ConsoleTracer:
    """Prints each run's summary when it ends (to stderr unless told otherwise)."""

    name = "console"

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self._write = write or _stderr
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def start_run(self, run: RunInfo) -> None:
        with self._lock:
            self._runs[run.run_id] = _Run()

    def event(self, run: RunInfo, event: RunEvent) -> None:
        if event.type != "node.finished":
            return
        data = event.data
        name = "/".join([*(data.get("path") or []), str(data.get("node") or event.node)])
        usage: Any = data.get("usage") or {}
        with self._lock:
            node = self._runs.setdefault(run.run_id, _Run()).nodes.setdefault(name, _Node())
            node.ms += float(data.get("duration_ms") or 0.0)
            node.calls += 1
            node.tokens += int(usage.get("total_tokens") or 0)
            node.cost += float(usage.get("cost_usd") or 0.0)

    def finish_run(self, run: RunInfo, event: RunEvent) -> str | None:
        with self._lock:
            state = self._runs.pop(run.run_id, _Run())
        usage: Any = event.data.get("usage") or {}
        seconds = float(event.data.get("duration_ms") or 0.0) / 1000
        parts = [
            f"{run.workflow} {_STATUS.get(event.type, event.type)} in {seconds:.2f}s",
            f"{len(state.nodes)} node{'s' * (len(state.nodes) != 1)}",
        ]
        if usage.get("calls"):
            parts.append(f"{int(usage.get('total_tokens') or 0):,} tokens")
            parts.append(format_usd(float(usage.get("cost_usd") or 0.0)))
        self._write("[lgp] Trace: " + " · ".join(parts))
        width = max((len(n) for n in state.nodes), default=0)
        for name, node in state.nodes.items():
            spent = f"  {node.tokens:,} tokens  {format_usd(node.cost)}" if node.tokens else ""
            runs = f" ({node.calls} runs)" if node.calls > 1 else ""
            self._write(f"[lgp]   {name:<{width}}  {node.ms:8.1f} ms{runs}{spent}")
        return None

    def close(self, timeout_s: float) -> None:
        return None
