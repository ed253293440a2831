"""Human-readable rendering of engine output for the CLI (``[lgp] ...`` lines)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..events import RunEvent

if TYPE_CHECKING:
    from ..reload import ReloadOutcome
from ..jsonable import to_jsonable
from ..providers.pricing import format_usd

PREFIX = "[lgp]"


def short(value: Any, limit: int = 200) -> str:
    """A one-line JSON rendering of ``value``, cut to ``limit`` characters."""
    text = json.dumps(to_jsonable(value), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


usd = format_usd  # the engine formats amounts the same way everywhere


def usage_text(usage: Any) -> str:
    """``1,234 tokens, $0.0012`` for a usage total (empty when there is none)."""
    if not isinstance(usage, dict) or not usage.get("calls"):
        return ""
    return f"{usage.get('total_tokens', 0):,} tokens, {usd(float(usage.get('cost_usd') or 0))}"


def secs(seconds: float) -> str:
    """``12 ms`` under a second, else ``1.23s``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f}s"


class RunPrinter:
    """Prints a run's events as they come, in the ``[lgp]`` style."""

    def __init__(
        self, out: TextIO | None = None, *, verbose: bool = False, env_flag: str = ""
    ) -> None:
        self.out = out or sys.stdout
        self.verbose = verbose
        self.env_flag = env_flag

    def line(self, text: str) -> None:
        print(f"{PREFIX} {text}", file=self.out, flush=True)

    def reload(self, outcome: ReloadOutcome, relpath: Callable[[Path], str] = str) -> None:
        """The lines for one hot reload: what changed, how long, and any error."""
        files = ", ".join(relpath(p) for p in outcome.changed) or "(manual reload)"
        latency = "" if outcome.detect_latency is None else f" ({secs(outcome.detect_latency)})"
        self.line(f"File changed detected{latency}: {files}")
        if outcome.ok:
            self.line(f"Reloading workflow... ({secs(outcome.load_duration)})")
            if outcome.settings is not None:
                self.line("Config reloaded (the checkpoint store in use stays until restart)")
            return
        self.line(f"Reloading workflow... failed ({secs(outcome.load_duration)})")
        error = outcome.error
        self.line(f"❌ {error.title if error else 'Error'}: {error}")
        self.line("Still running the previous version; save a fix to reload")

    def usage(self, usage: Any) -> None:
        """The run's tokens and cost, by model."""
        total = usage_text(usage)
        if not total:
            return
        self.line(f"Usage: {total} ({usage['input_tokens']:,} in, {usage['output_tokens']:,} out)")
        by_model = usage.get("by_model") or {}
        if len(by_model) > 1 or self.verbose:
            for name, entry in by_model.items():
                calls = entry.get("calls") or 0
                plural = "call" if calls == 1 else "calls"
                self.line(f"  {name}: {usage_text(entry)} ({calls} {plural})")

    def event(self, e: RunEvent) -> None:
        d = e.data
        where = "/".join([*d.get("path", []), e.node or ""]) if d.get("path") else e.node
        if e.type == "run.started":
            self.line(f"Thread: {e.thread_id}")
            self.line(f"Run: {e.run_id}")
            if d.get("resumed"):
                self.line("Resuming...")
            elif d.get("replay_of"):
                self.line(f"Replaying from checkpoint {d['replay_of']}...")
            elif d.get("fork_of"):
                self.line(f"Forked checkpoint {d['fork_of']} → {d.get('checkpoint_id')}")
                self.line("Executing...")
            else:
                self.line("Executing...")
        elif e.type == "node.started" and self.verbose:
            self.line(f"  ▶ {where}")
        elif e.type == "node.finished":
            ms = d.get("duration_ms")
            timing = f" ({ms:.1f} ms)" if isinstance(ms, int | float) else ""
            if d.get("error"):
                self.line(f"  ✗ {where}{timing}")
            elif d.get("interrupts"):
                self.line(f"  ⏸ {where}{timing}")
            else:
                spent = usage_text(d.get("usage"))
                spent = f" [{spent}]" if spent else ""
                update = f" → {short(d.get('update'), 120)}" if self.verbose else ""
                self.line(f"  ✓ {where}{timing}{spent}{update}")
        elif e.type == "tool.called":
            tool = f"{d.get('server')}.{d.get('tool')}"
            self.line(f"    🔧 {where}: {tool} {short(d.get('arguments'), 120)}")
        elif e.type == "tool.result":
            mark = "✗" if d.get("is_error") else "←"
            ms = d.get("duration_ms") or 0
            tool = f"{d.get('server')}.{d.get('tool')}"
            self.line(f"    {mark} {tool} ({ms:.1f} ms) {short(d.get('text'), 100)}")
        elif e.type == "tool.denied":
            tool = ".".join(p for p in (d.get("server"), d.get("tool")) if p)
            self.line(f"    ⛔ {where}: tool {tool} denied ({d.get('reason')})")
        elif e.type == "agent.repair":
            errors = "; ".join(d.get("errors") or [])
            attempt = d.get("attempt")
            self.line(f"    ↻ {where}: answer failed {d.get('schema')}, repair {attempt}: {errors}")
        elif e.type == "agent.fallback":
            failed = f"{d.get('failed')} failed ({d.get('kind')})"
            self.line(f"    ⤳ {d.get('role')}: {failed}, trying {d.get('next')}")
        elif e.type == "custom" and self.verbose:
            self.line(f"  • custom {short(d.get('value'), 160)}")
        elif e.type == "message.delta" and self.verbose and d.get("content"):
            self.line(f"  … {e.node}: {short(d.get('content'), 160)}")
        elif e.type == "checkpoint" and self.verbose and not d.get("path"):
            self.line(f"  ◆ checkpoint step {d.get('step')} {d.get('checkpoint_id')}")
        elif e.type == "run.completed":
            self.line(f"✅ Complete ({d.get('duration_ms', 0) / 1000:.2f}s)")
            self.usage(d.get("usage"))
            print(f"Result: {short(d.get('output'), 100_000)}", file=self.out, flush=True)
        elif e.type == "interrupt":
            node = f" at node '{e.node}'" if e.node else ""
            self.line(
                f"⏸ Interrupted{node} ({d.get('duration_ms', 0) / 1000:.2f}s); status: interrupted"
            )
            for item in d.get("interrupts") or []:
                print(f"Interrupt: {short(item.get('value'), 100_000)}", file=self.out, flush=True)
            if not d.get("interrupts"):
                print("Interrupt: (breakpoint)", file=self.out, flush=True)
            value = " --value '<JSON>'" if d.get("interrupts") else ""
            self.line(f"Resume with: lgp resume {e.thread_id}{value}{self.env_flag}")
        elif e.type == "run.failed":
            node = f" in node '{d['node']}'" if d.get("node") else ""
            kind = f" [{d['kind']}]" if d.get("kind") else ""
            self.line(f"❌ Failed{node}{kind}: {d.get('error_type')}: {d.get('message')}")
            self.usage(d.get("usage"))
            if self.verbose and d.get("traceback"):
                print(d["traceback"], file=sys.stderr, flush=True)
        elif e.type == "run.cancelled":
            self.line(f"⏹ Cancelled: {d.get('reason')}")
            resume = f"lgp resume {e.thread_id}{self.env_flag}"
            self.line(f"Checkpoints are kept; continue with: {resume}")
