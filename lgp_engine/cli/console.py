"""Human-readable rendering of engine output for the CLI (``[lgp] ...`` lines)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..events import RunEvent, asks_for_value

if TYPE_CHECKING:
    from ..reload import ReloadOutcome
from ..providers.pricing import format_usd
from ..readable_values import inline

PREFIX = "[lgp]"


def short(value: Any, limit: int = 200) -> str:
    """A one-line JSON rendering of ``value``, chat messages as ``human: text``, cut
    to ``limit`` characters."""
    return inline(value, limit)


usd = format_usd  # the engine formats amounts the same way everywhere


def usage_text(usage: Any) -> str:
    """``1,234 tokens, $0.0012`` for a usage total (empty when there is none)."""
    if not isinstance(usage, dict) or not usage.get("calls"):
        return ""
    return f"{usage.get('total_tokens', 0):,} tokens, {usd(float(usage.get('cost_usd') or 0))}"


def secs(seconds: float) -> str:
    """``12 ms`` under a second, else ``1.23s``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f}s"


def clip(text: Any, limit: int | None = 120) -> str:
    """``text`` on one line (``⏎`` between its lines, runs of spaces made one), cut to
    ``limit``."""
    lines = (" ".join(line.split()) for line in str(text or "").splitlines())
    flat = " ⏎ ".join(line for line in lines if line)
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def plural(count: int, noun: str) -> str:
    """``1 turn``, ``3 turns`` (``1,234 ...`` past a thousand)."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def byte_size(size: int) -> str:
    """``120 B``, ``4.5 kB``, ``1.2 MB``."""
    if size < 1000:
        return f"{size} B"
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"


def num(d: Mapping[str, Any], key: str) -> int:
    """``d[key]`` as a count (0 when missing or not a number)."""
    try:
        return int(d.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def who(d: Mapping[str, Any]) -> str:
    """The agent role an event is about (its node when it names none)."""
    return str(d.get("role") or d.get("node") or "?")


def session(session_id: Any) -> str:
    """A Claude Code session id cut to its first 8 characters."""
    return str(session_id or "?")[:8]


def agent_init_lines(d: Mapping[str, Any], verbose: bool) -> list[str]:
    """``◇ coder: Claude Code session 1a2b3c4d (model) in repo [resumed]``."""
    model = f" ({d['model']})" if d.get("model") else ""
    tags = []
    if d.get("forked"):
        tags.append(f"forked from {session(d.get('resumed'))}")
    elif d.get("resumed"):
        tags.append("resumed")
    if d.get("via") == "mcp":
        tags.append("via MCP")
    if d.get("worktree"):
        tags.append(f"worktree {d['worktree']}")
    tagged = "".join(f" [{tag}]" for tag in tags)
    where = d.get("repository") or d.get("cwd")
    lines = [
        f"    ◇ {who(d)}: Claude Code session {session(d.get('session_id'))}"
        f"{model} in {where}{tagged}"
    ]
    if verbose:
        tools = ", ".join(d.get("tools") or []) or "none"
        mode = d.get("permission_mode") or "default"
        lines.append(f"      tools: {tools}; permission mode: {mode}; cwd: {d.get('cwd')}")
    return lines


def agent_message_lines(d: Mapping[str, Any], verbose: bool) -> list[str]:
    """``💬 coder: text`` (cut to one line; all of it, line by line, in verbose)."""
    head = f"    💬 {who(d)}: "
    if not verbose:
        return [head + clip(d.get("text"))]
    first, *rest = str(d.get("text") or "").strip().splitlines() or [""]
    return [head + first, *(f"       {line}" for line in rest)]


def agent_tool_use_lines(d: Mapping[str, Any], verbose: bool) -> list[str]:
    """``🔧 coder: Write {"file_path": ...}`` (the input in full in verbose)."""
    shown = short(d.get("input"), 100_000 if verbose else 120)
    return [f"    🔧 {who(d)}: {d.get('tool')} {shown}"]


def agent_tool_result_lines(d: Mapping[str, Any], verbose: bool) -> list[str]:
    """``← Write (120 B)`` or ``✗ Bash error: ...`` (the text too in verbose)."""
    tool = d.get("tool") or "tool"
    if d.get("is_error"):
        return [f"    ✗ {tool} error: {clip(d.get('text'), None if verbose else 100)}"]
    text = f" {clip(d.get('text'), 160)}" if verbose and d.get("text") else ""
    return [f"    ← {tool} ({byte_size(num(d, 'size'))}){text}"]


def agent_result_lines(d: Mapping[str, Any], verbose: bool) -> list[str]:
    """``■ coder: 3 turns, ... (12.30s)``, or ``✗ coder: stalled after ...: why``."""
    stats = agent_stats(d)
    if d.get("is_error"):
        kind = d.get("kind") or d.get("subtype") or "error"
        why = f": {clip(d.get('text'), None if verbose else 100)}" if d.get("text") else ""
        lines = [f"    ✗ {who(d)}: {kind} after {stats}{why}"]
    else:
        lines = [f"    ■ {who(d)}: {stats}"]
    if verbose:
        lines.append(f"      {agent_details(d)}")
    return lines


def agent_stats(d: Mapping[str, Any]) -> str:
    """``3 turns, 4 tool calls, 1,234 in / 56 out tokens, $0.0123 (12.30s)``."""
    usage = d.get("usage") or {}
    parts = [
        plural(num(d, "turns"), "turn"),
        plural(num(d, "tool_calls"), "tool call"),
    ]
    if d.get("tool_errors"):
        parts.append(plural(num(d, "tool_errors"), "tool error"))
    if d.get("permission_denials"):
        parts.append(plural(num(d, "permission_denials"), "permission denial"))
    parts.append(f"{num(usage, 'input_tokens'):,} in / {num(usage, 'output_tokens'):,} out tokens")
    parts.append(agent_cost(d))
    return f"{', '.join(parts)} ({secs(float(d.get('duration_ms') or 0) / 1000)})"


def agent_cost(d: Mapping[str, Any]) -> str:
    """What the run counts; what the agent reported too when that differs (a
    subscription counts $0)."""
    counted = float(d.get("cost_usd") or 0)
    reported = float(d.get("total_cost_usd") or 0)
    if abs(reported - counted) < 1e-9:
        return usd(counted)
    return f"{usd(counted)} [{d.get('cost_model')}: {usd(reported)} reported]"


def agent_details(d: Mapping[str, Any]) -> str:
    """The verbose line under a result: session, model, tools by use, cache, events."""
    usage = d.get("usage") or {}
    calls = ", ".join(f"{name} {n}" for name, n in (d.get("tools") or {}).items())
    tools = f"calls: {calls}" if calls else "no tool calls"
    cache = (
        f"cache {num(usage, 'cache_read_tokens'):,} read / "
        f"{num(usage, 'cache_write_tokens'):,} written"
    )
    parts = [f"session {session(d.get('session_id'))}", str(d.get("model") or "?"), tools, cache]
    return " · ".join([*parts, plural(num(d, "events"), "stream event")])


#: The lines of each Claude Code session event, from its data (and ``--verbose``).
AGENT_LINES: dict[str, Callable[[Mapping[str, Any], bool], list[str]]] = {
    "agent.init": agent_init_lines,
    "agent.message": agent_message_lines,
    "agent.tool_use": agent_tool_use_lines,
    "agent.tool_result": agent_tool_result_lines,
    "agent.result": agent_result_lines,
}


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
        plan = usage.get("subscription")
        if isinstance(plan, dict):
            self.line(
                f"Subscription: ${float(plan['cost_per_invocation']):.2f} per invocation "
                f"(${float(plan['monthly_cost']):.2f}/month over {plan['workflow_invocations']:,} "
                "runs of this workflow this month)"
            )

    def event(self, e: RunEvent) -> None:
        self._event(e)
        if e.is_terminal and e.data.get("trace_url"):
            self.line(f"Trace URL: {e.data['trace_url']}")

    def _event(self, e: RunEvent) -> None:
        d = e.data
        where = "/".join([*d.get("path", []), e.node or ""]) if d.get("path") else e.node
        if e.type == "run.started" and d.get("retry"):
            self.line(f"Resuming from checkpoint: {e.thread_id}")
        elif e.type == "run.started":
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
        elif e.type == "node.cached":
            update = f" → {short(d.get('update'), 120)}" if self.verbose else ""
            self.line(f"  ⚡ {where} (cached){update}")
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
            self.line(f"    ⤳ {who(d)}: {failed}, trying {d.get('next')}")
        elif e.type in AGENT_LINES:
            for text in AGENT_LINES[e.type](d, self.verbose):
                self.line(text)
        elif e.type == "custom" and self.verbose:
            self.line(f"  • custom {short(d.get('value'), 160)}")
        elif e.type == "message.delta" and self.verbose and d.get("content"):
            self.line(f"  … {e.node}: {short(d.get('content'), 160)}")
        elif e.type == "checkpoint" and self.verbose and not d.get("path"):
            self.line(f"  ◆ checkpoint step {d.get('step')} {d.get('checkpoint_id')}")
        elif e.type == "run.retrying":
            message = str(d.get("message") or "").strip().split("\n", 1)[0]
            self.line(f"❌ Workflow crashed: {d.get('error_type')}: {message}")
            self.line(
                f"Restarting... (attempt {d.get('attempt')}/{d.get('max_retries')}) "
                f"in {d.get('delay_s', 0):.1f}s"
            )
        elif e.type == "run.completed":
            if d.get("retries"):
                n = d["retries"]
                self.line(f"✅ Workflow recovered (after {n} {'retry' if n == 1 else 'retries'})")
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
            asked = any(asks_for_value(i) for i in d.get("interrupts") or [])
            value = " --value '<JSON>'" if asked else ""
            self.line(f"Resume with: lgp resume {e.thread_id}{value}{self.env_flag}")
        elif e.type == "run.failed":
            node = f" in node '{d['node']}'" if d.get("node") else ""
            kind = f" [{d['kind']}]" if d.get("kind") else ""
            message = str(d.get("message") or "")
            if not self.verbose:  # one line (LangGraph's own messages add a "see ..." line)
                message = message.strip().split("\n", 1)[0]
            self.line(f"❌ Failed{node}{kind}: {d.get('error_type')}: {message}")
            self.usage(d.get("usage"))
            if self.verbose and d.get("traceback"):
                print(d["traceback"], file=sys.stderr, flush=True)
        elif e.type == "run.cancelled":
            self.line(f"⏹ Cancelled: {d.get('reason')}")
            if "(rollback)" in str(d.get("reason")):  # the replacing run deletes this one
                self.line("The new run deletes this run and the checkpoints it wrote")
            else:
                resume = f"lgp resume {e.thread_id}{self.env_flag}"
                self.line(f"Checkpoints are kept; continue with: {resume}")
