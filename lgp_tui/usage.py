"""Tokens and cost of model calls as the workbench shows them.

Events carry usage totals (``node.finished`` for a node's calls, the terminal event
for the run's); these read them and say them the way ``lgp run`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lgp_engine import format_usd


@dataclass(frozen=True)
class Spent:
    """Tokens, calls and USD of some model calls."""

    tokens: int = 0
    cost: float = 0.0
    calls: int = 0

    def __add__(self, other: Spent) -> Spent:
        return Spent(self.tokens + other.tokens, self.cost + other.cost, self.calls + other.calls)

    @property
    def label(self) -> str:
        """``1,234 tok $0.0012``."""
        return f"{self.tokens:,} tok {usd(self.cost)}"


def spent(usage: Any) -> Spent | None:
    """The usage total of an event's ``usage`` field; None when no model was called."""
    if not isinstance(usage, Mapping) or not usage.get("calls"):
        return None
    try:
        return Spent(
            int(usage.get("total_tokens") or 0),
            float(usage.get("cost_usd") or 0.0),
            int(usage["calls"]),
        )
    except (TypeError, ValueError):
        return None


usd = format_usd  # the engine formats amounts the same way everywhere


def short_tokens(count: int) -> str:
    """``501``, ``2.4k``, ``12.3k``, ``128k``, ``1.05M``: a token count at a glance."""
    if count < 1000:
        return str(count)
    if count < 100_000:
        return f"{count / 1000:.1f}".removesuffix(".0") + "k"
    if count < 1_000_000:
        return f"{count / 1000:.0f}k"
    return f"{count / 1_000_000:.2f}".rstrip("0").removesuffix(".") + "M"


@dataclass(frozen=True)
class ContextUse:
    """The tokens of a model call's conversation (prompt and answer) against the
    model's context window (None: the pricing table does not know it)."""

    tokens: int
    window: int | None = None
    model: str | None = None

    @property
    def share(self) -> float | None:
        """How full the window is, 0 to 1 (None when the window is unknown)."""
        return self.tokens / self.window if self.window else None

    @property
    def label(self) -> str:
        """``ctx 12.3k/128k 10%``, or ``ctx 501/?`` when the window is unknown."""
        if not self.window:
            return f"ctx {short_tokens(self.tokens)}/?"
        percent = self.tokens * 100 / self.window
        shown = "<1%" if 0 < percent < 1 else f"{percent:.0f}%"
        return f"ctx {short_tokens(self.tokens)}/{short_tokens(self.window)} {shown}"

    @property
    def style(self) -> str:
        """Dim while there is room, yellow past half the window, red past 80%."""
        share = self.share
        if share is None:
            return "dim"
        return "bold red" if share >= 0.8 else ("yellow" if share >= 0.5 else "green")


def call_context(call: Mapping[str, Any], window: int | None) -> ContextUse | None:
    """The context of one model call (an entry of ``usage.llm_calls``): the tokens it
    sent and got back (cached ones are part of the input)."""
    try:
        tokens = int(call.get("input_tokens") or 0) + int(call.get("output_tokens") or 0)
    except (TypeError, ValueError):
        return None
    if tokens <= 0:
        return None
    model = call.get("model")
    return ContextUse(tokens, window, str(model) if model else None)
